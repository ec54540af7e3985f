/**
 * The in-memory collecting sink: what tests, examples and benchmarks route rule outputs to.
 * It records every acknowledged record and batch, and lets a test inject faults — failed
 * writes (retriable or not), per-record retry/reject results, a dropped connection, failing
 * connects, a write delay, or a gate that holds writes until released — so the runner's
 * behaviour can be observed without a real external system.
 */
import { compileTemplate, encodeJson, field, renderText } from '../../core/index.js';
import type {
  Sink,
  SinkDeps,
  SinkRecord,
  SinkType,
  Template,
  WriteResult,
} from '../../core/index.js';
import { sinkNotConnected } from '../runner/index.js';
import { MemoryErrors } from './errors.js';

export interface MemorySinkConfig {
  /** Delay (ms) before each write resolves. */
  delay?: number;
  /** Measure records (sizeOf = UTF-8 length of the JSON of `data`) for byte limits. */
  measure?: boolean;
  /** `${path}` template: when set, the sink declares `partitionKey` (per-key ordering). */
  partition_key?: string;
}

type Fault =
  | { kind: 'fail'; retriable: boolean; code?: string }
  | { kind: 'disconnect' }
  | { kind: 'result'; result: WriteResult };

export interface MemorySink extends Sink {
  /** Every acknowledged record, in acknowledgement order (duplicates included). */
  readonly records: SinkRecord[];
  /** Every acknowledged batch (as written, including records later reported for retry). */
  readonly batches: SinkRecord[][];
  /** Every write call's batch, including failed ones. */
  readonly attempts: SinkRecord[][];
  readonly stats: {
    connects: number;
    closes: number;
    writes: number;
    inflight: number;
    maxInflight: number;
  };
  readonly connected: boolean;
  /** The next `n` writes fail with `memory_injected_failure` (retriable unless told otherwise). */
  failNext(n: number, opts?: { retriable?: boolean }): void;
  /** The next write resolves with this per-record result (retry / rejected indexes). */
  respondNext(result: WriteResult): void;
  /** Drop the connection now: writes raise `sink_not_connected` until `connect()` succeeds. */
  disconnect(): void;
  /** The next `n` connect calls fail (retriably); `failConnect(0)` lets the next one succeed. */
  failConnect(n: number): void;
  /** Writes wait until `release()` (to hold batches in flight). */
  hold(): void;
  release(): void;
  setDelay(ms: number): void;
  /** Forget collected records and batches (counters stay). */
  reset(): void;
}

export function createMemorySink(config: MemorySinkConfig = {}): MemorySink {
  const records: SinkRecord[] = [];
  const batches: SinkRecord[][] = [];
  const attempts: SinkRecord[][] = [];
  const stats = { connects: 0, closes: 0, writes: 0, inflight: 0, maxInflight: 0 };
  const faults: Fault[] = [];
  let connected = false;
  let connectFailures = 0;
  let delay = config.delay ?? 0;
  let gate: Promise<void> | undefined;
  let openGate: (() => void) | undefined;
  const keyTemplate: Template | undefined =
    config.partition_key !== undefined ? compileTemplate(config.partition_key) : undefined;

  const sink: MemorySink = {
    records,
    batches,
    attempts,
    stats,
    get connected() {
      return connected;
    },
    async connect() {
      stats.connects++;
      if (connectFailures > 0) {
        connectFailures--;
        throw MemoryErrors.memory_injected_failure('injected connect failure');
      }
      connected = true;
    },
    async write(batch) {
      stats.writes++;
      attempts.push([...batch]);
      stats.inflight++;
      stats.maxInflight = Math.max(stats.maxInflight, stats.inflight);
      try {
        if (gate) await gate;
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        if (!connected) throw sinkNotConnected('memory sink is not connected');
        const fault = faults.shift();
        if (fault?.kind === 'disconnect') {
          connected = false;
          throw sinkNotConnected('memory sink connection dropped (injected)');
        }
        if (fault?.kind === 'fail') {
          throw MemoryErrors.memory_injected_failure('injected write failure', {
            retriable: fault.retriable,
          });
        }
        const result = fault?.kind === 'result' ? fault.result : undefined;
        const again = new Set([
          ...(result?.retry ?? []),
          ...(result?.rejected ?? []).map((r) => r.index),
        ]);
        batches.push([...batch]);
        for (let i = 0; i < batch.length; i++)
          if (!again.has(i)) records.push(batch[i] as SinkRecord);
        return result;
      } finally {
        stats.inflight--;
      }
    },
    async close() {
      stats.closes++;
      connected = false;
    },
    failNext(n, opts = {}) {
      for (let i = 0; i < n; i++) faults.push({ kind: 'fail', retriable: opts.retriable ?? true });
    },
    respondNext(result) {
      faults.push({ kind: 'result', result });
    },
    disconnect() {
      connected = false;
    },
    failConnect(n) {
      connectFailures = n;
    },
    hold() {
      if (!gate) gate = new Promise((r) => (openGate = r));
    },
    release() {
      openGate?.();
      gate = undefined;
      openGate = undefined;
    },
    setDelay(ms) {
      delay = ms;
    },
    reset() {
      records.length = 0;
      batches.length = 0;
      attempts.length = 0;
    },
  };
  if (config.measure !== false) sink.sizeOf = (r) => Buffer.byteLength(encodeJson(r.data), 'utf8');
  if (keyTemplate) sink.partitionKey = (r) => renderText(keyTemplate, r.data, r.context);
  return sink;
}

export const memorySinkSpec = field.object(
  {
    delay: field.duration({
      description: 'Artificial delay before each write is acknowledged (for tests and demos).',
      default: 0,
      example: '10ms',
    }),
    measure: field.boolean({
      description:
        'Measure each record as the UTF-8 length of its JSON so byte-based batching and buffer limits apply.',
      default: true,
    }),
    partition_key: field.string({
      description:
        'Optional `${path}` template; when set, records with the same rendered key are written in order, one batch in flight per key.',
      optional: true,
      example: '${clientid}',
    }),
  },
  { description: 'In-memory collecting sink (tests, examples, benchmarks).' },
);

/** The `memory` sink type. Its instances are reachable only through the returned object. */
export const memorySinkType: SinkType<MemorySinkConfig> = {
  type: 'memory',
  spec: memorySinkSpec,
  create: (_deps: SinkDeps, config: MemorySinkConfig) => createMemorySink(config),
};
