/**
 * Regression tests for the fixes patches/aedes+2.0.0-beta.1.patch carries from Aedes 1.2.0
 * (decision 0010). Each fails on the unpatched beta (`npx patch-package --reverse` to see it):
 *
 *   GHSA-52qw-whmv-87c5  client ids and topic filters such as `__proto__` / `constructor` are
 *                        ordinary keys: they read back as absent until they exist
 *   maxInflightInbound   inbound QoS 2 handshakes awaiting PUBREL are bounded per client
 *                        (`max_awaiting_rel`)
 *   parserFactory        (ours, decision 0015) lib/client.js builds each client's packet parser
 *                        with the broker's `parserFactory` when it has one
 *   holdAck              (Sluice's own hunk, decision 0012) a QoS 1/2 PUBLISH is routed first
 *                        and its PUBACK / PUBREC written only when the embedder's hold says so
 *
 * and a second fix of our own (lib/handlers/connect.js `emptyQueueFilter`):
 *
 *   resume at expiry 0   an MQTT 5 reconnect with Clean Start 0 and Session Expiry 0 resumes the
 *                        stored session with its queued messages [MQTT-3.1.2-5] (v5 numbering);
 *                        the beta took Session Expiry 0 for Clean Start and dropped the queue
 *
 * and ours for issue #19:
 *
 *   subscribe slices     (ours, issue #19) a SUBSCRIBE is handled in slices; a persistent
 *                        session stores each slice's granted filters with one call
 *   unsubscribe slices   (ours, issue #19, decision 0021) a closing client's session ends after
 *                        one slice of removals, the rest a slice per turn, from the filter list
 *                        subscribe.js keeps (`_subTopics`); a big UNSUBSCRIBE is validated
 *                        whole before anything is removed
 *   per-filter cost      (ours, issue #19, decision 0025) one delivery function per client and
 *                        kind, `_subCount` / `_subReserved` for max_subscriptions, the held QoS
 *                        on the 'unsubscribe' event, no retained look-up on an empty store, no
 *                        `$SYS/…/new/subscribes` until a `$` filter exists
 *
 * and for issue #13:
 *
 *   enhanced auth        (Sluice's own hunks, decision 0016) connect.js lets an Authentication-
 *                        Method the embedder supports through (else 0x8C) and puts the hook's
 *                        v5 reason code in the CONNACK; handlers/index.js routes AUTH packets to
 *                        broker.handleAuth and closes on anything else during the exchange
 *   ack reason code      (Sluice's own hunk) publish.js puts an authorizePublish error's
 *                        reasonCode (0x97 for messages_quota) into the v5 PUBACK / PUBREC
 *
 * and for issue #16 (decision 0014):
 *
 *   sluiceAckReason      (Sluice's own hunk) publish.js's PubAck / PubRec take the reason code
 *                        the embedder set on the packet while routing (0x10 for a message
 *                        ingress dropped)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Aedes } from 'aedes';
import { generate, parser, type Packet } from 'mqtt-packet';
import { harness, publishPacket, stopAll } from '../../test/broker-harness.js';
import { createFastParser, installFastParser } from './fast-parser.js';
import { createRequire } from 'node:module';
import type { AckAfterMode, AckGatePort, IngressPort } from '../core/index.js';
import { scramClient, scramCredential } from './authn-scram.js';
import { AEDES_SOURCE_MARKERS, assertPatchedAedes, assertPatchedAedesSources } from './mqtt5.js';
import { memoryPipe } from '../../test/memory-pipe.js';

afterEach(stopAll);

const RESERVED = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

describe('prototype-safe maps (GHSA-52qw-whmv-87c5)', () => {
  it.each([4, 5] as const)(
    'MQTT %i: a client id named like an Object.prototype member connects as a new client',
    async (protocolVersion) => {
      const h = await harness();
      for (const id of RESERVED) {
        const { client, connack } = await h.connectClient(id, { protocolVersion });
        // The unpatched beta finds Object.prototype[id] in `clients` and takes it for an
        // existing session to take over (and throws, or answers session present).
        expect(connack.sessionPresent).toBe(false);
        expect(connack.returnCode ?? connack.reasonCode).toBe(0);
        expect(client.isClosed).toBe(false);
      }
      await vi.waitFor(() => expect(h.of('client.connected')).toHaveLength(RESERVED.length));
      expect(h.of('client.connected').map((c) => c['clientid'])).toEqual(RESERVED);
      expect(h.broker.metrics().connections).toBe(RESERVED.length);
    },
  );

  it('an UNSUBSCRIBE of a filter named like a prototype member reads back "no subscription existed"', async () => {
    const h = await harness();
    const { client } = await h.connectClient('unsub');
    client.send({ cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['constructor', 'toString'] });
    const unsuback = await client.next('unsuback');
    // 0x11: the unpatched beta finds `subscriptions.constructor` and answers 0x00.
    expect(unsuback.reasonCode ?? (unsuback as { granted?: number[] }).granted).toEqual([
      0x11, 0x11,
    ]);
  });

  it.each(RESERVED)(
    'a subscription to the filter %s gets and delivers its messages',
    async (topic) => {
      const h = await harness();
      const { client: sub } = await h.connectClient('sub', { protocolVersion: 4 });
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
      // The unpatched beta's _dedupe puts the subscription into `{}` under `__proto__`
      // (becoming the prototype) and enumerates garbage; `constructor` matches Object.
      expect((await sub.next('suback')).granted).toEqual([1]);
      const { client: pub } = await h.connectClient('pub');
      pub.send(publishPacket(topic, 'x', 1, 7));
      await pub.next('puback');
      const got = await sub.next('publish');
      expect([got.topic, got.payload.toString()]).toEqual([topic, 'x']);
      sub.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [topic] });
      await sub.next('unsuback');
      pub.send(publishPacket(topic, 'y', 1, 8));
      await pub.next('puback');
      await vi.waitFor(() => expect(h.of('message.dropped')).toHaveLength(1));
      expect(sub.pending('publish')).toEqual([]);
    },
  );
});

describe('inbound QoS 2 awaiting PUBREL is bounded (max_awaiting_rel)', () => {
  const qos2 = (mid: number, dup = false): Packet =>
    publishPacket('q2/t', `m${mid}`, 2, mid, { dup });

  it('MQTT 3.1.1: the handshake past the limit closes the connection; DUP retransmits use their own slot', async () => {
    const h = await harness({ max_awaiting_rel: 5 });
    const { client } = await h.connectClient('half-open', { protocolVersion: 4 });
    client.send(qos2(1), qos2(2), qos2(3), qos2(4), qos2(5));
    for (let i = 0; i < 5; i++) await client.next('pubrec');
    // A retransmission of an id already awaiting PUBREL does not take a new slot.
    client.send(qos2(3, true));
    expect((await client.next('pubrec')).messageId).toBe(3);
    expect(client.isClosed).toBe(false);
    client.send(qos2(6));
    await client.closed;
    expect(client.pending('pubrec')).toEqual([]);
    // Only the five stored messages were published.
    expect(h.of('message.publish')).toHaveLength(5);
  });

  it('MQTT 5: past the limit the broker sends DISCONNECT 0x93 (receive maximum exceeded)', async () => {
    const h = await harness({ max_awaiting_rel: 3 });
    const { client } = await h.connectClient('half-open-v5');
    client.send(qos2(1), qos2(2), qos2(3));
    for (let i = 0; i < 3; i++) await client.next('pubrec');
    client.send(qos2(4));
    expect((await client.next('disconnect')).reasonCode).toBe(0x93);
    await client.closed;
  });

  it('PUBREL frees a slot: a client that completes its handshakes is never limited', async () => {
    const h = await harness({ max_awaiting_rel: 2 });
    const { client } = await h.connectClient('well-behaved', { protocolVersion: 4 });
    for (let mid = 1; mid <= 10; mid++) {
      client.send(qos2(mid));
      await client.next('pubrec');
      client.send({ cmd: 'pubrel', messageId: mid });
      expect((await client.next('pubcomp')).messageId).toBe(mid);
    }
    expect(client.isClosed).toBe(false);
    expect(h.of('message.publish')).toHaveLength(10);
  });
});

describe('assertPatchedAedes', () => {
  it('refuses an Aedes whose maps have a prototype or that lacks maxInflightInbound', () => {
    expect(() => assertPatchedAedes({ clients: {}, maxInflightInbound: 100 })).toThrow(
      expect.objectContaining({ code: 'broker_aedes_unpatched' }),
    );
    expect(() => assertPatchedAedes({ clients: Object.create(null) })).toThrow(
      expect.objectContaining({ code: 'broker_aedes_unpatched' }),
    );
    expect(() =>
      assertPatchedAedes({ clients: Object.create(null), maxInflightInbound: 100 }),
    ).not.toThrow();
  });
});

describe('parserFactory (decision 0015)', () => {
  it("Aedes parses each client's packets with the parser the broker's parserFactory makes", async () => {
    const aedes = await Aedes.createBroker();
    const made: object[] = [];
    (aedes as unknown as { parserFactory: () => object }).parserFactory = () => {
      const p = parser();
      made.push(p);
      return p;
    };
    const [ours, theirs] = memoryPipe();
    const client = aedes.handle(theirs);
    // The unpatched beta calls mqtt-packet's parser() itself and never the factory.
    expect(made).toHaveLength(1);
    expect((client as unknown as { _parser: object })._parser).toBe(made[0]);
    const answers = parser();
    const connack = new Promise<Packet>((resolve) => answers.once('packet', resolve));
    ours.on('data', (b: Buffer) => answers.parse(b));
    ours.write(
      generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: 'pf',
        keepalive: 0,
      } as Packet),
    );
    expect((await connack).cmd).toBe('connack');
    ours.destroy();
    await new Promise<void>((r) => aedes.close(() => r()));
  });

  it('installFastParser gives Aedes the fast parser', () => {
    const a = {} as { parserFactory?: unknown };
    installFastParser(a);
    expect(a.parserFactory).toBe(createFastParser);
  });
});

describe('assertPatchedAedesSources', () => {
  it('passes on the installed (patched) Aedes and names every missing hunk of an unpatched copy', () => {
    expect(() => assertPatchedAedesSources()).not.toThrow();
    const root = mkdtempSync(path.join(tmpdir(), 'aedes-unpatched-'));
    try {
      mkdirSync(path.join(root, 'lib/handlers'), { recursive: true });
      writeFileSync(path.join(root, 'lib/client.js'), 'this._parser = mqtt.parser()\n');
      for (const f of ['publish.js', 'index.js', 'connect.js', 'subscribe.js'])
        writeFileSync(path.join(root, 'lib/handlers', f), '// upstream\n');
      let message = '';
      try {
        assertPatchedAedesSources(root);
      } catch (err) {
        message = (err as Error).message;
      }
      for (const [file] of AEDES_SOURCE_MARKERS) expect(message).toContain(file);
      expect(message).toContain('patch-package');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('big SUBSCRIBE in slices (issue #19, decision 0017)', () => {
  it('a persistent session stores a 900-filter SUBSCRIBE with one addSubscriptions per 500-filter slice, granted filters only', async () => {
    // The unpatched beta calls addSubscriptions once per filter, each time with the whole
    // packet (900 calls × 900 filters), denied filters included.
    // Aedes' default store (aedes-persistence's MemoryPersistence, CommonJS).
    const MemoryPersistence = createRequire(import.meta.url)(
      'aedes-persistence/asyncPersistence.js',
    ) as { prototype: object };
    const store = MemoryPersistence.prototype as {
      addSubscriptions(client: unknown, subs: { topic: string }[]): Promise<void>;
    };
    const calls: string[][] = [];
    const real = store.addSubscriptions;
    const spy = vi.spyOn(store, 'addSubscriptions').mockImplementation(function (
      this: unknown,
      client,
      subs,
    ) {
      calls.push(subs.map((s) => s.topic));
      return real.call(this, client, subs);
    });
    try {
      const h = await harness(
        { listeners: {} },
        {
          authorizers: [
            {
              name: 'deny',
              authorize: (r) => (r.topic.endsWith('/deny') ? 'deny' : 'ignore'),
            },
          ],
        },
      );
      const { client } = await h.connectClient('persistent', { protocolVersion: 4, clean: false });
      const topics = Array.from({ length: 900 }, (_, i) =>
        i % 100 === 7 ? `s/${i}/deny` : `s/${i}`,
      );
      client.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: topics.map((topic) => ({ topic, qos: 1 as const })),
      });
      const suback = await client.next('suback');
      expect(suback.granted).toEqual(topics.map((t) => (t.endsWith('/deny') ? 128 : 1)));
      expect(calls.map((c) => c.length)).toEqual([495, 396]);
      expect(calls.flat()).toEqual(topics.filter((t) => !t.endsWith('/deny')));
    } finally {
      spy.mockRestore();
    }
  });
});

/** A bare patched Aedes (no Sluice wrappers) and one connected client over a memory pipe. */
async function bareAedes(slice: number, clean = true) {
  const aedes = await Aedes.createBroker();
  (aedes as unknown as { subscribeSlice: number }).subscribeSlice = slice;
  const [ours, theirs] = memoryPipe();
  const client = aedes.handle(theirs) as unknown as {
    subscriptions: Record<string, unknown>;
    _subTopics?: string[];
  };
  const answers = parser({ protocolVersion: 4 });
  const got: Packet[] = [];
  const waiters: (() => void)[] = [];
  answers.on('packet', (p: Packet) => {
    got.push(p);
    for (const w of waiters.splice(0)) w();
  });
  ours.on('data', (b: Buffer) => answers.parse(b));
  const next = async (cmd: string): Promise<Packet> => {
    for (;;) {
      const i = got.findIndex((p) => p.cmd === cmd);
      if (i >= 0) return got.splice(i, 1)[0]!;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const send = (p: object) => ours.write(generate(p as Packet));
  send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean,
    clientId: 'c',
    keepalive: 0,
  });
  await next('connack');
  let mid = 1;
  const subscribe = async (topics: string[]) => {
    send({
      cmd: 'subscribe',
      messageId: mid++,
      subscriptions: topics.map((topic) => ({ topic, qos: 1 })),
    });
    await next('suback');
  };
  const unsubscribe = async (topics: string[]) => {
    send({ cmd: 'unsubscribe', messageId: mid++, unsubscriptions: topics });
    await next('unsuback');
  };
  const removals: string[] = [];
  const a = aedes as unknown as { unsubscribe(t: string, f: unknown, d?: () => void): void };
  const real = a.unsubscribe.bind(aedes);
  a.unsubscribe = (t, f, d) => {
    removals.push(t);
    real(t, f, d);
  };
  const stop = () => new Promise<void>((r) => aedes.close(() => r()));
  return { aedes, ours, client, send, next, subscribe, unsubscribe, removals, stop };
}

