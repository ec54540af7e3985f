/**
 * Shared subscriptions (issue #11 item 1; EMQX `emqx_shared_sub`): `$share/<group>/<filter>` and
 * `$queue/<filter>` (= group `$queue`). Every message matching `<filter>` goes to exactly one
 * connected member of each group, besides the normal subscribers.
 *
 * How it sits on Aedes 1.2, which knows nothing of `$share` (it stores the whole filter as a
 * literal topic, grants it, and delivers nothing):
 *
 *   - Aedes keeps doing what it does for any filter: `client.subscriptions['$share/g/t']` holds
 *     the member's delivery function (QoS 0 or QoS 1/2 path, as granted), the persistence keeps
 *     the filter for a persistent session, and a restored session re-runs authorizeSubscribe.
 *   - authorizeSubscribe (hooks.ts) validates the filter (`parseShare`; invalid → SUBACK 0x80)
 *     and calls `join`. The first member of a group installs ONE mqemitter listener on the real
 *     filter; it picks a member per message (the strategy) and calls that member's Aedes
 *     delivery function, so dedupe, QoS, packet ids, persistence and authorizeForward
 *     (message.delivered, acked) are Aedes' and ours as for any copy.
 *   - While a shared copy is handed over, `ctx.sharing` is true; authorizeForward calls
 *     `forwarded` with the packet id, so an unacked QoS 1/2 copy is known.
 *   - A clean-session member that disconnects with unacked QoS 1/2 copies (QoS 2: no PUBREC
 *     yet) has them redelivered to another connected member (EMQX `redispatch`). A persistent
 *     session keeps them (Aedes resends them when it returns [MQTT-4.4.0-1]), as in EMQX.
 *   - A PUBLISH to a `$share/…` / `$queue/…` topic name reaches nobody (Aedes would treat the
 *     member's filter as a literal topic): `isShareTopic` lets authorizeForward drop it.
 *
 * Strategies (EMQX semantics; per publisher = the state lives with the publishing connection,
 * like EMQX's per-process dictionary; messages without a publisher share one state):
 *   random                 a uniformly random member
 *   round_robin            in turn, per publisher, starting at a random member
 *   round_robin_per_group  in turn, one counter per group (whoever publishes)
 *   sticky                 a random member, then the same one until it leaves, per publisher
 *   local                  members on the publisher's node first; one node → random
 *   hash_clientid          FNV-1a of the publisher's client id (stable while members stay)
 *   hash_topic             FNV-1a of the message topic
 *
 * Aedes internals used (README invariant 7): `client.subscriptions[...].func`,
 * `client.duplicates` (the redelivery lowers the dedupe mark for one call), `client.clean`,
 * `client.closed`, `client._parser`'s 'packet' event (PUBREC of clean sessions), `aedes.mq` through `aedes.subscribe` / `unsubscribe`, and the persistence's
 * `outgoingEnqueue` / `outgoingClearMessageId` / `outgoingUpdate`.
 */
import type { AedesPublishPacket, Client } from 'aedes';
import { recordOf, type ClientRecord } from './client-records.js';
import type { SharedStrategy } from './config.js';
import type { AedesInternals, BrokerContext } from './context.js';

/** A parsed `$share/<group>/<filter>` or `$queue/<filter>`. */
export interface ShareFilter {
  readonly group: string;
  readonly filter: string;
}

const SHARE = '$share/';
const QUEUE = '$queue/';

/** True for a topic or filter that names a shared subscription (`$share/…`, `$queue/…`). */
export function isShareTopic(t: string): boolean {
  return t.charCodeAt(0) === 36 && (t.startsWith(SHARE) || t.startsWith(QUEUE));
}

/**
 * The group and real filter of a shared subscription filter; `null` when `t` is not one;
 * `'invalid'` when it is malformed (EMQX `emqx_topic:parse`; MQTT 5 [MQTT-4.8.2-1/2]):
 * no filter (`$share/g`, `$share/g/`, `$queue/`), an empty group (`$share//t`), a group with
 * `+` or `#`, or a filter that is itself shared (`$share/g/$share/…`).
 */
