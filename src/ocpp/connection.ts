/**
 * One charge point connection: frames both ways, the downstream CALL discipline, keep-alive
 * and the per-connection stats.
 *
 * Invariants:
 *  - one OCPP message per WebSocket message, both ways (`ws.send` per frame, never batched);
 *  - at most one backend CALL outstanding towards the CP (OCPP-J §4.1.1): further CALLs wait
 *    in a bounded FIFO (`max_mqueue_len`, drop-newest, counted); the next goes out when the CP
 *    answers the one in flight (same UniqueId) or `await_timeout` passes (then a synthetic
 *    CALLERROR envelope is published when `timeout_error`);
 *  - replies (CALLRESULT / CALLERROR) from the backend bypass the queue and go out at once; the
 *    CP's own CALLs are never held back (the two directions are independent);
 *  - keep-alive: the interval starts at `default_heartbeat_interval` and is re-armed from the
 *    BootNotification.conf that answers the CP's BootNotification by UniqueId (status
 *    Accepted, `interval` s; 0 switches the watchdog off). Any frame, ping or pong counts as
 *    activity; `heartbeat_checking_times_backoff` silent intervals close the connection.
 */
import type { WebSocket } from 'ws';

import type { Logger, MessagePublisher } from '../core/index.js';
import type { OcppConfig } from './config.js';
import { fromEnvelope, toEnvelope, type compileTopic } from './envelope.js';
import { callError, parseFrame, serializeFrame, type OcppFrame } from './frames.js';
import type { GatewayMetrics } from './metrics.js';
import type { PayloadValidator } from './validation.js';

/** Per-connection statistics (`gateway.clients()`). */
export interface ConnectionStats {
  readonly clientid: string;
  readonly username: string | undefined;
  readonly listener: string;
  readonly peername: string;
  readonly subprotocol: string;
  readonly connected_at: number;
  /** Keep-alive interval in seconds (0 = off). */
  readonly keepalive: number;
  /** Backend CALLs waiting behind the one in flight. */
  readonly mqueue_len: number;
  /** UniqueId and Action of the backend CALL awaiting the CP's answer. */
  readonly inflight: { readonly id: string; readonly action: string } | null;
  readonly recv_msg: number;
  readonly send_msg: number;
  readonly dropped: number;
}

export interface ConnectionTopics {
  call: ReturnType<typeof compileTopic>;
  overrides: ReadonlyMap<string, ReturnType<typeof compileTopic>>;
  reply: ReturnType<typeof compileTopic>;
  error: ReturnType<typeof compileTopic>;
}

export interface ConnectionDeps {
  readonly ws: WebSocket;
  readonly cid: string;
  readonly username: string | undefined;
  readonly listener: string;
  readonly peername: string;
  readonly subprotocol: string;
  readonly mountpoint: string;
  readonly config: OcppConfig;
  readonly topics: ConnectionTopics;
  readonly publish: MessagePublisher;
  readonly validator: () => PayloadValidator;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly now: () => number;
}

interface PendingCall {
  readonly frame: Extract<OcppFrame, { type: 2 }>;
  readonly text: string;
}

export class OcppConnection {
  readonly connectedAt: number;
  private readonly queue: PendingCall[] = [];
  private inflight: { id: string; action: string; timer: NodeJS.Timeout } | null = null;
  /** UniqueIds of the CP's BootNotification CALLs not answered yet. */
  private readonly pendingBoots = new Set<string>();
  private keepaliveMs: number;
  private active = false;
  private silent = 0;
  private kaTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private recv = 0;
  private sent = 0;
  private dropped = 0;
  private closed = false;
  /** Reason decided by the gateway (keepalive_timeout, discarded, kicked, …). */
  reason: string | undefined;

  constructor(private readonly d: ConnectionDeps) {
    this.connectedAt = d.now();
    this.keepaliveMs = d.config.default_heartbeat_interval;
    this.armKeepalive();
    const ping = d.config.server_ping_interval;
    if (ping > 0)
      this.pingTimer = setInterval(() => {
        if (d.ws.readyState === d.ws.OPEN) d.ws.ping();
      }, ping);
    d.ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    d.ws.on('ping', () => this.touch());
    d.ws.on('pong', () => this.touch());
  }

  get cid(): string {
    return this.d.cid;
  }

