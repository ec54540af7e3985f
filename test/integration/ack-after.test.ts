/**
 * Held acknowledgements on the embedded broker (listener `ack_after`, issue #12 item 2,
 * decision 0012) with real MQTT.js publishers over TCP (127.0.0.1): the PUBACK / PUBREC of a
 * message the rules consumed leaves only once its records are buffered (`buffered`) or
 * acknowledged by the remote (`remote`); `receipt` (the default) acknowledges while the sink is
 * stalled; a message no rule consumed is acknowledged at once but never before an older held
 * one of the same client; a client keeps streaming up to `max_awaiting_ack`; `ack_timeout`
 * sends a held ack anyway and counts it; a disk buffer acknowledges only after the append
 * (fsync `always`) or after the next fsync (`interval`).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let engine: Engine | undefined;
const clients: MqttClient[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  const s = engine?.sink('out') as MemorySink | undefined;
  s?.release();
  await engine?.stop({ drainMs: 100 });
  engine = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Setup {
  ack_after?: 'receipt' | 'buffered' | 'remote';
  ack_timeout?: string;
  max_awaiting_ack?: number;
  buffer?: Record<string, unknown>;
}

async function setup(o: Setup): Promise<{ port: number; out: MemorySink }> {
  engine = createEngine(
    {
      broker: {
        listeners: {
          tcp: {
            type: 'tcp',
            bind: '127.0.0.1',
            port: 0,
            ...(o.ack_after ? { ack_after: o.ack_after } : {}),
            ...(o.ack_timeout ? { ack_timeout: o.ack_timeout } : {}),
            ...(o.max_awaiting_ack ? { max_awaiting_ack: o.max_awaiting_ack } : {}),
          },
        },
      },
      sinks: { out: { type: 'memory', linger: 0, ...(o.buffer ? { buffer: o.buffer } : {}) } },
      rules: [{ id: 'r', sql: 'SELECT payload FROM "in/#"', actions: ['out'] }],
    },
    { logger: silentLogger },
  );
  const [addr] = await engine.start();
  return { port: addr!.port, out: engine.sink('out') as MemorySink };
}

async function client(port: number, id: string, protocolVersion: 4 | 5 = 4): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: id,
    reconnectPeriod: 0,
    protocolVersion,
  });
  clients.push(c);
  return c;
}

/** Publish; the returned state says when (and with what packet) the broker acknowledged. */
function publish(c: MqttClient, topic: string, payload: string, qos: 1 | 2 = 1) {
  const st: { acked: boolean; at: number; order: number; reasonCode: number | undefined } = {
    acked: false,
    at: 0,
    order: -1,
    reasonCode: undefined,
  };
  c.publish(topic, payload, { qos }, (err, packet) => {
    if (err) throw err;
    st.acked = true;
    st.at = Date.now();
    st.order = ackOrder++;
    st.reasonCode = (packet as { reasonCode?: number } | undefined)?.reasonCode;
  });
  return st;
}
let ackOrder = 0;

