/**
 * The Kafka sink against the real broker, through the shared runner, in every authentication
 * mode; everything is read back by independent consumers (kafkajs, and kcat over GSSAPI).
 */
import { describe, it, expect, inject, afterEach } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyPartition } from '../../src/sinks/kafka/index.js';
import {
  uniqueTopic,
  createTopic,
  consumeAll,
  execText,
  startSink,
  record,
  waitFor,
  type SinkUnderTest,
  type Consumed,
} from './kafka-helpers.js';

const services = inject('services');
const k = services.kafka;
const kdc = services.kdc;
// Kerberos clients in this process find the test realm's KDC through KRB5_CONFIG (production:
// the system krb5.conf or KRB5_CONFIG). Must be set before the first GSS call.
process.env['KRB5_CONFIG'] = kdc.krb5Conf;
const started: SinkUnderTest[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.runner.stop()));
});

const N = 300;
const KEYS = 10;

type Mode = 'none' | 'tls' | 'plain' | 'scram_sha_256' | 'scram_sha_512' | 'gssapi';
function connection(mode: Mode, client = 'sluice-a'): Record<string, unknown> {
  switch (mode) {
    case 'none':
      return { bootstrap_hosts: k.plaintext };
    case 'tls':
      return { bootstrap_hosts: k.ssl, ssl: { enable: true, ca_file: k.caFile } };
    case 'plain':
      return {
        bootstrap_hosts: k.sasl,
        authentication: { mechanism: 'plain', ...k.plain },
      };
    case 'scram_sha_256':
    case 'scram_sha_512':
      return { bootstrap_hosts: k.sasl, authentication: { mechanism: mode, ...k.scram } };
    case 'gssapi': {
      const c = kdc.clients[client]!;
      return {
        bootstrap_hosts: k.gssapi,
        authentication: {
          mechanism: 'gssapi',
          kerberos_principal: c.principal,
          kerberos_keytab_file: c.keytab,
        },
      };
    }
  }
}

/** Produce N records (10 keys, 1 header + a templated one) and wait for all acks. */
async function produce(s: SinkUnderTest, n = N, tag = 'x'): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (s.runner.pressured) await s.runner.whenWritable();
    const ok = s.runner.enqueue(
      record(
        { seq: i, dev: `dev-${i % KEYS}`, tag },
        { clientid: `dev-${i % KEYS}`, timestamp: 1_700_000_000_000 + i },
      ),
    );
    expect(ok).toBe(true);
  }
  await waitFor(
    () => s.runner.metrics().success >= n || s.runner.metrics().failed > 0,
    60_000,
    'acks',
  );
  expect(s.runner.metrics()).toMatchObject({ success: n, failed: 0, dropped: 0 });
}

/** Keys, values, headers, timestamps, partitions (key_dispatch) and order per partition. */
function checkReadBack(got: Consumed[], n = N, partitions = 3): void {
  expect(got).toHaveLength(n);
  const seqs = new Set<number>();
  const lastByPartition = new Map<number, number>();
  for (const m of got) {
    const v = JSON.parse(m.value ?? 'null') as { seq: number; dev: string };
    seqs.add(v.seq);
    expect(m.key).toBe(`dev-${v.seq % KEYS}`);
    expect(m.key).toBe(v.dev);
    expect(m.headers).toEqual({ source: 'sluice', device: `dev-${v.seq % KEYS}` });
    expect(m.timestamp).toBe(String(1_700_000_000_000 + v.seq));
    expect(m.partition).toBe(keyPartition(Buffer.from(m.key!), partitions));
    // consumeAll delivers each partition in offset order; seq must grow within a partition.
    const prev = lastByPartition.get(m.partition) ?? -1;
    expect(v.seq).toBeGreaterThan(prev);
    lastByPartition.set(m.partition, v.seq);
  }
  expect(seqs.size).toBe(n);
  expect(lastByPartition.size).toBeGreaterThan(1);
}

const messageSettings = {
  partition_strategy: 'key_dispatch',
  headers: [
    { key: 'source', value: 'sluice' },
    { key: 'device', value: '${clientid}' },
  ],
};

