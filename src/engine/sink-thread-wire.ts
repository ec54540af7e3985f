/**
 * How records cross to a sink thread. `postMessage` clones with V8's serializer, which is
 * native and cheaper than any JS encoding, but it changes two kinds of value of the model:
 *
 *  - a Buffer is a view into a larger pooled or socket-chunk ArrayBuffer, and cloning a view
 *    copies the whole backing store (often 64 KiB for a 100-byte payload); it would also arrive
 *    as a plain Uint8Array. So a batch copies its Buffers into arenas (one ArrayBuffer per
 *    ARENA bytes, transferred, not copied) and sends views into them; every Uint8Array that
 *    arrives becomes a Buffer again (zero copy). The value model has no other Uint8Array.
 *    (A standalone copy per Buffer cost twice as much: one backing store per record.)
 *  - an EFloat (a float that prints as one, `2.0`) would lose its class; it travels as a
 *    one-element Float64Array, which the model has no other use for.
 *
 * A record is a tuple `[data, ruleId, ingestTs, context?]`, where `context` carries only the
 * event columns the sink's templates can read (see `contextFields`), or all of them (`'all'`:
 * a sink with fallback actions, whose records may come back for other sinks' templates).
 */
import { EFloat, compileTemplate } from '../core/index.js';
import type { SinkRecord, Value, ValueMap } from '../core/index.js';

export type WireRecord = [
  data: unknown,
  ruleId: string,
  ingestTs: number,
  context?: unknown,
  /** Delivery tracking: the main thread's id for the record's `ackToken` (see sink-thread.ts). */
  ackId?: number,
];

/** The `ackToken` a record carries inside a sink thread: the main thread's id for its own. */
export interface ThreadAckToken {
  readonly ackId: number;
}

/** Bytes per arena; a larger Buffer gets an ArrayBuffer of its own. */
const ARENA = 256 * 1024;

/** Records on their way to a sink thread, with the arenas their Buffers were copied into. */
export class WireBatch {
  readonly records: WireRecord[] = [];
  readonly arenas: ArrayBuffer[] = [];
  private arena: ArrayBuffer | undefined;
  private used = 0;

  constructor(private readonly fields: readonly string[] | null | 'all') {}

  get length(): number {
    return this.records.length;
  }

  add(r: SinkRecord, ackId?: number): void {
    const data = this.wire(r.data);
    const fields = this.fields;
    let ctx: unknown;
    if (fields === null || r.context === undefined) ctx = undefined;
    else if (fields === 'all') ctx = this.wire(r.context);
    else {
      const c: Record<string, unknown> = {};
      for (const f of fields) {
        const v = r.context[f];
        if (v !== undefined) c[f] = this.wire(v);
      }
      ctx = c;
    }
    if (ackId !== undefined) this.records.push([data, r.ruleId, r.ingestTs, ctx, ackId]);
    else if (ctx !== undefined) this.records.push([data, r.ruleId, r.ingestTs, ctx]);
    else this.records.push([data, r.ruleId, r.ingestTs]);
  }

  private bytes(b: Buffer): Uint8Array {
    const n = b.length;
    if (n > ARENA / 4) {
      const own = new ArrayBuffer(n);
      this.arenas.push(own);
      const view = new Uint8Array(own);
      view.set(b);
      return view;
    }
    if (this.arena === undefined || this.used + n > ARENA) {
      this.arena = new ArrayBuffer(ARENA);
      this.arenas.push(this.arena);
      this.used = 0;
    }
    const view = new Uint8Array(this.arena, this.used, n);
    view.set(b);
    this.used += n;
    return view;
  }

  private wire(v: Value): unknown {
    if (typeof v !== 'object' || v === null) return v;
    if (Buffer.isBuffer(v)) return this.bytes(v);
    if (v instanceof EFloat) return new Float64Array([v.value]);
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const e = v[i];
        const w = this.wire(e);
        if (w !== e) (out ??= v.slice())[i] = w;
      }
      return out ?? v;
    }
    let out: Record<string, unknown> | undefined;
    for (const k in v) {
      const e = (v as ValueMap)[k];
      const w = this.wire(e);
      if (w !== e) (out ??= { ...(v as ValueMap) })[k] = w;
    }
    return out ?? v;
  }
}

/** Restores a value in place (the clone belongs to the receiver) and returns it. */
function fromWire(v: unknown): Value {
  if (typeof v !== 'object' || v === null) return v as Value;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof Float64Array) return new EFloat(v[0]!);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = fromWire(v[i]);
    return v as Value[];
  }
  const m = v as Record<string, unknown>;
  for (const k in m) m[k] = fromWire(m[k]);
  return m as ValueMap;
}

/**
 * The event columns a sink's templates can reach: the first segment of every `${path}` in its
 * config's strings (templates look a path up in the rule output first, then in the event
 * columns). `null` = none are needed.
 */
export function contextFields(config: unknown): readonly string[] | null {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (!v.includes('${')) return;
      for (const p of compileTemplate(v).paths) if (p.length > 0) names.add(p[0]!);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(config);
  return names.size > 0 ? [...names] : null;
}

export function decodeRecord(w: WireRecord): SinkRecord {
  const data = fromWire(w[0]) as ValueMap;
  const r: SinkRecord =
    w[3] === undefined
      ? { data, ruleId: w[1], ingestTs: w[2] }
      : { data, ruleId: w[1], ingestTs: w[2], context: fromWire(w[3]) as ValueMap };
  if (w[4] !== undefined) r.ackToken = { ackId: w[4] } satisfies ThreadAckToken;
  return r;
}

/** The main thread's id of a record's acknowledgement, inside a sink thread. */
export function ackIdOf(r: SinkRecord): number | undefined {
  const t = r.ackToken as Partial<ThreadAckToken> | undefined;
  return typeof t?.ackId === 'number' ? t.ackId : undefined;
}
