import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../core/index.js';
import { fromGrpcError, parseEnvelope } from './grpc-errors.js';
import { grpc } from './proto.js';
import { checkTemplate } from './sink.js';
import { parseServerUrls } from './url.js';

describe('server URLs (hstream-protocol.md §1)', () => {
  it('accepts the four schemes, default port 6570 and host lists', () => {
    expect(parseServerUrls(['hstream://h1:1234,h2,[::1]:99'])).toEqual([
      { host: 'h1', port: 1234, tls: false },
      { host: 'h2', port: 6570, tls: false },
      { host: '::1', port: 99, tls: false },
    ]);
    expect(parseServerUrls(['https://x']).map((e) => e.tls)).toEqual([true]);
    expect(parseServerUrls(['hstreams://x:1'])[0]).toEqual({ host: 'x', port: 1, tls: true });
    expect(parseServerUrls(['http://127.0.0.1:6570/'])[0]).toEqual({
      host: '127.0.0.1',
      port: 6570,
      tls: false,
    });
  });

  it('rejects other schemes and bad ports with a config error', () => {
    for (const bad of ['tcp://x', 'x:6570', 'hstream://x:0', 'hstream://x:99999', 'hstream://']) {
      const err = (() => {
        try {
          parseServerUrls([bad]);
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe('hstream_config_invalid');
    }
  });
});

describe('gRPC status → coded error (hstream-protocol.md §9)', () => {
  const e = (code: grpc.status, details: string) => fromGrpcError({ code, details }, 'Append');
  it('maps statuses and envelope codes', () => {
    const cases: Array<[grpc.status, string, string, boolean]> = [
      [grpc.status.UNAVAILABLE, 'NOSEQUENCER', 'hstream_unavailable', true],
      [grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded', 'hstream_timeout', true],
      [grpc.status.INTERNAL, 'store', 'hstream_internal', true],
      [
        grpc.status.INVALID_ARGUMENT,
        '{"error":206,"message":"BatchedRecord shouldn\'t be Nothing","extra":null}',
        'hstream_empty_batch',
        false,
      ],
      [
        grpc.status.INVALID_ARGUMENT,
        '{"error":207,"message":"Record size exceeds the maximum size limit","extra":1048999}',
        'hstream_batch_too_large',
        false,
      ],
      [
        grpc.status.INVALID_ARGUMENT,
        '{"error":204,"message":"InvalidObjectIdentifier","extra":"bad"}',
        'hstream_invalid_argument',
        false,
      ],
      [
        grpc.status.NOT_FOUND,
        '{"error":200,"message":"StreamNotFound","extra":"s"}',
        'hstream_stream_not_found',
        false,
      ],
      [
        grpc.status.FAILED_PRECONDITION,
        '{"error":800,"message":"WrongServer","extra":"x"}',
        'hstream_wrong_server',
        true,
      ],
      [
        grpc.status.FAILED_PRECONDITION,
        '{"error":202,"message":"Stream still has subscription","extra":null}',
        'hstream_request_failed',
        false,
      ],
      [grpc.status.UNAUTHENTICATED, 'no', 'hstream_unauthenticated', false],
      [grpc.status.UNKNOWN, 'UnKnown exception: boom', 'hstream_request_failed', false],
    ];
    for (const [code, details, want, retriable] of cases) {
      const err = e(code, details);
      expect([err.code, err.retriable], details).toEqual([want, retriable]);
    }
  });

  it('renders envelope details and plain text into the message', () => {
    expect(
      e(grpc.status.NOT_FOUND, '{"error":200,"message":"StreamNotFound","extra":"s1"}').message,
    ).toBe('HStreamDB Append failed: NOT_FOUND: StreamNotFound (s1)');
    expect(e(grpc.status.UNAVAILABLE, 'NOTFOUND: log not found').message).toContain(
      'NOTFOUND: log not found',
    );
    expect(parseEnvelope('plain')).toBeUndefined();
    expect(parseEnvelope('{"error":207,"message":"m","extra":5}')).toEqual({
      error: 207,
      message: 'm',
      extra: 5,
    });
  });
});

describe('template checks', () => {
  it('accepts well-formed placeholders and rejects malformed ones', () => {
    for (const ok of [
      '${clientid}',
      'a-${payload.x.y}-b',
      "${pub_props.'User-Property'}",
      '${$}',
      '${.}',
      'plain',
    ])
      expect(() => checkTemplate(ok, 'f'), ok).not.toThrow();
    for (const bad of ['${payload.temp', '${ x }', '${a..b}'])
      expect(() => checkTemplate(bad, 'f'), bad).toThrow(/malformed placeholder/);
  });
});
