/**
 * The OCPP gateway over real WebSockets (raw `ws` charge points) with an in-memory stand-in for
 * the broker ports: EMQX topics and envelope both ways, handshake refusals, subprotocol rules,
 * takeover, the downstream one-CALL-at-a-time discipline, the bounded queue and await timeout,
 * keep-alive (with and without pings), schema validation with 1.6 error codes, malformed frames.
 */
import { request, type IncomingMessage } from 'node:http';

import { afterEach, describe, expect, it } from 'vitest';

import type { BrokerEvent, ClientAuthenticator } from '../../src/core/index.js';

import type { OcppGateway } from '../../src/ocpp/index.js';
import {
  connectRaw,
  refusal,
  sleep,
  startGateway,
  waitFor,
  type MemoryBus,
  type RawCp,
} from './ocpp-helpers.js';

const open: { gws: OcppGateway[]; cps: RawCp[] } = { gws: [], cps: [] };
afterEach(async () => {
  await Promise.all(open.cps.splice(0).map((c) => c.close()));
  await Promise.all(open.gws.splice(0).map((g) => g.stop()));
});

async function gateway(config: Record<string, unknown> = {}, authenticate?: ClientAuthenticator) {
  const g = await startGateway(config, authenticate ? { authenticate } : {});
  open.gws.push(g.gw);
  return g;
}
async function cp(url: string, protocols?: string[], opts = {}): Promise<RawCp> {
  const c = await connectRaw(url, protocols, opts);
  open.cps.push(c);
  return c;
}
const on = (bus: MemoryBus, topic: string) => bus.published.filter((p) => p.topic === topic);

