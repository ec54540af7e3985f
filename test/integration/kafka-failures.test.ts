/**
 * Failure behaviour of the Kafka sink against the real broker and KDC: wrong credentials give
 * a clear coded error, are counted, and the sink keeps running (and a healthy sink in the same
 * process keeps delivering); GSSAPI sessions are re-authenticated; a broker stopped mid-stream
 * and restarted loses nothing (at-least-once, buffer bounded, duplicates counted).
 */
import { describe, it, expect, inject, afterEach } from 'vitest';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { SluiceError } from '../../src/core/index.js';
import { restartKafka, stopKafka } from '../../scripts/services/index.js';
import {
  uniqueTopic,
  createTopic,
  consumeAll,
  startSink,
  record,
  waitFor,
  type SinkUnderTest,
} from './kafka-helpers.js';

const services = inject('services');
const k = services.kafka;
const kdc = services.kdc;
process.env['KRB5_CONFIG'] = kdc.krb5Conf;
const started: SinkUnderTest[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.runner.stop()));
});

function kadmin(query: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(
      '/usr/sbin/kadmin.local',
      ['-r', kdc.realm, '-q', query],
      // kadmin.local needs no ticket cache; don't hand it the sinks' private one.
      {
        env: {
          ...process.env,
          KRB5_CONFIG: kdc.krb5Conf,
          KRB5_KDC_PROFILE: kdc.kdcConf,
          KRB5CCNAME: 'MEMORY:kadmin',
        },
      },
      (err, _out, stderr) => (err ? reject(new Error(`${err.message}${stderr}`)) : resolve()),
    ),
  );
}

/** A 127.0.0.1 port with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on 127.0.0.1:${port}`);
}

const gss = (principal: string, keytab: string, extra: Record<string, unknown> = {}) => ({
  bootstrap_hosts: k.gssapi,
  authentication: {
    mechanism: 'gssapi',
    kerberos_principal: principal,
    kerberos_keytab_file: keytab,
    ...extra,
  },
});

/** Start a sink with bad credentials; returns its last error once the runner saw one. */
async function failingSink(name: string, conn: Record<string, unknown>): Promise<SluiceError> {
  const topic = uniqueTopic('bad');
  const s = startSink(
    name,
    { ...conn, topic },
    { retry: { initial_backoff: 100, max_backoff: 500 } },
  );
  started.push(s);
  for (let i = 0; i < 5; i++) s.runner.enqueue(record({ i }));
  await waitFor(() => s.sink.stats().authFailures >= 2, 30_000, 'repeated auth failures');
  // Nothing delivered, nothing lost: the records stay buffered while the runner keeps retrying
  // the connection with backoff; every failed attempt is counted by the sink.
  expect(s.runner.metrics()).toMatchObject({ matched: 5, success: 0, failed: 0 });
  expect(s.runner.metrics().queued + s.runner.metrics().inflightRecords).toBe(5);
  expect(s.runner.status()).toBe('connecting');
  const err = s.runner.lastError();
  expect(err).toBeInstanceOf(SluiceError);
  return err as SluiceError;
}