describe('ack_after on the embedded broker', () => {
  it('receipt (default): a QoS 1 PUBLISH is acknowledged while its sink is stalled', async () => {
    const { port, out } = await setup({});
    out.hold();
    const pub = await client(port, 'p-receipt');
    const a = publish(pub, 'in/1', 'x');
    await waitFor(() => a.acked, 'PUBACK');
    expect(out.records).toHaveLength(0);
    expect(engine!.metrics().broker.acks).toMatchObject({ pending: 0, held_total: 0 });
  });

  it.each([1, 2] as const)(
    'remote, QoS %i: the acknowledgement waits for the sink write and leaves on its ack',
    async (qos) => {
      const { port, out } = await setup({ ack_after: 'remote' });
      out.hold();
      const pub = await client(port, `p-remote-${qos}`);
      const a = publish(pub, 'in/1', 'x', qos);
      await waitFor(() => engine!.metrics().broker.acks?.pending === 1, 'a held ack');
      await sleep(300);
      expect(a.acked).toBe(false);
      expect(out.records).toHaveLength(0);
      out.release();
      await waitFor(() => a.acked, 'PUBACK after the sink ack');
      expect(out.records).toHaveLength(1);
      const m = engine!.metrics().broker.acks!;
      expect(m).toMatchObject({ pending: 0, held_total: 1, timed_out: 0 });
      expect(m.waits.count).toBe(1);
      expect(m.waits.sum).toBeGreaterThanOrEqual(250);
    },
  );

  it('buffered with a memory buffer: acknowledged once in the buffer, before the remote acks', async () => {
    const { port, out } = await setup({ ack_after: 'buffered' });
    out.hold();
    const pub = await client(port, 'p-buf');
    const a = publish(pub, 'in/1', 'x');
    await waitFor(() => a.acked, 'PUBACK');
    expect(out.records).toHaveLength(0);
    expect(engine!.metrics().sinks['out']!.inflightRecords).toBe(1);
    expect(engine!.metrics().broker.acks!.held_total).toBe(1);
  });

  it('a message no rule consumed is acknowledged at once, but after an older held one', async () => {
    const { port, out } = await setup({ ack_after: 'remote' });
    out.hold();
    const pub = await client(port, 'p-order');
    const other = await client(port, 'p-other');
    // Another client's unconsumed message is not held behind this client's.
    const alone = publish(other, 'elsewhere/1', 'z');
    await waitFor(() => alone.acked, 'PUBACK of an unconsumed message');
    const a = publish(pub, 'in/1', 'x');
    const b = publish(pub, 'elsewhere/1', 'y');
    await waitFor(() => engine!.metrics().broker.acks?.pending === 2, 'two held acks');
    await sleep(200);
    expect(a.acked).toBe(false);
    expect(b.acked).toBe(false);
    out.release();
    await waitFor(() => a.acked && b.acked, 'both PUBACKs');
    expect(a.order).toBeLessThan(b.order);
  });

  it('MQTT 5: a consumed message with no subscriber gets PUBACK 0x00, never 0x10', async () => {
    const { port, out } = await setup({ ack_after: 'remote' });
    out.hold();
    const pub = await client(port, 'p-v5', 5);
    const a = publish(pub, 'in/nobody', 'x');
    await sleep(100);
    expect(a.acked).toBe(false);
    out.release();
    await waitFor(() => a.acked, 'PUBACK');
    expect(a.reasonCode ?? 0).toBe(0);
  });

  it('the broker keeps reading up to max_awaiting_ack held acks, then stops reading', async () => {
    const { port, out } = await setup({ ack_after: 'remote', max_awaiting_ack: 10 });
    out.hold();
    const pub = await client(port, 'p-window');
    // 16 KiB payloads: one socket read holds at most a few of them, so the bound is visible
    // (it applies per read: Aedes handles every packet of one read before reading again).
    const body = 'x'.repeat(16 * 1024);
    const sent = Array.from({ length: 60 }, (_, i) => publish(pub, 'in/w', `${i}:${body}`));
    await waitFor(() => (engine!.metrics().broker.acks?.pending ?? 0) >= 10, '10 held acks');
    await sleep(300);
    const m = engine!.metrics();
    const pending = m.broker.acks!.pending;
    // Streaming: more than one message was read and routed without any acknowledgement …
    expect(m.sinks['out']!.matched).toBe(pending);
    // … and reading stopped near the bound (at most one further socket read past it).
    expect(pending).toBeGreaterThanOrEqual(10);
    expect(pending).toBeLessThan(60);
    await sleep(200);
    expect(engine!.metrics().broker.acks!.pending).toBe(pending);
    expect(m.broker.acks!.window_full).toBeGreaterThanOrEqual(1);
    expect(sent.some((s) => s.acked)).toBe(false);
    out.release();
    await waitFor(() => sent.every((s) => s.acked), 'every PUBACK');
    expect(sent.map((s) => s.order)).toEqual([...sent.map((s) => s.order)].sort((x, y) => x - y));
    await waitFor(() => out.records.length === 60, 'every record');
  });

  it('ack_timeout sends a held acknowledgement anyway and counts it', async () => {
    const { port, out } = await setup({ ack_after: 'remote', ack_timeout: '400ms' });
    out.hold();
    const pub = await client(port, 'p-timeout');
    const t0 = Date.now();
    const a = publish(pub, 'in/1', 'x');
    await waitFor(() => a.acked, 'PUBACK after ack_timeout');
    expect(a.at - t0).toBeGreaterThanOrEqual(350);
    expect(out.records).toHaveLength(0);
    expect(engine!.metrics().broker.acks).toMatchObject({ timed_out: 1, pending: 0 });
  });

  it('buffered with a disk buffer (fsync always): the PUBACK comes after the append', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-ack-'));
    dirs.push(dir);
    const { port, out } = await setup({
      ack_after: 'buffered',
      buffer: { mode: 'disk', dir, fsync: 'always' },
    });
    out.hold();
    const pub = await client(port, 'p-disk');
    const marker = 'marker-' + String(Date.now());
    let inFileAtAck: boolean | undefined;
    pub.publish('in/1', marker, { qos: 1 }, () => {
      const body = readdirSync(dir)
        .filter((f) => f.endsWith('.seg'))
        .map((f) => readFileSync(join(dir, f)).toString('latin1'))
        .join('');
      inFileAtAck = body.includes(marker);
    });
    await waitFor(() => inFileAtAck !== undefined, 'PUBACK');
    expect(inFileAtAck).toBe(true);
    expect(out.records).toHaveLength(0);
  });

  it('buffered with a disk buffer (fsync interval): the PUBACK waits for the next fsync', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-ack-'));
    dirs.push(dir);
    const { port, out } = await setup({
      ack_after: 'buffered',
      buffer: { mode: 'disk', dir, fsync: 'interval', fsync_interval: '600ms' },
    });
    out.hold();
    const pub = await client(port, 'p-disk-int');
    const t0 = Date.now();
    const a = publish(pub, 'in/1', 'x');
    await waitFor(() => engine!.metrics().broker.acks?.pending === 1, 'a held ack');
    await sleep(250);
    expect(a.acked).toBe(false);
    await waitFor(() => a.acked, 'PUBACK after the fsync');
    expect(a.at - t0).toBeGreaterThanOrEqual(500);
    expect(out.records).toHaveLength(0);
  });

  it('remote with a disk buffer: the read-back record still releases the acknowledgement', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-ack-'));
    dirs.push(dir);
    const { port, out } = await setup({
      ack_after: 'remote',
      ack_timeout: '30s',
      buffer: { mode: 'disk', dir, fsync: 'never' },
    });
    out.hold();
    const pub = await client(port, 'p-disk-remote');
    const a = publish(pub, 'in/1', 'x');
    await waitFor(() => engine!.metrics().broker.acks?.pending === 1, 'a held ack');
    await sleep(200);
    expect(a.acked).toBe(false);
    out.release();
    await waitFor(() => a.acked, 'PUBACK after the remote ack', 5000);
    expect(out.records).toHaveLength(1);
    expect(engine!.metrics().broker.acks).toMatchObject({ timed_out: 0, held_total: 1 });
  });
});