describe('upstream and downstream mapping (EMQX topics and envelope)', () => {
  it('a CP CALL is published to ocpp/cp/<cid> and the backend reply reaches the CP as a CALLRESULT', async () => {
    const { bus, url } = await gateway();
    const c = await cp(`${url}/CP001`);
    await waitFor(() => bus.subscribers('ocpp/cs/CP001') === 1, 'downstream subscription');
    c.send([
      2,
      '1200012677',
      'BootNotification',
      { chargePointVendor: 'v', chargePointModel: 'm' },
    ]);
    await waitFor(() => on(bus, 'ocpp/cp/CP001').length === 1, 'publish');
    expect(on(bus, 'ocpp/cp/CP001')[0]).toEqual({
      topic: 'ocpp/cp/CP001',
      qos: 2,
      body: {
        MessageTypeId: 2,
        UniqueId: '1200012677',
        Action: 'BootNotification',
        Payload: { chargePointVendor: 'v', chargePointModel: 'm' },
      },
    });
    bus.send('ocpp/cs/CP001', {
      MessageTypeId: 3,
      UniqueId: '1200012677',
      Payload: { currentTime: '2023-12-01T14:20:39+00:00', interval: 300, status: 'Accepted' },
    });
    await waitFor(() => c.frames.length === 1, 'reply');
    expect(c.frames[0]).toEqual([
      3,
      '1200012677',
      { currentTime: '2023-12-01T14:20:39+00:00', interval: 300, status: 'Accepted' },
    ]);
  });

  it('a backend CALL reaches the CP; its CALLRESULT and CALLERROR are published to Reply with Action', async () => {
    const { bus, url } = await gateway();
    const c = await cp(`${url}/CP002`);
    bus.send('ocpp/cs/CP002', {
      MessageTypeId: 2,
      UniqueId: 'cs-0001',
      Action: 'Reset',
      Payload: { type: 'Soft' },
    });
    await waitFor(() => c.frames.length === 1, 'call');
    expect(c.frames[0]).toEqual([2, 'cs-0001', 'Reset', { type: 'Soft' }]);
    c.send([3, 'cs-0001', { status: 'Accepted' }]);
    await waitFor(() => on(bus, 'ocpp/cp/CP002/Reply').length === 1, 'reply publish');
    expect(on(bus, 'ocpp/cp/CP002/Reply')[0]!.body).toEqual({
      MessageTypeId: 3,
      UniqueId: 'cs-0001',
      Action: 'Reset',
      Payload: { status: 'Accepted' },
    });
    bus.send('ocpp/cs/CP002', {
      MessageTypeId: 2,
      UniqueId: 'cs-0002',
      Action: 'UnlockConnector',
      Payload: { connectorId: 1 },
    });
    await waitFor(() => c.frames.length === 2, 'second call');
    c.send([4, 'cs-0002', 'NotSupported', 'not on this model', { hint: 1 }]);
    await waitFor(() => on(bus, 'ocpp/cp/CP002/Reply').length === 2, 'error publish');
    expect(on(bus, 'ocpp/cp/CP002/Reply')[1]!.body).toEqual({
      MessageTypeId: 4,
      UniqueId: 'cs-0002',
      Action: 'UnlockConnector',
      ErrorCode: 'NotSupported',
      ErrorDescription: 'not on this model',
      ErrorDetails: { hint: 1 },
    });
    // A backend CALLERROR answering a CP CALL: ErrorDetails defaults to {} on the wire.
    bus.send('ocpp/cs/CP002', {
      MessageTypeId: 4,
      UniqueId: '77',
      ErrorCode: 'InternalError',
      ErrorDescription: 'db down',
    });
    await waitFor(() => c.frames.length === 3, 'error frame');
    expect(c.frames[2]).toEqual([4, '77', 'InternalError', 'db down', {}]);
  });

  it('honours mountpoint, topic templates and per-action overrides', async () => {
    const { bus, url } = await gateway({
      mountpoint: 'site1/',
      upstream: {
        topic: 'up/${cid}/${action}',
        topic_override_mapping: { Heartbeat: 'hb/${cid}' },
        reply_topic: 'rep/${cid}',
        error_topic: 'err/${cid}',
      },
      dnstream: { topic: 'down/${clientid}' },
    });
    const c = await cp(`${url}/CP%2042`);
    await waitFor(() => bus.subscribers('site1/down/CP 42') === 1, 'subscription');
    c.send([
      2,
      '1',
      'StatusNotification',
      { connectorId: 0, errorCode: 'NoError', status: 'Available' },
    ]);
    c.send([2, '2', 'Heartbeat', {}]);
    await waitFor(() => bus.published.length === 2, 'publishes');
    expect(bus.published.map((p) => p.topic)).toEqual([
      'site1/up/CP 42/StatusNotification',
      'site1/hb/CP 42',
    ]);
  });

  it('downstream messages that are not a valid envelope are dropped and counted', async () => {
    const { gw, bus, url } = await gateway();
    const c = await cp(`${url}/CP003`);
    bus.send('ocpp/cs/CP003', 'not json');
    bus.send('ocpp/cs/CP003', { MessageTypeId: 2, UniqueId: 'x', Payload: {} });
    bus.send('ocpp/cs/CP003', { MessageTypeId: 9, UniqueId: 'x' });
    bus.send('ocpp/cs/CP003', { MessageTypeId: 3, UniqueId: 'ok', Payload: {} });
    await waitFor(() => c.frames.length === 1, 'valid frame');
    expect(c.frames).toEqual([[3, 'ok', {}]]);
    expect(gw.metrics().invalid_envelopes).toBe(3);
    expect(gw.clients()[0]!.dropped).toBe(3);
  });
});

