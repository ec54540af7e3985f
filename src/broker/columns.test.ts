import { describe, expect, it } from 'vitest';
import {
  EMPTY_MAP,
  connackReason,
  messageId,
  messageIdFormatter,
  peername,
  propsToColumns,
  protoName,
} from './columns.js';
import { brokerConfigSpec } from './config.js';
import { describeFields, toJsonSchema } from '../core/index.js';

describe('column helpers', () => {
  it('maps mqtt-packet properties to MQTT property names', () => {
    const cols = propsToColumns({
      contentType: 'application/json',
      messageExpiryInterval: 60,
      userProperties: { a: '1', b: ['2', '3'] },
      correlationData: Buffer.from('c'),
    });
    expect(cols).toEqual({
      'Content-Type': 'application/json',
      'Message-Expiry-Interval': 60,
      'Correlation-Data': Buffer.from('c'),
      'User-Property': { a: '1', b: '3' },
      'User-Property-Pairs': [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
        { key: 'b', value: '3' },
      ],
    });
    expect(Object.isFrozen(cols)).toBe(true);
    expect(propsToColumns(undefined)).toBe(EMPTY_MAP);
    expect(propsToColumns({})).toBe(EMPTY_MAP);
  });

  it('message ids are 32 hex digits and differ by counter', () => {
    const a = messageId('0123456789abcdef', 1);
    const b = messageId('0123456789abcdef', 2);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
    expect(messageId('0123456789abcdef', 2 ** 52)).toMatch(/^[0-9a-f]{32}$/);
    const fast = messageIdFormatter('0123456789abcdef');
    for (const n of [0, 1, 15, 16, 255, 4095, 4096, 2 ** 32 + 7, 2 ** 52, Number.MAX_SAFE_INTEGER])
      expect(fast(n)).toBe(messageId('0123456789abcdef', n));
    // Sequential counters across several 4,096 boundaries, then going back (cache changes).
    for (let n = 4000; n < 13_000; n++) expect(fast(n)).toBe(messageId('0123456789abcdef', n));
    for (const n of [5, 2 ** 40 + 4095, 2 ** 40 + 4096, 7])
      expect(fast(n)).toBe(messageId('0123456789abcdef', n));
  });

  it('connack codes, peername, proto names', () => {
    expect([0, 1, 2, 3, 4, 5].map(connackReason)).toEqual([
      'success',
      'unsupported_protocol_version',
      'client_identifier_not_valid',
      'server_unavailable',
      'bad_username_or_password',
      'not_authorized',
    ]);
    expect(peername('127.0.0.1', 1883)).toBe('127.0.0.1:1883');
    expect(peername(undefined, 1)).toBeUndefined();
    expect(protoName(3)).toBe('MQIsdp');
    expect(protoName(4)).toBe('MQTT');
  });
});

describe('brokerConfigSpec', () => {
  it('documents every field and yields a JSON Schema', () => {
    const rows = describeFields(brokerConfigSpec);
    expect(rows.length).toBeGreaterThan(20);
    for (const r of rows) expect(r.description.length, r.path).toBeGreaterThan(10);
    const schema = toJsonSchema(brokerConfigSpec) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        'node',
        'listeners',
        'allow_anonymous',
        'users',
        'ignore_sys_message',
        'concurrency',
      ]),
    );
  });
});
