/**
 * The runner's settings (CONVENTIONS.md #6): declared once here, embedded by the engine under
 * each sink's config, rendered into docs/sinks/README.md. Defaults follow what EMQX users know
 * from `resource_opts` and the Kafka/HStreamDB producers (spec hstream-sink.md §4, kafka-gssapi.md
 * §5); a sink type may ship other defaults with `runnerConfigSpecWith()`.
 */
import { field } from '../../core/index.js';
import type { FieldSpec } from '../../core/index.js';

export type OverflowPolicy = 'drop_oldest' | 'drop_newest' | 'block';
export type BufferMode = 'memory' | 'disk' | 'hybrid';
export type FsyncMode = 'always' | 'interval' | 'never';

export interface RunnerConfig {
  /** Max records per batch (>= 1). */
  batch_size: number;
  /** Max encoded bytes per batch (needs `Sink.sizeOf`; one oversized record still goes alone). */
  batch_bytes: number;
  /** Max ms a partial batch waits for more records (0 = send at the next tick). */
  linger: number;
  /** Max batches being written (or retried) at once, across all partitions. */
  max_inflight: number;
  /** Base directory for files the runner keeps (disk buffers under `<data_dir>/buffers/<sink>`). */
  data_dir?: string;
  buffer: {
    /** memory (default), disk (every record written before enqueue returns), hybrid (memory, spilling to disk). */
    mode?: BufferMode;
    /** disk/hybrid: the directory of this sink's segments; '' = `<data_dir>/buffers/<sink name>`. */
    dir?: string;
    /** disk/hybrid: size at which a segment file is closed and a new one started. */
    segment_bytes?: number;
    fsync?: FsyncMode;
    /** fsync interval only: ms between fsyncs of the active segment. */
    fsync_interval?: number;
    /** hybrid only: records held in memory before new ones spill to disk. */
    memory_records?: number;
    /** hybrid only: `sizeOf` bytes held in memory before new records spill to disk. */
    memory_bytes?: number;
    max_records: number;
    max_bytes: number;
    overflow: OverflowPolicy;
    /** `block` only: pressure is lifted once the buffer is at or below this fraction of its limits. */
    low_watermark: number;
    /** `block` only: records taken above max_records while producers are being paused. */
    headroom: number;
  };
  retry: {
    initial_backoff: number;
    max_backoff: number;
    /** Attempts in total including the first; 0 = retry forever (bounded by request_ttl). */
    max_attempts: number;
  };
  /** Max age (ms since the event entered Sluice) a record may reach before it is written; 0 = none. */
  request_ttl: number;
  /** Max ms one `Sink.write` may take before it is aborted and retried; 0 = no limit. */
  write_timeout: number;
  /** Where the sink and this runner run: the main thread, or a worker thread of their own. */
  thread: 'main' | 'worker';
  /** Sinks that get the records this one gives up on (EMQX `fallback_actions`); wired by the engine. */
  fallback_actions: string[];
  health: {
    /** ms connected with batches in flight and no write acknowledged before status `stalled`; 0 = off. */
    stall_after: number;
  };
}

export const RUNNER_DEFAULTS: RunnerConfig = {
  batch_size: 100,
  batch_bytes: 917_504, // 896 KiB, EMQX Kafka max_batch_bytes; stays under 1 MiB server caps
  linger: 5,
  max_inflight: 10,
  data_dir: './data',
  buffer: {
    mode: 'memory',
    dir: '',
    segment_bytes: 64 * 1024 * 1024,
    fsync: 'interval',
    fsync_interval: 1000,
    memory_records: 10_000,
    memory_bytes: 64 * 1024 * 1024,
    max_records: 100_000,
    max_bytes: 256 * 1024 * 1024,
    overflow: 'drop_oldest',
    low_watermark: 0.5,
    headroom: 10_000,
  },
  retry: { initial_backoff: 100, max_backoff: 30_000, max_attempts: 0 },
  request_ttl: 45_000,
  write_timeout: 30_000,
  thread: 'main',
  fallback_actions: [],
  health: { stall_after: 30_000 },
};

export interface RunnerDefaults {
  batch_size?: number;
  batch_bytes?: number;
  linger?: number;
  max_inflight?: number;
  data_dir?: string;
  buffer?: Partial<RunnerConfig['buffer']>;
  retry?: Partial<RunnerConfig['retry']>;
  request_ttl?: number;
  write_timeout?: number;
  health?: RunnerConfig['health'];
}

