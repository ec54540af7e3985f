/**
 * Column builders of the message family (spec rule-sql §7.1): message.publish, dropped,
 * delivered and acked. The publish columns are the source of the other three (same `id`,
 * `flags`, `pub_props`, `publish_received_at`; README invariant 3), so they are built once per
 * message and kept in the route table while the message routes.
 *
 * Callers raise the events: the publish path (publish, dropped), authorizeForward in hooks.ts
 * (delivered) and the persistence wrapper (acked). Builders run only while someone listens.
 */
import type { AedesPublishPacket, PublishPacket } from 'aedes';
import type { Value, ValueMap } from '../../core/index.js';
import type { ClientRecord } from '../client-records.js';
import { EMPTY_MAP, propsToColumns } from '../columns.js';
import type { PublishRequest } from '../types.js';

/** Symbol carrying publish() caller identity through the wrapped aedes.publish. */
export const FROM = Symbol('sluice.from');
/** Symbol carrying publish() callers' extra event columns through the wrapped aedes.publish. */
export const EXTRA = Symbol('sluice.columns');

/** Symbol marking a `direct` publish() (subscribers only, no message events). */
export const DIRECT = Symbol('sluice.direct');

/** A publish packet as `Broker.publish` makes it (caller identity and extra columns attached). */
export type TaggedPublishPacket = PublishPacket & {
  [FROM]?: PublishRequest['from'];
  [EXTRA]?: Readonly<ValueMap>;
  [DIRECT]?: true;
};

/** The four possible `flags` maps, shared and frozen (no allocation per message). */
const FLAGS: readonly (readonly Readonly<ValueMap>[])[] = [
  [Object.freeze({ dup: false, retain: false }), Object.freeze({ dup: false, retain: true })],
  [Object.freeze({ dup: true, retain: false }), Object.freeze({ dup: true, retain: true })],
];
export const flagsOf = (dup: boolean, retain: boolean): Readonly<ValueMap> =>
  FLAGS[dup ? 1 : 0]![retain ? 1 : 0]!;

/** message.publish columns, plus the extra columns a `Broker.publish` caller attached. */
export function publishColumns(
  packet: PublishPacket,
  rec: ClientRecord | undefined,
  from: PublishRequest['from'],
  id: string,
  ts: number,
  node: string,
): ValueMap {
  const clientid = rec ? rec.clientid : from?.clientid;
  const username = rec ? rec.username : from?.username;
  const peerhost = rec?.peerhost;
  const cols: ValueMap = {
    id,
    clientid,
    username,
    payload: packet.payload as Buffer,
    peerhost,
    peername: rec?.peername,
    topic: packet.topic,
    qos: packet.qos,
    flags: flagsOf(packet.dup === true, packet.retain === true),
    headers: rec
      ? (rec.headers ??= Object.freeze({
          username,
          peerhost,
          proto_ver: rec.proto_ver,
          protocol: 'mqtt',
        }))
      : Object.freeze({ username, peerhost, proto_ver: undefined, protocol: 'mqtt' }),
    pub_props: propsToColumns(packet.properties as Record<string, unknown> | undefined),
    publish_received_at: ts,
    client_attrs: rec ? rec.client_attrs : EMPTY_MAP,
    event: 'message.publish',
    timestamp: ts,
    node,
  };
  const extra = (packet as TaggedPublishPacket)[EXTRA];
  return extra ? Object.assign(cols, extra) : cols;
}

/** message.dropped columns from the message's publish columns (`src`). */
export function droppedColumns(
  src: Readonly<ValueMap>,
  reason: string,
  ts: number,
  node: string,
): ValueMap {
  return {
    id: src['id'],
    reason,
    clientid: src['clientid'],
    username: src['username'],
    payload: src['payload'],
    peerhost: src['peerhost'],
    peername: src['peername'],
    topic: src['topic'],
    qos: src['qos'],
    flags: src['flags'],
    pub_props: src['pub_props'],
    publish_received_at: src['publish_received_at'],
    event: 'message.dropped',
    timestamp: ts,
    node,
  };
}

/**
 * message.delivered columns for one copy forwarded to `rec` at `qos`. `src` is the message's
 * publish columns while it still routes (undefined for copies Aedes sends later, e.g. from an
 * offline queue: those facts then come from the packet). `id` is `src.id` when there is a
 * `src` (the caller formats one from the packet's counter only when there is not).
 */
export function deliveredColumns(
  rec: ClientRecord,
  packet: AedesPublishPacket,
  qos: number,
  src: Readonly<ValueMap> | null | undefined,
  id: Value,
  ts: number,
  node: string,
): ValueMap {
  return {
    id,
    from_clientid: src ? src['clientid'] : (packet as { clientId?: string }).clientId,
    from_username: src ? src['username'] : undefined,
    clientid: rec.clientid,
    username: rec.username,
    payload: packet.payload as Buffer,
    peerhost: rec.peerhost,
    peername: rec.peername,
    topic: packet.topic,
    qos,
    flags: src ? src['flags'] : flagsOf(packet.dup === true, packet.retain === true),
    pub_props: src
      ? src['pub_props']
      : propsToColumns(packet.properties as Record<string, unknown> | undefined),
    publish_received_at: src ? src['publish_received_at'] : ts,
    event: 'message.delivered',
    timestamp: ts,
    node,
  };
}

/** message.acked columns from the copy's delivered columns. */
export function ackedColumns(
  delivered: Readonly<ValueMap>,
  ts: number,
  node: string,
  pubackProps: Readonly<ValueMap> = EMPTY_MAP,
): ValueMap {
  return {
    ...delivered,
    puback_props: pubackProps,
    event: 'message.acked',
    timestamp: ts,
    node,
  };
}
