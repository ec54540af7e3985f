/**
 * The `kafka` source: Kafka topics consumed in a consumer group (README.md).
 *
 * At-least-once with the commit behind the work: offsets are resolved as records are taken (so
 * the consumer keeps fetching), but committed only up to the first record of each partition
 * whose rule work is unfinished (`OrderedAcks` per partition; the engine's `DeliveryTracker`
 * reports a record finished once every sink record it produced is acknowledged). The
 * committed offset therefore never passes an unfinished record. Commits go out every
 * `commit_interval`, before a rebalance and at shutdown; after a rebalance or a crash the
 * group re-reads from the committed offset (finished but uncommitted records run again:
 * duplicates, never losses).
 */
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer, EachBatchPayload, IHeaders, KafkaConfig, SASLOptions } from 'kafkajs';

import type { BrokerEvent, EventName, Value, ValueMap } from '../../core/index.js';
import { SourceErrors as E } from '../errors.js';
import { OrderedAcks } from '../ordered-acks.js';
import { readPem } from '../pem.js';
import type { KafkaSourceConfig } from '../spec.js';
import type { Source, SourceDeps, SourceMetrics } from '../types.js';

const EMPTY: Readonly<ValueMap> = Object.freeze({});

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly acks: OrderedAcks<string>;
  /** Next offset to commit (last finished + 1), or undefined when nothing new finished. */
  commitable: string | undefined;
  committed: string | undefined;
  /** Highest offset taken so far (re-reads at or below it count as redelivered). */
  maxSeen: bigint;
  waiters: (() => void)[];
}

function headerText(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    if (one !== undefined) out[k] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  }
  return out;
}

export function kafkaClientConfig(config: KafkaSourceConfig): KafkaConfig {
  const tls = config.tls;
  const sasl = config.sasl;
  return {
    clientId: config.client_id,
    brokers: config.brokers,
    logLevel: logLevel.NOTHING,
    ...(tls.enabled
      ? {
          ssl: {
            rejectUnauthorized: tls.verify,
            ...(tls.ca ? { ca: [readPem(tls.ca) as Buffer] } : {}),
            ...(tls.cert ? { cert: readPem(tls.cert) } : {}),
            ...(tls.key ? { key: readPem(tls.key) } : {}),
          },
        }
      : {}),
    ...(sasl.username !== undefined
      ? {
          sasl: {
            mechanism: sasl.mechanism,
            username: sasl.username,
            password: sasl.password ?? '',
          } as SASLOptions,
        }
      : {}),
  };
}