describe('kafka sink: wrong credentials', () => {
  it('wrong SCRAM password → kafka_authentication_failed, counted, sink keeps running', async () => {
    const err = await failingSink('bad-scram', {
      bootstrap_hosts: k.sasl,
      authentication: { mechanism: 'scram_sha_512', username: 'sluice', password: 'wrong' },
    });
    expect(err.code).toBe('kafka_authentication_failed');
    expect(err.message).toMatch(/SASL authentication failed/i);
  });

  it('TLS with an untrusted broker certificate → kafka_connect_failed naming the TLS error', async () => {
    const topic = uniqueTopic('tls-untrusted');
    const s = startSink('tls-untrusted', { bootstrap_hosts: k.ssl, topic, ssl: { enable: true } });
    started.push(s);
    s.runner.enqueue(record({ i: 1 }));
    await waitFor(() => s.runner.lastError() !== undefined, 30_000, 'a connect error');
    const err = s.runner.lastError() as SluiceError;
    expect(err.code).toBe('kafka_connect_failed');
    expect(err.message).toMatch(/self[- ]signed|certificate/i);
    expect(s.runner.metrics()).toMatchObject({ success: 0, failed: 0 });
    expect(s.runner.status()).toBe('connecting');
  });

  it('wrong PLAIN user → kafka_authentication_failed', async () => {
    const err = await failingSink('bad-plain', {
      bootstrap_hosts: k.sasl,
      authentication: { mechanism: 'plain', username: 'nobody', password: 'x' },
    });
    expect(err.code).toBe('kafka_authentication_failed');
  });

  it('stale keytab → kafka_gssapi_bad_keytab naming the principal', async () => {
    const err = await failingSink('bad-keytab', gss(kdc.stale.principal, kdc.stale.keytab));
    expect(err.code).toBe('kafka_gssapi_bad_keytab');
    expect(err.message).toContain(kdc.stale.principal);
  });

  it('keytab without the configured principal → kafka_gssapi_bad_keytab listing what it has', async () => {
    const a = kdc.clients['sluice-a']!;
    const err = await failingSink('wrong-keytab', gss(`nobody@${kdc.realm}`, a.keytab));
    expect(err.code).toBe('kafka_gssapi_bad_keytab');
    expect(err.message).toContain(a.principal);
  });

  it('principal unknown to the KDC → kafka_gssapi_unknown_principal', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'ghost-'));
    try {
      const ghost = `ghost-${process.pid}-${Date.now()}@${kdc.realm}`;
      const keytab = join(tmp, 'ghost.keytab');
      await kadmin(`addprinc -randkey ${ghost}`);
      await kadmin(`ktadd -k ${keytab} ${ghost}`);
      await kadmin(`delprinc -force ${ghost}`);
      const err = await failingSink('ghost', gss(ghost, keytab));
      expect(err.code).toBe('kafka_gssapi_unknown_principal');
      expect(err.message).toContain(ghost.split('@')[0]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('wrong service host (an IP) → kafka_gssapi_unknown_service explaining the host mapping', async () => {
    const a = kdc.clients['sluice-a']!;
    const err = await failingSink(
      'bad-host',
      gss(a.principal, a.keytab, { kerberos_service_host: '127.0.0.1' }),
    );
    expect(err.code).toBe('kafka_gssapi_unknown_service');
    expect(err.message).toContain('kafka/127.0.0.1');
    expect(err.message).toContain('kerberos_service_host');
  });

  it('broker refuses the ticket (wrong service principal) → kafka_gssapi_rejected with its text', async () => {
    // A ticket for other/localhost is valid at the KDC, but the broker's acceptor only holds
    // the key of kafka/localhost: the broker itself refuses the exchange.
    await kadmin(`addprinc -randkey other/localhost@${kdc.realm}`).catch(() => {});
    const a = kdc.clients['sluice-a']!;
    const err = await failingSink(
      'refused',
      gss(a.principal, a.keytab, { kerberos_service_name: 'other' }),
    );
    expect(err.code).toBe('kafka_gssapi_rejected');
    expect(err.message).toMatch(/refused the GSSAPI exchange/);
    expect(err.message).toContain(a.principal);
  });

  it('KDC unreachable → kafka_gssapi_kdc_unreachable', async () => {
    // A fresh principal (no cached tickets) and a krb5.conf whose KDC port is closed. MIT
    // reads KRB5_CONFIG whenever it builds a context, so it is swapped for this test only.
    const tmp = await mkdtemp(join(tmpdir(), 'nokdc-'));
    const saved = process.env['KRB5_CONFIG'];
    try {
      const lonely = `lonely-${process.pid}-${Date.now()}@${kdc.realm}`;
      const keytab = join(tmp, 'lonely.keytab');
      await kadmin(`addprinc -randkey ${lonely}`);
      await kadmin(`ktadd -k ${keytab} ${lonely}`);
      const closed = await closedPort();
      const conf = (await readFile(kdc.krb5Conf, 'utf8')).replaceAll(
        `127.0.0.1:${kdc.port}`,
        `127.0.0.1:${closed}`,
      );
      await writeFile(join(tmp, 'krb5.conf'), conf);
      process.env['KRB5_CONFIG'] = join(tmp, 'krb5.conf');
      const err = await failingSink('no-kdc', gss(lonely, keytab));
      expect(err.code).toBe('kafka_gssapi_kdc_unreachable');
      expect(err.retriable).toBe(true);
    } finally {
      process.env['KRB5_CONFIG'] = saved;
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('clock skew with the KDC → kafka_gssapi_clock_skew', async () => {
    // A second KDC on the same database whose clock runs 2 h ahead (libfaketime), and a client
    // config that does not silently adopt the KDC's time (kdc_timesync = 0).
    const tmp = await mkdtemp(join(tmpdir(), 'skew-'));
    const saved = process.env['KRB5_CONFIG'];
    let pid: number | undefined;
    try {
      const skewed = `skewed-${process.pid}-${Date.now()}@${kdc.realm}`;
      const keytab = join(tmp, 'skewed.keytab');
      await kadmin(`addprinc -randkey ${skewed}`);
      await kadmin(`ktadd -k ${keytab} ${skewed}`);
      const port = await closedPort();
      const swap = (text: string) => text.replaceAll(`127.0.0.1:${kdc.port}`, `127.0.0.1:${port}`);
      const kdcConf = join(tmp, 'kdc.conf');
      const krb5Conf = join(tmp, 'krb5.conf');
      await writeFile(kdcConf, swap(await readFile(kdc.kdcConf, 'utf8')));
      await writeFile(
        krb5Conf,
        swap(await readFile(kdc.krb5Conf, 'utf8')).replace(
          '[libdefaults]',
          '[libdefaults]\n    kdc_timesync = 0',
        ),
      );
      const child = spawn('faketime', ['-f', '+2h', '/usr/sbin/krb5kdc', '-n', '-r', kdc.realm], {
        env: { ...process.env, KRB5_CONFIG: krb5Conf, KRB5_KDC_PROFILE: kdcConf },
        detached: true,
        stdio: 'ignore',
      });
      pid = child.pid;
      await waitForPort(port);
      process.env['KRB5_CONFIG'] = krb5Conf;
      const err = await failingSink('skew', gss(skewed, keytab));
      expect(err.code).toBe('kafka_gssapi_clock_skew');
      expect(err.message).toMatch(/clock skew/i);
    } finally {
      process.env['KRB5_CONFIG'] = saved;
      if (pid !== undefined) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('a healthy sink in the same process keeps delivering next to a failing one', async () => {
    const topic = uniqueTopic('healthy');
    await createTopic(k.plaintext, topic, 1);
    const bad = startSink('bad-next', { ...gss(kdc.stale.principal, kdc.stale.keytab), topic });
    const a = kdc.clients['sluice-a']!;
    const good = startSink('good-next', { ...gss(a.principal, a.keytab), topic });
    started.push(bad, good);
    for (let i = 0; i < 50; i++) {
      bad.runner.enqueue(record({ i }));
      good.runner.enqueue(record({ i }));
    }
    await waitFor(() => good.runner.metrics().success === 50, 30_000, 'good sink acks');
    expect((await consumeAll(k.plaintext, topic, 50)).length).toBe(50);
    expect(bad.runner.metrics().success).toBe(0);
  });
});

describe('kafka sink: GSSAPI re-authentication (broker session lifetime 20 s)', () => {
  it('keeps producing across re-authentications', async () => {
    const topic = uniqueTopic('reauth');
    await createTopic(k.plaintext, topic, 1);
    const a = kdc.clients['sluice-a']!;
    const s = startSink('reauth', { ...gss(a.principal, a.keytab), topic });
    started.push(s);
    await s.runner.start();
    const initial = s.sink.stats().gssapiAuthentications;
    // kafkajs re-authenticates 10 s before the 20 s lifetime ends: produce for ~12 s.
    const t0 = Date.now();
    let i = 0;
    while (Date.now() - t0 < 12_000) {
      s.runner.enqueue(record({ i: i++ }));
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(() => s.runner.metrics().success === i, 30_000, 'acks');
    expect(s.sink.stats().gssapiAuthentications).toBeGreaterThan(initial);
    expect(s.runner.metrics()).toMatchObject({ success: i, failed: 0, dropped: 0 });
    expect((await consumeAll(k.plaintext, topic, i)).length).toBe(i);
  });
});

describe('kafka sink: broker stopped mid-stream and restarted', () => {
  it('loses nothing (at-least-once), keeps the buffer within bounds, counts duplicates', async () => {
    const topic = uniqueTopic('restart');
    await createTopic(k.plaintext, topic, 3);
    const maxRecords = 5000;
    const s = startSink(
      'restart',
      {
        bootstrap_hosts: k.plaintext,
        topic,
        partition_strategy: 'key_dispatch',
        message: { key: '${dev}' },
      },
      {
        batch_size: 100,
        request_ttl: 0, // never expire: the outage must not lose records
        buffer: { max_records: maxRecords, overflow: 'block' },
        retry: { initial_backoff: 100, max_backoff: 1_000 },
      },
    );
    started.push(s);
    await s.runner.start();
    // A steady stream (~2 000 records/s) that runs before, during and after the outage.
    let maxQueued = 0;
    let total = 0;
    let running = true;
    const produce = (async () => {
      while (running) {
        for (let j = 0; j < 20; j++) {
          // A producer that honours back-pressure, as the engine's MQTT path does.
          if (s.runner.pressured) await s.runner.whenWritable();
          expect(s.runner.enqueue(record({ seq: total, dev: `d${total % 7}` }))).toBe(true);
          total++;
        }
        maxQueued = Math.max(maxQueued, s.runner.metrics().queued);
        await new Promise((r2) => setTimeout(r2, 10));
      }
    })();
    await waitFor(() => s.runner.metrics().success >= 500, 30_000, 'first acks');
    await stopKafka(k.dir);
    const ackedAtStop = s.runner.metrics().success;
    const producedAtStop = total;
    await new Promise((r) => setTimeout(r, 3_000));
    // Broker down: records keep arriving and are buffered, none is acknowledged.
    expect(total).toBeGreaterThan(producedAtStop);
    expect(s.runner.metrics().success).toBe(ackedAtStop);
    await restartKafka(k.dir);
    const producedAtRestart = total;
    await waitFor(() => total >= producedAtRestart + 500, 30_000, 'records after the restart');
    running = false;
    await produce;
    await waitFor(() => s.runner.metrics().success === total, 90_000, 'all acks after restart');
    const m = s.runner.metrics();
    expect(m).toMatchObject({ matched: total, success: total, failed: 0, dropped: 0 });
    expect(maxQueued).toBeLessThanOrEqual(maxRecords);
    expect(m.retried).toBeGreaterThan(0);

    const got = await consumeAll(k.plaintext, topic, total, { timeoutMs: 90_000, quietMs: 2_000 });
    const seen = new Map<number, number>();
    for (const g of got) {
      const seq = (JSON.parse(g.value!) as { seq: number }).seq;
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
    }
    const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !seen.has(i));
    expect(missing).toEqual([]);
    const duplicates = got.length - seen.size;
    console.log(
      `[kafka restart] ${total} records, ${got.length} read back, ${duplicates} duplicates, ` +
        `${m.retried} record re-sends, max queued ${maxQueued}`,
    );
    // Every duplicate comes from a re-send: at most one extra copy per record re-sent.
    expect(duplicates).toBeLessThanOrEqual(m.retried);
  });
});