describe('kafka sink: every authentication mode, read back by a kafkajs consumer', () => {
  it.each(['none', 'tls', 'plain', 'scram_sha_256', 'scram_sha_512', 'gssapi'] as const)(
    'delivers keys, values, headers and per-partition order with auth %s',
    async (mode) => {
      const topic = uniqueTopic(`auth-${mode}`);
      await createTopic(k.plaintext, topic, 3);
      const s = startSink(
        `k-${mode}`,
        { ...connection(mode), topic, ...messageSettings },
        {
          batch_size: 50,
        },
      );
      started.push(s);
      await s.runner.start();
      await produce(s);
      checkReadBack(await consumeAll(k.plaintext, topic, N));
      if (mode === 'gssapi') expect(s.sink.stats().gssapiAuthentications).toBeGreaterThan(0);
    },
  );
});

describe('kafka sink: compression', () => {
  it.each(['gzip', 'snappy'] as const)('%s batches are read back intact', async (compression) => {
    const topic = uniqueTopic(`comp-${compression}`);
    await createTopic(k.plaintext, topic, 3);
    const s = startSink(`k-${compression}`, {
      ...connection('none'),
      topic,
      compression,
      ...messageSettings,
    });
    started.push(s);
    await produce(s);
    checkReadBack(await consumeAll(k.plaintext, topic, N));
  });
});

describe('kafka sink over GSSAPI, verified with kcat (librdkafka + Cyrus SASL)', () => {
  it('kcat reads back exactly what the sink produced, with keys, headers and partitions', async () => {
    const topic = uniqueTopic('kcat');
    await createTopic(k.plaintext, topic, 3);
    const s = startSink('k-kcat', {
      ...connection('gssapi', 'sluice-b'),
      topic,
      ...messageSettings,
    });
    started.push(s);
    await produce(s, 100);
    const tmp = await mkdtemp(join(tmpdir(), 'kcat-'));
    try {
      const c = kdc.clients['kcat']!;
      const out = await execText(
        'kcat',
        [
          '-b',
          k.gssapi,
          '-C',
          '-t',
          topic,
          '-o',
          'beginning',
          '-e',
          '-J',
          '-q',
          '-X',
          'security.protocol=SASL_PLAINTEXT',
          '-X',
          'sasl.mechanisms=GSSAPI',
          '-X',
          'sasl.kerberos.service.name=kafka',
          '-X',
          `sasl.kerberos.keytab=${c.keytab}`,
          '-X',
          `sasl.kerberos.principal=${c.principal}`,
        ],
        { ...process.env, KRB5_CONFIG: kdc.krb5Conf, KRB5CCNAME: `FILE:${join(tmp, 'cc')}` },
      );
      const rows = out
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              partition: number;
              offset: number;
              key: string;
              payload: string;
              headers: string[];
              ts: number;
            },
        );
      checkReadBack(
        rows.map((r) => ({
          partition: r.partition,
          offset: r.offset,
          key: r.key,
          value: r.payload,
          headers: Object.fromEntries(
            Array.from({ length: r.headers.length / 2 }, (_, i) => [
              r.headers[2 * i]!,
              r.headers[2 * i + 1]!,
            ]),
          ),
          timestamp: String(r.ts),
        })),
        100,
      );
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('runs two GSSAPI sinks with different principals in one process', async () => {
    const topic = uniqueTopic('two-principals');
    await createTopic(k.plaintext, topic, 3);
    const a = startSink('k-a', { ...connection('gssapi', 'sluice-a'), topic, ...messageSettings });
    const b = startSink('k-b', { ...connection('gssapi', 'sluice-b'), topic, ...messageSettings });
    started.push(a, b);
    await Promise.all([produce(a, 100, 'a'), produce(b, 100, 'b')]);
    const got = await consumeAll(k.plaintext, topic, 200);
    expect(got).toHaveLength(200);
    const tags = got.map((m) => (JSON.parse(m.value!) as { tag: string }).tag);
    expect(tags.filter((t) => t === 'a')).toHaveLength(100);
    expect(tags.filter((t) => t === 'b')).toHaveLength(100);
    expect(a.sink.stats().gssapiAuthentications).toBeGreaterThan(0);
    expect(b.sink.stats().gssapiAuthentications).toBeGreaterThan(0);
  });
});
