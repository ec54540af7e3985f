/**
 * `npm test`: the README's "run every test" command, made to work on a machine that has never
 * seen the project (issue #22).
 *
 *   1. type-check and lint;
 *   2. decide which vitest projects can run here (scripts/test-plan.ts); when the Kafka/Kerberos
 *      suites need Debian packages that are missing and we may install them (root, or sudo
 *      without a password), install them as `.ci/run` does — otherwise skip those suites and say
 *      so, with the one command that enables them;
 *   3. rebuild the optional `kerberos` addon if it was dropped at `npm ci` time (npm drops an
 *      optional native addon silently when libkrb5-dev is missing);
 *   4. run the chosen vitest projects in one vitest run; print what was skipped at the end.
 *
 * Flags: `--plan` prints the plan and exits. Extra arguments go to vitest (`npm test -- broker`).
 * Environment: SLUICE_TEST_NO_INSTALL=1 never installs; SLUICE_TEST_STRICT=1 (CI) fails the run
 * when any suite was skipped; SLUICE_TEST_TOOL_DIRS replaces the directories searched for system
 * tools (used by the test of this script to simulate a bare machine).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describeSkipped, planTests, type Probes } from './test-plan.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const env = process.env;

function toolDirs(): string[] {
  const override = env['SLUICE_TEST_TOOL_DIRS'];
  if (override !== undefined) return override.split(':').filter(Boolean);
  return [
    ...(env['PATH'] ?? '').split(':'),
    '/usr/sbin',
    '/sbin',
    '/usr/bin',
    '/usr/local/bin',
  ].filter(Boolean);
}

function has(tool: string): boolean {
  return toolDirs().some((d) => existsSync(join(d, tool)));
}

function run(label: string, cmd: string, argv: string[]): number {
  console.log(`\n== ${label}`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env });
  if (r.error) {
    console.error(`${label}: could not start ${cmd}: ${r.error.message}`);
    return 1;
  }
  return r.status ?? 1;
}

function kerberosAddonLoads(): boolean {
  const r = spawnSync(process.execPath, ['-e', "require('kerberos')"], {
    cwd: root,
    stdio: 'ignore',
  });
  return r.status === 0;
}

const probes: Probes = {
  has,
  kerberosAddon: kerberosAddonLoads,
  canInstall: () => {
    if (!has('apt-get')) return false;
    if (process.getuid?.() === 0) return true;
    return has('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  },
};

const plan = planTests(probes, { noInstall: env['SLUICE_TEST_NO_INSTALL'] === '1' });

if (args.includes('--plan')) {
  console.log(`projects: ${plan.projects.join(' ')}`);
  console.log(`install system packages first: ${plan.install ? 'yes' : 'no'}`);
  for (const line of describeSkipped(plan.skipped)) console.log(line);
  process.exit(0);
}

const tsc = join(root, 'node_modules/typescript/bin/tsc');
const vitest = join(root, 'node_modules/vitest/vitest.mjs');

let status = run('typecheck', process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit']);
// The dashboard (web/) has its own tsconfig: browser code, JSX.
if (status === 0) status = run('typecheck web', process.execPath, [tsc, '-p', 'web/tsconfig.json']);
if (status === 0) status = run('lint', 'npm', ['run', '-s', 'lint']);
if (status !== 0) process.exit(status);

if (plan.install) {
  const asRoot = process.getuid?.() === 0;
  status = run(
    'system packages for the Kafka/Kerberos and browser suites (scripts/install-system-deps.sh; SLUICE_TEST_NO_INSTALL=1 skips them instead)',
    asRoot ? 'bash' : 'sudo',
    asRoot ? ['scripts/install-system-deps.sh'] : ['-n', 'bash', 'scripts/install-system-deps.sh'],
  );
  if (status !== 0) process.exit(status);
}

if (plan.projects.includes('integration-kafka') && !probes.kerberosAddon()) {
  // npm ci ran before libkrb5-dev was there, so it dropped the optional addon: build it now.
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const version = lock.packages['node_modules/kerberos']?.version ?? '7';
  status = existsSync(join(root, 'node_modules/kerberos/package.json'))
    ? run('rebuild the kerberos addon', 'npm', ['rebuild', 'kerberos'])
    : run('install the kerberos addon (dropped at npm ci time)', 'npm', [
        'install',
        '--no-save',
        '--no-audit',
        '--no-fund',
        `kerberos@${version}`,
      ]);
  if (status !== 0 || !probes.kerberosAddon()) {
    console.error(
      'the kerberos addon still does not load; GSSAPI suites will fail (see docs/sinks/kafka.md)',
    );
  }
}

const projectArgs = plan.projects.flatMap((p) => ['--project', p]);
const extra = args.filter((a) => a !== '--plan');
status = run(`vitest: ${plan.projects.join(', ')}`, process.execPath, [
  vitest,
  'run',
  ...projectArgs,
  ...extra,
]);

const skippedLines = describeSkipped(plan.skipped);
if (skippedLines.length > 0) {
  console.log('');
  for (const line of skippedLines) console.log(line);
  if (env['SLUICE_TEST_STRICT'] === '1' && status === 0) {
    console.error('SLUICE_TEST_STRICT=1: a suite was skipped, failing the run');
    status = 1;
  }
}
process.exit(status);
