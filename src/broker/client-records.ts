/**
 * Per-connection state: the facts copied from CONNECT and the listener, read by every column
 * builder, plus the bookkeeping that lives and dies with one connection (subscriptions,
 * in-flight copies, the decided disconnect reason, the back-pressure gate).
 *
 * A record sits on the Aedes client object under a private symbol: it lives and dies with the
 * client, like a WeakMap entry, but a property read costs less than a WeakMap lookup on the
 * per-publish path.
 */
import type { Client } from 'aedes';
import type { ValueMap } from '../core/index.js';
import { EMPTY_MAP, peername } from './columns.js';
import type { ListenerLimits } from './config.js';
import type { ConnMeta } from './listeners.js';
import type { PublishGate } from './publish-gate.js';
import type { EnhancedAuthState } from './enhanced-auth.js';
import type { TokenBucket } from './rate-limits.js';

/** Per-connection facts, filled on CONNECT and read by every column builder. */
export interface ClientRecord {
  meta: ConnMeta;
  clientid: string;
  username: string | undefined;
  peerhost: string | undefined;
  peername: string | undefined;
  sockname: string | undefined;
  proto_ver: number;
  keepalive: number;
  clean_start: boolean;
  is_bridge: boolean;
  expiry_interval: number;
  conn_props: Readonly<ValueMap>;
  connected_at: number;
  is_superuser: boolean;
  client_attrs: Readonly<ValueMap>;
  /** The limits of the listener that accepted the connection (limits.ts). */
  limits?: ListenerLimits;
  /** The first max_subscriptions refusal of this connection was logged (the rest are counted). */
  refusedSubsLogged?: boolean;
  /** messageId → delivered columns, for QoS 1/2 copies awaiting PUBACK/PUBCOMP. */
  inflight: Map<number, Readonly<ValueMap>> | undefined;
  /** Disconnect reason decided before the socket closed (takenover, keepalive_timeout, …). */
  reason: string | undefined;
  /** The publish `headers` column, built once per client (it only holds connection facts). */
  headers?: Readonly<ValueMap>;
  /** Back-pressure gate, created the first time the client is paused. */
  gate?: PublishGate;
  /** True when max_inflight applies (inflight-window.ts): authorizeForward reports each copy. */
  windowed?: boolean;
  /** MQTT 5: some SUBSCRIBE of this client carried a Subscription Identifier (granted-qos.ts). */
  subIds?: boolean;
  /** Per-client ACL and credential expiry from authentication (JWT; security.ts). */
  acl?: unknown;
  /** MQTT 5 CONNECT Authentication-Method / -Data (enhanced-auth.ts). */
  auth_method?: string;
  auth_data?: Buffer;
  /** `messages_quota` bucket (rate-limits.ts) and whether its refusal was logged. */
  quota?: TokenBucket;
  quotaLogged?: boolean;
  /** Set once an AUTH exchange started (enhanced-auth.ts). */
  enhanced?: EnhancedAuthState;
  expires_at?: number | undefined;
  /** MQTT 5: the DISCONNECT the client sent (reason code and properties), if any. */
  disconnect?: { code: number | undefined; props: Record<string, unknown> | undefined };
  /** MQTT 5: properties of the SUBSCRIBE that asked for each filter (session.subscribed sub_props). */
  subProps?: Map<string, Record<string, unknown>>;
  /** Cancels the disconnect-at-expiry timer (cleared on disconnect). */
  cancelExpiry?: () => void;
}

/** Symbol holding a client's ClientRecord on the Aedes client object. */
const RECORD = Symbol('sluice.record');
type RecordHolder = { [RECORD]?: ClientRecord };

/** The record of an Aedes client (undefined for clients we did not accept, e.g. restored wills). */
export function recordOf(c: Client): ClientRecord | undefined {
  return (c as RecordHolder)[RECORD];
}

/** Attach `rec` to the Aedes client made for an accepted connection. */
export function attachRecord(c: Client, rec: ClientRecord): void {
  (c as RecordHolder)[RECORD] = rec;
}

/** A fresh record for an accepted connection; CONNECT fills the rest (hooks.ts preConnect). */
export function newRecord(meta: ConnMeta): ClientRecord {
  return {
    meta,
    clientid: '',
    username: undefined,
    peerhost: meta.peerhost,
    peername: peername(meta.peerhost, meta.peerport),
    sockname: peername(meta.sockhost, meta.sockport),
    proto_ver: 4,
    keepalive: 0,
    clean_start: true,
    is_bridge: false,
    expiry_interval: 0,
    conn_props: EMPTY_MAP,
    connected_at: 0,
    is_superuser: false,
    client_attrs: EMPTY_MAP,
    inflight: undefined,
    reason: undefined,
  };
}