describe('unsubscribe on close in slices (issue #19, decision 0021)', () => {
  it('a closing client with 1,200 filters: its session ends after one slice of removals, the rest follow a slice per turn', async () => {
    const b = await bareAedes(500);
    const topics = Array.from({ length: 1_200 }, (_, i) => `c/${i}/+`);
    await b.subscribe(topics);
    b.removals.length = 0;
    // The unpatched beta requests all 1,200 removals in the close's turn (Object.keys of the
    // subscriptions) and ends the session (clientDisconnect) only once all are done.
    const atDisconnect = new Promise<number>((resolve) =>
      b.aedes.once('clientDisconnect', () => resolve(b.removals.length)),
    );
    const unsubscribed = new Promise<string[]>((resolve) =>
      b.aedes.once('unsubscribe', (t: string[]) => resolve(t)),
    );
    b.ours.destroy();
    expect(await atDisconnect).toBe(500);
    expect(await unsubscribed).toEqual(topics);
    expect(b.removals).toEqual(topics);
    expect(Object.keys(b.client.subscriptions)).toEqual([]);
    await b.stop();
  });

  it('the filter list the clean-up reads skips unsubscribed and re-subscribed entries, and stays O(live)', async () => {
    const b = await bareAedes(500);
    const a = Array.from({ length: 600 }, (_, i) => `a/${i}`);
    await b.subscribe(a);
    // 100 unsubscribed and subscribed again: listed twice, once stale.
    await b.unsubscribe(a.slice(0, 100));
    await b.subscribe(a.slice(0, 100));
    expect(b.client._subTopics).toHaveLength(700);
    // Churn: 5 × (400 subscribed, 400 unsubscribed) would list 4,700 without the rebuild.
    for (let r = 0; r < 5; r++) {
      const t = Array.from({ length: 400 }, (_, i) => `churn/${r}/${i}`);
      await b.subscribe(t);
      await b.unsubscribe(t);
    }
    expect(b.client._subTopics!.length).toBeLessThan(2 * 600 + 257);
    expect(new Set(b.client._subTopics).size).toBeGreaterThanOrEqual(600);
    b.removals.length = 0;
    const unsubscribed = new Promise<string[]>((resolve) =>
      b.aedes.once('unsubscribe', (t: string[]) => resolve(t)),
    );
    b.ours.destroy();
    const removed = await unsubscribed;
    expect([...removed].sort()).toEqual([...a].sort());
    expect(b.removals).toHaveLength(600);
    await b.stop();
  });

  it('an UNSUBSCRIBE of 1,200 filters with an invalid one in its last slice removes nothing', async () => {
    const b = await bareAedes(500);
    const topics = Array.from({ length: 1_200 }, (_, i) => `u/${i}`);
    await b.subscribe(topics);
    b.removals.length = 0;
    const errors: Error[] = [];
    b.aedes.on('clientError', (_c: unknown, e: Error) => errors.push(e));
    b.ours.write(
      generate({
        cmd: 'unsubscribe',
        messageId: 99,
        unsubscriptions: [...topics.slice(0, 1_100), 'u/#/bad', ...topics.slice(1_100)],
      } as Packet),
    );
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]!.message).toMatch(/# is only allowed in UNSUBSCRIBE in the last position/);
    // The connection closes on the error; its clean-up is the only removal.
    await vi.waitFor(() => expect(b.removals).toHaveLength(1_200));
    expect(b.removals).toEqual(topics);
    await b.stop();
  });
});

