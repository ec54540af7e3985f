/**
 * Error and drop codes of the shared sink runner (CONVENTIONS.md #7). `sink_not_connected` is
 * raised by SINKS to ask the runner for a reconnect; the others are the runner's own outcome
 * codes, used as `failed`/`dropped` metric reasons and in logs.
 */
import { defineErrors, SluiceError } from '../../core/index.js';
import type { SluiceErrorOptions } from '../../core/index.js';

export const RunnerErrors = defineErrors('sinks', {
  sink_not_connected: {
    description:
      'The sink lost (or never had) its connection; the runner calls connect() again with backoff and then retries the batch. Raised by sinks.',
    retriable: true,
  },
  sink_internal_error: {
    description:
      'A sink threw something that is not a coded SluiceError (a bug in the sink); the batch is counted as failed. Also logged when a runner callback (partitionKey, sizeOf — the record fails — or a pressure listener) throws. Report it as a bug.',
    retriable: false,
  },
  queue_full: {
    description:
      'A record was dropped because the sink buffer reached buffer.max_records or buffer.max_bytes (overflow drop_oldest or drop_newest), or buffer.max_records + buffer.headroom with overflow block.',
    retriable: false,
  },
  expired: {
    description:
      'A record was dropped because it was older than request_ttl before it could be written.',
    retriable: false,
  },
  shutdown: {
    description:
      'A record was dropped because the sink runner stopped (or its drain deadline passed) before the record was written.',
    retriable: false,
  },
  sink_write_timeout: {
    description:
      'A write to the sink did not settle within write_timeout; the runner aborted it (the sink sees its AbortSignal fire) and retries the batch with backoff.',
    retriable: true,
  },
  sink_retries_exhausted: {
    description:
      'A batch kept failing with retriable errors until retry.max_attempts was reached; its records are counted as failed with the last error code.',
    retriable: false,
  },
  sink_connect_failed: {
    description:
      'connect() to the sink failed. Retriable errors are logged at warn (`attempt`, `retryInMs`) and retried with backoff; a non-retriable one (bad credentials format, missing native addon, …) is logged at error and the sink is marked failed until its configuration changes. `err.code` says why.',
    retriable: true,
  },
  sink_write_failed: {
    description:
      'A batch write failed with a non-retriable error; its records are counted as failed with the error code (`err.code` in the log). Check the sink configuration and the target system.',
    retriable: false,
  },
  sink_close_failed: {
    description:
      'Closing the sink connection failed while the runner stopped; nothing is retried. Usually harmless (the peer was already gone).',
    retriable: false,
  },
  sink_buffer_corrupt: {
    description:
      'A disk buffer segment held damaged bytes (a frame cut short by a crash, or a checksum mismatch). The damaged region is skipped, the valid records before and after it are kept; logged at error and counted in the sink metrics (corruptRecords). Not retried.',
    retriable: false,
  },
  sink_buffer_io: {
    description:
      'Writing a record to the disk buffer failed (disk full, permissions, I/O error); the record is not buffered and is counted as failed. Check buffer.dir.',
    retriable: false,
  },
  sink_records_given_up: {
    description:
      'Records were failed or dropped (reason: expired, queue_full, shutdown or the error code) and the sink has no fallback_actions to hand them to. Logged at warn at most once per reason every 10 s per sink, with the number of records since the last line; the records are counted in the sink metrics (failedBy / droppedBy). Configure fallback_actions to keep them.',
    retriable: false,
  },
  sink_stalled: {
    description:
      'The sink is connected and has batches in flight, but no write was acknowledged for health.stall_after: the remote accepts the connection and makes no progress (overloaded, stopped, a half-open connection). The status is stalled (counted in stalls) until a write succeeds again.',
    retriable: false,
  },
  sink_buffer_locked: {
    description:
      'The disk buffer directory is in use by another running Sluice process (its LOCK file names a live pid). Give each instance its own buffer.dir.',
    retriable: false,
  },
});

/** Make the error a sink raises to ask the runner to reconnect (`connect()` again) and retry. */
export function sinkNotConnected(message: string, options: SluiceErrorOptions = {}): SluiceError {
  return RunnerErrors.sink_not_connected(message, options);
}

/** True when `err` asks for a reconnect: code `sink_not_connected` or context `reconnect: true`. */
export function isNotConnected(err: unknown): boolean {
  return (
    err instanceof SluiceError &&
    (err.code === 'sink_not_connected' || err.context['reconnect'] === true)
  );
}
