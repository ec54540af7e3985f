/**
 * `broker.persistence.type: disk` (decision 0008): Aedes' own in-memory persistence
 * (aedes-persistence 11, the one Aedes ships with) made durable by an operation journal.
 *
 * Every state-changing call Aedes makes (retained store, session subscriptions, the outgoing
 * queue of QoS 1/2 copies, incoming QoS 2 packets awaiting PUBREL) is applied to the in-memory
 * store as before and also appended, as one JSON line, to `journal-<gen>.ndjson` in `dir`.
 * Lines are batched and written with one `write` per event-loop turn (`setImmediate`), so a
 * crash loses at most the operations of the last turn; a clean `close()` loses nothing. No
 * `fsync`: a power loss may lose what the OS had not yet written.
 *
 * Compaction: at start, at close and when the journal passes `compactBytes`, the whole state is
 * serialised (synchronously, so it is one consistent instant) to `snapshot.json` through a
 * temporary file and `rename`, and the snapshot names the journal generation it covers. The next
 * operations go to a new generation; older journals are deleted after the rename. A crash at any
 * point therefore leaves a snapshot plus the journals after it, never an operation applied twice.
 *
 * Load: snapshot, then every later journal in order, replayed on a fresh in-memory store. A torn
 * last line (crash mid-write) is skipped and counted in the log.
 *
 * One broker per directory: `LOCK` is held from load to close (dir-lock.ts).
 *
 * Not persisted: wills (a restarted broker has a new id, and Aedes would publish every stored
 * will of the old id as if that broker had died; sessions resume without them).
 *
 * Matching, queues and retained look-ups stay Aedes' own tested code: this file only records and
 * replays the calls. Aedes internals used (README invariant 7): aedes-persistence's
 * `asyncPersistence.js` (the store) and `callBackPersistence.js` (the layer Aedes calls).
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Logger } from '../core/index.js';
import { lockDir, type DirLock } from './dir-lock.js';

const require = createRequire(import.meta.url);

type Packet = Record<string, unknown> & { messageId?: number; topic?: string; payload?: Buffer };
interface ClientLike {
  id: string;
}
interface SubLike {
  clientId: string;
}
/** The async store of aedes-persistence (asyncPersistence.js); only the calls used here. */
interface MemoryStore {
  setup(broker: unknown): Promise<void>;
  storeRetained(p: Packet): Promise<void>;
  createRetainedStream(pattern: string): AsyncIterable<Packet>;
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<Packet>;
  addSubscriptions(c: ClientLike, subs: Array<Record<string, unknown>>): Promise<void>;
  removeSubscriptions(c: ClientLike, topics: string[]): Promise<void>;
  subscriptionsByClient(c: ClientLike): Promise<Array<Record<string, unknown>>>;
  countOffline(): Promise<unknown>;
  subscriptionsByTopic(pattern: string): Promise<unknown>;
  cleanSubscriptions(c: ClientLike): Promise<void>;
  outgoingEnqueue(sub: SubLike, p: Packet): Promise<void>;
  outgoingEnqueueCombi(subs: SubLike[], p: Packet): Promise<void>;
  outgoingUpdate(c: ClientLike, p: Packet): Promise<void>;
  outgoingClearMessageId(c: ClientLike, p: Packet): Promise<Packet | undefined>;
  outgoingStream(c: ClientLike): AsyncIterable<Packet>;
  incomingStorePacket(c: ClientLike, p: Packet): Promise<void>;
  incomingGetPacket(c: ClientLike, p: Packet): Promise<Packet>;
  incomingDelPacket(c: ClientLike, p: Packet): Promise<void>;
  cleanIncoming(c: ClientLike): Promise<void>;
  putWill(c: ClientLike, p: Packet): Promise<void>;
  getWill(c: ClientLike): Promise<Packet | undefined>;
  delWill(c: ClientLike): Promise<Packet | undefined>;
  streamWill(brokers?: Record<string, number>): AsyncIterable<Packet>;
  getClientList(topic: string): AsyncIterable<string>;
  destroy(): Promise<void>;
}

const MemoryPersistence = require('aedes-persistence/asyncPersistence.js') as new () => MemoryStore;
const { CallBackPersistence } = require('aedes-persistence/callBackPersistence.js') as {
  CallBackPersistence: new (factory: () => unknown) => Record<string, unknown>;
};

