import { describe, it, expect } from 'vitest';
import { murmur2, keyPartition } from './murmur2.js';

describe('murmur2 (Kafka Java client Utils.murmur2)', () => {
  // Vectors from Apache Kafka's UtilsTest.testMurmur2.
  const cases: [string | number[], number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    [[0x61, 0x62, 0x63], 479470107],
  ];
  it.each(cases)('murmur2(%j) = %i', (input, expected) => {
    const bytes = typeof input === 'string' ? Buffer.from(input) : Uint8Array.from(input);
    expect(murmur2(bytes)).toBe(expected);
  });

  it('maps keys into [0, n) like toPositive(h) % n', () => {
    expect(keyPartition(Buffer.from('21'), 7)).toBe((-973932308 & 0x7fffffff) % 7);
    for (let i = 0; i < 200; i++) {
      const p = keyPartition(Buffer.from(`key-${i}`), 3);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(3);
    }
  });
});