/** The runner spec with other defaults (e.g. HStreamDB: batch_size 100, linger 500ms). */
export function runnerConfigSpecWith(overrides: RunnerDefaults = {}): FieldSpec {
  const d: RunnerConfig = {
    ...RUNNER_DEFAULTS,
    ...overrides,
    buffer: { ...RUNNER_DEFAULTS.buffer, ...overrides.buffer },
    retry: { ...RUNNER_DEFAULTS.retry, ...overrides.retry },
    health: { ...RUNNER_DEFAULTS.health, ...overrides.health },
  };
  return field.object(
    {
      batch_size: field.integer({
        description:
          'Maximum number of records in one write to the sink. A batch is sent as soon as it is full.',
        default: d.batch_size,
        min: 1,
        example: 500,
      }),
      batch_bytes: field.bytes({
        description:
          'Maximum encoded size of one batch. Only sinks that can measure a record (Kafka, HStreamDB, memory) apply it; a single larger record is still sent, alone.',
        default: d.batch_bytes,
        example: '896KB',
      }),
      linger: field.duration({
        description:
          'How long a partly filled batch waits for more records before it is sent anyway (0 = send at the next tick). Higher values give bigger batches at the cost of latency.',
        default: d.linger,
        example: '5ms',
      }),
      max_inflight: field.integer({
        description:
          'Maximum number of batches being written (or waiting to be retried) at the same time. Sinks that keep per-partition order additionally allow only one batch in flight per partition.',
        default: d.max_inflight,
        min: 1,
        example: 10,
      }),
      data_dir: field.string({
        description:
          'Directory for the files the runner keeps (relative paths are resolved against the working directory). Disk and hybrid buffers live in <data_dir>/buffers/<sink name> unless buffer.dir says otherwise.',
        default: d.data_dir,
        example: '/var/lib/sluice',
      }),
      buffer: field.object(
        {
          mode: field.string({
            description:
              'Where waiting records are kept. memory: in RAM only (lost on a crash or restart). disk: every record is appended to a segment file before the rule engine is told it was accepted, kept there until the sink acknowledges it, and replayed after a restart (in order per partition key). hybrid: in RAM up to memory_records / memory_bytes, then spilled to disk (order kept); records in the RAM part are lost on a crash, records on disk are not. See docs/sinks/README.md, Buffers.',
            enum: ['memory', 'disk', 'hybrid'],
            default: d.buffer.mode,
          }),
          dir: field.string({
            description:
              "disk/hybrid: the directory holding this sink's segment files (one directory per sink; a second process using it is refused). Empty: <data_dir>/buffers/<sink name>.",
            default: d.buffer.dir,
            example: '/var/lib/sluice/buffers/kafka1',
          }),
          segment_bytes: field.bytes({
            description:
              'disk/hybrid: a segment file is closed and a new one started when the next record would pass this size. A segment is deleted once every record in it is acknowledged (or dropped).',
            default: d.buffer.segment_bytes,
            example: '64MB',
          }),
          fsync: field.string({
            description:
              'disk/hybrid: when the segment file is flushed to stable storage. Every accepted record is written to the file (the OS page cache) before enqueue returns, so a killed Sluice process loses nothing either way; fsync decides what a power loss or kernel crash may take. always: fsync after each record (nothing; slowest), interval: at most fsync_interval of records, never: whatever the OS had not written back. Measured cost: bench/RESULTS.md.',
            enum: ['always', 'interval', 'never'],
            default: d.buffer.fsync,
          }),
          fsync_interval: field.duration({
            description:
              'fsync interval only: time between two fsyncs of the segment being written (only when something was written).',
            default: d.buffer.fsync_interval,
            example: '1s',
          }),
          memory_records: field.integer({
            description:
              'hybrid only: records kept in memory before new records spill to disk. A partition with records on disk sends its new records to disk too until that part is written out, which keeps the order.',
            default: d.buffer.memory_records,
            min: 1,
            example: 10000,
          }),
          memory_bytes: field.bytes({
            description:
              'hybrid only: encoded size (for sinks that can measure records) of the records kept in memory before new records spill to disk.',
            default: d.buffer.memory_bytes,
            example: '64MB',
          }),
          max_records: field.integer({
            description:
              'Maximum number of records waiting to be batched (in-flight batches not included), in memory and on disk together. When reached, the overflow policy applies.',
            default: d.buffer.max_records,
            min: 1,
            example: 100000,
          }),
          max_bytes: field.bytes({
            description:
              'Maximum size of the waiting records. memory: their encoded size (for sinks that can measure records); disk: their size on disk (record framing included, every sink); hybrid: both parts added. When reached, the overflow policy applies. The segment files can hold up to one more segment_bytes per partly acknowledged segment, plus the in-flight records.',
            default: d.buffer.max_bytes,
            example: '256MB',
          }),
          overflow: field.string({
            description:
              'What happens when the buffer is full: drop_oldest evicts the oldest waiting record (EMQX behaviour), drop_newest refuses the new one, block pushes back on the producers instead: Sluice stops reading from the MQTT connections whose messages feed this sink (TCP flow control; QoS 1/2 acknowledgements are withheld) until the buffer is below low_watermark. Every drop is counted.',
            enum: ['drop_oldest', 'drop_newest', 'block'],
            default: d.buffer.overflow,
          }),
          low_watermark: field.number({
            description:
              'overflow block only: paused publishers are resumed once the buffer holds at most this fraction of max_records and max_bytes.',
            default: d.buffer.low_watermark,
            min: 0,
            max: 1,
            example: 0.5,
          }),
          headroom: field.integer({
            description:
              'overflow block only: records still taken above max_records while producers are being paused (messages already read from a socket, API and republish publishes, which cannot be paused). Past max_records + headroom records are dropped as queue_full, and counted.',
            default: d.buffer.headroom,
            min: 0,
            example: 10000,
          }),
        },
        { description: 'The buffer in front of the sink: in memory, on disk, or both.' },
      ),
      retry: field.object(
        {
          initial_backoff: field.duration({
            description:
              'Delay before the first retry of a batch (or reconnect); doubles on each further attempt, with full jitter.',
            default: d.retry.initial_backoff,
            example: '100ms',
          }),
          max_backoff: field.duration({
            description: 'Upper bound of one backoff delay.',
            default: d.retry.max_backoff,
            example: '30s',
          }),
          max_attempts: field.integer({
            description:
              'Write attempts per batch in total, including the first; 0 retries forever (records are still bounded by request_ttl). Only retriable errors are retried; waiting for a reconnect does not use up attempts.',
            default: d.retry.max_attempts,
            min: 0,
            example: 5,
          }),
        },
        { description: 'Retry of failed writes with jittered exponential backoff.' },
      ),
      request_ttl: field.duration({
        description:
          'Maximum age of a record (since its event entered Sluice) when it is written or retried, and while the sink cannot connect (checked at every failed connect attempt); older records are dropped as expired. 0 disables the limit.',
        default: d.request_ttl,
        example: '45s',
      }),
      write_timeout: field.duration({
        description:
          'Maximum time one write to the sink may take. A write still unsettled then is aborted (its AbortSignal fires), counted as a retriable sink_write_timeout and retried with backoff. 0 disables the limit.',
        default: d.write_timeout,
        example: '30s',
      }),
      thread: field.string({
        enum: ['main', 'worker'],
        description:
          'main runs the sink and its runner on the main thread with the broker and the rules. worker gives them a worker thread of their own, so encoding, compression and network I/O use another core (hstreamdb, kafka and console sinks). Records cross in batches; metrics are at most ~20 ms old; back-pressure works the same.',
        default: d.thread,
        example: 'worker',
      }),
      fallback_actions: field.array(field.string({ description: 'A sink name.' }), {
        description:
          'Sinks that receive the records this sink gives up on (request_ttl expired, dropped by a full buffer, refused with a non-retriable error, retries exhausted, lost at shutdown), EMQX fallback_actions style. Each record is handed to every listed sink with context fields fallback_from (this sink) and fallback_reason (the failed/dropped reason code). The names must be configured sinks; cycles are refused, and a record that is itself a fallback record is not handed on again. With thread: worker the thread posts those records back to the main thread, where the fallback sinks run. See docs/sinks/README.md, Fallback actions.',
        default: d.fallback_actions,
        example: ['errors_republish'],
      }),
      health: field.object(
        {
          stall_after: field.duration({
            description:
              'A connected sink with batches in flight that gets no write acknowledged for this long is reported stalled (status stalled, counted in stalls, logged as sink_stalled) until a write succeeds again. 0 disables the check.',
            default: d.health.stall_after,
            example: '30s',
          }),
        },
        { description: 'Health checks of the remote system beyond the connection state.' },
      ),
    },
    { description: 'Batching, buffering, retry and in-flight settings of the sink runner.' },
  );
}

/** The runner settings spec with the standard defaults. */
export const runnerConfigSpec: FieldSpec = runnerConfigSpecWith();
