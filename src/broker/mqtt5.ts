/**
 * MQTT 5.0 on Aedes 2.0.0-beta.1 (decision 0010): the options we give Aedes, the check that our
 * patch of it is installed, and the per-client CONNACK capabilities.
 *
 *   Aedes options      max_awaiting_rel → maxInflightInbound (patched in from Aedes 1.2.0),
 *                      max_topic_alias → topicAliasMaximum, response_information;
 *                      max_awaiting_rel → receiveMaximum too (CONNACK Receive Maximum, below 65,535)
 *   assertPatched      start() refuses an Aedes without patches/aedes+2.0.0-beta.1.patch
 *   CONNACK            Shared Subscription Available is left at its default (available: we
 *                      serve `$share/…` ourselves, shared-subscriptions.ts; the beta says "not
 *                      available" [MQTT-3.2.2-13]); Maximum Packet Size is the listener's
 *                      max_packet_size [MQTT-3.2.2-15]
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import type { Client } from 'aedes';
import { recordOf } from './client-records.js';
import type { BrokerConfig } from './config.js';
import { BrokerErrors } from './errors.js';
import type { ClientV5Internals } from './context.js';
import type { EnhancedAuth } from './enhanced-auth.js';

/** The Aedes constructor options that carry our MQTT 5 settings. */
export function aedesMqtt5Options(config: BrokerConfig): Record<string, unknown> {
  return {
    maxInflightInbound: config.max_awaiting_rel,
    // §3.2.2.3.3: a v5 client may have Receive Maximum unacknowledged QoS 1/2 PUBLISHes (65,535
    // when CONNACK says nothing), and one past max_awaiting_rel gets DISCONNECT 0x93: so say the
    // limit, or a conforming client is disconnected. 0 (unlimited) or ≥ 65,535: the default fits.
    receiveMaximum:
      config.max_awaiting_rel > 0 && config.max_awaiting_rel < 65_535 ? config.max_awaiting_rel : 0,
    topicAliasMaximum: config.max_topic_alias,
    responseInformation: config.response_information === '' ? null : config.response_information,
  };
}

/**
 * Hooks on the Aedes instance (Aedes copies only the options it knows) that our patch reads:
 * the CONNACK hook (lib/handlers/connect.js doConnack) and the shared-subscription switch
 * (lib/handlers/subscribe.js doSubscribe).
 */
export function installMqtt5(aedes: object, enhanced?: EnhancedAuth): void {
  const a = aedes as {
    adjustConnackProperties?: unknown;
    sharedSubscriptionsServed?: boolean;
    supportsAuthenticationMethod?: unknown;
    handleAuth?: unknown;
  };
  a.adjustConnackProperties = enhanced
    ? (client: Client, props: Record<string, unknown>) => {
        adjustConnackProperties(client, props);
        enhanced.connackProperties(client, props);
      }
    : adjustConnackProperties;
  // Enhanced authentication (enhanced-auth.ts; patched connect.js and handlers/index.js). Without
  // SCRAM users every Authentication-Method is refused with CONNACK 0x8C, and an AUTH packet from
  // a connected client gets DISCONNECT 0x82 (protocol error: it used no method in CONNECT).
  a.supportsAuthenticationMethod = (m: string) => enhanced?.supports(m) === true;
  a.handleAuth = enhanced
    ? enhanced.handleAuth
    : (client: Client, _packet: unknown, done: () => void) => {
        const c = client as unknown as ClientV5Internals;
        const rec = recordOf(client);
        if (rec) rec.reason ??= 'protocol_error';
        c.disconnect({ reasonCode: 0x82 });
        done();
      };
  // shared-subscriptions.ts serves `$share/…`; without this the beta answers SUBACK 0x9E to v5.
  a.sharedSubscriptionsServed = true;
}

/**
 * Throws broker_aedes_unpatched unless `aedes` has the fixes our patch carries: prototype-less
 * `clients` (GHSA-52qw-whmv-87c5) and the `maxInflightInbound` bound. Called once at start.
 */
export function assertPatchedAedes(aedes: object): void {
  const a = aedes as {
    clients?: object;
    maxInflightInbound?: unknown;
    adjustConnackProperties?: unknown;
  };
  if (
    a.clients !== undefined &&
    Object.getPrototypeOf(a.clients) === null &&
    typeof a.maxInflightInbound === 'number'
  )
    return;
  throw BrokerErrors.broker_aedes_unpatched(
    'the installed aedes lacks patches/aedes+2.0.0-beta.1.patch (run `npx patch-package`)',
  );
}

/**
 * Hunks of our own that leave no trace on the broker instance (they call hooks the embedder
 * sets), so assertPatchedAedes cannot see them: a marker each must hold in the installed file.
 * Without them the broker would run, silently: PUBACKs on receipt whatever `ack_after` says,
 * mqtt-packet parsing every packet, SCRAM refused with 0x8C, a 100k-filter SUBSCRIBE, UNSUBSCRIBE or
 * close in one turn, PUBACK 0x00 for a message ingress validation dropped (ingress-ack.ts).
 */