describe('resume with Session Expiry 0 (MQTT 5 [MQTT-3.1.2-5])', () => {
  it('Clean Start 0 + Session Expiry 0 on reconnect: session present and the queued QoS 1 messages delivered; the session then ends with the connection', async () => {
    const h = await harness();
    const { client: first } = await h.connectClient('resume0', {
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r0/t', qos: 1 }] });
    await first.next('suback');
    first.send({ cmd: 'disconnect' });
    await first.closed;
    const { client: pub } = await h.connectClient('pub');
    pub.send(publishPacket('r0/t', 'queued', 1, 3));
    await pub.next('puback');
    const { client: back, connack } = await h.connectClient('resume0', {
      clean: false,
      properties: { sessionExpiryInterval: 0 },
    });
    expect(connack.sessionPresent).toBe(true);
    // The unpatched beta drops the queue here (client.clean is true at expiry 0).
    const got = await back.next('publish');
    expect([got.topic, got.payload.toString()]).toEqual(['r0/t', 'queued']);
    back.send({ cmd: 'puback', messageId: got.messageId! });
    back.send({ cmd: 'disconnect' });
    await back.closed;
    const { connack: again } = await h.connectClient('resume0', {
      clean: false,
      properties: { sessionExpiryInterval: 0 },
    });
    expect(again.sessionPresent).toBe(false); // expiry 0: the session ended with that connection
  });
});

describe('route, then acknowledge when the embedder lets it (holdAck, listener ack_after)', () => {
  /** A gate that runs the rule work and keeps each message's `done` for the test to call. */
  function gate(): AckGatePort & { dones: (() => void)[]; modes: AckAfterMode[] } {
    const g = {
      dones: [] as (() => void)[],
      modes: [] as AckAfterMode[],
      track(push: () => void, done: () => void, mode: AckAfterMode) {
        push();
        g.dones.push(done);
        g.modes.push(mode);
      },
    };
    return g;
  }
  const listener = (ack_after: 'receipt' | 'buffered' | 'remote') => ({
    listeners: { memory: { type: 'tcp' as const, bind: '127.0.0.1', port: 0, ack_after } },
  });

  it.each([
    [1, 'puback'],
    [2, 'pubrec'],
  ] as const)(
    'QoS %i: the message is routed (subscriber has it) while the %s waits for the hold',
    async (qos, ack) => {
      const g = gate();
      const h = await harness(listener('remote'), { ackGate: g });
      const { client: sub } = await h.connectClient('sub', { protocolVersion: 4 });
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'held/t', qos: 0 }] });
      await sub.next('suback');
      const { client: pub } = await h.connectClient('pub', { protocolVersion: 4 });
      pub.send(publishPacket('held/t', 'x', qos, 7));
      // Routed first: the subscriber gets the copy, the rule work ran inside the gate …
      expect((await sub.next('publish')).payload.toString()).toBe('x');
      await vi.waitFor(() => expect(g.dones).toHaveLength(1));
      expect(g.modes).toEqual(['remote']);
      // … and the acknowledgement is withheld (upstream: written before routing / right after).
      await new Promise((r) => setTimeout(r, 100));
      expect(pub.pending(ack)).toEqual([]);
      g.dones[0]!();
      expect((await pub.next(ack)).messageId).toBe(7);
    },
  );

  it('QoS 2: a retransmitted duplicate is not PUBRECed before the held first copy (not routed again)', async () => {
    const g = gate();
    const h = await harness(listener('buffered'), { ackGate: g });
    const { client: sub } = await h.connectClient('sub', { protocolVersion: 4 });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dup/t', qos: 0 }] });
    await sub.next('suback');
    const { client: pub } = await h.connectClient('pub', { protocolVersion: 4 });
    pub.send(publishPacket('dup/t', 'x', 2, 9));
    await vi.waitFor(() => expect(g.dones).toHaveLength(1));
    pub.send(publishPacket('dup/t', 'x', 2, 9, { dup: true }));
    // Upstream (and the first version of the hunk) answered the duplicate at once.
    await new Promise((r) => setTimeout(r, 150));
    expect(pub.pending('pubrec')).toEqual([]);
    g.dones[0]!();
    expect((await pub.next('pubrec')).messageId).toBe(9);
    expect((await pub.next('pubrec')).messageId).toBe(9);
    // Routed once: the duplicate reached no subscriber and no rule.
    expect(g.dones).toHaveLength(1);
    await sub.next('publish');
    await new Promise((r) => setTimeout(r, 50));
    expect(sub.pending('publish')).toEqual([]);
    expect(h.broker.metrics().acks).toMatchObject({ pending: 0 });
  });

  it('acknowledgements leave in arrival order, whatever order the messages finish in', async () => {
    const g = gate();
    const h = await harness(listener('buffered'), { ackGate: g });
    const { client: pub } = await h.connectClient('pub', { protocolVersion: 4 });
    pub.send(publishPacket('t/1', 'a', 1, 1), publishPacket('t/2', 'b', 1, 2));
    await vi.waitFor(() => expect(g.dones).toHaveLength(2));
    g.dones[1]!();
    await new Promise((r) => setTimeout(r, 50));
    expect(pub.pending('puback')).toEqual([]);
    g.dones[0]!();
    expect((await pub.next('puback')).messageId).toBe(1);
    expect((await pub.next('puback')).messageId).toBe(2);
    expect(h.broker.metrics().acks).toMatchObject({ pending: 0, held_total: 2 });
  });

  it('a listener with ack_after receipt is acknowledged without the gate', async () => {
    const g = gate();
    const h = await harness(
      {
        listeners: {
          memory: { type: 'tcp', bind: '127.0.0.1', port: 0, ack_after: 'receipt' },
          other: { type: 'tcp', bind: '127.0.0.1', port: 0, ack_after: 'remote' },
        },
      },
      { ackGate: g },
    );
    const { client: pub } = await h.connectClient('pub', { protocolVersion: 4 });
    pub.send(publishPacket('t/1', 'a', 1, 3));
    expect((await pub.next('puback')).messageId).toBe(3);
    expect(g.dones).toHaveLength(0);
  });

  it('a closed connection forgets its held acknowledgements (counted abandoned)', async () => {
    const g = gate();
    const h = await harness(listener('remote'), { ackGate: g });
    const { client: pub } = await h.connectClient('pub', { protocolVersion: 4 });
    pub.send(publishPacket('t/1', 'a', 1, 1));
    await vi.waitFor(() => expect(h.broker.metrics().acks?.pending).toBe(1));
    pub.send({ cmd: 'disconnect' });
    await pub.closed;
    await vi.waitFor(() =>
      expect(h.broker.metrics().acks).toMatchObject({ pending: 0, abandoned: 1 }),
    );
    g.dones[0]!(); // a late finish is harmless
    expect(h.broker.metrics().acks).toMatchObject({ pending: 0, held_total: 0 });
  });
});

