/**
 * The remotes of the fault suite, each behind the loopback fault proxy (test/fault-proxy.ts)
 * and each able to be killed (SIGKILL), stopped (SIGSTOP/SIGCONT), restarted and read back:
 *
 *  - `hstreamdb`: the stand-in server (a TEST DOUBLE of the HStreamDB wire protocol) as a child
 *    process with a persistence file (every acknowledged append is on disk before the ack, so
 *    a killed server keeps it); the sink uses `follow_lookups: false` so every append goes
 *    through the proxy;
 *  - `kafka`: the real single-node Kafka of scripts/services (KRaft, started here), with a
 *    PROXIED listener advertised on the proxy's port so producers bootstrap and produce through
 *    it. Kill and stop signal the JVM's process group; a restart reuses its ports and data.
 */
import { Kafka, logLevel } from 'kafkajs';

import { restartKafka, startServices, stopKafka } from '../../scripts/services/index.js';
import { startFaultProxy, type FaultProxy } from '../../test/fault-proxy.js';
import { readStream, uniqueStream } from '../../test/hstream-server/helpers.js';
import { spawnStandIn, type StandInProcess } from '../../test/hstream-server/process.js';

export interface Remote {
  readonly name: 'hstreamdb' | 'kafka';
  readonly proxy: FaultProxy;
  /** Sink fields for one scenario: a fresh stream or topic, reached through the proxy. */
  sinkConfig(): Promise<Record<string, unknown>>;
  kill(): Promise<void>;
  /** Start again after `kill`. */
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Graceful stop, then start at once. */
  restart(): Promise<void>;
  /** Sequence numbers stored in the last scenario's stream/topic, read directly (no proxy). */
  delivered(): Promise<number[]>;
  close(): Promise<void>;
}

const seqOf = (b: Buffer | null): number =>
  b === null ? -1 : (JSON.parse(b.toString('utf8')) as { seq: number }).seq;

export async function hstreamRemote(persist: string): Promise<Remote> {
  let server: StandInProcess = await spawnStandIn(['--port', '0', '--persist', persist]);
  const port = server.port;
  const proxy = await startFaultProxy(port);
  let stream = '';
  const spawnAgain = async (): Promise<void> => {
    server = await spawnStandIn(['--port', String(port), '--persist', persist]);
  };
  return {
    name: 'hstreamdb',
    proxy,
    sinkConfig: async () => {
      stream = uniqueStream('faults');
      return {
        type: 'hstreamdb',
        url: `hstream://127.0.0.1:${proxy.port}`,
        stream,
        partition_key: '${key}',
        follow_lookups: false,
        auto_create: { enable: true, shard_count: 4 },
        append_timeout: '5s',
      };
    },
    kill: () => server.kill('SIGKILL'),
    start: spawnAgain,
    pause: () => server.child.kill('SIGSTOP'),
    resume: () => server.child.kill('SIGCONT'),
    restart: async () => {
      await server.kill('SIGTERM');
      await spawnAgain();
    },
    delivered: async () =>
      (await readStream(`hstream://127.0.0.1:${port}`, stream)).map((r) => seqOf(r.payload)),
    close: async () => {
      await proxy.close();
      server.child.kill('SIGCONT');
      await server.kill('SIGKILL');
    },
  };
}

export async function kafkaRemote(log: (m: string) => void): Promise<Remote> {
  // The proxy must exist before the broker: its port is the PROXIED listener's advertised one.
  const proxy = await startFaultProxy(1);
  const services = await startServices({
    heap: '512m',
    log,
    kafkaProxiedAdvertisedPort: proxy.port,
  });
  const k = services.facts.kafka;
  proxy.setTarget(Number(/:(\d+)$/.exec(k.proxied!)![1]));
  let pid = k.pid;
  let topic = '';
  const kafka = new Kafka({ brokers: [k.plaintext], logLevel: logLevel.NOTHING });
  let n = 0;
  return {
    name: 'kafka',
    proxy,
    sinkConfig: async () => {
      topic = `faults-${process.pid}-${n++}`;
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
      await admin.disconnect();
      return {
        type: 'kafka',
        bootstrap_hosts: `127.0.0.1:${proxy.port}`,
        topic,
        message: { key: '${key}', value: '${.}', timestamp: '' },
        partition_strategy: 'key_dispatch',
        acks: 'all',
      };
    },
    kill: async () => {
      process.kill(-pid, 'SIGKILL');
      while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
    },
    start: async () => {
      pid = await restartKafka(k.dir);
    },
    pause: () => process.kill(-pid, 'SIGSTOP'),
    resume: () => process.kill(-pid, 'SIGCONT'),
    restart: async () => {
      await stopKafka(k.dir);
      pid = await restartKafka(k.dir);
    },
    delivered: () => readTopic(kafka, topic),
    close: async () => {
      await proxy.close();
      await services.stop();
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every record of `topic` (all partitions up to their high watermarks), as sequence numbers. */
async function readTopic(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const left = new Map(
    offsets.filter((o) => Number(o.high) > Number(o.low)).map((o) => [o.partition, Number(o.high)]),
  );
  const out: number[] = [];
  if (left.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `faults-read-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), 120_000);
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        out.push(seqOf(message.value));
        const high = left.get(partition);
        if (high !== undefined && Number(message.offset) + 1 >= high) left.delete(partition);
        if (left.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return out;
}
