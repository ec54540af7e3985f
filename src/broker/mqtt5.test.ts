/**
 * MQTT 5.0 through the broker, one test per feature, with raw v5 packets over in-memory streams
 * (test/broker-harness.ts). The same features are exercised with MQTT.js, paho-mqtt and
 * mosquitto over real sockets in test/integration/broker-mqtt5.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { harness, publishPacket, stopAll } from '../../test/broker-harness.js';
import { hashPassword } from './password.js';
import type { Authorizer } from './auth.js';

afterEach(stopAll);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MQTT 5 CONNECT / CONNACK', () => {
  it('CONNACK advertises the broker: topic alias maximum, the listener max packet size, shared subscriptions available', async () => {
    const h = await harness({ max_topic_alias: 10 });
    const { connack } = await h.connectClient('caps', {
      properties: { sessionExpiryInterval: 60, receiveMaximum: 7, userProperties: { a: 'b' } },
    });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties).toMatchObject({
      topicAliasMaximum: 10,
      maximumPacketSize: 1024 * 1024,
    });
    // Absent = available [MQTT-3.2.2-13]; the beta on its own says false.
    expect(connack.properties?.sharedSubscriptionAvailable).toBeUndefined();
    await vi.waitFor(() => expect(h.of('client.connected')).toHaveLength(1));
    expect(h.of('client.connected')[0]).toMatchObject({
      proto_ver: 5,
      expiry_interval: 60,
      receive_maximum: 7,
      conn_props: {
        'Session-Expiry-Interval': 60,
        'Receive-Maximum': 7,
        'User-Property': { a: 'b' },
      },
    });
    expect(h.of('client.connack')[0]).toMatchObject({ reason_code: 'success', proto_ver: 5 });
  });

  it('an empty client id gets an Assigned Client Identifier, used in every column', async () => {
    const h = await harness();
    const { connack } = await h.connectClient('');
    const assigned = connack.properties?.assignedClientIdentifier;
    expect(typeof assigned).toBe('string');
    expect(assigned!.length).toBeGreaterThan(0);
    await vi.waitFor(() => expect(h.of('client.connected')).toHaveLength(1));
    expect(h.of('client.connected')[0]!['clientid']).toBe(assigned);
  });

  it('Response Information is sent only to a client that requests it', async () => {
    const h = await harness({ response_information: 'replies/' });
    const asks = await h.connectClient('asks', {
      properties: { requestResponseInformation: true },
    });
    expect(asks.connack.properties?.responseInformation).toBe('replies/');
    const quiet = await h.connectClient('quiet');
    expect(quiet.connack.properties?.responseInformation).toBeUndefined();
  });

  it('refusals carry MQTT 5 reason codes, with EMQX text in client.connack', async () => {
    const users = [{ username: 'alice', password_hash: hashPassword('secret', { N: 1024 }) }];
    const h = await harness({ users, allow_anonymous: false });
    const bad = await h.connectClient('bad', { username: 'alice', password: Buffer.from('no') });
    expect(bad.connack.reasonCode).toBe(0x86);
    const anon = await h.connectClient('anon');
    expect(anon.connack.reasonCode).toBe(0x87);
    await vi.waitFor(() => expect(h.of('client.connack')).toHaveLength(2));
    expect(h.of('client.connack').map((c) => c['reason_code'])).toEqual([
      'bad_username_or_password',
      'not_authorized',
    ]);
    expect(h.broker.metrics().connections_refused).toBe(2);
  });

  it('without broker.scram users no Authentication Method is offered: CONNACK 0x8C', async () => {
    const h = await harness();
    const { client, connack } = await h.connectClient('scram', {
      properties: { authenticationMethod: 'SCRAM-SHA-1' },
    });
    expect(connack.reasonCode).toBe(0x8c);
    await client.closed;
  });
});

describe('MQTT 5 PUBLISH', () => {
  it('properties reach pub_props (User-Property as a map) and the v5 subscriber; a 3.1.1 subscriber gets the message without them', async () => {
    const h = await harness();
    const { client: v5 } = await h.connectClient('sub5');
    const { client: v4 } = await h.connectClient('sub4', { protocolVersion: 4 });
    v5.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p/#', qos: 1 }] });
    v4.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p/#', qos: 1 }] });
    await v5.next('suback');
    await v4.next('suback');
    const { client: pub } = await h.connectClient('pub');
    const properties = {
      contentType: 'application/json',
      responseTopic: 'p/reply',
      correlationData: Buffer.from('c-1'),
      payloadFormatIndicator: true,
      userProperties: { traceparent: '00-abc-01', k: ['1', '2'] },
    };
    pub.send(publishPacket('p/1', '{}', 1, 5, { properties }));
    expect((await pub.next('puback')).reasonCode ?? 0).toBe(0);
    const got5 = await v5.next('publish');
    expect(got5.properties).toMatchObject({
      contentType: 'application/json',
      responseTopic: 'p/reply',
      userProperties: { traceparent: '00-abc-01', k: ['1', '2'] },
    });
    expect(got5.properties?.correlationData?.toString()).toBe('c-1');
    const got4 = await v4.next('publish');
    expect(got4.payload.toString()).toBe('{}');
    expect(got4.properties).toBeUndefined();
    const cols = h.of('message.publish')[0]!;
    expect(cols['pub_props']).toMatchObject({
      'Content-Type': 'application/json',
      'Response-Topic': 'p/reply',
      'Payload-Format-Indicator': true,
      'User-Property': { traceparent: '00-abc-01', k: '2' },
    });
  });

  it('a 3.1.1 publisher reaches a v5 subscriber (no properties)', async () => {
    const h = await harness();
    const { client: v5 } = await h.connectClient('sub5');
    v5.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 0 }] });
    await v5.next('suback');
    const { client: pub } = await h.connectClient('pub4', { protocolVersion: 4 });
    pub.send(publishPacket('x', 'from-3.1.1'));
    const got = await v5.next('publish');
    expect(got.payload.toString()).toBe('from-3.1.1');
    expect(got.properties?.userProperties).toBeUndefined();
  });

  it('inbound topic aliases resolve; Topic-Alias does not reach pub_props', async () => {
    const h = await harness();
    const { client } = await h.connectClient('alias-in');
    client.send(
      publishPacket('long/topic/name', 'a', 0, undefined, { properties: { topicAlias: 3 } }),
      publishPacket('', 'b', 0, undefined, { properties: { topicAlias: 3 } }),
    );
    await vi.waitFor(() => expect(h.of('message.publish')).toHaveLength(2));
    expect(
      h.of('message.publish').map((c) => [c['topic'], (c['payload'] as Buffer).toString()]),
    ).toEqual([
      ['long/topic/name', 'a'],
      ['long/topic/name', 'b'],
    ]);
    expect(h.of('message.publish')[1]!['pub_props']).not.toHaveProperty('Topic-Alias');
  });

  it('an alias above max_topic_alias is refused with DISCONNECT 0x94', async () => {
    const h = await harness({ max_topic_alias: 2 });
    const { client } = await h.connectClient('alias-bad');
    client.send(publishPacket('t', 'a', 0, undefined, { properties: { topicAlias: 3 } }));
    expect((await client.next('disconnect')).reasonCode).toBe(0x94);
    await client.closed;
    await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(1));
    expect(h.of('client.disconnected')[0]!['reason']).toBe('topic_alias_invalid');
  });

  it('outbound topic aliases for QoS 0 copies to a client with Topic Alias Maximum', async () => {
    const h = await harness();
    const { client: sub } = await h.connectClient('alias-out', {
      properties: { topicAliasMaximum: 4 },
    });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 0 }] });
    await sub.next('suback');
    const { client: pub } = await h.connectClient('pub');
    pub.send(publishPacket('a/one', '1'), publishPacket('a/one', '2'), publishPacket('a/two', '3'));
    const got = [await sub.next('publish'), await sub.next('publish'), await sub.next('publish')];
    expect(got.map((p) => [p.topic, p.properties?.topicAlias, p.payload.toString()])).toEqual([
      ['a/one', 1, '1'],
      ['', 1, '2'],
      ['a/two', 2, '3'],
    ]);
  });

  it('a denied publish gets PUBACK 0x87 and the v5 connection stays (3.1.1 is disconnected)', async () => {
    const deny: Authorizer = {
      name: 'deny-secret',
      authorize: (r) => (r.topic.startsWith('secret/') ? 'deny' : 'ignore'),
    };
    const h2 = await harness({}, { authorizers: [deny] });
    const { client } = await h2.connectClient('v5-denied');
    client.send(publishPacket('secret/x', 's', 1, 9));
    const ack = await client.next('puback');
    expect([ack.messageId, ack.reasonCode]).toEqual([9, 0x87]);
    client.send(publishPacket('open/x', 'o', 1, 10));
    expect((await client.next('puback')).reasonCode ?? 0).toBe(0);
    expect(client.isClosed).toBe(false);
    const { client: old } = await h2.connectClient('v4-denied', { protocolVersion: 4 });
    old.send(publishPacket('secret/x', 's', 1, 9));
    await old.closed;
  });

  it('PUBACK 0x10 (no matching subscribers) is never sent: a rule may consume the topic', async () => {
    const h = await harness();
    const { client } = await h.connectClient('lonely');
    client.send(publishPacket('nobody/listens', 'x', 1, 3));
    const ack = await client.next('puback');
    expect(ack.reasonCode ?? 0).toBe(0);
    await vi.waitFor(() => expect(h.of('message.dropped')).toHaveLength(1));
  });

  it('PUBACK properties of a v5 subscriber reach puback_props of message.acked', async () => {
    const h = await harness();
    const { client: sub } = await h.connectClient('acker');
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ack/t', qos: 1 }] });
    await sub.next('suback');
    const { client: pub } = await h.connectClient('pub');
    pub.send(publishPacket('ack/t', 'x', 1, 1));
    const got = await sub.next('publish');
    sub.send({
      cmd: 'puback',
      messageId: got.messageId,
      reasonCode: 0,
      properties: { userProperties: { seen: 'yes' } },
    });
    await vi.waitFor(() => expect(h.of('message.acked')).toHaveLength(1));
    expect(h.of('message.acked')[0]!['puback_props']).toMatchObject({
      'User-Property': { seen: 'yes' },
    });
  });
});

describe('MQTT 5 expiry', () => {
  it('a queued message whose Message Expiry Interval passes is not delivered (delivery.dropped expired); a live one carries the remaining interval', async () => {
    const h = await harness();
    const session = { clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await h.connectClient('offline', session);
    first.client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'e/#', qos: 1 }],
    });
    await first.client.next('suback');
    first.client.send({ cmd: 'disconnect', reasonCode: 0 });
    await first.client.closed;
    const { client: pub } = await h.connectClient('pub');
    pub.send(
      publishPacket('e/short', 'gone', 1, 1, { properties: { messageExpiryInterval: 1 } }),
      publishPacket('e/long', 'kept', 1, 2, { properties: { messageExpiryInterval: 100 } }),
    );
    await pub.next('puback');
    await pub.next('puback');
    await sleep(1200);
    const back = await h.connectClient('offline', session);
    expect(back.connack.sessionPresent).toBe(true);
    const got = await back.client.next('publish');
    expect(got.payload.toString()).toBe('kept');
    expect(got.properties?.messageExpiryInterval).toBeLessThanOrEqual(99);
    await vi.waitFor(() =>
      expect(h.of('delivery.dropped').map((c) => [c['reason'], c['topic']])).toEqual([
        ['expired', 'e/short'],
      ]),
    );
    expect(back.client.pending('publish')).toEqual([]);
    expect(h.broker.metrics().dropped_expired).toBe(1);
  });

  it('session expiry: the session survives a reconnect within its interval, not after it', async () => {
    const h = await harness();
    const session = { clean: false, properties: { sessionExpiryInterval: 1 } };
    const a = await h.connectClient('short-lived', session);
    a.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 's', qos: 1 }] });
    await a.client.next('suback');
    a.client.send({ cmd: 'disconnect', reasonCode: 0 });
    await a.client.closed;
    const b = await h.connectClient('short-lived', session);
    expect(b.connack.sessionPresent).toBe(true);
    b.client.send({ cmd: 'disconnect', reasonCode: 0 });
    await b.client.closed;
    await sleep(1500);
    const c = await h.connectClient('short-lived', session);
    expect(c.connack.sessionPresent).toBe(false);
  });

  it('will delay: the will is published after Will Delay Interval, and not at all if the client returns first', async () => {
    const h = await harness();
    const { client: watcher } = await h.connectClient('watcher');
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] });
    await watcher.next('suback');
    const will = (topic: string) => ({
      topic,
      payload: Buffer.from('gone'),
      qos: 0 as const,
      retain: false,
      properties: { willDelayInterval: 1 },
    });
    const props = { properties: { sessionExpiryInterval: 10 } };
    const a = await h.connectClient('delayed', { ...props, will: will('will/a') });
    const b = await h.connectClient('returns', { ...props, will: will('will/b') });
    const t0 = Date.now();
    a.client.stream.destroy();
    b.client.stream.destroy();
    await h.connectClient('returns', props);
    const got = await watcher.next('publish', 4000);
    expect(got.topic).toBe('will/a');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    await sleep(800);
    expect(watcher.pending('publish')).toEqual([]);
  });
});

describe('MQTT 5 SUBSCRIBE options', () => {
  it('No Local: the publisher does not get its own message (delivery.dropped no_local); others do', async () => {
    const h = await harness();
    const { client: me } = await h.connectClient('me');
    me.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'chat', qos: 1, nl: true }],
    });
    await me.next('suback');
    const { client: other } = await h.connectClient('other');
    other.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'chat', qos: 1 }] });
    await other.next('suback');
    me.send(publishPacket('chat', 'hi', 1, 1));
    expect((await other.next('publish')).payload.toString()).toBe('hi');
    await vi.waitFor(() =>
      expect(h.of('delivery.dropped').map((c) => [c['reason'], c['clientid']])).toEqual([
        ['no_local', 'me'],
      ]),
    );
    expect(me.pending('publish')).toEqual([]);
    expect(h.broker.metrics().dropped_no_local).toBe(1);
  });

  it('Retain As Published keeps the retain flag on live copies; without it the flag is cleared', async () => {
    const h = await harness();
    const { client: rap } = await h.connectClient('rap');
    rap.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'r', qos: 0, rap: true }],
    });
    const { client: plain } = await h.connectClient('plain');
    plain.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r', qos: 0 }] });
    await rap.next('suback');
    await plain.next('suback');
    const { client: pub } = await h.connectClient('pub');
    pub.send(publishPacket('r', 'v', 0, undefined, { retain: true }));
    expect((await rap.next('publish')).retain).toBe(true);
    expect((await plain.next('publish')).retain).toBe(false);
  });

  it('Retain Handling 0 / 1 / 2: retained on every subscribe / only a new one / never', async () => {
    const h = await harness();
    const { client: pub } = await h.connectClient('pub');
    pub.send(publishPacket('rh', 'kept', 1, 1, { retain: true }));
    await pub.next('puback');
    const sub = async (id: string, rh: 0 | 1 | 2) => {
      const { client } = await h.connectClient(id);
      const s = () =>
        client.send({
          cmd: 'subscribe',
          messageId: 1,
          subscriptions: [{ topic: 'rh', qos: 0, rh }],
        });
      s();
      await client.next('suback');
      await sleep(100);
      const first = client.pending('publish').length;
      s();
      await client.next('suback');
      await sleep(100);
      return [first, client.pending('publish').length - first];
    };
    expect(await sub('rh0', 0)).toEqual([1, 1]);
    expect(await sub('rh1', 1)).toEqual([1, 0]);
    expect(await sub('rh2', 2)).toEqual([0, 0]);
  });

  it('Subscription Identifier is echoed on matching copies and reaches sub_props', async () => {
    const h = await harness();
    const { client } = await h.connectClient('sid', {
      properties: {},
    });
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      properties: { subscriptionIdentifier: 42, userProperties: { why: 'test' } },
      subscriptions: [{ topic: 'sid/+', qos: 0 }],
    });
    await client.next('suback');
    const { client: pub } = await h.connectClient('pub');
    pub.send(publishPacket('sid/1', 'x'));
    expect((await client.next('publish')).properties?.subscriptionIdentifier).toBe(42);
    await vi.waitFor(() => expect(h.of('session.subscribed')).toHaveLength(1));
    expect(h.of('session.subscribed')[0]!['sub_props']).toMatchObject({
      'Subscription-Identifier': 42,
      'User-Property': { why: 'test' },
    });
  });

  it('shared subscriptions work for v5 members: each message goes to one member', async () => {
    const h = await harness();
    const members = await Promise.all(['m1', 'm2'].map((id) => h.connectClient(id)));
    for (const { client } of members) {
      client.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: '$share/g/job', qos: 1 }],
      });
      expect((await client.next('suback')).granted).toEqual([1]);
    }
    const { client: pub } = await h.connectClient('pub');
    for (let i = 1; i <= 4; i++) pub.send(publishPacket('job', `j${i}`, 1, i));
    await vi.waitFor(() =>
      expect(members.reduce((n, m) => n + m.client.pending('publish').length, 0)).toBe(4),
    );
    expect(members.map((m) => m.client.pending('publish').length)).toEqual([2, 2]);
  });
});

describe('MQTT 5 flow control and sizes', () => {
  it('Receive Maximum of the client caps QoS 1 copies in flight to it', async () => {
    const h = await harness();
    const { client: sub } = await h.connectClient('slow', { properties: { receiveMaximum: 2 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm', qos: 1 }] });
    await sub.next('suback');
    const { client: pub } = await h.connectClient('pub');
    for (let i = 1; i <= 5; i++) pub.send(publishPacket('rm', `m${i}`, 1, i));
    await vi.waitFor(() => expect(sub.pending('publish')).toHaveLength(2));
    await sleep(200);
    expect(sub.pending('publish')).toHaveLength(2);
    const first = await sub.next('publish');
    sub.send({ cmd: 'puback', messageId: first.messageId });
    await vi.waitFor(() => expect(sub.pending('publish')).toHaveLength(2));
  });

  it('an inbound packet over the listener max_packet_size gets DISCONNECT 0x95', async () => {
    const h = await harness({
      listeners: { memory: { type: 'tcp', enabled: false, max_packet_size: 256 } },
    });
    const { client } = await h.connectClient('big');
    client.send(publishPacket('t', 'x'.repeat(300)));
    expect((await client.next('disconnect')).reasonCode).toBe(0x95);
    await client.closed;
    await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(1));
    expect(h.of('client.disconnected')[0]!['reason']).toBe('frame_too_large');
  });

  it('a copy larger than the Maximum Packet Size the client declared is dropped and counted', async () => {
    const h = await harness();
    const { client: sub } = await h.connectClient('tiny', {
      properties: { maximumPacketSize: 64 },
    });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'm', qos: 0 }] });
    await sub.next('suback');
    const { client: pub } = await h.connectClient('pub');
    pub.send(publishPacket('m', 'y'.repeat(100)), publishPacket('m', 'small'));
    expect((await sub.next('publish')).payload.toString()).toBe('small');
    await vi.waitFor(() =>
      expect(h.of('delivery.dropped').map((c) => c['reason'])).toEqual(['too_large']),
    );
    expect(h.broker.metrics().dropped_too_large).toBe(1);
  });
});

describe('MQTT 5 DISCONNECT', () => {
  it('client DISCONNECT reason and properties reach client.disconnected (disconn_props)', async () => {
    const h = await harness();
    const { client } = await h.connectClient('leaver');
    client.send({
      cmd: 'disconnect',
      reasonCode: 0x04,
      properties: { reasonString: 'bye', userProperties: { k: 'v' } },
    });
    await client.closed;
    const { client: plain } = await h.connectClient('plain');
    plain.send({ cmd: 'disconnect', reasonCode: 0 });
    await plain.closed;
    await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(2));
    const [a, b] = h.of('client.disconnected');
    expect(a).toMatchObject({
      clientid: 'leaver',
      reason: 'disconnect_with_will_message',
      disconn_props: { 'Reason-String': 'bye', 'User-Property': { k: 'v' } },
    });
    expect(b).toMatchObject({ clientid: 'plain', reason: 'normal', disconn_props: {} });
  });

  it('kick: DISCONNECT 0x98 administrative action, reason kicked', async () => {
    const h = await harness();
    const { client } = await h.connectClient('victim');
    expect(h.broker.kick('victim')).toBe(true);
    expect(h.broker.kick('nobody')).toBe(false);
    expect((await client.next('disconnect')).reasonCode).toBe(0x98);
    await client.closed;
    await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(1));
    expect(h.of('client.disconnected')[0]!['reason']).toBe('kicked');
  });

  it('takeover: the old connection gets DISCONNECT 0x8E, reason takenover', async () => {
    const h = await harness();
    const session = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const old = await h.connectClient('twin', session);
    await h.connectClient('twin', session);
    expect((await old.client.next('disconnect')).reasonCode).toBe(0x8e);
    await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(1));
    expect(h.of('client.disconnected')[0]!['reason']).toBe('takenover');
  });
});
