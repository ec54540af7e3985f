/**
 * MIT keytab files (format version 0x0502, the only one MIT writes): just enough parsing to
 * list the principals in a keytab (clear "no key for principal" errors before any KDC round
 * trip) and to merge several keytabs into one (spec kafka-gssapi.md §3.3: with a DIR: ccache
 * collection and a merged client keytab, MIT obtains and refreshes tickets for several
 * principals in one process without kinit).
 *
 * Layout: 2-byte version, then entries, each a signed int32 size followed by that many bytes
 * (negative size = a hole of |size| bytes). Entry: int16 component count, counted realm,
 * counted components, int32 name type, int32 timestamp, int8 kvno, keyblock, [int32 kvno].
 */
export interface KeytabEntry {
  principal: string;
  kvno: number;
  enctype: number;
  /** The raw entry including its 4-byte size prefix (for merging). */
  raw: Buffer;
}

export class KeytabFormatError extends Error {}

export function parseKeytab(buf: Buffer): KeytabEntry[] {
  if (buf.length < 2 || buf[0] !== 0x05 || buf[1] !== 0x02) {
    throw new KeytabFormatError('not an MIT keytab (version 0x0502 expected)');
  }
  const entries: KeytabEntry[] = [];
  let off = 2;
  while (off + 4 <= buf.length) {
    const size = buf.readInt32BE(off);
    if (size === 0) break;
    if (size < 0) {
      off += 4 - size;
      continue;
    }
    const end = off + 4 + size;
    if (end > buf.length) throw new KeytabFormatError('truncated keytab entry');
    let p = off + 4;
    const count = buf.readUInt16BE(p);
    p += 2;
    const str = (): string => {
      const len = buf.readUInt16BE(p);
      const s = buf.toString('utf8', p + 2, p + 2 + len);
      p += 2 + len;
      return s;
    };
    const realm = str();
    const comps: string[] = [];
    for (let i = 0; i < count; i++) comps.push(str());
    p += 4 + 4; // name type, timestamp
    let kvno = buf.readUInt8(p);
    p += 1;
    const enctype = buf.readUInt16BE(p);
    p += 2;
    const keyLen = buf.readUInt16BE(p);
    p += 2 + keyLen;
    if (p + 4 <= end) {
      const kvno32 = buf.readUInt32BE(p);
      if (kvno32 !== 0) kvno = kvno32;
    }
    entries.push({
      principal: `${comps.join('/')}@${realm}`,
      kvno,
      enctype,
      raw: buf.subarray(off, end),
    });
    off = end;
  }
  return entries;
}

/** One keytab containing every entry of `keytabs` (in order). */
export function mergeKeytabs(keytabs: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x05, 0x02])];
  for (const kt of keytabs) for (const e of parseKeytab(kt)) parts.push(e.raw);
  return Buffer.concat(parts);
}