export function parseShare(t: string): ShareFilter | 'invalid' | null {
  if (!isShareTopic(t)) return t === '$share' || t === '$queue' ? 'invalid' : null;
  let group: string;
  let filter: string;
  if (t.startsWith(QUEUE)) {
    group = '$queue';
    filter = t.slice(QUEUE.length);
  } else {
    const slash = t.indexOf('/', SHARE.length);
    if (slash < 0) return 'invalid';
    group = t.slice(SHARE.length, slash);
    filter = t.slice(slash + 1);
    if (group === '' || group.includes('+') || group.includes('#')) return 'invalid';
  }
  if (filter === '' || isShareTopic(filter)) return 'invalid';
  return { group, filter };
}

/** The real filter of a shared subscription filter, else the filter itself (granted-qos.ts). */
export function realFilter(f: string): string {
  const s = isShareTopic(f) ? parseShare(f) : null;
  return s && s !== 'invalid' ? s.filter : f;
}

interface Member {
  readonly client: Client;
  /** The filter as the member subscribed it (`$share/g/t` or `$queue/t`). */
  readonly topic: string;
}

interface Group {
  readonly key: string;
  readonly name: string;
  readonly filter: string;
  readonly strategy: SharedStrategy;
  members: Member[];
  /** round_robin_per_group counter; round_robin / sticky state of publisher-less messages. */
  next: number;
  anonNext: number | undefined;
  anonSticky: Member | undefined;
  readonly listener: (p: AedesPublishPacket, cb: () => void) => void;
}

/** An unacked shared QoS 1/2 copy: what to redeliver if its member leaves. */
interface Unacked {
  readonly group: Group;
  readonly packet: AedesPublishPacket;
}

/** Per-publisher strategy state, kept with the publishing connection (dies with it). */
type PickState = Map<string, { n?: number; sticky?: Member }>;

export interface SharedSubscriptions {
  /** authorizeSubscribe granted `topic` (a valid share filter) to `client`. */
  join(client: Client, topic: string, share: ShareFilter): void;
  /** `client` is (or was granted to become) a member of some group. */
  holds(client: Client): boolean;
  /**
   * authorizeForward is forwarding a QoS 1/2 copy to `rec` while `ctx.sharing` is set: remember
   * the message under the copy's packet id until PUBACK / PUBREC.
   */
  forwarded(rec: ClientRecord, messageId: number): void;
  /** The group a copy is being handed over for now (undefined outside a hand-over). */
  handingGroup(): unknown;
  /** Run `fn` as the hand-over of `packet` for `group` (a copy released by inflight-window.ts). */
  within(group: unknown, packet: AedesPublishPacket, fn: () => void): void;
  /** Redeliver a copy `except`'s session will not get (it left) to another member of `group`. */
  redeliver(group: unknown, packet: AedesPublishPacket, except: Client): void;
  /** Members and groups now (tests, metrics). */
  stats(): { groups: number; members: number };
}

