import { describe, expect, it } from 'vitest';

import { fromEnvelope, toEnvelope, compileTopic } from './envelope.js';
import { parseFrame, serializeFrame } from './frames.js';

describe('parseFrame (OCPP-J §4)', () => {
  it.each([
    ['[2,"1","Heartbeat",{}]', { type: 2, id: '1', action: 'Heartbeat', payload: {} }],
    ['[3,"1",{"a":1}]', { type: 3, id: '1', payload: { a: 1 } }],
    [
      '[4,"1","NotSupported","x",{"d":1}]',
      { type: 4, id: '1', code: 'NotSupported', description: 'x', details: { d: 1 } },
    ],
    [
      '[4,"1","GenericError",""]',
      { type: 4, id: '1', code: 'GenericError', description: '', details: {} },
    ],
  ])('%s', (text, frame) => {
    expect(parseFrame(text, 36)).toEqual({ ok: true, frame });
  });

  it.each([
    ['{', 'not_json', undefined],
    ['{"a":1}', 'not_json', undefined],
    ['[5,"1","x"]', 'unknown_type', undefined],
    ['["2","1","Heartbeat",{}]', 'malformed', undefined],
    ['[2,1,"Heartbeat",{}]', 'malformed', undefined],
    ['[2,"1","Heartbeat",null]', 'malformed', '1'],
    ['[2,"1","Heartbeat",[]]', 'malformed', '1'],
    ['[2,"1",7,{}]', 'malformed', '1'],
    ['[2,"1","Heartbeat",{},1]', 'malformed', '1'],
    [`[2,"${'x'.repeat(37)}","Heartbeat",{}]`, 'malformed', 'x'.repeat(37)],
    ['[2,"","Heartbeat",{}]', 'malformed', ''],
    ['[3,"1",null]', 'malformed', undefined],
    ['[4,"1",1,"x",{}]', 'malformed', undefined],
  ])('%s → %s', (text, kind, callId) => {
    const r = parseFrame(text, 36);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe(kind);
    expect(r.kind === 'malformed' ? r.callId : undefined).toBe(callId);
  });

  it('round-trips through serializeFrame', () => {
    for (const t of [
      '[2,"a","Reset",{"type":"Soft"}]',
      '[3,"a",{}]',
      '[4,"a","InternalError","d",{}]',
    ]) {
      const r = parseFrame(t, 36);
      expect(r.ok && serializeFrame(r.frame)).toBe(t);
    }
  });
});

describe('envelope', () => {
  it('upstream carries Action on replies only when given, ErrorDetails always', () => {
    expect(JSON.parse(toEnvelope({ type: 3, id: 'i', payload: {} }))).toEqual({
      MessageTypeId: 3,
      UniqueId: 'i',
      Payload: {},
    });
    expect(
      JSON.parse(
        toEnvelope({ type: 4, id: 'i', code: 'C', description: 'D', details: {} }, 'Reset'),
      ),
    ).toEqual({
      MessageTypeId: 4,
      UniqueId: 'i',
      Action: 'Reset',
      ErrorCode: 'C',
      ErrorDescription: 'D',
      ErrorDetails: {},
    });
  });

  it.each([
    ['{"MessageTypeId":2,"UniqueId":"u","Action":"Reset","Payload":{"type":"Soft"}}', true],
    ['{"MessageTypeId":3,"UniqueId":"u","Action":"ignored","Payload":{}}', true],
    ['{"MessageTypeId":4,"UniqueId":"u","ErrorCode":"C","ErrorDescription":""}', true],
    ['{"MessageTypeId":2,"UniqueId":"u","Payload":{}}', false],
    ['{"MessageTypeId":3,"UniqueId":"u"}', false],
    ['{"MessageTypeId":3,"Payload":{}}', false],
    ['{"MessageTypeId":4,"UniqueId":"u","ErrorCode":"C"}', false],
    [
      '{"MessageTypeId":4,"UniqueId":"u","ErrorCode":"C","ErrorDescription":"","ErrorDetails":[]}',
      false,
    ],
    ['[3,"u",{}]', false],
    ['nope', false],
  ])('fromEnvelope %s → %s', (text, ok) => {
    expect(fromEnvelope(Buffer.from(text)).ok).toBe(ok);
  });

  it('a downstream CALLERROR without ErrorDetails gets {} on the wire', () => {
    const r = fromEnvelope(
      Buffer.from('{"MessageTypeId":4,"UniqueId":"u","ErrorCode":"C","ErrorDescription":"d"}'),
    );
    expect(r.ok && serializeFrame(r.frame)).toBe('[4,"u","C","d",{}]');
  });

  it('topic templates', () => {
    expect(
      compileTopic('cp/${cid}/${action}/${id}/${type}/${clientid}/${other}')({
        cid: 'A',
        action: 'B',
        id: 'C',
        type: 2,
      }),
    ).toBe('cp/A/B/C/2/A/${other}');
  });
});