describe('handshake', () => {
  it('never sends a subprotocol the client did not offer; picks ocpp1.6 from a list', async () => {
    const { url } = await gateway();
    const none = await cp(`${url}/A`, []);
    expect(none.headers['sec-websocket-protocol']).toBeUndefined();
    expect(none.ws.protocol).toBe('');
    const list = await cp(`${url}/B`, ['ocpp1.5', 'ocpp1.6']);
    expect(list.headers['sec-websocket-protocol']).toBe('ocpp1.6');
    expect((await refusal(`${url}/C`, ['ocpp2.0.1'])).status).toBe(400);
    expect((await refusal(`${url}/C`, ['ocpp1.6j'])).body).toBe('no_supported_subprotocol');
  });

  it('tolerates a malformed protocol list such as ",ocpp1.6"', async () => {
    const { port } = await gateway();
    // Raw upgrade: a ws client would not send such a header.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path: '/ocpp/K',
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Protocol': ', ocpp1.6,',
        },
      });
      req.on('upgrade', (r, socket) => {
        socket.destroy();
        resolve(r);
      });
      req.on('response', (r) => resolve(r));
      req.on('error', reject);
      req.end();
    });
    expect(res.statusCode).toBe(101);
    expect(res.headers['sec-websocket-protocol']).toBe('ocpp1.6');
  });

  it('refuses clients offering no subprotocol when fail_if_no_subprotocol', async () => {
    const { url } = await gateway({
      listeners: {
        default: {
          type: 'ws',
          bind: '127.0.0.1',
          port: 0,
          websocket: { fail_if_no_subprotocol: true },
        },
      },
    });
    expect(await refusal(`${url}/A`, [])).toMatchObject({ status: 400, body: 'no_subprotocol' });
    await cp(`${url}/A`, ['ocpp1.6']);
  });

  it('identity from the path: percent-decoded; empty or with / + # refused; other paths 404', async () => {
    const { gw, url, port } = await gateway();
    expect(await refusal(`${url}/`)).toMatchObject({
      status: 400,
      body: 'clientid_cannot_be_empty',
    });
    expect(await refusal(`${url}/TEST%2F4`)).toMatchObject({
      status: 400,
      body: 'unsupported_clientid',
    });
    expect(await refusal(`${url}/a%2Bb`)).toMatchObject({
      status: 400,
      body: 'unsupported_clientid',
    });
    expect(await refusal(`${url}/a%23b`)).toMatchObject({
      status: 400,
      body: 'unsupported_clientid',
    });
    expect(await refusal(`${url}/a/b`)).toMatchObject({ status: 400 });
    expect((await refusal(`ws://127.0.0.1:${port}/mqtt/CP1`)).status).toBe(404);
    await cp(`${url}/${encodeURIComponent('Ladesäule α')}?foo=bar`);
    expect(gw.clients().map((c) => c.clientid)).toEqual(['Ladesäule α']);
  });

  it('a broken WebSocket handshake (bad key) leaves no downstream subscription behind', async () => {
    const { bus, port } = await gateway();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path: '/ocpp/BROKEN',
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': 'short',
        },
      });
      req.on('response', (r) => resolve(r.statusCode ?? 0));
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
    await waitFor(() => bus.subscribers('ocpp/cs/BROKEN') === 0, 'subscription released');
  });

  it('HTTP Basic through the authenticator: 401 on bad credentials, 403 when banned', async () => {
    const seen: { username?: string; password?: string }[] = [];
    const { url } = await gateway({}, async (req: Parameters<ClientAuthenticator>[0]) => {
      seen.push({ username: req.username, password: req.password?.toString('latin1') });
      if (req.clientid === 'BANNED') return { ok: false, reason: 'banned' };
      return req.password?.toString('latin1') === 'se:cr\u00ffet'
        ? { ok: true, is_superuser: false }
        : { ok: false, reason: 'bad_username_or_password' };
    });
    const basic = (user: string, pw: Buffer) => ({
      headers: {
        Authorization: `Basic ${Buffer.concat([Buffer.from(`${user}:`), pw]).toString('base64')}`,
      },
    });
    // A password with colons and a non-UTF-8 byte survives (split after "<cid>:").
    await cp(`${url}/id:1`, ['ocpp1.6'], basic('id:1', Buffer.from('se:cr\u00ffet', 'latin1')));
    expect(seen[0]).toEqual({ username: 'id:1', password: 'se:cr\u00ffet' });
    const bad = await refusal(`${url}/CP9`, ['ocpp1.6'], basic('CP9', Buffer.from('nope')));
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toMatch(/^Basic /);
    expect((await refusal(`${url}/CP9`, ['ocpp1.6'])).status).toBe(401);
    expect((await refusal(`${url}/BANNED`, ['ocpp1.6'])).status).toBe(403);
  });

  it('username_must_equal_cid refuses another username with 401', async () => {
    const { url } = await gateway({ username_must_equal_cid: true });
    const auth = (s: string) => ({
      headers: { Authorization: `Basic ${Buffer.from(s).toString('base64')}` },
    });
    expect((await refusal(`${url}/CP1`, ['ocpp1.6'], auth('other:pw'))).status).toBe(401);
    await cp(`${url}/CP1`, ['ocpp1.6'], auth('CP1:pw'));
  });

  it('a second connection with the same id kicks the first (newest wins)', async () => {
    const { gw, bus, url } = await gateway();
    const first = await cp(`${url}/DUP`);
    const second = await cp(`${url}/DUP`);
    await waitFor(() => first.closed !== undefined, 'old connection closed');
    expect(first.closed!.reason).toBe('discarded');
    await waitFor(() => bus.subscribers('ocpp/cs/DUP') === 1, 'one subscription left');
    bus.send('ocpp/cs/DUP', { MessageTypeId: 3, UniqueId: '1', Payload: {} });
    await waitFor(() => second.frames.length === 1, 'delivered to the new one');
    expect(first.frames).toEqual([]);
    expect(gw.metrics().takeovers).toBe(1);
    expect(gw.clients()).toHaveLength(1);
  });
});