/** FNV-1a, 32 bit. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const noop = (): void => {};

/** Install shared-subscription routing on a started Aedes (once per broker, after listen()). */
export function installSharedSubscriptions(
  ctx: BrokerContext,
  a: AedesInternals,
): SharedSubscriptions {
  const { config, logger, metrics } = ctx;
  const groups = new Map<string, Group>();
  /** Groups each client is a member of, by the filter it subscribed. */
  const memberships = new WeakMap<Client, Map<string, Group>>();
  const unacked = new WeakMap<ClientRecord, Map<number, Unacked>>();
  const pickStates = new WeakMap<ClientRecord, PickState>();
  /** The group and message being handed to a member now (read by `forwarded`). */
  let handing: Group | undefined;
  let handed: AedesPublishPacket | undefined;
  const persistence = a.persistence as unknown as {
    outgoingEnqueue(sub: { clientId: string }, p: AedesPublishPacket): Promise<void>;
    outgoingClearMessageId(c: Client, p: { cmd?: string; messageId?: number }): Promise<unknown>;
    outgoingUpdate(c: Client, p: { cmd?: string; messageId?: number }): Promise<unknown>;
  };

  const strategyOf = (group: string): SharedStrategy =>
    config.shared_subscription_group[group]?.strategy ?? config.shared_subscription_strategy;

  const live = (m: Member): boolean =>
    !m.client.closed &&
    (m.client as unknown as { subscriptions: Record<string, unknown> }).subscriptions[m.topic] !==
      undefined;

  /** The publisher's per-group state (undefined: no publisher connection). */
  function stateOf(g: Group, packet: AedesPublishPacket): { n?: number; sticky?: Member } | null {
    const id = (packet as { clientId?: string }).clientId;
    const c = id === undefined ? undefined : a.clients[id];
    const rec = c ? recordOf(c) : undefined;
    if (!rec) return null;
    let m = pickStates.get(rec);
    if (!m) pickStates.set(rec, (m = new Map()));
    let s = m.get(g.key);
    if (!s) m.set(g.key, (s = {}));
    return s;
  }

  /** The member that gets `packet` (never `except`), or undefined when no member is live. */
  function pick(g: Group, packet: AedesPublishPacket, except?: Client): Member | undefined {
    const all = g.members;
    let cands = all;
    for (let i = 0; i < all.length; i++) {
      if (!live(all[i]!) || all[i]!.client === except) {
        cands = all.filter((m) => live(m) && m.client !== except);
        break;
      }
    }
    const n = cands.length;
    if (n === 0) return undefined;
    if (n === 1) return cands[0];
    switch (g.strategy) {
      case 'random':
      case 'local':
        return cands[Math.floor(Math.random() * n)];
      case 'hash_clientid':
        return cands[hash((packet as { clientId?: string }).clientId ?? '') % n];
      case 'hash_topic':
        return cands[hash(packet.topic) % n];
      case 'round_robin_per_group':
        g.next = (g.next + 1) % n;
        return cands[g.next];
      case 'round_robin': {
        const s = stateOf(g, packet);
        const prev = s ? s.n : g.anonNext;
        const i = prev === undefined ? Math.floor(Math.random() * n) : (prev + 1) % n;
        if (s) s.n = i;
        else g.anonNext = i;
        return cands[i];
      }
      case 'sticky': {
        const s = stateOf(g, packet);
        const cur = s ? s.sticky : g.anonSticky;
        if (cur && cands.includes(cur)) return cur;
        const m = cands[Math.floor(Math.random() * n)]!;
        if (s) s.sticky = m;
        else g.anonSticky = m;
        return m;
      }
    }
  }

  /**
   * Hand `packet` to member `m` through its own Aedes delivery function (QoS as granted).
   * `redelivery` lowers the member's dedupe mark for this one call: the copy is older than
   * what it may have received since.
   */
  function deliverTo(
    g: Group,
    m: Member,
    packet: AedesPublishPacket,
    cb: () => void,
    redelivery: boolean,
  ): void {
    const c = m.client as unknown as {
      id: string;
      clean: boolean;
      subscriptions: Record<
        string,
        { qos: number; func: (p: AedesPublishPacket, cb: () => void) => void }
      >;
      duplicates: Record<string, number>;
    };
    const sub = c.subscriptions[m.topic];
    if (!sub) return cb();
    const go = (): void => {
      if (m.client.closed) return cb();
      const bid = packet.brokerId;
      const mark = c.duplicates[bid];
      if (redelivery && mark !== undefined) c.duplicates[bid] = packet.brokerCounter - 1;
      ctx.sharing = true;
      handing = g;
      handed = packet;
      try {
        sub.func(packet, cb);
      } finally {
        ctx.sharing = false;
        handing = undefined;
        handed = undefined;
        if (redelivery && mark !== undefined)
          c.duplicates[bid] = Math.max(mark, c.duplicates[bid] ?? 0);
      }
    };
    // Aedes' QoS 1/2 path for a persistent session updates the copy it queued at publish
    // (outgoingUpdate); a shared copy was not queued (the persistence does not match `$share`
    // filters), so it is queued here first, as Aedes' own client.publish does.
    if (!c.clean && packet.qos > 0 && sub.qos > 0)
      persistence.outgoingEnqueue({ clientId: c.id }, packet).then(go, go);
    else go();
  }

  function groupOf(share: ShareFilter): Group {
    const key = `${share.group}\u0000${share.filter}`;
    const g = groups.get(key);
    if (g) return g;
    const filter = share.filter;
    const wildcardFirst = filter.charCodeAt(0) === 43 || filter.charCodeAt(0) === 35;
    const created: Group = {
      key,
      name: share.group,
      filter,
      strategy: strategyOf(share.group),
      members: [],
      next: -1,
      anonNext: undefined,
      anonSticky: undefined,
      listener(packet, cb) {
        // [MQTT-4.7.2-1] a leading wildcard does not match `$…` topics.
        if (wildcardFirst && packet.topic.charCodeAt(0) === 36) return cb();
        const m = pick(created, packet);
        if (!m) return cb();
        deliverTo(created, m, packet, cb, false);
      },
    };
    groups.set(key, created);
    a.subscribe(filter, created.listener, noop);
    return created;
  }

  function leave(client: Client, topic: string): void {
    const mine = memberships.get(client);
    const g = mine?.get(topic);
    if (!g) return;
    mine!.delete(topic);
    g.members = g.members.filter((m) => !(m.client === client && m.topic === topic));
    if (g.members.length === 0) {
      groups.delete(g.key);
      a.unsubscribe(g.filter, g.listener, noop);
    }
  }

  /** A clean-session member left: its unacked QoS 1/2 copies go to other members. */
  function redispatch(client: Client, rec: ClientRecord): void {
    const pending = unacked.get(rec);
    unacked.delete(rec);
    if (!pending || pending.size === 0) return;
    let moved = 0;
    for (const { group, packet } of pending.values()) {
      const m = groups.get(group.key) === group ? pick(group, packet, client) : undefined;
      if (!m) continue;
      moved++;
      deliverTo(group, m, packet, noop, true);
    }
    metrics.shared_redispatched += moved;
    logger.info(
      { clientid: rec.clientid, unacked: pending.size, redispatched: moved },
      'shared subscription member left: unacked messages redispatched',
    );
  }

  a.on('unsubscribe', (topics, client) => {
    if (client.closed) return;
    for (const t of topics) if (isShareTopic(t)) leave(client, t);
  });
  a.on('clientDisconnect', (client) => {
    const mine = memberships.get(client);
    const rec = recordOf(client);
    if (rec && client.clean) redispatch(client, rec);
    if (mine) for (const t of [...mine.keys()]) leave(client, t);
  });

  // PUBACK / PUBCOMP end a copy; after PUBREC (QoS 2) the member has it: no redelivery.
  const settle = (c: Client, mid: number | undefined): void => {
    const rec = recordOf(c);
    if (rec && mid !== undefined) unacked.get(rec)?.delete(mid);
  };
  const clear = persistence.outgoingClearMessageId.bind(persistence);
  persistence.outgoingClearMessageId = (c, p) => {
    if (p.cmd === 'puback' || p.cmd === 'pubcomp') settle(c, p.messageId);
    return clear(c, p);
  };
  const update = persistence.outgoingUpdate.bind(persistence);
  persistence.outgoingUpdate = (c, p) => {
    if (p.cmd === 'pubrel') settle(c, p.messageId);
    return update(c, p);
  };
  // A clean session's PUBREC does not reach the persistence: see it on the parsed packets.
  a.on('clientReady', (client) => {
    if (!client.clean) return;
    const parser = (client as unknown as { _parser: NodeJS.EventEmitter })._parser;
    parser.on('packet', (p: { cmd: string; messageId?: number }) => {
      if (p.cmd === 'pubrec') settle(client, p.messageId);
    });
  });

  return {
    join(client, topic, share) {
      let mine = memberships.get(client);
      if (!mine) memberships.set(client, (mine = new Map()));
      if (mine.has(topic)) return;
      const g = groupOf(share);
      g.members.push({ client, topic });
      mine.set(topic, g);
    },
    holds(client) {
      return (memberships.get(client)?.size ?? 0) > 0;
    },
    forwarded(rec, messageId) {
      if (!handing || !handed) return;
      let m = unacked.get(rec);
      if (!m) unacked.set(rec, (m = new Map()));
      m.set(messageId, { group: handing, packet: handed });
    },
    handingGroup() {
      return handing;
    },
    within(group, packet, fn) {
      const g = group as Group;
      ctx.sharing = true;
      handing = g;
      handed = packet;
      try {
        fn();
      } finally {
        ctx.sharing = false;
        handing = undefined;
        handed = undefined;
      }
    },
    redeliver(group, packet, except) {
      const g = group as Group;
      const m = groups.get(g.key) === g ? pick(g, packet, except) : undefined;
      if (!m) return;
      metrics.shared_redispatched++;
      deliverTo(g, m, packet, noop, true);
    },
    stats() {
      let members = 0;
      for (const g of groups.values()) members += g.members.length;
      return { groups: groups.size, members };
    },
  };
}