  stats(): ConnectionStats {
    return {
      clientid: this.d.cid,
      username: this.d.username,
      listener: this.d.listener,
      peername: this.d.peername,
      subprotocol: this.d.subprotocol,
      connected_at: this.connectedAt,
      keepalive: Math.round(this.keepaliveMs / 1000),
      mqueue_len: this.queue.length,
      inflight: this.inflight ? { id: this.inflight.id, action: this.inflight.action } : null,
      recv_msg: this.recv,
      send_msg: this.sent,
      dropped: this.dropped,
    };
  }

  /** Close with a gateway-decided reason (reported in client.disconnected). */
  close(reason: string, code = 1000): void {
    if (this.closed) return;
    this.reason ??= reason;
    this.d.ws.close(code, reason);
    // A peer that never answers the close handshake is cut after a grace period.
    const ws = this.d.ws;
    setTimeout(() => ws.terminate(), 2000).unref();
  }

  /** The socket closed: stop timers, drop what is queued. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.kaTimer);
    clearInterval(this.pingTimer);
    if (this.inflight) clearTimeout(this.inflight.timer);
    this.inflight = null;
    this.queue.length = 0;
  }

  // ---- keep-alive --------------------------------------------------------------------------

  private touch(): void {
    this.active = true;
  }

  private armKeepalive(): void {
    clearInterval(this.kaTimer);
    this.kaTimer = undefined;
    this.silent = 0;
    this.active = false;
    if (this.keepaliveMs <= 0) return;
    this.kaTimer = setInterval(() => {
      if (this.active) {
        this.active = false;
        this.silent = 0;
        return;
      }
      this.silent++;
      if (this.silent >= this.d.config.heartbeat_checking_times_backoff) {
        this.d.metrics.keepalive_timeouts++;
        this.d.logger.info({ clientid: this.d.cid }, 'keep-alive timeout: closing');
        this.close('keepalive_timeout', 1001);
      }
    }, this.keepaliveMs);
    this.kaTimer.unref();
  }

  // ---- upstream: CP → MQTT ------------------------------------------------------------------

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.touch();
    if (this.closed) return;
    this.recv++;
    this.d.metrics.frames_in++;
    const text = data.toString('utf8');
    const parsed = isBinary
      ? ({ ok: false, kind: 'not_json', reason: 'binary frame' } as const)
      : parseFrame(text, this.d.config.max_unique_id_length);
    if (!parsed.ok) {
      this.d.metrics.invalid_frames++;
      this.d.logger.debug({ clientid: this.d.cid, reason: parsed.reason }, 'invalid frame');
      if (parsed.kind === 'not_json') {
        if (this.d.config.invalid_json === 'close') this.close('invalid_json', 1007);
        else this.drop();
      } else if (parsed.kind === 'malformed' && parsed.callId !== undefined) {
        this.send(callError(parsed.callId, 'FormationViolation', parsed.reason));
      } else this.drop();
      return;
    }
    const f = parsed.frame;
    const checking = this.d.config.message_format_checking;
    const checkUp = checking === 'all' || checking === 'upstream_only';
    if (f.type === 2) {
      if (checkUp) {
        const v = this.d.validator().call(f.action, f.payload);
        if (v) {
          this.d.metrics.validation_failed++;
          this.send(callError(f.id, v.code, v.description, v.details));
          return;
        }
      }
      if (f.action === 'BootNotification') {
        // Bounded: a CP retrying unanswered boots must not grow this set without limit.
        if (this.pendingBoots.size >= 16) this.pendingBoots.clear();
        this.pendingBoots.add(f.id);
      }
      const topic = (this.d.topics.overrides.get(f.action) ?? this.d.topics.call)({
        cid: this.d.cid,
        action: f.action,
        id: f.id,
        type: 2,
      });
      this.publish(topic, toEnvelope(f));
      return;
    }
    // A reply of the CP to a backend CALL.
    const inflight = this.inflight;
    const matched = inflight !== null && inflight.id === f.id;
    const action = matched ? inflight.action : undefined;
    if (!matched) {
      this.d.metrics.unmatched_replies++;
      this.d.logger.debug(
        { clientid: this.d.cid, id: f.id },
        'reply for no backend CALL in flight (late or unknown): published without Action',
      );
    }
    let out: OcppFrame = f;
    if (f.type === 3 && checkUp && action !== undefined) {
      const v = this.d.validator().result(action, f.payload);
      if (v) {
        // A CALLRESULT cannot be answered with an error (OCPP-J §4.1.3): the backend gets a
        // CALLERROR envelope instead of a result that breaks the schema.
        this.d.metrics.validation_failed++;
        out = callError(f.id, v.code, `CALLRESULT rejected: ${v.description}`, v.details);
      }
    }
    const vars = { cid: this.d.cid, id: f.id, type: out.type };
    this.publish(
      out.type === 3 ? this.d.topics.reply(vars) : this.d.topics.error(vars),
      toEnvelope(out, action),
    );
    if (matched) {
      clearTimeout(inflight.timer);
      this.inflight = null;
      this.pump();
    }
  }

  private publish(topic: string, payload: string): void {
    this.d.metrics.published++;
    this.d
      .publish({
        topic: this.d.mountpoint + topic,
        payload,
        qos: 2,
        from: { clientid: this.d.cid, ...(this.d.username ? { username: this.d.username } : {}) },
      })
      .catch((err: unknown) => {
        this.d.metrics.publish_failed++;
        this.d.logger.warn(
          { code: 'ocpp_publish_failed', err, clientid: this.d.cid },
          'publish to MQTT failed',
        );
      });
  }

  private drop(): void {
    this.dropped++;
    this.d.metrics.dropped++;
  }

  // ---- downstream: MQTT → CP ----------------------------------------------------------------

  /** One MQTT message from the downstream topic. */
  deliver(payload: Buffer): void {
    // Closing (taken over, kicked, shut down): the newer connection has its own subscription.
    if (this.closed || this.reason !== undefined) return;
    const r = fromEnvelope(payload);
    if (!r.ok) {
      this.drop();
      this.d.metrics.invalid_envelopes++;
      this.d.logger.debug({ clientid: this.d.cid, reason: r.reason }, 'invalid downstream message');
      return;
    }
    const f = r.frame;
    if (f.type !== 2) {
      // A reply to a CP CALL: out at once, never queued.
      if (this.pendingBoots.delete(f.id) && f.type === 3) this.bootConf(f.payload);
      this.send(f);
      return;
    }
    const checking = this.d.config.message_format_checking;
    if (checking === 'all' || checking === 'dnstream_only') {
      const v = this.d.validator().call(f.action, f.payload);
      if (v) {
        this.d.metrics.validation_failed++;
        this.drop();
        this.publish(
          this.d.topics.error({ cid: this.d.cid, id: f.id, type: 4 }),
          toEnvelope(
            callError(f.id, v.code, `not sent to the charge point: ${v.description}`, v.details),
            f.action,
          ),
        );
        return;
      }
    }
    const pending = { frame: f, text: serializeFrame(f) };
    if (this.inflight === null && this.queue.length === 0) return this.sendCall(pending);
    if (this.queue.length >= this.d.config.dnstream.max_mqueue_len) {
      this.drop();
      this.d.metrics.dropped_queue_full++;
      this.d.logger.debug({ clientid: this.d.cid, id: f.id }, 'downstream queue full: dropped');
      return;
    }
    this.queue.push(pending);
  }

