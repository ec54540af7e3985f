/**
 * Shared helpers of the HStreamDB tests and benchmarks: build a validated sink config and a
 * runner around the real `hstreamdb` sink, and read a stream back through the real client.
 */
import { silentLogger, validate, type SinkRecord } from '../../src/core/index.js';
import {
  createSinkRunner,
  runnerConfigSpecWith,
  type RunnerConfig,
  type SinkRunner,
} from '../../src/sinks/runner/index.js';
import {
  createHStreamSink,
  hstreamSinkSpec,
  HSTREAM_RUNNER_DEFAULTS,
  HStreamClient,
  type HStreamSink,
  type HStreamSinkConfig,
  type ReadRecord,
} from '../../src/sinks/hstream/index.js';

let counter = 0;
/** A stream name unique across parallel test runs. */
export function uniqueStream(prefix = 's'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
}

export function sinkConfig(input: Record<string, unknown>): HStreamSinkConfig {
  const v = validate<HStreamSinkConfig>(hstreamSinkSpec, input);
  if (!v.ok) throw new Error(`bad sink config: ${JSON.stringify(v.issues)}`);
  return v.value;
}

export function runnerConfig(input: Record<string, unknown> = {}): RunnerConfig {
  const v = validate<RunnerConfig>(runnerConfigSpecWith(HSTREAM_RUNNER_DEFAULTS), input);
  if (!v.ok) throw new Error(`bad runner config: ${JSON.stringify(v.issues)}`);
  return v.value;
}

export interface Pipeline {
  sink: HStreamSink;
  runner: SinkRunner;
}

export function createPipeline(
  sink: Record<string, unknown>,
  runner: Record<string, unknown> = {},
): Pipeline {
  const deps = { logger: silentLogger, now: Date.now };
  const s = createHStreamSink(deps, sinkConfig(sink), 'test');
  return { sink: s, runner: createSinkRunner(deps, s, runnerConfig(runner)) };
}

export function record(data: SinkRecord['data'], ingestTs = Date.now()): SinkRecord {
  return { data, ruleId: 'r1', ingestTs };
}

/** Read every record of every shard of `stream` (per-shard order), via ReadShardStream. */
export async function readStream(url: string, stream: string): Promise<ReadRecord[]> {
  const port = Number(/:(\d+)$/.exec(url)![1]);
  const client = new HStreamClient({
    endpoints: [{ host: '127.0.0.1', port, tls: false }],
    timeoutMs: 30_000,
    appendTimeoutMs: 30_000,
  });
  try {
    await client.connect();
    const out: ReadRecord[] = [];
    for (const shard of await client.listShards(stream))
      out.push(...(await client.readShard(shard.shardId)));
    return out;
  } finally {
    client.close();
  }
}
