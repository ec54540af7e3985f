import { describe, expect, it } from 'vitest';
import { readRecord, Writer, writeRecord } from './record-codec.js';
import { HEADER_BYTES, readPayloadHead, scanSegment, sealFrame } from './segment.js';

function frame(seq: number, key = 'k', extra = ''): Buffer {
  const w = new Writer();
  w.reset(HEADER_BYTES);
  w.f64(seq);
  w.u32(7);
  w.str(key);
  writeRecord(w, { ruleId: 'r', ingestTs: 1000 + seq, data: { seq, extra } });
  sealFrame(w.buf, 0, w.pos);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

const seqs = (buf: Buffer): number[] =>
  scanSegment(buf).frames.map((f) => {
    const head = readPayloadHead(buf, f.pos, f.end);
    return readRecord(buf, head.recordAt, f.end).data['seq'] as number;
  });

describe('segment frames', () => {
  const frames = [0, 1, 2, 3, 4].map((i) => frame(i, `k${i % 2}`, 'x'.repeat(i * 10)));
  const whole = Buffer.concat(frames);
  const startOf = (i: number): number => frames.slice(0, i).reduce((n, f) => n + f.length, 0);

  it('reads back every frame of an intact segment with its head', () => {
    const scan = scanSegment(whole);
    expect(scan.damaged).toEqual([]);
    expect(seqs(whole)).toEqual([0, 1, 2, 3, 4]);
    const head = readPayloadHead(whole, scan.frames[3]!.pos, scan.frames[3]!.end);
    expect(head).toMatchObject({ seq: 3, size: 7, key: 'k1', ingestTs: 1003 });
  });

  it('a torn tail (a frame cut anywhere) loses only that frame, reported as the tail', () => {
    const last = startOf(4);
    for (const cut of [last + 1, last + 5, last + HEADER_BYTES, whole.length - 1]) {
      const torn = whole.subarray(0, cut);
      const scan = scanSegment(torn);
      expect(seqs(torn)).toEqual([0, 1, 2, 3]);
      expect(scan.damaged).toEqual([{ at: last, bytes: cut - last, tail: true }]);
    }
  });

  it('a flipped byte anywhere in a frame costs that frame only: the scan resyncs on the next', () => {
    const at = startOf(2);
    for (let off = 0; off < frames[2]!.length; off++) {
      const bad = Buffer.from(whole);
      bad[at + off] = (bad[at + off] as number) ^ 0x41;
      const scan = scanSegment(bad);
      expect(seqs(bad)).toEqual([0, 1, 3, 4]);
      expect(scan.damaged).toEqual([{ at, bytes: frames[2]!.length, tail: false }]);
    }
  });

  it('skips garbage between frames and a fake magic inside it', () => {
    const junk = Buffer.concat([
      Buffer.from('garbage SLF1 more garbage SLF1'),
      Buffer.alloc(40, 7),
    ]);
    const buf = Buffer.concat([frames[0]!, junk, frames[1]!, frames[2]!]);
    const scan = scanSegment(buf);
    expect(seqs(buf)).toEqual([0, 1, 2]);
    expect(scan.damaged).toEqual([{ at: frames[0]!.length, bytes: junk.length, tail: false }]);
  });

  it('a damaged length field does not swallow the frames after it', () => {
    const bad = Buffer.from(whole);
    bad.writeUInt32LE(0x7fffffff, startOf(1) + 8);
    expect(seqs(bad)).toEqual([0, 2, 3, 4]);
  });
});
