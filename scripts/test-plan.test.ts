import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  BROWSER_TOOLS,
  INSTALL_COMMAND,
  KAFKA_TOOLS,
  describeSkipped,
  planTests,
  type Probes,
} from './test-plan.js';

function probes(tools: readonly string[], canInstall: boolean): Probes {
  return { has: (t) => tools.includes(t), kerberosAddon: () => true, canInstall: () => canInstall };
}

describe('planTests (what npm test runs on this machine)', () => {
  it('runs every project when the system tools are present', () => {
    const plan = planTests(probes([...KAFKA_TOOLS, ...BROWSER_TOOLS], false), {
      noInstall: false,
    });
    expect(plan).toEqual({
      projects: ['unit', 'integration', 'integration-kafka', 'browser'],
      skipped: [],
      install: false,
    });
  });

  it('installs the packages first on a bare machine where it may (root or passwordless sudo)', () => {
    const plan = planTests(probes([], true), { noInstall: false });
    expect(plan.install).toBe(true);
    expect(plan.projects).toContain('integration-kafka');
    expect(plan.projects).toContain('browser');
    expect(plan.skipped).toEqual([]);
  });

  it('skips only the browser suite when Chromium alone is missing and it may not install', () => {
    const plan = planTests(probes(KAFKA_TOOLS, false), { noInstall: false });
    expect(plan.projects).toEqual(['unit', 'integration', 'integration-kafka']);
    expect(plan.skipped).toEqual([
      { project: 'browser', missing: ['chromium'], enable: INSTALL_COMMAND },
    ]);
  });

  it('installs when only Chromium is missing and it may', () => {
    const plan = planTests(probes(KAFKA_TOOLS, true), { noInstall: false });
    expect(plan.install).toBe(true);
    expect(plan.projects).toContain('browser');
  });

  it('skips the Kafka suites, naming what is missing and the enabling command, when it may not install', () => {
    const plan = planTests(probes(['java', 'mvn', ...BROWSER_TOOLS], false), {
      noInstall: false,
    });
    expect(plan.projects).toEqual(['unit', 'integration', 'browser']);
    expect(plan.install).toBe(false);
    expect(plan.skipped).toEqual([
      {
        project: 'integration-kafka',
        missing: KAFKA_TOOLS.filter((t) => t !== 'java' && t !== 'mvn'),
        enable: INSTALL_COMMAND,
      },
    ]);
    expect(describeSkipped(plan.skipped)[0]).toMatch(
      /^SKIPPED integration-kafka: missing kdb5_util, .*faketime — to run it: sudo bash scripts\/install-system-deps\.sh, then npm test$/,
    );
  });

  it('SLUICE_TEST_NO_INSTALL wins over the right to install', () => {
    const plan = planTests(probes([], true), { noInstall: true });
    expect(plan.install).toBe(false);
    expect(plan.skipped.map((s) => s.project)).toEqual(['integration-kafka', 'browser']);
  });
});

describe('scripts/test.ts --plan on a machine without the system packages', () => {
  it('prints the projects it would run and what it would skip, with the command that enables it', () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    const r = spawnSync(
      process.execPath,
      [join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/test.ts', '--plan'],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, SLUICE_TEST_TOOL_DIRS: join(root, 'no-such-dir') },
      },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'projects: unit integration',
      'install system packages first: no',
      `SKIPPED integration-kafka: missing ${KAFKA_TOOLS.join(', ')} — to run it: ${INSTALL_COMMAND}, then npm test`,
      `SKIPPED browser: missing chromium — to run it: ${INSTALL_COMMAND}, then npm test`,
      '',
    ]);
  });
});