describe('events', () => {
  it('client.connected / client.disconnected with protocol ocpp and the reason (discarded, kicked, normal)', async () => {
    const { gw, url } = await gateway();
    const events: BrokerEvent[] = [];
    const off = gw.producer.listen(
      (e) => events.push(e),
      ['client.connected', 'client.disconnected'],
    );
    const first = await cp(`${url}/E1`);
    await cp(`${url}/E1`);
    await waitFor(() => first.closed !== undefined, 'taken over');
    expect(gw.kick('E1')).toBe(true);
    expect(gw.kick('nobody')).toBe(false);
    await waitFor(
      () => events.filter((e) => e.name === 'client.disconnected').length === 2,
      'kicked',
    );
    const third = await cp(`${url}/E2`);
    await third.close();
    await waitFor(
      () => events.filter((e) => e.name === 'client.disconnected').length === 3,
      'three disconnects',
    );
    const fourth = await cp(`${url}/E3`);
    fourth.ws.terminate();
    await waitFor(
      () => events.filter((e) => e.name === 'client.disconnected').length === 4,
      'dropped socket',
    );
    off();
    const seen = events.map((e) => [
      e.name,
      e.matchTopic,
      e.columns['clientid'],
      e.columns['reason'],
    ]);
    expect(seen).toEqual([
      ['client.connected', '$events/client/connected', 'E1', undefined],
      ['client.connected', '$events/client/connected', 'E1', undefined],
      ['client.disconnected', '$events/client/disconnected', 'E1', 'discarded'],
      ['client.disconnected', '$events/client/disconnected', 'E1', 'kicked'],
      ['client.connected', '$events/client/connected', 'E2', undefined],
      ['client.disconnected', '$events/client/disconnected', 'E2', 'normal'],
      ['client.connected', '$events/client/connected', 'E3', undefined],
      ['client.disconnected', '$events/client/disconnected', 'E3', 'sock_closed'],
    ]);
    expect(events[0]!.columns).toMatchObject({
      protocol: 'ocpp',
      proto_name: 'OCPP',
      proto_ver: '1.6',
      keepalive: 60,
      mountpoint: 'ocpp/',
    });
    expect(Object.isFrozen(events[0])).toBe(true);
  });
});