/** One journal line: [op, clientId(s), argument]. */
type Op =
  | ['retain', null, Packet]
  | ['sub+', string, Array<Record<string, unknown>>]
  | ['sub-', string, string[]]
  | ['subclean', string, null]
  | ['enq', string[], Packet]
  | ['upd', string, Packet]
  | ['clr', string, number | undefined]
  | ['in+', string, Packet]
  | ['in-', string, number | undefined]
  | ['inclean', string, null];

interface Snapshot {
  v: 1;
  /** Journals up to and including this generation are in the snapshot. */
  gen: number;
  retained: Packet[];
  sessions: Array<{
    id: string;
    subs: Array<Record<string, unknown>>;
    outgoing: Packet[];
    incoming: Packet[];
  }>;
}

export interface DiskPersistenceOptions {
  dir: string;
  logger: Logger;
  /** Journal size that triggers a compaction (default 64 MiB). */
  compactBytes?: number;
}

/** What broker.ts holds: the object handed to Aedes, and the close it must call after Aedes'. */
export interface DiskPersistence {
  /** Give to `new Aedes({ persistence })`. */
  readonly persistence: unknown;
  /** The store holds a retained message, restored ones included (decision 0025). */
  hasRetained(): boolean;
  /** After Aedes has closed: flush the journal, write a final snapshot, close files. Idempotent. */
  close(): Promise<void>;
}

/** JSON with Buffers as `{ "$b": base64 }` (payloads, MQTT 5 correlation data). */
function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return Buffer.isBuffer(raw) ? { $b: raw.toString('base64') } : value;
}
function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && typeof (value as { $b?: unknown }).$b === 'string')
    return Buffer.from((value as { $b: string }).$b, 'base64');
  return value;
}

const client = (id: string): ClientLike => ({ id });

