/**
 * Binary encoding of a `SinkRecord` for the disk buffer. JSON cannot carry the value model
 * exactly (`Buffer` payloads, `bigint`, the `EFloat` box for integral floats, `undefined` in
 * lists — core/values.ts), so values are written tag-length-value:
 *
 *   tag u8 | 0 undefined | 1 null | 2 false | 3 true | 4 int32 (i32) | 5 number (f64)
 *          | 6 bigint (u32 length + decimal ASCII) | 7 EFloat (f64) | 8 string (u32 length + UTF-8)
 *          | 9 Buffer (u32 length + bytes) | 10 list (u32 count + values)
 *          | 11 map (u32 count + (u32 key length + UTF-8 key, value) pairs)
 *
 * A record is `ruleId` (string), `ingestTs` (f64), a flag (1 = has context), `data` (map) and
 * `context` (map). All integers are little-endian. A map value that is `undefined` is written
 * (tag 0) and read back as an own property holding `undefined`, so the record is reproduced
 * exactly. Decoding a damaged buffer throws a RangeError (the frame CRC normally catches damage
 * before that).
 */
import { EFloat } from '../../core/index.js';
import type { SinkRecord, Value, ValueMap } from '../../core/index.js';

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_INT32 = 4;
const T_F64 = 5;
const T_BIGINT = 6;
const T_EFLOAT = 7;
const T_STRING = 8;
const T_BUFFER = 9;
const T_LIST = 10;
const T_MAP = 11;

/** A growable byte writer, reused between records (one per disk buffer). */
export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initial = 4096) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  reset(at = 0): void {
    this.pos = at;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** u32 byte length, then the UTF-8 bytes. */
  str(s: string): void {
    this.ensure(4 + s.length * 3);
    const buf = this.buf;
    if (s.length <= 64) {
      // Short ASCII strings (keys, client ids, topics) byte by byte: Buffer#write costs more
      // than the copy at this size.
      const start = this.pos + 4;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === s.length) {
        buf[this.pos] = i;
        buf[this.pos + 1] = 0;
        buf[this.pos + 2] = 0;
        buf[this.pos + 3] = 0;
        this.pos = start + i;
        return;
      }
    }
    const n = buf.write(s, this.pos + 4, 'utf8');
    this.buf.writeUInt32LE(n, this.pos);
    this.pos += 4 + n;
  }

  bytes(b: Uint8Array): void {
    this.ensure(4 + b.length);
    this.buf.writeUInt32LE(b.length, this.pos);
    this.buf.set(b, this.pos + 4);
    this.pos += 4 + b.length;
  }
}

function writeValue(w: Writer, v: Value): void {
  switch (typeof v) {
    case 'undefined':
      w.u8(T_UNDEFINED);
      return;
    case 'boolean':
      w.u8(v ? T_TRUE : T_FALSE);
      return;
    case 'number':
      if ((v | 0) === v && !Object.is(v, -0)) {
        w.ensure(5);
        w.buf[w.pos] = T_INT32;
        w.buf.writeInt32LE(v, w.pos + 1);
        w.pos += 5;
      } else {
        w.u8(T_F64);
        w.f64(v);
      }
      return;
    case 'string':
      w.u8(T_STRING);
      w.str(v);
      return;
    case 'bigint':
      w.u8(T_BIGINT);
      w.str(v.toString());
      return;
    default:
      break;
  }
  if (v === null) {
    w.u8(T_NULL);
  } else if (v instanceof EFloat) {
    w.u8(T_EFLOAT);
    w.f64(v.value);
  } else if (Buffer.isBuffer(v)) {
    w.u8(T_BUFFER);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    w.u8(T_LIST);
    w.u32(v.length);
    for (let i = 0; i < v.length; i++) writeValue(w, v[i]);
  } else {
    writeMap(w, v);
  }
}

function writeMap(w: Writer, m: ValueMap): void {
  w.u8(T_MAP);
  const countAt = w.pos;
  w.u32(0);
  let n = 0;
  for (const k in m) {
    if (!Object.prototype.hasOwnProperty.call(m, k)) continue;
    w.str(k);
    writeValue(w, m[k]);
    n++;
  }
  w.buf.writeUInt32LE(n, countAt);
}

/** Append the encoding of `r` at the writer's position. */
export function writeRecord(w: Writer, r: SinkRecord): void {
  w.str(r.ruleId);
  w.f64(r.ingestTs);
  w.u8(r.context ? 1 : 0);
  writeMap(w, r.data);
  if (r.context) writeMap(w, r.context as ValueMap);
}

/** Reads values from `buf[pos, end)`; throws RangeError past `end`. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end: number,
  ) {}

  need(n: number): void {
    if (this.pos + n > this.end) throw new RangeError('record encoding truncated');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  str(): string {
    const n = this.u32();
    this.need(n);
    const buf = this.buf;
    if (n <= 64) {
      let s = '';
      let i = 0;
      for (; i < n; i++) {
        const c = buf[this.pos + i] as number;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === n) {
        this.pos += n;
        return s;
      }
    }
    const s = buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  value(): Value {
    const tag = this.u8();
    switch (tag) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_INT32: {
        this.need(4);
        const v = this.buf.readInt32LE(this.pos);
        this.pos += 4;
        return v;
      }
      case T_F64:
        return this.f64();
      case T_BIGINT:
        return BigInt(this.str());
      case T_EFLOAT:
        return new EFloat(this.f64());
      case T_STRING:
        return this.str();
      case T_BUFFER: {
        const n = this.u32();
        this.need(n);
        // A copy: the source buffer is a read scratch reused for the next frames.
        const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
        this.pos += n;
        return b;
      }
      case T_LIST: {
        const n = this.u32();
        if (n > this.end - this.pos) throw new RangeError('list length past the end');
        const out: Value[] = new Array<Value>(n);
        for (let i = 0; i < n; i++) out[i] = this.value();
        return out;
      }
      case T_MAP:
        return this.mapBody();
      default:
        throw new RangeError(`unknown value tag ${tag}`);
    }
  }

  map(): ValueMap {
    if (this.u8() !== T_MAP) throw new RangeError('expected a map');
    return this.mapBody();
  }

  private mapBody(): ValueMap {
    const n = this.u32();
    if (n > this.end - this.pos) throw new RangeError('map size past the end');
    const out: ValueMap = {};
    for (let i = 0; i < n; i++) {
      const k = this.str();
      out[k] = this.value();
    }
    return out;
  }
}

/** Decode a record written by `writeRecord` from `buf[start, end)`. */
export function readRecord(buf: Buffer, start: number, end: number): SinkRecord {
  const r = new Reader(buf, start, end);
  const ruleId = r.str();
  const ingestTs = r.f64();
  const hasContext = r.u8() === 1;
  const data = r.map();
  if (!hasContext) return { data, ruleId, ingestTs };
  return { data, ruleId, ingestTs, context: r.map() };
}
