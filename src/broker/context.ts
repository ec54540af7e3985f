/**
 * The state one broker shares between its parts (hooks, event wiring, publish path,
 * persistence wrapper), in one object made by `createBroker` and passed to each part's
 * installer. Nothing here is module-level: two brokers in one process share nothing.
 *
 * Installers run once per broker and copy the fields that never change (`feed`, `routing`,
 * `metrics`, `idOf`, `now`, `node`) into their closures, so the per-message path reads closure
 * variables as it did when everything lived in one function. Only `aedes`, `state`,
 * `shared`, `sharing` and `deliveringQos0` change during a broker's life and are read from the context.
 *
 * The Aedes internals we touch are named here (README invariant 7): re-check them on every
 * Aedes upgrade.
 */
import type { MatchContext } from './match-context.js';
import type { Aedes, AedesPublishPacket, Client } from 'aedes';
import type { AckGatePort, IngressPort, Logger } from '../core/index.js';
import type { AckAfter } from './ack-after.js';
import type { ClientRecord } from './client-records.js';
import type { BrokerConfig } from './config.js';
import type { EventFeed } from './event-feed.js';
import type { InflightWindows } from './inflight-window.js';
import type { Limits } from './limits.js';
import type { PublishGate } from './publish-gate.js';
import type { RouteTable } from './routes.js';
import type { SharedSubscriptions } from './shared-subscriptions.js';
import type { BrokerMetrics } from './types.js';

export type AedesInternals = Aedes & {
  counter: number;
  persistence: Record<string, unknown>;
  clients: Record<string, Client | undefined>;
};

export type ClientInternals = Client & {
  _nextId: number;
  _disconnected: boolean;
  subscriptions: Record<string, { qos: number }>;
  deliver0: (p: AedesPublishPacket, cb: () => void) => void;
  deliverQoS: (p: AedesPublishPacket, cb: () => void) => void;
  /** Aedes' dedupe of overlapping subscriptions: the last broker counter forwarded, by broker id. */
  duplicates: Record<string, number>;
};

/**
 * The per-client filter count of our subscribe.js / unsubscribe.js hunks (issue #19, decision
 * 0025): `_subCount` is the number of keys of `subscriptions`; `_subReserved` the new filters
 * authorizeSubscribe granted that Aedes has not added yet (each marked with
 * `SUBSCRIPTION_RESERVED`, which addSubs clears as it releases the reservation).
 */
export type SubCounting = ClientInternals & { _subCount?: number; _subReserved?: number };

/** subscribe.js `SUBSCRIPTION_RESERVED` (a registered symbol: the stores never persist it). */
export const SUBSCRIPTION_RESERVED = Symbol.for('aedes.subscriptionReserved');

/**
 * The MQTT 5 side of an Aedes 2.0.0-beta.1 client (decision 0010; re-check on every Aedes
 * upgrade, README invariant 7): negotiated version, the client's own limits from CONNECT, and
 * the server-side DISCONNECT.
 */
export type ClientV5Internals = Client & {
  version: number | null;
  connected: boolean;
  /** Maximum Packet Size the client declared in CONNECT (bytes), broker → client. */
  maximumPacketSize?: number;
  /** Receive Maximum the client declared (default 65535). */
  receiveMaximum?: number;
  /** Session Expiry Interval in force (s). */
  sessionExpiryInterval: number;
  /** Reason code of a server-sent DISCONNECT (v5 only), else null. */
  disconnectReasonCode: number | null;
  /** Inbound QoS 2 message ids awaiting PUBREL (our patch, from Aedes 1.2.0). */
  _inboundInflight: Set<number>;
  disconnect(
    opts: { reasonCode?: number; properties?: Record<string, unknown> },
    done?: () => void,
  ): void;
  rejectPacketTooLarge(size: number, done?: () => void): void;
};

export type BrokerState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  /** Clock in ms. */
  readonly now: () => number;
  /** The `node` column of every event. */
  readonly node: string;
  /** Message id = random 64-bit prefix (once per broker) + Aedes counter (columns.ts). */
  readonly idOf: (counter: number) => string;
  readonly feed: EventFeed;
  /** Messages being routed: copies reached (no_subscribers detection) and publish columns. */
  readonly routing: RouteTable;
  /** Counters; `connections`, `clients_paused` and `publishes_held` are computed on read. */
  readonly metrics: BrokerMetrics;
  /** Per-listener limits (limits.ts). */
  readonly limits: Limits;
  /** Connections paused by back-pressure now. */
  readonly pausedClients: Set<ClientRecord>;
  /** Held messages of paused clients that disconnected, by client id (released on resume). */
  readonly orphans: Map<string, PublishGate[]>;
  /** The Aedes instance, from start() on. */
  aedes: AedesInternals | undefined;
  state: BrokerState;
  /** True while Aedes runs a subscriber's QoS 0 delivery function (see authorizeForward). */
  deliveringQos0: boolean;
  /** Shared subscriptions (shared-subscriptions.ts), from start() on. */
  shared: SharedSubscriptions | undefined;
  /** The listeners of the message being routed (match-context.ts), from start() on. */
  matches: MatchContext | undefined;
  /** True while a shared subscription hands a copy to a member (see authorizeForward). */
  sharing: boolean;
  /**
   * Some filter starting with `$` was ever granted or subscribed in process (sticky): only such
   * a filter can receive `$SYS/<id>/new/subscribes` (wildcard-first filters do not match
   * `$`-topics [MQTT-4.7.2-1]), so until then that message is not built (decision 0025).
   */
  sysListened: boolean;
  /** max_inflight windows (inflight-window.ts), from start() on. */
  windows: InflightWindows | undefined;
  /** The engine's tracker for held acknowledgements (ack-after.ts); absent = ack on receipt. */
  readonly ackPort: AckGatePort | undefined;
  /** The pre-route ingress hook (publish-path.ts); absent = none. */
  readonly ingress: IngressPort | undefined;
  /** Held acknowledgements (ack-after.ts). */
  readonly ackAfter: AckAfter;
}
