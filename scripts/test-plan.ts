/**
 * What `npm test` can run on this machine, decided before anything starts (scripts/test.ts).
 *
 * The suites are vitest projects (vitest.config.ts):
 *   - `unit`              — in-process, needs nothing but node_modules;
 *   - `integration`       — real servers written in Node (broker, HStreamDB stand-in, API, CLI);
 *   - `integration-kafka` — a real Kafka broker (jars from Maven Central, run on Java) and an MIT
 *                           Kerberos KDC, plus kcat and faketime: needs the Debian packages of
 *                           scripts/install-system-deps.sh and the `kerberos` addon;
 *   - `browser`           — the dashboard end to end in Debian's Chromium (test/e2e, driven by
 *                           playwright-core, which never downloads a browser): needs the
 *                           `chromium` package of scripts/install-system-deps.sh.
 *
 * The plan is a pure function of what the machine has, so it is unit-tested with fake probes.
 */

/** A suite that needs something the machine lacks, with the one command that enables it. */
export interface SkippedSuite {
  project: string;
  missing: string[];
  enable: string;
}

export interface TestPlan {
  projects: string[];
  skipped: SkippedSuite[];
  /** Debian packages to install first (only when installing is allowed and possible). */
  install: boolean;
}

/** The system tools the Kafka/Kerberos suites start or call, by executable name. */
export const KAFKA_TOOLS = [
  'kdb5_util',
  'kadmin.local',
  'krb5kdc',
  'kinit',
  'java',
  'mvn',
  'kcat',
  'faketime',
];

/** The browser the dashboard suite drives (`/usr/bin/chromium`, Debian's package). */
export const BROWSER_TOOLS = ['chromium'];

export const INSTALL_COMMAND = 'sudo bash scripts/install-system-deps.sh';

export interface Probes {
  /** Is an executable of this name on the machine? */
  has(tool: string): boolean;
  /** Can the `kerberos` N-API addon (optional dependency) be loaded? */
  kerberosAddon(): boolean;
  /** May we install Debian packages without asking (root, or sudo without a password)? */
  canInstall(): boolean;
}

export interface PlanOptions {
  /** SLUICE_TEST_NO_INSTALL=1: never install system packages, skip what needs them instead. */
  noInstall: boolean;
}

export function planTests(probes: Probes, opts: PlanOptions): TestPlan {
  const projects = ['unit', 'integration'];
  const skipped: SkippedSuite[] = [];
  const missingTools = KAFKA_TOOLS.filter((t) => !probes.has(t));
  const missingBrowser = BROWSER_TOOLS.filter((t) => !probes.has(t));
  const install =
    missingTools.length + missingBrowser.length > 0 && !opts.noInstall && probes.canInstall();
  if (missingTools.length === 0 || install) {
    projects.push('integration-kafka');
  } else {
    skipped.push({
      project: 'integration-kafka',
      missing: missingTools,
      enable: INSTALL_COMMAND,
    });
  }
  if (missingBrowser.length === 0 || install) {
    projects.push('browser');
  } else {
    skipped.push({ project: 'browser', missing: missingBrowser, enable: INSTALL_COMMAND });
  }
  // The addon is checked after any install: it is built by `npm ci` only when libkrb5-dev is
  // present, so scripts/test.ts rebuilds it once the packages are in (see ensureKerberosAddon).
  return { projects, skipped, install };
}

/** Human-readable lines for the end of a run: what did not run and how to make it run. */
export function describeSkipped(skipped: readonly SkippedSuite[]): string[] {
  return skipped.map(
    (s) =>
      `SKIPPED ${s.project}: missing ${s.missing.join(', ')} — to run it: ${s.enable}, then npm test`,
  );
}
