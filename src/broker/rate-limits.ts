/**
 * Rate limits per listener (issue #11 item 3; EMQX 5 listener names), token buckets that slow a
 * client down rather than refuse it, as EMQX's limiter does:
 *
 *   messages_rate  per client: PUBLISH packets it may send, e.g. "1000/s". Each PUBLISH parsed
 *                  takes a token. While the bucket is empty the broker stops reading the
 *                  client's socket (Aedes' read loop is gated, below); what the client sends
 *                  meanwhile waits in the kernel buffers and TCP slows it. Nothing is dropped.
 *                  A packet read in the same socket read as the one that emptied the bucket is
 *                  still handled (as in EMQX, the limit applies between reads), so the bucket
 *                  can go into debt by at most one read's worth of packets.
 *   max_conn_rate  per listener: new connections it takes in, e.g. "100/s". A socket accepted
 *                  past the rate is held unread (not closed) until a token frees, then handed
 *                  to Aedes: EMQX pauses its acceptor the same way. Its idle_timeout runs from
 *                  the hand-over.
 *
 * Both default to `infinity` (EMQX's default). Each time a client is paused, or a socket is
 * held, it is counted (`limited_messages_rate`, `limited_conn_rate`) and logged at debug (EMQX:
 * `socket_receive_paused_by_rate_limit`); EMQX raises no rule event for either, nor do we.
 *
 * Aedes internals used (README invariant 7): `client._nextBatch` (the read-loop step Aedes runs
 * on 'readable' and after each packet) and `client._parser` ('packet' event).
 */
import type { Client } from 'aedes';
import type { Logger } from '../core/index.js';
import type { ClientRecord } from './client-records.js';
import type { BrokerMetrics } from './types.js';

/** A rate: `amount` tokens per `per` ms; `null` is infinity. */
export type Rate = { readonly amount: number; readonly per: number } | null;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parse an EMQX rate: `infinity`, `<n>/<unit>` or `<n>/<k><unit>` with unit ms, s, m or h
 * (`1000/s`, `100/10s`, `60/m`). Returns an Error for anything else.
 */
export function parseRate(s: string): Rate | Error {
  if (s === 'infinity') return null;
  const m = /^(\d+(?:\.\d+)?)\/(\d*)(ms|s|m|h)$/.exec(s.trim());
  if (!m) return new Error(`rate ${JSON.stringify(s)} is not "infinity" or "<n>/<unit>"`);
  const amount = Number(m[1]);
  const per = (m[2] ? Number(m[2]) : 1) * UNITS[m[3]!]!;
  if (!(amount > 0) || !(per > 0)) return new Error(`rate ${JSON.stringify(s)} must be positive`);
  return { amount, per };
}

/** A token bucket holding at most `amount` tokens, refilled continuously. */
export class TokenBucket {
  private tokens: number;
  private at: number;
  private readonly perMs: number;
  constructor(
    private readonly rate: { amount: number; per: number },
    private readonly now: () => number,
  ) {
    this.tokens = rate.amount;
    this.at = now();
    this.perMs = rate.amount / rate.per;
  }
  private refill(): void {
    const t = this.now();
    if (t > this.at) {
      this.tokens = Math.min(this.rate.amount, this.tokens + (t - this.at) * this.perMs);
      this.at = t;
    }
  }
  /** Take one token, going into debt when there is none. */
  take(): void {
    this.refill();
    this.tokens -= 1;
  }
  /** Take one token if there is one. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  /** ms until a whole token is available (0 now). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs);
  }
}

export interface RateLimits {
  /** Gate the client's socket reads by its listener's messages_rate (a no-op for infinity). */
  guardClient(client: Client, rec: ClientRecord, messagesRate: string): void;
  /** Hand `stream` over now, or once the listener's max_conn_rate allows. */
  admitLater(
    listener: string,
    maxConnRate: string,
    stream: { destroyed: boolean; once(e: 'close', f: () => void): unknown },
    handOver: () => void,
  ): void;
}

interface ClientGate {
  _nextBatch: (err?: Error) => void;
  _parser: NodeJS.EventEmitter;
  conn: NodeJS.EventEmitter & { removeListener(e: string, f: (...a: unknown[]) => void): unknown };
  closed: boolean;
}

