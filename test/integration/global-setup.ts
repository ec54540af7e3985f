/**
 * vitest globalSetup of the `integration` project: starts the real services once per run —
 * an MIT KDC and a KRaft Kafka broker (scripts/services) — and hands their connection facts to
 * the test files with `provide('services', facts)`; `inject('services')` reads them. The
 * returned teardown stops every process group it started and removes the temp dir.
 *
 * Facts are also exported as SLUICE_SERVICES_JSON for tools spawned by tests.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startServices, type ServiceFacts } from '../../scripts/services/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServiceFacts;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = await startServices({
    // GSSAPI sessions expire after 20 s, so kafkajs re-authenticates every ~10 s (its threshold
    // is 10 s before expiry): long-running tests exercise re-authentication for real.
    gssapiReauthMs: 20_000,
    log: (m) => console.log(`[services] ${m}`),
  });
  project.provide('services', services.facts);
  process.env['SLUICE_SERVICES_JSON'] = JSON.stringify(services.facts);
  const onExit = (): void => {
    // Last resort if vitest dies without running the teardown: kill the groups synchronously.
    // (The broker pid file is re-read: a test may have restarted the broker.)
    const pids = [services.facts.kdc.pid, services.facts.kafka.pid];
    try {
      pids.push(Number(readFileSync(join(services.facts.kafka.dir, 'broker.pid'), 'utf8')));
    } catch {
      /* no pid file */
    }
    for (const pid of pids) {
      try {
        if (pid > 0) process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    rmSync(services.facts.dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return async () => {
    process.off('exit', onExit);
    await services.stop();
  };
}