export function createKafkaSource(
  deps: SourceDeps,
  config: KafkaSourceConfig,
  opts: { ackTimeout: number },
): Source {
  const log = deps.logger;
  const parts = new Map<string, PartitionState>();
  const m = { received: 0, acked: 0, redelivered: 0, forcedAcks: 0 };
  let push: ((e: BrokerEvent) => void) | undefined;
  let consumer: Consumer | undefined;
  let connected = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let committing: Promise<void> = Promise.resolve();
  let idle: (() => void) | undefined;

  const pending = (): number => {
    let n = 0;
    for (const p of parts.values()) n += p.acks.size;
    return n;
  };

  function state(topic: string, partition: number): PartitionState {
    const key = `${topic}\u0000${partition}`;
    let s = parts.get(key);
    if (!s) {
      const st: PartitionState = {
        topic,
        partition,
        acks: new OrderedAcks<string>((offset) => {
          m.acked++;
          st.commitable = (BigInt(offset) + 1n).toString();
          const w = st.waiters.splice(0);
          for (const f of w) f();
          if (idle && pending() === 0) idle();
        }, deps.now),
        commitable: undefined,
        committed: undefined,
        maxSeen: -1n,
        waiters: [],
      };
      s = st;
      parts.set(key, s);
    }
    return s;
  }

  /** Commit every partition's finished prefix (serialised: one commit request at a time). */
  function commit(): Promise<void> {
    committing = committing.then(async () => {
      const c = consumer;
      if (!c) return;
      const offsets = [...parts.values()]
        .filter((p) => p.commitable !== undefined && p.commitable !== p.committed)
        .map((p) => ({ topic: p.topic, partition: p.partition, offset: p.commitable as string }));
      if (offsets.length === 0) return;
      try {
        await c.commitOffsets(offsets);
        for (const o of offsets) state(o.topic, o.partition).committed = o.offset;
      } catch (err) {
        log.warn(
          { code: 'source_commit_failed', err, offsets: offsets.length },
          'kafka source offset commit failed; retried at the next interval',
        );
      }
    });
    return committing;
  }

  function event(
    topic: string,
    partition: number,
    msg: EachBatchPayload['batch']['messages'][number],
    dup: boolean,
  ): BrokerEvent {
    const headers = headerText(msg.headers);
    const ts = deps.now();
    const key = msg.key ? msg.key.toString('utf8') : undefined;
    const mqttTopic = headers[config.topic_header] ?? topic;
    const username = headers[config.username_header];
    const userProps: ValueMap = Object.freeze({ ...headers });
    const columns: ValueMap = {
      id: `${topic}-${partition}-${msg.offset}`,
      clientid: headers[config.clientid_header] ?? key,
      username,
      payload: msg.value ?? Buffer.alloc(0),
      peerhost: undefined,
      peername: undefined,
      topic: mqttTopic,
      qos: 1,
      flags: Object.freeze({ dup, retain: false }),
      headers: Object.freeze({
        username,
        peerhost: undefined,
        proto_ver: undefined,
        protocol: 'kafka',
      }),
      pub_props: Object.keys(headers).length
        ? Object.freeze({
            'User-Property': userProps,
            'User-Property-Pairs': Object.freeze(
              Object.entries(headers).map(([k, v]) => Object.freeze({ key: k, value: v })),
            ) as unknown as Value[],
          })
        : EMPTY,
      publish_received_at: ts,
      client_attrs: EMPTY,
      kafka: Object.freeze({
        topic,
        partition,
        offset: msg.offset,
        key,
        timestamp: Number(msg.timestamp),
      }),
      event: 'message.publish',
      timestamp: ts,
      node: deps.node,
    };
    return Object.freeze({
      name: 'message.publish',
      matchTopic: mqttTopic,
      columns: Object.freeze(columns),
    });
  }

  async function eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const st = state(batch.topic, batch.partition);
    for (const msg of batch.messages) {
      if (!p.isRunning() || p.isStale()) return;
      const fn = push;
      // Detached (shutting down): leave the rest unresolved; it is fetched again later.
      if (!fn) return;
      while (st.acks.size >= config.max_pending) {
        await new Promise<void>((r) => {
          st.waiters.push(r);
          setTimeout(r, 1000).unref();
        });
        await p.heartbeat();
        if (!p.isRunning() || p.isStale()) return;
      }
      m.received++;
      const off = BigInt(msg.offset);
      const dup = off <= st.maxSeen;
      if (dup) m.redelivered++;
      else st.maxSeen = off;
      const entry = st.acks.add(msg.offset);
      deps.tracker.track(
        () => fn(event(batch.topic, batch.partition, msg, dup)),
        () => {
          if (!entry.done) st.acks.complete(entry);
        },
      );
      p.resolveOffset(msg.offset);
    }
    await p.heartbeat();
  }

  return {
    name: 'kafka',
    type: 'kafka',
    listen(fn, names: readonly EventName[] | null) {
      const mine = names === null || names.includes('message.publish') ? fn : undefined;
      push = mine;
      return () => {
        if (push === mine) push = undefined;
      };
    },
    setFilters() {
      // Kafka topics are configured (`topics`); the rules' FROM filters match `topic` per record.
    },
    async start() {
      const kafka = new Kafka(kafkaClientConfig(config));
      const c = kafka.consumer({
        groupId: config.group_id,
        sessionTimeout: config.session_timeout,
        maxWaitTimeInMs: 100,
        retry: { retries: 10 },
      });
      consumer = c;
      c.on(c.events.CONNECT, () => (connected = true));
      c.on(c.events.DISCONNECT, () => (connected = false));
      c.on(c.events.CRASH, (e) =>
        log.error(
          { code: 'source_consumer_crashed', err: e.payload.error },
          'kafka consumer crashed',
        ),
      );
      c.on(c.events.REBALANCING, () => {
        // Commit what is finished before the partitions move (best effort).
        void commit();
      });
      c.on(c.events.GROUP_JOIN, (e) => {
        // A new assignment: the group reads from the committed offsets again, so the old
        // per-partition books are void (their unfinished records are re-read).
        for (const p of parts.values()) {
          p.acks.clear();
          p.commitable = undefined;
          p.committed = undefined;
          for (const f of p.waiters.splice(0)) f();
        }
        log.info({ assignment: e.payload.memberAssignment }, 'kafka source joined the group');
      });
      try {
        await c.connect();
        await c.subscribe({ topics: config.topics, fromBeginning: config.from_beginning });
        await c.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 4,
          eachBatch,
        });
      } catch (err) {
        throw E.source_connect_failed(`kafka source: ${(err as Error).message}`, { cause: err });
      }
      timer = setInterval(
        () => {
          let forced = 0;
          for (const p of parts.values()) forced += p.acks.forceOlderThan(opts.ackTimeout);
          if (forced > 0) {
            m.forcedAcks += forced;
            log.warn(
              { code: 'source_ack_forced', count: forced },
              'records committed after ack_timeout without their sink acknowledgements',
            );
          }
          void commit();
        },
        Math.max(50, config.commit_interval),
      );
      timer.unref();
      log.info(
        { brokers: config.brokers, group: config.group_id, topics: config.topics },
        'kafka source started',
      );
    },
    async stop(drainMs) {
      if (pending() > 0)
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, drainMs);
          idle = () => {
            clearTimeout(t);
            resolve();
          };
        });
      idle = undefined;
      if (timer) clearInterval(timer);
      await commit();
      const c = consumer;
      if (c) {
        await c.stop();
        await commit();
        consumer = undefined;
        await c.disconnect();
      }
      log.info({ unfinished: pending() }, 'kafka source stopped');
    },
    metrics(): SourceMetrics {
      return { ...m, pending: pending(), connected };
    },
  };
}
