/**
 * vitest globalSetup of the `integration` project: starts the real services once per run —
 * an MIT KDC and a KRaft Kafka broker (scripts/services) — and hands their connection facts to
 * the test files with `provide('services', facts)`; `inject('services')` reads them. The
 * returned teardown stops every process group it started and removes the temp dir.
 *
 * Facts are also exported as SLUICE_SERVICES_JSON for tools spawned by tests.
 */
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
    for (const pid of [services.facts.kafka.pid, services.facts.kdc.pid]) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  process.once('exit', onExit);
  return async () => {
    process.off('exit', onExit);
    await services.stop();
  };
}
