import { fileURLToPath } from 'node:url';
import { gzipSync, deflateSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { HStreamErrors } from './errors.js';
import {
  batchedRecordSize,
  compress,
  decodeAppendAck,
  decodeBatch,
  decompress,
  encodeBatch,
  encodedRecordSize,
  isCompleteGzipMember,
  zstdAvailable,
  zstdFrameHasContentSize,
  type HRecord,
} from './record-codec.js';

// The reference: protobufjs reflection over our own proto file.
const root = new protobuf.Root();
root.resolvePath = (origin, target) =>
  target.startsWith('google/') ? target : protobuf.util.path.resolve(origin, target);
root.loadSync(fileURLToPath(new URL('./proto/hstream.proto', import.meta.url)), { keepCase: true });
const Batch = root.lookupType('hstream.server.BatchHStreamRecords');
const BatchedRecord = root.lookupType('hstream.server.BatchedRecord');
const AppendResponse = root.lookupType('hstream.server.AppendResponse');

const records: HRecord[] = [
  { key: '', payload: Buffer.from('{"a":1}') },
  { key: 'sensors/é/1', payload: 'text payload ✓' },
  { key: 'k', payload: Buffer.alloc(0) },
  { key: 'big', payload: Buffer.alloc(70_000, 7) },
  { key: 'json-flag', payload: Buffer.from([1, 2, 3]), flag: 0 },
];

describe('BatchHStreamRecords codec', () => {
  it('encodes exactly what protobufjs decodes (RAW flag, key, payload)', () => {
    const buf = encodeBatch(records);
    expect(buf.length).toBe(records.reduce((n, r) => n + encodedRecordSize(r), 0));
    const obj = Batch.toObject(Batch.decode(buf), { enums: String, defaults: true }) as {
      records: Array<{ header: { flag: string; key: string }; payload: Buffer }>;
    };
    expect(
      obj.records.map((r) => [r.header.flag, r.header.key, Buffer.from(r.payload).toString('hex')]),
    ).toEqual(
      records.map((r) => [
        r.flag === 0 ? 'JSON' : 'RAW',
        r.key,
        Buffer.from(typeof r.payload === 'string' ? Buffer.from(r.payload) : r.payload).toString(
          'hex',
        ),
      ]),
    );
    // Byte-identical to protobufjs' own encoding of the same message (proto3 canonical form:
    // default-valued fields are left out, so they are only set when non-default here).
    const ref = Batch.encode(
      Batch.fromObject({
        records: records.map((r) => {
          const payload = typeof r.payload === 'string' ? Buffer.from(r.payload) : r.payload;
          const flag = r.flag ?? 1;
          return {
            header: { ...(flag ? { flag } : {}), ...(r.key ? { key: r.key } : {}) },
            ...(payload.length ? { payload } : {}),
          };
        }),
      }),
    ).finish();
    expect(Buffer.from(ref).equals(buf)).toBe(true);
  });

  it('writes attributes that protobufjs and our decoder read back (issue #13)', () => {
    const withAttrs: HRecord[] = [
      {
        key: 'dev-1',
        payload: 'p',
        attributes: { 'content-type': 'application/json', site: 'nörth', empty: '' },
      },
      { key: '', payload: Buffer.from('x') },
      { key: 'k', payload: 'q', attributes: { big: 'v'.repeat(300) } },
    ];
    const buf = encodeBatch(withAttrs);
    expect(buf.length).toBe(withAttrs.reduce((n, r) => n + encodedRecordSize(r), 0));
    const obj = Batch.toObject(Batch.decode(buf), { defaults: true }) as {
      records: Array<{ header: { key: string; attributes: Record<string, string> } }>;
    };
    expect(obj.records.map((r) => r.header.attributes)).toEqual([
      { 'content-type': 'application/json', site: 'nörth', empty: '' },
      {},
      { big: 'v'.repeat(300) },
    ]);
    expect(decodeBatch(buf).map((r) => r.attributes)).toEqual([
      { 'content-type': 'application/json', site: 'nörth', empty: '' },
      {},
      { big: 'v'.repeat(300) },
    ]);
  });

  it('decodes protobufjs output, including attributes and a missing header', () => {
    const buf = Batch.encode(
      Batch.fromObject({
        records: [
          {
            header: { flag: 1, key: 'x', attributes: { a: 'b', c: 'd' } },
            payload: Buffer.from('p'),
          },
          { payload: Buffer.from('no header') },
        ],
      }),
    ).finish();
    const out = decodeBatch(Buffer.from(buf));
    expect(out[0]).toMatchObject({
      key: 'x',
      flag: 1,
      attributes: { a: 'b', c: 'd' },
      hasHeader: true,
    });
    expect(out[0]!.payload.toString()).toBe('p');
    expect(out[1]).toMatchObject({ key: '', flag: 0, hasHeader: false });
  });

  it('rejects truncated input', () => {
    const buf = encodeBatch(records);
    expect(() => decodeBatch(buf.subarray(0, buf.length - 3))).toThrow(/truncated/);
  });

  it('batchedRecordSize matches the real BatchedRecord encoding', () => {
    for (const [c, n, len] of [
      ['none', 1, 10],
      ['gzip', 100, 1000],
      ['zstd', 1000, 1_000_000],
    ] as const) {
      const enc = BatchedRecord.encode(
        BatchedRecord.fromObject({
          ...(c === 'none' ? {} : { compressionType: { gzip: 1, zstd: 2 }[c] }),
          batchSize: n,
          payload: Buffer.alloc(len),
        }),
      ).finish();
      expect(batchedRecordSize(c, n, len)).toBe(enc.length);
    }
  });
});

describe('compression framing (hstream-protocol.md §5)', () => {
  const plain = encodeBatch(records);

  it('gzip is one complete gzip member and round-trips', () => {
    const z = compress(plain, 'gzip');
    expect(isCompleteGzipMember(z)).toBe(true);
    expect(decompress(z, 'gzip').equals(plain)).toBe(true);
    expect(isCompleteGzipMember(deflateSync(plain))).toBe(false);
    expect(isCompleteGzipMember(gzipSync(plain).subarray(0, 40))).toBe(false);
  });

  it('zstd frames declare their content size (or zstd is reported unavailable)', () => {
    if (zstdAvailable()) {
      for (const input of [Buffer.alloc(0), Buffer.from('x'), plain, Buffer.alloc(900_000, 3)]) {
        const z = compress(input, 'zstd');
        expect(zstdFrameHasContentSize(z)).toBe(true);
        expect(decompress(z, 'zstd').equals(input)).toBe(true);
      }
    } else {
      expect(() => compress(plain, 'zstd')).toThrow(
        HStreamErrors.hstream_zstd_unavailable('x').constructor,
      );
    }
  });

  it('detects a zstd frame header without content size', () => {
    // magic, FHD = 0 (no single segment, FCS flag 0), window descriptor, an empty last block
    const noSize = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x48, 0x01, 0x00, 0x00]);
    expect(zstdFrameHasContentSize(noSize)).toBe(false);
    const withSize = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05]); // single segment, FCS 1 byte
    expect(zstdFrameHasContentSize(withSize)).toBe(true);
    expect(zstdFrameHasContentSize(Buffer.from('not zstd'))).toBe(false);
  });
});

describe('AppendResponse decoding', () => {
  it('counts ids and keeps uint64 values beyond 2^53 exact', () => {
    const shardId = '1801439850948198401'; // > 2^53 on purpose
    const batchId = '8589934593'; // epoch 2, seq 1
    const enc = AppendResponse.encode(
      AppendResponse.fromObject({
        streamName: 's',
        shardId,
        recordIds: Array.from({ length: 3 }, (_, i) => ({ shardId, batchId, batchIndex: i })),
      }),
    ).finish();
    expect(decodeAppendAck(Buffer.from(enc))).toEqual({
      streamName: 's',
      shardId,
      recordCount: 3,
      batchId,
    });
    expect(decodeAppendAck(Buffer.alloc(0))).toEqual({
      streamName: '',
      shardId: '0',
      recordCount: 0,
      batchId: '',
    });
  });
});