describe('enhanced authentication hunks (decision 0016)', () => {
  const users = [{ username: 'u', credential: scramCredential('pw', { iterations: 16 }) }];
  const connect = (data: Buffer): Packet =>
    ({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      clientId: 'scram',
      keepalive: 0,
      properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: data },
    }) as Packet;

  it('connect.js: a supported Authentication-Method gets AUTH 0x18, not CONNACK 0x8C', async () => {
    const h = await harness({ scram: { users } });
    const client = h.open(5);
    client.send(connect(scramClient('u', 'pw', 'sha256').first()));
    // Unpatched: CONNACK 0x8C for every Authentication-Method.
    const auth = await client.next('auth');
    expect(auth.reasonCode).toBe(0x18);
    expect(client.pending('connack')).toHaveLength(0);
  });

  it('connect.js: the hook error reasonCode reaches the CONNACK (0x82, not the 0x87 of return code 5)', async () => {
    const h = await harness({ scram: { users } });
    const client = h.open(5);
    client.send(connect(scramClient('u', 'pw', 'sha256').first()));
    await client.next('auth');
    client.send({
      cmd: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: 'SCRAM-SHA-256' },
    } as Packet);
    expect((await client.next('connack')).reasonCode).toBe(0x82);
  });

  it('handlers/index.js: an AUTH from a connected client reaches handleAuth (DISCONNECT 0x82, not a bare close)', async () => {
    const h = await harness();
    const { client } = await h.connectClient('plain');
    client.send({
      cmd: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: 'X' },
    } as Packet);
    // Unpatched: the default branch destroys the socket without a DISCONNECT.
    expect((await client.next('disconnect')).reasonCode).toBe(0x82);
  });
});