export const AEDES_SOURCE_MARKERS: readonly (readonly [file: string, marker: string])[] = [
  ['lib/handlers/publish.js', 'client.broker.holdAck?.(client, packet, true)'],
  ['lib/handlers/publish.js', 'client.broker.holdAck?.(client, packet)'],
  ['lib/handlers/publish.js', 'this.reasonCode = packet.sluiceAckReason'],
  ['lib/client.js', 'broker.parserFactory()'],
  ['lib/handlers/index.js', 'client.broker.handleAuth(client, packet, done)'],
  ['lib/handlers/connect.js', 'client.broker.supportsAuthenticationMethod?.('],
  ['lib/handlers/subscribe.js', 'broker.subscribeSlice'],
  ['lib/handlers/subscribe.js', 'client._subTopics.push(topic)'],
  ['lib/handlers/subscribe.js', '_packet.grantedQos = qos'],
  ['lib/handlers/subscribe.js', 'newPacket.grantedQos = retainedGrant'],
  ['lib/handlers/unsubscribe.js', 'slicedUnsubscribe(client, packet, done)'],
  ['lib/client.js', 'unsubscribeOnClose(this, finish)'],
  ['lib/handlers/subscribe.js', 'client._deliverFuncs[kind]'],
  ['lib/handlers/subscribe.js', 'func.grantedQos = qos'],
  ['lib/handlers/subscribe.js', 'client._subReserved--'],
  ['lib/handlers/subscribe.js', 'broker.sysSubscribesWanted()'],
  ['lib/handlers/subscribe.js', 'broker.persistence.hasRetained?.() !== false'],
  ['lib/handlers/unsubscribe.js', "emit('unsubscribe', packet.unsubscriptions, client, this.held)"],
];

const sourcesChecked = new Set<string>();

/** Checks AEDES_SOURCE_MARKERS once per process (reads six files at the first broker start). */
export function assertPatchedAedesSources(
  root = path.dirname(createRequire(import.meta.url).resolve('aedes')),
): void {
  if (sourcesChecked.has(root)) return;
  const missing: string[] = [];
  const texts = new Map<string, string>();
  for (const [file, marker] of AEDES_SOURCE_MARKERS) {
    let text = texts.get(file);
    if (text === undefined) {
      try {
        text = readFileSync(path.join(root, file), 'utf8');
      } catch {
        text = '';
      }
      texts.set(file, text);
    }
    if (!text.includes(marker)) missing.push(`${file} (${marker})`);
  }
  if (missing.length > 0)
    throw BrokerErrors.broker_aedes_unpatched(
      `the installed aedes lacks hunks of patches/aedes+2.0.0-beta.1.patch in ${missing.join(', ')} (run \`npx patch-package\`)`,
    );
  sourcesChecked.add(root);
}

function adjustConnackProperties(client: Client, props: Record<string, unknown>): void {
  // Available is the default when absent (§3.2.2.3.18): say nothing rather than "false".
  delete props['sharedSubscriptionAvailable'];
  const max = recordOf(client)?.limits?.max_packet_size;
  if (max !== undefined && max > 0 && props['maximumPacketSize'] === undefined)
    props['maximumPacketSize'] = max;
}

/** Reason codes of MQTT 5.0 (§2.4) → EMQX's names (emqx_reason_codes:name/1). */
const REASON_NAMES: Readonly<Record<number, string>> = {
  0x00: 'success',
  0x01: 'granted_qos1',
  0x02: 'granted_qos2',
  0x04: 'disconnect_with_will_message',
  0x10: 'no_matching_subscribers',
  0x11: 'no_subscription_existed',
  0x18: 'continue_authentication',
  0x19: 're_authenticate',
  0x80: 'unspecified_error',
  0x81: 'malformed_packet',
  0x82: 'protocol_error',
  0x83: 'implementation_specific_error',
  0x84: 'unsupported_protocol_version',
  0x85: 'client_identifier_not_valid',
  0x86: 'bad_username_or_password',
  0x87: 'not_authorized',
  0x88: 'server_unavailable',
  0x89: 'server_busy',
  0x8a: 'banned',
  0x8b: 'server_shutting_down',
  0x8c: 'bad_authentication_method',
  0x8d: 'keepalive_timeout',
  0x8e: 'session_taken_over',
  0x8f: 'topic_filter_invalid',
  0x90: 'topic_name_invalid',
  0x91: 'packet_identifier_inuse',
  0x92: 'packet_identifier_not_found',
  0x93: 'receive_maximum_exceeded',
  0x94: 'topic_alias_invalid',
  0x95: 'packet_too_large',
  0x96: 'message_rate_too_high',
  0x97: 'quota_exceeded',
  0x98: 'administrative_action',
  0x99: 'payload_format_invalid',
  0x9a: 'retain_not_supported',
  0x9b: 'qos_not_supported',
  0x9c: 'use_another_server',
  0x9d: 'server_moved',
  0x9e: 'shared_subscriptions_not_supported',
  0x9f: 'connection_rate_exceeded',
  0xa0: 'maximum_connect_time',
  0xa1: 'subscription_identifiers_not_supported',
  0xa2: 'wildcard_subscriptions_not_supported',
};

/** EMQX's name of an MQTT 5 reason code (`unknown_error` for a code 5.0 does not define). */
export function reasonName(code: number): string {
  return REASON_NAMES[code] ?? 'unknown_error';
}

/**
 * client.disconnected `reason` for a DISCONNECT the client sent (EMQX
 * emqx_channel:disconnect_reason/1): 0x00 is `normal`, any other code its name.
 */
export function clientDisconnectReason(code: number | undefined): string {
  return code === undefined || code === 0 ? 'normal' : reasonName(code);
}

/**
 * Server-side DISCONNECT reason codes by the `reason` column we record before closing
 * (EMQX emqx_reason_codes:mqtt_reason_code/1 for the same reasons).
 */
export const SERVER_DISCONNECT_CODES: Readonly<Record<string, number>> = {
  kicked: 0x98,
  takenover: 0x8e,
  discarded: 0x8e,
  keepalive_timeout: 0x8d,
  frame_too_large: 0x95,
  shutdown: 0x8b,
  not_authorized: 0x87,
  quota_exceeded: 0x97,
};