export function createDiskPersistence(opts: DiskPersistenceOptions): DiskPersistence {
  const { dir, logger } = opts;
  const compactBytes = opts.compactBytes ?? 64 * 1024 * 1024;
  const snapshotPath = join(dir, 'snapshot.json');
  const journalPath = (gen: number): string => join(dir, `journal-${gen}.ndjson`);

  const store: MemoryStore = new MemoryPersistence();
  /** Mirrors needed to serialise the state (the store's own maps are private). */
  const retained = new Map<string, Packet>();
  /** Client ids that may hold state → sequence number of the last call that added state. */
  const sessionIds = new Map<string, number>();
  let seq = 0;
  const touch = (id: string): void => void sessionIds.set(id, ++seq);
  const incomingIds = new Map<string, Set<number>>();

  let gen = 0;
  /** Held from load() to close() (dir-lock.ts). */
  let lock: DirLock | undefined;
  let fd: number | undefined;
  let written = 0;
  let pending: string[] = [];
  let flushScheduled = false;
  let closed = false;
  let compacting: Promise<void> | undefined;

  function apply(op: Op): Promise<unknown> {
    switch (op[0]) {
      case 'retain': {
        const p = op[2];
        if (p.topic !== undefined) {
          if (!p.payload || p.payload.length === 0) retained.delete(p.topic);
          else retained.set(p.topic, { ...p });
        }
        return store.storeRetained(p);
      }
      case 'sub+':
        touch(op[1]);
        return store.addSubscriptions(client(op[1]), op[2]);
      case 'sub-':
        return store.removeSubscriptions(client(op[1]), op[2]);
      case 'subclean':
        return store.cleanSubscriptions(client(op[1]));
      case 'enq':
        for (const id of op[1]) touch(id);
        return store.outgoingEnqueueCombi(
          op[1].map((clientId) => ({ clientId })),
          op[2],
        );
      case 'upd':
        touch(op[1]);
        return store.outgoingUpdate(client(op[1]), op[2]);
      case 'clr':
        return store.outgoingClearMessageId(client(op[1]), { messageId: op[2] });
      case 'in+': {
        touch(op[1]);
        let ids = incomingIds.get(op[1]);
        if (!ids) incomingIds.set(op[1], (ids = new Set()));
        if (op[2].messageId !== undefined) ids.add(op[2].messageId);
        return store.incomingStorePacket(client(op[1]), op[2]);
      }
      case 'in-':
        if (op[2] !== undefined) {
          const ids = incomingIds.get(op[1]);
          ids?.delete(op[2]);
          if (ids?.size === 0) incomingIds.delete(op[1]);
        }
        return store.incomingDelPacket(client(op[1]), { messageId: op[2] });
      case 'inclean':
        incomingIds.delete(op[1]);
        return store.cleanIncoming(client(op[1]));
    }
  }

  function flush(): void {
    flushScheduled = false;
    if (fd === undefined || pending.length === 0) return;
    const chunk = pending.join('');
    pending = [];
    written += writeSync(fd, chunk);
    if (written >= compactBytes && !closed && !compacting)
      compact(false).catch((err: unknown) =>
        logger.error(
          { code: 'broker_persistence_failed', err },
          'broker persistence compaction failed',
        ),
      );
  }

  /** Apply to the store and journal it. The store's calls finish synchronously (memory). */
  function record(op: Op): Promise<unknown> {
    const result = apply(op);
    if (fd !== undefined) {
      pending.push(JSON.stringify(op, replacer) + '\n');
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    }
    return result;
  }

  function writeSnapshot(s: Snapshot): void {
    const tmp = snapshotPath + '.tmp';
    writeFileSync(tmp, JSON.stringify(s, replacer));
    renameSync(tmp, snapshotPath);
  }

  function openJournal(g: number): void {
    fd = openSync(journalPath(g), 'a');
    written = fstatSync(fd).size;
  }

  function deleteJournalsUpTo(g: number): void {
    for (const f of readdirSync(dir)) {
      const m = /^journal-(\d+)\.ndjson$/.exec(f);
      if (m && Number(m[1]) <= g) unlinkSync(join(dir, f));
    }
  }

  /**
   * Snapshot the state and continue in a new journal generation. The capture and the journal
   * switch happen in one synchronous block, so no operation falls between them: the memory
   * store's async methods have no `await` inside (their result is fixed when the call returns),
   * and `outgoingStream` copies the queue at call time. The only later change to a captured
   * outgoing packet is `outgoingUpdate` setting its messageId, which the new journal also holds
   * and which is idempotent on replay. `final` (close) opens no new journal.
   */
  async function compact(final: boolean): Promise<void> {
    if (compacting) await compacting;
    if (fd !== undefined) {
      if (pending.length) writeSync(fd, pending.join(''));
      pending = [];
      closeSync(fd);
      fd = undefined;
    }
    const covered = gen;
    gen = covered + 1;
    if (!final) openJournal(gen);
    const captured = [...sessionIds].map(([id, at]) => {
      const c = client(id);
      return {
        id,
        at,
        subs: store.subscriptionsByClient(c),
        outgoing: store.outgoingStream(c),
        incoming: [...(incomingIds.get(id) ?? [])].map((mid) =>
          store.incomingGetPacket(c, { messageId: mid }).catch(() => undefined),
        ),
      };
    });
    const retainedNow = [...retained.values()];
    const done = (async () => {
      const sessions: Snapshot['sessions'] = [];
      for (const s of captured) {
        const subs = await s.subs;
        const outgoing: Packet[] = [];
        for await (const p of s.outgoing) outgoing.push({ ...p });
        const incoming = (await Promise.all(s.incoming)).filter((p): p is Packet => !!p);
        if (subs.length || outgoing.length || incoming.length)
          sessions.push({ id: s.id, subs, outgoing, incoming });
        // Empty at capture and nothing added since (clean sessions come and go): forget the id.
        else if (sessionIds.get(s.id) === s.at) sessionIds.delete(s.id);
      }
      writeSnapshot({ v: 1, gen: covered, retained: retainedNow, sessions });
      deleteJournalsUpTo(covered);
    })();
    compacting = done;
    try {
      await done;
    } finally {
      if (compacting === done) compacting = undefined;
    }
  }

  async function load(): Promise<void> {
    mkdirSync(dir, { recursive: true });
    lock ??= lockDir(dir);
    let covered = -1;
    let ops = 0;
    let torn = 0;
    if (existsSync(snapshotPath)) {
      const s = JSON.parse(readFileSync(snapshotPath, 'utf8'), reviver) as Snapshot;
      covered = s.gen;
      for (const p of s.retained) await apply(['retain', null, p]);
      for (const sess of s.sessions) {
        if (sess.subs.length) await apply(['sub+', sess.id, sess.subs]);
        for (const p of sess.outgoing) {
          await apply(['enq', [sess.id], p]);
          // The store's enqueue copies a packet without its messageId (aedes-packet): a copy
          // already sent before the restart gets its id back, as Aedes' outgoingUpdate set it.
          if (p.messageId !== undefined) await apply(['upd', sess.id, p]).catch(() => undefined);
        }
        for (const p of sess.incoming) await apply(['in+', sess.id, p]);
        touch(sess.id);
      }
    }
    const gens = readdirSync(dir)
      .map((f) => /^journal-(\d+)\.ndjson$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((x, y) => x - y);
    for (const g of gens) {
      if (g <= covered) continue;
      for (const line of readFileSync(journalPath(g), 'utf8').split('\n')) {
        if (!line) continue;
        let op: Op;
        try {
          op = JSON.parse(line, reviver) as Op;
        } catch {
          torn++;
          continue;
        }
        ops++;
        // A call Aedes saw fail (e.g. outgoingUpdate of an unknown packet) fails again: ignore.
        await apply(op).catch(() => undefined);
      }
    }
    gen = Math.max(covered, gens.at(-1) ?? -1, 0);
    logger.info(
      { dir, retained: retained.size, sessions: sessionIds.size, replayed: ops, torn },
      'broker persistence loaded',
    );
    await compact(false);
  }

  const durable = {
    get broker(): unknown {
      return (store as unknown as { broker: unknown }).broker;
    },
    async setup(broker: unknown): Promise<void> {
      await store.setup(broker);
      await load();
    },
    storeRetained: (p: Packet) => record(['retain', null, p]),
    createRetainedStream: (pattern: string) => store.createRetainedStream(pattern),
    createRetainedStreamCombi: (patterns: string[]) => store.createRetainedStreamCombi(patterns),
    addSubscriptions: (c: ClientLike, subs: Array<Record<string, unknown>>) =>
      record(['sub+', c.id, subs.map((s) => ({ ...s }))]),
    removeSubscriptions: (c: ClientLike, topics: string[]) => record(['sub-', c.id, topics]),
    subscriptionsByClient: (c: ClientLike) => store.subscriptionsByClient(c),
    countOffline: () => store.countOffline(),
    subscriptionsByTopic: (pattern: string) => store.subscriptionsByTopic(pattern),
    cleanSubscriptions: (c: ClientLike) => record(['subclean', c.id, null]),
    outgoingEnqueue: (sub: SubLike, p: Packet) => record(['enq', [sub.clientId], p]),
    outgoingEnqueueCombi: (subs: SubLike[], p: Packet) =>
      subs.length === 0 ? Promise.resolve() : record(['enq', subs.map((s) => s.clientId), p]),
    outgoingUpdate: (c: ClientLike, p: Packet) => record(['upd', c.id, p]),
    outgoingClearMessageId: (c: ClientLike, p: Packet) => record(['clr', c.id, p.messageId]),
    outgoingStream: (c: ClientLike) => store.outgoingStream(c),
    incomingStorePacket: (c: ClientLike, p: Packet) => record(['in+', c.id, p]),
    incomingGetPacket: (c: ClientLike, p: Packet) => store.incomingGetPacket(c, p),
    incomingDelPacket: (c: ClientLike, p: Packet) => record(['in-', c.id, p.messageId]),
    cleanIncoming: (c: ClientLike) => record(['inclean', c.id, null]),
    putWill: (c: ClientLike, p: Packet) => store.putWill(c, p),
    getWill: (c: ClientLike) => store.getWill(c),
    delWill: (c: ClientLike) => store.delWill(c),
    streamWill: (brokers?: Record<string, number>) => store.streamWill(brokers),
    getClientList: (topic: string) => store.getClientList(topic),
    destroy: () => store.destroy(),
  };

  return {
    persistence: new CallBackPersistence(() => durable),
    hasRetained: () => retained.size > 0,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await compact(true);
      } finally {
        lock?.release();
      }
    },
  };
}
