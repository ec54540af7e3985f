import { describe, it, expect } from 'vitest';
import { parseKeytab, mergeKeytabs, KeytabFormatError } from './keytab.js';

/** One keytab entry in MIT format 0x0502 (with the trailing 32-bit kvno). */
function entry(principal: string, kvno: number, enctype = 18): Buffer {
  const [name, realm] = principal.split('@') as [string, string];
  const comps = name.split('/');
  const str = (s: string) => {
    const b = Buffer.from(s);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const body = Buffer.concat([
    u16(comps.length),
    str(realm),
    ...comps.map(str),
    u32(1), // KRB5_NT_PRINCIPAL
    u32(1_700_000_000),
    Buffer.from([kvno & 0xff]),
    u16(enctype),
    u16(32),
    Buffer.alloc(32, 7),
    u32(kvno),
  ]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}
const keytab = (...entries: Buffer[]) => Buffer.concat([Buffer.from([5, 2]), ...entries]);

describe('MIT keytab parsing and merging', () => {
  it('lists principals, kvno and enctype; skips holes', () => {
    const hole = Buffer.alloc(4 + 10);
    hole.writeInt32BE(-10);
    const kt = keytab(entry('kafka/localhost@EX.TEST', 3), hole, entry('app@EX.TEST', 300, 17));
    expect(
      parseKeytab(kt).map(({ principal, kvno, enctype }) => ({ principal, kvno, enctype })),
    ).toEqual([
      { principal: 'kafka/localhost@EX.TEST', kvno: 3, enctype: 18 },
      { principal: 'app@EX.TEST', kvno: 300, enctype: 17 },
    ]);
  });

  it('merges several keytabs into one with every entry', () => {
    const merged = mergeKeytabs([
      keytab(entry('a@R', 1)),
      keytab(entry('b@R', 2), entry('b@R', 3)),
    ]);
    expect(parseKeytab(merged).map((e) => `${e.principal}#${e.kvno}`)).toEqual([
      'a@R#1',
      'b@R#2',
      'b@R#3',
    ]);
  });

  it('rejects files that are not keytabs or are truncated', () => {
    expect(() => parseKeytab(Buffer.from('hello'))).toThrow(KeytabFormatError);
    const kt = keytab(entry('a@R', 1));
    expect(() => parseKeytab(kt.subarray(0, kt.length - 5))).toThrow(/truncated/);
  });
});