describe('authorizePublish reason code hunk (publish.js)', () => {
  it('a messages_quota refusal is PUBACK 0x97, not the 0x87 every authorizePublish error gets upstream', async () => {
    const h = await harness({
      listeners: { memory: { type: 'tcp', bind: '127.0.0.1', port: 0, messages_quota: '1/m' } },
    });
    const { client } = await h.connectClient('q');
    client.send(publishPacket('t/q', 'a', 1, 1), publishPacket('t/q', 'b', 1, 2));
    expect((await client.next('puback')).reasonCode ?? 0).toBe(0);
    expect((await client.next('puback')).reasonCode).toBe(0x97);
  });
});

describe('PubAck / PubRec reason code from the packet (publish.js, decision 0014)', () => {
  const ingress: IngressPort = {
    active: true,
    inspect: (topic) => (topic.startsWith('drop/') ? { action: 'drop', failures: [] } : null),
  };
  it('MQTT 5: a message the ingress hook dropped is PUBACK / PUBREC 0x10; a routed one 0x00', async () => {
    const h = await harness(
      { listeners: { memory: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      { ingress },
    );
    const { client } = await h.connectClient('rc');
    client.send(publishPacket('drop/t', 'a', 1, 1), publishPacket('ok/t', 'b', 1, 2));
    const first = await client.next('puback');
    expect([first.messageId, first.reasonCode]).toEqual([1, 0x10]);
    const second = await client.next('puback');
    expect([second.messageId, second.reasonCode ?? 0]).toEqual([2, 0]);
    client.send(publishPacket('drop/t', 'c', 2, 3));
    const rec = await client.next('pubrec');
    expect([rec.messageId, rec.reasonCode]).toEqual([3, 0x10]);
  });
});

describe('per-filter cost of a SUBSCRIBE (issue #19, decision 0025)', () => {
  const limited = (max: number) => ({
    listeners: {
      memory: { type: 'tcp' as const, bind: '127.0.0.1', port: 0, max_subscriptions: max },
    },
  });
  type BareClient = {
    subscriptions: Record<string, { func: unknown; qos: number }>;
    _subCount?: number;
  };

  it('filters without a Subscription Identifier share one delivery function per client and kind', async () => {
    const b = await bareAedes(500);
    const c = b.client as unknown as BareClient;
    const sub = (mid: number, subscriptions: { topic: string; qos: 0 | 1 }[]) =>
      generate({ cmd: 'subscribe', messageId: mid, subscriptions } as Packet);
    b.ours.write(
      sub(100, [
        { topic: 'o/+', qos: 1 },
        { topic: 'o/#', qos: 1 },
        { topic: 'o/x', qos: 1 },
        { topic: 'z/0', qos: 0 },
        { topic: 'z/1', qos: 0 },
        { topic: '#', qos: 1 },
        { topic: '+/x', qos: 1 },
      ]),
    );
    await vi.waitFor(() => expect(c._subCount).toBe(7));
    const f = (t: string) => c.subscriptions[t]!.func;
    // The unpatched beta builds a closure per filter: every pair below differs.
    expect(f('o/#')).toBe(f('o/+'));
    expect(f('o/x')).toBe(f('o/+'));
    expect(f('z/1')).toBe(f('z/0'));
    expect(f('z/0')).not.toBe(f('o/+'));
    // Wildcard-first filters keep the $-topic guard [MQTT-4.7.2-1]: their own shared function.
    expect(f('+/x')).toBe(f('#'));
    expect(f('#')).not.toBe(f('o/+'));
    await b.unsubscribe(['o/x', 'none']);
    expect(c._subCount).toBe(6);
    await b.stop();
  });

  it('overlapping filters deliver as before; a QoS change back and forth in one read leaves one matcher entry', async () => {
    const h = await harness();
    const { client: s } = await h.connectClient('s', { protocolVersion: 4 });
    s.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'ov/+', qos: 0 },
        { topic: 'ov/#', qos: 0 },
        { topic: 'ov/x', qos: 0 },
      ],
    });
    await s.next('suback');
    const { client: p } = await h.connectClient('p', { protocolVersion: 4 });
    p.send(publishPacket('ov/x', 'zero', 0, 0));
    // QoS 0: one copy per matching subscription (Aedes' behaviour, unchanged by the sharing).
    // One copy per client for the three matching filters: Aedes' behaviour, the same on main
    // (distinct closures) as with the shared function.
    expect((await s.next('publish')).payload.toString()).toBe('zero');
    await new Promise((r) => setTimeout(r, 50));
    expect(s.pending('publish')).toEqual([]);
    // r: QoS 0 → 1 → 0 in one socket read (the removal of (r, qos-0 function) is deferred while
    // the same shared function is added again).
    s.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'r', qos: 0 }] });
    await s.next('suback');
    s.send(
      { cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'r', qos: 1 }] },
      { cmd: 'subscribe', messageId: 4, subscriptions: [{ topic: 'r', qos: 0 }] },
    );
    await s.next('suback');
    await s.next('suback');
    await new Promise((r) => setTimeout(r, 20));
    p.send(publishPacket('r', 'one', 0, 0));
    expect((await s.next('publish')).payload.toString()).toBe('one');
    await new Promise((r) => setTimeout(r, 50));
    expect(s.pending('publish')).toEqual([]);
    s.send({ cmd: 'unsubscribe', messageId: 5, unsubscriptions: ['r'] });
    await s.next('unsuback');
    p.send(publishPacket('r', 'gone', 0, 0));
    await new Promise((r) => setTimeout(r, 50));
    expect(s.pending('publish')).toEqual([]);
  });

  it('max_subscriptions: held filters in the packet are not counted; unsubscribing frees a slot', async () => {
    const h = await harness(limited(3));
    const { client } = await h.connectClient('m', { protocolVersion: 4 });
    const subscribe = async (mid: number, topics: string[]) => {
      client.send({
        cmd: 'subscribe',
        messageId: mid,
        subscriptions: topics.map((topic) => ({ topic, qos: 0 as const })),
      });
      return (await client.next('suback')).granted;
    };
    expect(await subscribe(1, ['a', 'b'])).toEqual([0, 0]);
    // a and b are held: only c counts, and it is the third.
    expect(await subscribe(2, ['a', 'b', 'c', 'd'])).toEqual([0, 0, 0, 128]);
    expect(await subscribe(3, ['d'])).toEqual([128]);
    client.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['a', 'nothing'] });
    await client.next('unsuback');
    expect(await subscribe(5, ['d', 'e'])).toEqual([0, 128]);
    expect(h.broker.metrics().refused_max_subscriptions).toBe(3);
  });

  it('max_subscriptions: a persistent session subscribing one new filter twice in one read counts it once', async () => {
    // The store answers asynchronously, so both SUBSCRIBEs are granted before either is added:
    // each reserves a slot, and addSubs releases both (one added, one found held).
    const h = await harness(limited(2));
    const { client } = await h.connectClient('p', { protocolVersion: 4, clean: false });
    client.send(
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 1 }] },
      { cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'x', qos: 1 }] },
    );
    expect((await client.next('suback')).granted).toEqual([1]);
    expect((await client.next('suback')).granted).toEqual([1]);
    client.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'y', qos: 1 }] });
    expect((await client.next('suback')).granted).toEqual([1]);
    client.send({ cmd: 'subscribe', messageId: 4, subscriptions: [{ topic: 'z', qos: 1 }] });
    expect((await client.next('suback')).granted).toEqual([128]);
  });

  it("session.unsubscribed takes the QoS Aedes held (the 'unsubscribe' event's third argument)", async () => {
    const h = await harness();
    const { client } = await h.connectClient('u', { protocolVersion: 4 });
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'q/1', qos: 1 },
        { topic: 'q/2', qos: 0 },
      ],
    });
    await client.next('suback');
    client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['q/2', 'q/none', 'q/1'] });
    await client.next('unsuback');
    await vi.waitFor(() => expect(h.of('session.unsubscribed')).toHaveLength(2));
    expect(h.of('session.unsubscribed').map((e) => [e['topic'], e['qos']])).toEqual([
      ['q/2', 0],
      ['q/1', 1],
    ]);
  });

  it('no retained look-up while the store holds no retained message', async () => {
    const MemoryPersistence = createRequire(import.meta.url)(
      'aedes-persistence/asyncPersistence.js',
    ) as { prototype: object };
    const store = MemoryPersistence.prototype as {
      createRetainedStreamCombi(patterns: string[]): unknown;
    };
    const lookups: string[][] = [];
    const real = store.createRetainedStreamCombi;
    const spy = vi.spyOn(store, 'createRetainedStreamCombi').mockImplementation(function (
      this: unknown,
      patterns,
    ) {
      lookups.push([...patterns]);
      return real.call(this, patterns);
    });
    try {
      const h = await harness();
      const { client } = await h.connectClient('r', { protocolVersion: 4 });
      client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'k/1', qos: 0 }] });
      await client.next('suback');
      // The unpatched beta asks the store for every SUBSCRIBE.
      expect(lookups).toEqual([]);
      const { client: p } = await h.connectClient('rp', { protocolVersion: 4 });
      p.send(publishPacket('k/2', 'kept', 1, 1, { retain: true }));
      await p.next('puback');
      client.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'k/+', qos: 0 }] });
      await client.next('suback');
      const got = await client.next('publish');
      expect([got.topic, got.payload.toString()]).toEqual(['k/2', 'kept']);
      expect(lookups).toEqual([['k/+']]);
      // Cleared (empty payload): none held again.
      p.send(publishPacket('k/2', '', 1, 2, { retain: true }));
      await p.next('puback');
      client.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'k/#', qos: 0 }] });
      await client.next('suback');
      expect(lookups).toEqual([['k/+']]);
    } finally {
      spy.mockRestore();
    }
  });

  it('$SYS/<id>/new/subscribes is published only once a $ filter was granted', async () => {
    const h = await harness();
    const { client } = await h.connectClient('n', { protocolVersion: 4 });
    const { client: p } = await h.connectClient('np', { protocolVersion: 4 });
    // Every publish, $SYS ones included, takes the next broker counter, the low half of `id`.
    const counterOf = async (payload: string) => {
      p.send(publishPacket('cnt', payload, 1, Number(payload)));
      await p.next('puback');
      await vi.waitFor(() =>
        expect(h.of('message.publish').some((e) => String(e['payload']) === payload)).toBe(true),
      );
      const e = h.of('message.publish').find((x) => String(x['payload']) === payload)!;
      return Number.parseInt(String(e['id']).slice(-16), 16);
    };
    const c1 = await counterOf('1');
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'n/1', qos: 0 }] });
    await client.next('suback');
    const c2 = await counterOf('2');
    // The unpatched beta publishes the JSON of the filters: c2 = c1 + 2.
    expect(c2).toBe(c1 + 1);
    const { client: sys } = await h.connectClient('sys', { protocolVersion: 4 });
    sys.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: '$SYS/+/new/subscribes', qos: 0 }],
    });
    await sys.next('suback');
    const own = JSON.parse((await sys.next('publish')).payload.toString()) as { clientId: string };
    expect(own.clientId).toBe('sys');
    client.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'n/2', qos: 0 }] });
    await client.next('suback');
    const next = JSON.parse((await sys.next('publish')).payload.toString()) as {
      clientId: string;
      subs: { topic: string }[];
    };
    expect([next.clientId, next.subs.map((s) => s.topic)]).toEqual(['n', ['n/2']]);
  });
});

