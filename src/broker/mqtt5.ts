/**
 * MQTT 5.0 on Aedes 2.0.0-beta.1 (decision 0009): the options we give Aedes, the check that our
 * patch of it is installed, and the per-client CONNACK capabilities.
 *
 *   Aedes options      max_awaiting_rel → maxInflightInbound (patched in from Aedes 1.2.0),
 *                      max_topic_alias → topicAliasMaximum, response_information
 *   assertPatched      start() refuses an Aedes without patches/aedes+2.0.0-beta.1.patch
 *   CONNACK            Shared Subscription Available is left at its default (available: we
 *                      serve `$share/…` ourselves, shared-subscriptions.ts; the beta says "not
 *                      available" [MQTT-3.2.2-13]); Maximum Packet Size is the listener's
 *                      max_packet_size [MQTT-3.2.2-15]
 */
import type { Client } from 'aedes';
import { recordOf } from './client-records.js';
import type { BrokerConfig } from './config.js';
import { BrokerErrors } from './errors.js';

/** The Aedes constructor options that carry our MQTT 5 settings. */
export function aedesMqtt5Options(config: BrokerConfig): Record<string, unknown> {
  return {
    maxInflightInbound: config.max_awaiting_rel,
    topicAliasMaximum: config.max_topic_alias,
    responseInformation: config.response_information === '' ? null : config.response_information,
    // Our patch calls this while building a v5 CONNACK (lib/handlers/connect.js doConnack).
    adjustConnackProperties,
  };
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

function adjustConnackProperties(client: Client, props: Record<string, unknown>): void {
  // Available is the default when absent (§3.2.2.3.18): say nothing rather than "false".
  delete props['sharedSubscriptionAvailable'];
  const max = recordOf(client)?.limits?.max_packet_size;
  if (max !== undefined && max > 0 && props['maximumPacketSize'] === undefined)
    props['maximumPacketSize'] = max;
}
