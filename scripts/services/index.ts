/**
 * Start/stop the real services the Kafka integration tests and benchmarks need: an MIT KDC
 * (kdc.ts) and a KRaft Kafka broker that trusts it (kafka.ts). Used by
 * test/integration/global-setup.ts (vitest `globalSetup`), by `npm run services` (cli.ts) and by
 * the Kafka benchmark. Every process started here runs in its own process group; `stop()` ends
 * them all and removes the temp dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKdc, stopKdc, type KdcFacts } from './kdc.js';
import { startKafka, stopKafka, type KafkaFacts } from './kafka.js';

export { restartKafka, stopKafka, ensureKafkaJars, type KafkaFacts } from './kafka.js';
export type { KdcFacts } from './kdc.js';

/** JSON-serialisable connection facts (passed to test workers with vitest provide/inject). */
export interface ServiceFacts {
  dir: string;
  kdc: KdcFacts;
  kafka: KafkaFacts;
}

export interface Services {
  facts: ServiceFacts;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** GSSAPI session lifetime on the broker (ms); 0 = no re-authentication. */
  gssapiReauthMs?: number;
  heap?: string;
  log?: (msg: string) => void;
  /** Kafka: an extra PLAINTEXT listener advertised on this port (kafka.ts, PROXIED). */
  kafkaProxiedAdvertisedPort?: number;
}

export async function startServices(opts: StartOptions = {}): Promise<Services> {
  const log = opts.log ?? (() => {});
  const dir = await mkdtemp(join(tmpdir(), 'sluice-services-'));
  let kdc: KdcFacts | undefined;
  try {
    const t0 = Date.now();
    kdc = await startKdc({ dir: join(dir, 'kdc'), clients: ['sluice-a', 'sluice-b', 'kcat'] });
    log(`KDC ready on 127.0.0.1:${kdc.port} (realm ${kdc.realm}) in ${Date.now() - t0} ms`);
    const t1 = Date.now();
    const kafka = await startKafka({
      dir: join(dir, 'kafka'),
      krb5Conf: kdc.krb5Conf,
      serviceKeytab: kdc.service.keytab,
      servicePrincipal: kdc.service.principal,
      gssapiReauthMs: opts.gssapiReauthMs ?? 0,
      ...(opts.heap ? { heap: opts.heap } : {}),
      ...(opts.kafkaProxiedAdvertisedPort
        ? { proxiedAdvertisedPort: opts.kafkaProxiedAdvertisedPort }
        : {}),
    });
    log(
      `Kafka ${kafka.version} ready in ${Date.now() - t1} ms: PLAINTEXT ${kafka.plaintext}, ` +
        `GSSAPI ${kafka.gssapi}, PLAIN/SCRAM ${kafka.sasl}, SSL ${kafka.ssl}`,
    );
    const facts: ServiceFacts = { dir, kdc, kafka };
    let stopped = false;
    return {
      facts,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopKafka(kafka.dir);
        await stopKdc(facts.kdc);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopKafka(join(dir, 'kafka')).catch(() => {});
    if (kdc) await stopKdc(kdc).catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}