describe('grantedQos on forwarded copies (issue #19: no scan of every filter per copy)', () => {
  it("a live copy carries its subscription's QoS; a retained copy the lowest grant among the SUBSCRIBE's filters", async () => {
    const { aedes, send, next, stop } = await bareAedes(500);
    const seen: [string, number | undefined][] = [];
    aedes.authorizeForward = (_client, packet) => {
      seen.push([packet.topic, (packet as { grantedQos?: number }).grantedQos]);
      return packet;
    };
    const publish = (topic: string, retain: boolean) =>
      new Promise<void>((r) =>
        aedes.publish(
          { cmd: 'publish', topic, qos: 1, payload: Buffer.from('x'), retain, dup: false },
          () => r(),
        ),
      );
    await publish('r/1', true); // retained, before anyone subscribes
    send({
      cmd: 'subscribe',
      messageId: 10,
      subscriptions: [
        { topic: 'live/+', qos: 0 },
        { topic: 'r/+', qos: 1 },
        { topic: 'r/#', qos: 0 },
      ],
    });
    await next('suback');
    await next('publish'); // the retained r/1
    await publish('live/a', false);
    await next('publish');
    expect(seen.find(([t]) => t === 'live/a')).toEqual(['live/a', 0]);
    // r/1 was looked up for r/+ (QoS 1) and r/# (QoS 0): each copy is granted at least 0.
    expect(seen.filter(([t]) => t === 'r/1').map(([, g]) => g)).toContain(0);
    expect(seen.filter(([t]) => t === 'r/1').every(([, g]) => g === 0)).toBe(true);
    await stop();
  });
});