describe('downstream discipline', () => {
  it('one backend CALL at a time; the next after the answer; replies bypass the queue; one message per frame', async () => {
    const { gw, bus, url } = await gateway();
    const c = await cp(`${url}/Q1`);
    for (let i = 1; i <= 3; i++)
      bus.send('ocpp/cs/Q1', {
        MessageTypeId: 2,
        UniqueId: `c${i}`,
        Action: 'ChangeConfiguration',
        Payload: { key: 'K', value: String(i) },
      });
    await waitFor(() => c.frames.length === 1, 'first call');
    // A reply to a CP CALL goes out while CALLs are queued.
    bus.send('ocpp/cs/Q1', { MessageTypeId: 3, UniqueId: 'hb1', Payload: { currentTime: 't' } });
    await waitFor(() => c.frames.length === 2, 'reply');
    await sleep(100);
    expect(c.frames.map((f) => f[1])).toEqual(['c1', 'hb1']);
    expect(gw.clients()[0]).toMatchObject({
      mqueue_len: 2,
      inflight: { id: 'c1', action: 'ChangeConfiguration' },
    });
    c.send([3, 'c1', { status: 'Accepted' }]);
    await waitFor(() => c.frames.length === 3, 'second call');
    await sleep(100);
    expect(c.frames[2]![1]).toBe('c2');
    expect(c.frames).toHaveLength(3);
    c.send([4, 'c2', 'InternalError', 'x', {}]);
    await waitFor(() => c.frames.length === 4, 'third call');
    expect(c.frames[3]![1]).toBe('c3');
    // Every WebSocket message held exactly one OCPP message.
    for (const t of c.texts)
      expect(Array.isArray(JSON.parse(t)) && typeof JSON.parse(t)[0] === 'number').toBe(true);
  });

  it('the queue is bounded: the newest CALLs are dropped and counted', async () => {
    const { gw, bus, url } = await gateway({ dnstream: { max_mqueue_len: 2 } });
    const c = await cp(`${url}/Q2`);
    for (let i = 1; i <= 5; i++)
      bus.send('ocpp/cs/Q2', {
        MessageTypeId: 2,
        UniqueId: `c${i}`,
        Action: 'ClearCache',
        Payload: {},
      });
    await waitFor(() => c.frames.length === 1, 'first');
    expect(gw.clients()[0]).toMatchObject({ mqueue_len: 2, dropped: 2 });
    expect(gw.metrics().dropped_queue_full).toBe(2);
    c.send([3, 'c1', { status: 'Accepted' }]);
    await waitFor(() => c.frames.length === 2, 'second');
    c.send([3, 'c2', { status: 'Accepted' }]);
    await waitFor(() => c.frames.length === 3, 'third');
    expect(c.frames.map((f) => f[1])).toEqual(['c1', 'c2', 'c3']);
  });

  it('an unanswered CALL times out: a synthetic CALLERROR is published and the next CALL goes out', async () => {
    const { gw, bus, url } = await gateway({ dnstream: { await_timeout: 300 } });
    const c = await cp(`${url}/Q3`);
    bus.send('ocpp/cs/Q3', {
      MessageTypeId: 2,
      UniqueId: 'slow',
      Action: 'Reset',
      Payload: { type: 'Hard' },
    });
    bus.send('ocpp/cs/Q3', {
      MessageTypeId: 2,
      UniqueId: 'next',
      Action: 'ClearCache',
      Payload: {},
    });
    await waitFor(() => c.frames.length === 1, 'first');
    await waitFor(() => c.frames.length === 2, 'second after timeout');
    expect(c.frames[1]![1]).toBe('next');
    expect(on(bus, 'ocpp/cp/Q3/Reply')[0]!.body).toEqual({
      MessageTypeId: 4,
      UniqueId: 'slow',
      Action: 'Reset',
      ErrorCode: 'GenericError',
      ErrorDescription: 'timeout',
      ErrorDetails: { await_timeout_ms: 300 },
    });
    expect(gw.metrics().call_timeouts).toBe(1);
    // The late answer is still relayed, without Action (no CALL with that id is in flight).
    c.send([3, 'slow', { status: 'Accepted' }]);
    await waitFor(() => on(bus, 'ocpp/cp/Q3/Reply').length === 2, 'late reply');
    expect(on(bus, 'ocpp/cp/Q3/Reply')[1]!.body).toEqual({
      MessageTypeId: 3,
      UniqueId: 'slow',
      Payload: { status: 'Accepted' },
    });
    expect(gw.metrics().unmatched_replies).toBe(1);
  });
});

