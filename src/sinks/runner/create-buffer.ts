/**
 * Picks the runner's buffer from `buffer.mode` and resolves the disk buffer's directory
 * (`buffer.dir`, else `<data_dir>/buffers/<sink name>`).
 */
import { join } from 'node:path';
import { SluiceError } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import { MemoryBuffer } from './buffer.js';
import type { RecordBuffer } from './buffer.js';
import type { RunnerConfig } from './config.js';
import { DiskBuffer } from './disk-buffer.js';
import { RunnerErrors } from './errors.js';

export interface BufferDeps {
  readonly partitioned: boolean;
  readonly logger: Logger;
  readonly schedule: (fn: () => void, ms: number) => () => void;
  /** Scheduler time now (given to replayed records). */
  readonly time: number;
  readonly name?: string;
}

/** The directory of a sink's disk buffer. A sink name is made safe as one path segment. */
export function bufferDir(config: RunnerConfig, name: string | undefined): string {
  if (config.buffer.dir) return config.buffer.dir;
  if (name === undefined)
    throw new Error('a disk or hybrid buffer needs buffer.dir or the sink name (RunnerDeps.name)');
  return join(config.data_dir ?? './data', 'buffers', name.replace(/[^A-Za-z0-9_.-]/g, '_'));
}

/**
 * @throws SluiceError `sink_buffer_locked` (another process owns the directory) or
 *   `sink_buffer_io` (the directory cannot be created or read).
 */
export function createBuffer(config: RunnerConfig, deps: BufferDeps): RecordBuffer {
  const b = config.buffer;
  const mode = b.mode ?? 'memory';
  if (mode === 'memory') return new MemoryBuffer(deps.partitioned);
  const dir = bufferDir(config, deps.name);
  try {
    return new DiskBuffer({
      dir,
      segmentBytes: Math.max(4096, b.segment_bytes ?? 64 * 1024 * 1024),
      fsync: b.fsync ?? 'interval',
      fsyncInterval: Math.max(1, b.fsync_interval ?? 1000),
      memoryRecords: mode === 'hybrid' ? Math.max(1, b.memory_records ?? 10_000) : 0,
      memoryBytes: mode === 'hybrid' ? Math.max(0, b.memory_bytes ?? 64 * 1024 * 1024) : 0,
      partitioned: deps.partitioned,
      logger: deps.logger,
      schedule: deps.schedule,
      time: deps.time,
    });
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw RunnerErrors.sink_buffer_io(
      `cannot open the disk buffer in ${dir}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err, context: { dir } },
    );
  }
}
