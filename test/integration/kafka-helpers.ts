/**
 * Helpers for the Kafka integration tests: unique topics, an independent kafkajs consumer that
 * reads a topic back from the beginning, kcat over GSSAPI, and a sink+runner pair built from
 * config objects exactly as the engine would (spec defaults applied by `validate`).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { IHeaders } from 'kafkajs';
import { silentLogger, validate } from '../../src/core/index.js';
import type { SinkRecord, ValueMap } from '../../src/core/index.js';
import { createSinkRunner } from '../../src/sinks/runner/index.js';
import type { RunnerConfig, SinkRunner } from '../../src/sinks/runner/index.js';
import { createKafkaSink, kafkaRunnerSpec, kafkaSpec } from '../../src/sinks/kafka/index.js';
import type { KafkaSink, KafkaSinkConfig } from '../../src/sinks/kafka/index.js';

export function uniqueTopic(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function createTopic(bootstrap: string, topic: string, partitions = 3): Promise<void> {
  const admin = new Kafka({
    clientId: 'test-admin',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

export interface Consumed {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  /** Every header value as bytes, repeated headers in order. */
  headerValues?: Record<string, Buffer[]>;
  timestamp: string;
}

function headerBytes(h: IHeaders | undefined): Record<string, Buffer[]> {
  const out: Record<string, Buffer[]> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    const all = v === undefined ? [] : Array.isArray(v) ? v : [v];
    out[k] = all.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(String(x))));
  }
  return out;
}

function headerText(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    const one = Array.isArray(v) ? v[0] : v;
    out[k] = one === undefined ? '' : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  }
  return out;
}

/**
 * Read `topic` from the beginning with a fresh consumer group until `atLeast` records arrived
 * and nothing new came for `quietMs` (so duplicates beyond `atLeast` are seen too).
 */
export async function consumeAll(
  bootstrap: string,
  topic: string,
  atLeast: number,
  { timeoutMs = 60_000, quietMs = 1_000 } = {},
): Promise<Consumed[]> {
  const consumer = new Kafka({
    clientId: 'test-consumer',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
  }).consumer({ groupId: uniqueTopic('g'), maxWaitTimeInMs: 100 });
  const got: Consumed[] = [];
  let last = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push({
          partition,
          offset: Number(message.offset),
          key: message.key === null ? null : message.key.toString('utf8'),
          value: message.value === null ? null : message.value.toString('utf8'),
          headers: headerText(message.headers),
          headerValues: headerBytes(message.headers),
          timestamp: message.timestamp,
        });
        last = Date.now();
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (got.length >= atLeast && Date.now() - last >= quietMs) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await consumer.disconnect();
  }
  return got;
}

export function execText(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

/** A sink config with spec defaults applied; throws listing the issues if invalid. */
export function kafkaConfig(input: Record<string, unknown>): KafkaSinkConfig {
  const v = validate<KafkaSinkConfig>(kafkaSpec, input);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.value;
}

export function runnerConfig(input: Record<string, unknown> = {}): RunnerConfig {
  const v = validate<RunnerConfig>(kafkaRunnerSpec, input);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.value;
}

export interface SinkUnderTest {
  sink: KafkaSink;
  runner: SinkRunner;
}

export function startSink(
  name: string,
  config: Record<string, unknown>,
  runner: Record<string, unknown> = {},
): SinkUnderTest {
  const deps = { logger: silentLogger, now: Date.now };
  const sink = createKafkaSink(deps, kafkaConfig(config), name);
  return { sink, runner: createSinkRunner(deps, sink, runnerConfig(runner)) };
}

export function record(data: ValueMap, context?: ValueMap): SinkRecord {
  return { data, ruleId: 'r1', ingestTs: Date.now(), ...(context ? { context } : {}) };
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