describe('keep-alive', () => {
  it('a silent connection is closed after the interval; pings alone keep it open', async () => {
    const { gw, url } = await gateway({ default_heartbeat_interval: 1000 });
    const silent = await cp(`${url}/S1`);
    const pinger = await cp(`${url}/S2`);
    const t = setInterval(() => pinger.ws.ping(), 100);
    try {
      await waitFor(() => silent.closed !== undefined, 'silent closed', 10_000);
      expect(silent.closed).toEqual({ code: 1001, reason: 'keepalive_timeout' });
      await sleep(2500);
      expect(pinger.closed).toBeUndefined();
      expect(gw.metrics().keepalive_timeouts).toBe(1);
    } finally {
      clearInterval(t);
    }
  });

  it('the BootNotification.conf matched by UniqueId re-arms the interval', async () => {
    const { gw, bus, url } = await gateway({ default_heartbeat_interval: 1000 });
    const c = await cp(`${url}/B1`);
    c.send([2, 'boot-1', 'BootNotification', { chargePointVendor: 'v', chargePointModel: 'm' }]);
    await waitFor(() => bus.published.length === 1, 'boot published');
    bus.send('ocpp/cs/B1', {
      MessageTypeId: 3,
      UniqueId: 'boot-1',
      Payload: { status: 'Accepted', interval: 4, currentTime: 't' },
    });
    // Same shape, other id: not the answer to the boot, ignored by the watchdog
    // (EMQX matches by shape and would take interval 100).
    bus.send('ocpp/cs/B1', {
      MessageTypeId: 3,
      UniqueId: 'other',
      Payload: { status: 'Accepted', interval: 100, currentTime: 't' },
    });
    await waitFor(() => c.frames.length === 2, 'conf');
    expect(gw.clients()[0]!.keepalive).toBe(4);
    await sleep(2500);
    expect(c.closed).toBeUndefined();
    await waitFor(() => c.closed !== undefined, 'closed after the new interval', 15_000);
    expect(c.closed!.reason).toBe('keepalive_timeout');
  });
});