export function createRateLimits(
  metrics: BrokerMetrics,
  logger: Logger,
  now: () => number = Date.now,
): RateLimits {
  const acceptBuckets = new Map<string, TokenBucket>();
  const acceptQueues = new Map<string, Array<() => void>>();
  const parsed = new Map<string, Rate>();
  /** Rates are validated with the config (config.ts); an invalid one here counts as infinity. */
  const rateOf = (s: string): Rate => {
    let r = parsed.get(s);
    if (r === undefined) {
      const p = parseRate(s);
      parsed.set(s, (r = p instanceof Error ? null : p));
    }
    return r;
  };

  function drainAccepts(listener: string): void {
    const q = acceptQueues.get(listener);
    const bucket = acceptBuckets.get(listener);
    if (!q || !bucket) return;
    while (q.length > 0 && bucket.tryTake()) q.shift()!();
    if (q.length === 0) acceptQueues.delete(listener);
    else setTimeout(() => drainAccepts(listener), bucket.waitMs()).unref();
  }

  return {
    guardClient(client, rec, messagesRate) {
      const rate = rateOf(messagesRate);
      if (!rate) return;
      const c = client as unknown as ClientGate;
      const bucket = new TokenBucket(rate, now);
      const step = c._nextBatch;
      let skipped = 0;
      let timer: NodeJS.Timeout | undefined;
      const resume = (): void => {
        timer = undefined;
        if (c.closed) return;
        if (bucket.waitMs() > 0) {
          timer = setTimeout(resume, bucket.waitMs());
          return;
        }
        logger.debug({ clientid: rec.clientid }, 'socket reading resumed (messages_rate)');
        const n = skipped;
        skipped = 0;
        for (let i = 0; i < n; i++) step();
      };
      // Aedes' read-loop step runs on 'readable' and after each handled packet; while the
      // bucket is empty each call is held (counted) and replayed when a token is back, so
      // Aedes' own batch accounting stays exact.
      const gated = (err?: Error): void => {
        if (err || c.closed) return step(err);
        if (timer === undefined && bucket.waitMs() === 0) return step();
        skipped++;
        if (timer === undefined) {
          metrics.limited_messages_rate++;
          logger.debug(
            { clientid: rec.clientid, listener: rec.meta.listener },
            'socket reading paused (messages_rate)',
          );
          timer = setTimeout(resume, bucket.waitMs());
        }
      };
      c.conn.removeListener('readable', step as (...a: unknown[]) => void);
      c.conn.on('readable', gated);
      c._nextBatch = gated;
      c._parser.on('packet', (p: { cmd: string }) => {
        if (p.cmd === 'publish') bucket.take();
      });
      c.conn.once('close', () => {
        if (timer) clearTimeout(timer);
      });
    },
    admitLater(listener, maxConnRate, stream, handOver) {
      const rate = rateOf(maxConnRate);
      if (!rate) return handOver();
      let bucket = acceptBuckets.get(listener);
      if (!bucket) acceptBuckets.set(listener, (bucket = new TokenBucket(rate, now)));
      const q = acceptQueues.get(listener);
      if (!q && bucket.tryTake()) return handOver();
      metrics.limited_conn_rate++;
      logger.debug({ listener }, 'connection held (max_conn_rate)');
      const go = (): void => {
        if (!stream.destroyed) handOver();
      };
      if (q) q.push(go);
      else {
        acceptQueues.set(listener, [go]);
        setTimeout(() => drainAccepts(listener), bucket.waitMs()).unref();
      }
    },
  };
}

/**
 * `messages_quota` (EMQX 4 `quota.conn.messages.routing`): a per-client token bucket checked
 * for every PUBLISH before it is routed. Unlike `messages_rate` it refuses instead of slowing
 * down: `exceeded` answers true when the client has no token left (the caller refuses the
 * PUBLISH with 0x97, or disconnects a 3.1.1 client). Buckets live on the record, so they go
 * with the connection.
 */
export function createMessageQuota(
  now: () => number = Date.now,
): (holder: { quota?: TokenBucket }, quota: string) => boolean {
  const parsed = new Map<string, Rate>();
  return (holder, quota) => {
    let rate = parsed.get(quota);
    if (rate === undefined) {
      const p = parseRate(quota);
      parsed.set(quota, (rate = p instanceof Error ? null : p));
    }
    if (!rate) return false;
    const bucket = (holder.quota ??= new TokenBucket(rate, now));
    return !bucket.tryTake();
  };
}