  private bootConf(payload: object): void {
    const p = payload as { status?: unknown; interval?: unknown };
    if (p.status !== 'Accepted' || typeof p.interval !== 'number' || p.interval < 0) return;
    this.keepaliveMs = Math.round(p.interval * 1000);
    this.armKeepalive();
  }

  private sendCall(c: PendingCall): void {
    const { id, action } = c.frame;
    const timer = setTimeout(() => this.timeout(id), this.d.config.dnstream.await_timeout);
    timer.unref();
    this.inflight = { id, action, timer };
    this.sendText(c.text);
  }

  private timeout(id: string): void {
    const inflight = this.inflight;
    if (!inflight || inflight.id !== id) return;
    this.inflight = null;
    this.d.metrics.call_timeouts++;
    if (this.d.config.dnstream.timeout_error)
      this.publish(
        this.d.topics.error({ cid: this.d.cid, id, type: 4 }),
        toEnvelope(
          callError(id, 'GenericError', 'timeout', {
            await_timeout_ms: this.d.config.dnstream.await_timeout,
          }),
          inflight.action,
        ),
      );
    this.pump();
  }

  private pump(): void {
    const next = this.queue.shift();
    if (next) this.sendCall(next);
  }

  private send(f: OcppFrame): void {
    this.sendText(serializeFrame(f));
  }

  private sendText(text: string): void {
    if (this.closed || this.d.ws.readyState !== this.d.ws.OPEN) return;
    this.sent++;
    this.d.metrics.frames_out++;
    this.d.ws.send(text);
  }
}