describe('validation (message_format_checking: all) and malformed frames', () => {
  const status = { connectorId: 1, errorCode: 'NoError', status: 'Available' };
  it.each([
    [
      'missing required field',
      { connectorId: 1, errorCode: 'NoError' },
      'OccurenceConstraintViolation',
    ],
    ['wrong type', { ...status, connectorId: '1' }, 'TypeConstraintViolation'],
    ['enum miss', { ...status, status: 'Sleeping' }, 'PropertyConstraintViolation'],
    ['extra property', { ...status, extra: 1 }, 'FormationViolation'],
  ])('StatusNotification with %s → %s, nothing published', async (_what, payload, code) => {
    const { gw, bus, url } = await gateway({ message_format_checking: 'all' });
    const c = await cp(`${url}/V1`);
    c.send([2, 'v1', 'StatusNotification', payload]);
    await waitFor(() => c.frames.length === 1, 'error');
    expect(c.frames[0]!.slice(0, 3)).toEqual([4, 'v1', code]);
    expect(typeof c.frames[0]![3]).toBe('string');
    expect(c.frames[0]![4]).toEqual(expect.any(Object));
    expect(bus.published).toEqual([]);
    expect(gw.metrics().validation_failed).toBe(1);
  });

  it('unknown action → NotImplemented; a security whitepaper action is accepted and published', async () => {
    const { bus, url } = await gateway({ message_format_checking: 'all' });
    const c = await cp(`${url}/V2`);
    c.send([2, 'u1', 'FooBar', {}]);
    await waitFor(() => c.frames.length === 1, 'NotImplemented');
    expect(c.frames[0]!.slice(0, 3)).toEqual([4, 'u1', 'NotImplemented']);
    c.send([
      2,
      's1',
      'SecurityEventNotification',
      { type: 'FirmwareUpdated', timestamp: '2024-05-14T08:00:00Z' },
    ]);
    await waitFor(() => bus.published.length === 1, 'security event published');
    expect(bus.published[0]!.body['Action']).toBe('SecurityEventNotification');
  });

  it('invalid backend CALLs are not sent; an error envelope is published instead', async () => {
    const { bus, url } = await gateway({ message_format_checking: 'all' });
    const c = await cp(`${url}/V3`);
    bus.send('ocpp/cs/V3', {
      MessageTypeId: 2,
      UniqueId: 'r1',
      Action: 'Reset',
      Payload: { type: 'Warm' },
    });
    bus.send('ocpp/cs/V3', {
      MessageTypeId: 2,
      UniqueId: 'r2',
      Action: 'Reset',
      Payload: { type: 'Soft' },
    });
    await waitFor(() => c.frames.length === 1, 'valid call');
    expect(c.frames[0]![1]).toBe('r2');
    expect(on(bus, 'ocpp/cp/V3/Reply')[0]!.body).toMatchObject({
      MessageTypeId: 4,
      UniqueId: 'r1',
      Action: 'Reset',
      ErrorCode: 'PropertyConstraintViolation',
    });
    // A CALLRESULT that breaks ResetResponse reaches the backend as a CALLERROR envelope.
    c.send([3, 'r2', { status: 'Maybe' }]);
    await waitFor(() => on(bus, 'ocpp/cp/V3/Reply').length === 2, 'result checked');
    expect(on(bus, 'ocpp/cp/V3/Reply')[1]!.body).toMatchObject({
      MessageTypeId: 4,
      UniqueId: 'r2',
      Action: 'Reset',
      ErrorCode: 'PropertyConstraintViolation',
    });
  });

  it('malformed frames: long id → FormationViolation, [5,…] ignored, not JSON closes (1007)', async () => {
    const { gw, bus, url } = await gateway();
    const c = await cp(`${url}/M1`);
    c.send([2, 'x'.repeat(37), 'Heartbeat', {}]);
    await waitFor(() => c.frames.length === 1, 'long id answered');
    expect(c.frames[0]!.slice(0, 3)).toEqual([4, 'x'.repeat(37), 'FormationViolation']);
    c.send([2, 'n1', 'Heartbeat', null]);
    await waitFor(() => c.frames.length === 2, 'null payload answered');
    expect(c.frames[1]!.slice(0, 3)).toEqual([4, 'n1', 'FormationViolation']);
    c.send([5, 'x', 'y']);
    c.send([3, 123, {}]);
    c.send([2, 'ok', 'Heartbeat', {}]);
    await waitFor(() => bus.published.length === 1, 'valid call published');
    expect(c.frames).toHaveLength(2);
    expect(gw.metrics().invalid_frames).toBe(4);
    c.send('{not json');
    await waitFor(() => c.closed !== undefined, 'closed');
    expect(c.closed).toEqual({ code: 1007, reason: 'invalid_json' });
  });

  it('invalid_json: drop keeps the connection and counts the frame', async () => {
    const { gw, bus, url } = await gateway({ invalid_json: 'drop' });
    const c = await cp(`${url}/M2`);
    c.send('{not json');
    c.send({ not: 'an array' });
    c.send([2, 'ok', 'Heartbeat', {}]);
    await waitFor(() => bus.published.length === 1, 'published');
    expect(c.closed).toBeUndefined();
    expect(gw.clients()[0]!.dropped).toBe(2);
  });

  it('a frame larger than max_frame_size closes with 1009', async () => {
    const { url } = await gateway({
      listeners: {
        default: { type: 'ws', bind: '127.0.0.1', port: 0, websocket: { max_frame_size: 1024 } },
      },
    });
    const c = await cp(`${url}/F1`);
    c.send([2, '1', 'DataTransfer', { vendorId: 'v', data: 'x'.repeat(2000) }]);
    await waitFor(() => c.closed !== undefined, 'closed');
    expect(c.closed!.code).toBe(1009);
  });
});
