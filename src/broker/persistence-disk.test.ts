/**
 * persistence-disk.ts against the calls Aedes makes (through the callback layer Aedes uses,
 * promise form): every kind of state survives close + reopen, runtime compaction keeps it,
 * a crash (no close) after a compaction replays snapshot + later journal exactly once, and a
 * torn last journal line is skipped.
 */
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/index.js';
import { createDiskPersistence } from './persistence-disk.js';

type P = Record<string, (...args: unknown[]) => unknown>;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-pdisk-'));
  dirs.push(d);
  return d;
}

async function open(dir: string, compactBytes?: number) {
  const d = createDiskPersistence({ dir, logger: silentLogger, compactBytes });
  const p = d.persistence as P;
  await (p.setup as (b: unknown) => Promise<void>)({ id: 'broker-1' });
  return { d, p };
}

const pkt = (topic: string, payload: string, extra: Record<string, unknown> = {}) => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from(payload),
  qos: 1,
  retain: false,
  dup: false,
  brokerId: 'broker-1',
  ...extra,
});

async function drain(s: unknown): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const x of s as AsyncIterable<Record<string, unknown>>) out.push(x);
  return out;
}

/** Everything the tests check, read back through the persistence API. */
async function state(p: P) {
  const c = { id: 'dev-1' };
  const retained = (await drain(p.createRetainedStream!('#'))).map(
    (r) => `${String(r.topic)}=${(r.payload as Buffer).toString()}`,
  );
  const subs = (await p.subscriptionsByClient!(c)) as Array<{ topic: string; qos: number }>;
  const outgoing = (await drain(p.outgoingStream!(c))).map(
    (o) => `${(o.payload as Buffer).toString()}#${String(o.messageId)}`,
  );
  const incoming = (
    await (
      p.incomingGetPacket!(c, { messageId: 7 }) as Promise<{
        payload: Buffer;
      }>
    ).catch(() => undefined)
  )?.payload.toString();
  return {
    retained: retained.sort(),
    subs: subs.map((s) => `${s.topic}@${s.qos}`).sort(),
    outgoing,
    incoming,
  };
}

async function fill(p: P, n = 3): Promise<void> {
  const c = { id: 'dev-1' };
  await p.storeRetained!(pkt('r/a', 'ra', { retain: true }));
  await p.storeRetained!(pkt('r/b', 'rb', { retain: true }));
  await p.storeRetained!(pkt('r/b', '', { retain: true })); // deletes r/b
  await p.addSubscriptions!(c, [
    { topic: 's/1', qos: 1 },
    { topic: 's/2', qos: 2 },
  ]);
  await p.removeSubscriptions!(c, ['s/2']);
  for (let i = 0; i < n; i++)
    await p.outgoingEnqueueCombi!(
      [{ clientId: 'dev-1' }],
      pkt('s/1', `m${i}`, { brokerCounter: i + 1 }),
    );
  await p.outgoingUpdate!(c, pkt('s/1', 'm0', { brokerCounter: 1, messageId: 41 }));
  await p.outgoingUpdate!(c, pkt('s/1', 'm1', { brokerCounter: 2, messageId: 42 }));
  await p.outgoingClearMessageId!(c, { messageId: 41 }); // m0 acked
  await p.incomingStorePacket!(c, pkt('in/q2', 'q2', { qos: 2, messageId: 7 }));
  await p.incomingStorePacket!(c, pkt('in/q2', 'gone', { qos: 2, messageId: 8 }));
  await p.incomingDelPacket!(c, { messageId: 8 });
}

const expected = (n = 3) => ({
  retained: ['r/a=ra'],
  subs: ['s/1@1'],
  outgoing: ['m1#42', ...Array.from({ length: n - 2 }, (_, i) => `m${i + 2}#undefined`)],
  incoming: 'q2',
});

describe('disk persistence', () => {
  it('close + reopen restores retained, subscriptions, outgoing queue (with ids) and incoming QoS 2', async () => {
    const dir = tempDir();
    const a = await open(dir);
    await fill(a.p);
    expect(await state(a.p)).toEqual(expected());
    await a.d.close();
    const b = await open(dir);
    expect(await state(b.p)).toEqual(expected());
    await b.d.close();
  });

  it('a crash (no close) restores the same state from the journal', async () => {
    const dir = tempDir();
    const a = await open(dir);
    await fill(a.p);
    await new Promise((r) => setImmediate(r)); // the journal is written once per loop turn
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    const b = await open(copy);
    expect(await state(b.p)).toEqual(expected());
    await Promise.all([a.d.close(), b.d.close()]);
  });

  it('runtime compaction (tiny compactBytes) then a crash: nothing lost, nothing applied twice', async () => {
    const dir = tempDir();
    const a = await open(dir, 200);
    const n = 50;
    await fill(a.p, n);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    // Start compacts into journal-1; a later generation means compaction ran while in use.
    const gens = readdirSync(dir)
      .map((f) => /^journal-(\d+)/.exec(f)?.[1])
      .filter((g) => g !== undefined)
      .map(Number);
    expect(Math.max(...gens)).toBeGreaterThan(1);
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    const b = await open(copy);
    expect(await state(b.p)).toEqual(expected(n));
    await Promise.all([a.d.close(), b.d.close()]);
  });

  it('a torn last journal line is skipped, the lines before it are kept', async () => {
    const dir = tempDir();
    const a = await open(dir);
    await fill(a.p);
    await new Promise((r) => setImmediate(r));
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    const journal = readdirSync(copy).find((f) => f.startsWith('journal-'))!;
    appendFileSync(join(copy, journal), '["retain",null,{"topic":"r/torn","pay');
    const b = await open(copy);
    expect(await state(b.p)).toEqual(expected());
    await Promise.all([a.d.close(), b.d.close()]);
  });

  it('a session that ends empty (clean session subscribe + clean) is not kept in the snapshot', async () => {
    const dir = tempDir();
    const a = await open(dir);
    await fill(a.p);
    const c = { id: 'clean-1' };
    await a.p.addSubscriptions!(c, [{ topic: 'c/1', qos: 1 }]);
    await a.p.cleanSubscriptions!(c);
    await a.d.close();
    const snap = JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8')) as {
      sessions: Array<{ id: string }>;
    };
    expect(snap.sessions.map((x) => x.id)).toEqual(['dev-1']);
  });
});
