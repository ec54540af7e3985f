/**
 * The rule-engine value model, shared by the runtime, the function library and every sink.
 *
 * EMQX (Erlang) distinguishes values that plain JavaScript conflates. We map them as follows:
 *
 * | EMQX value            | JavaScript value                                   |
 * |-----------------------|----------------------------------------------------|
 * | undefined (no value)  | `undefined`                                        |
 * | JSON null             | `null`                                             |
 * | true / false          | `boolean`                                          |
 * | integer               | `number` with `Number.isInteger(n)`, or `bigint` beyond 2^53 |
 * | float, non-integral   | `number`                                           |
 * | float, integral (2.0) | `EFloat` box (rare: produced by `/`, `float()`, JSON `2.0`) |
 * | binary / string       | `string` (UTF-8 text) or `Buffer` (raw bytes, e.g. `payload`) |
 * | map                   | plain object (`Record<string, Value>`)             |
 * | list                  | array                                              |
 *
 * The box exists so `6 / 3` prints as `2.0` and `is_float(2.0)` holds, exactly as in EMQX, while
 * the common case (integers and non-integral floats) stays an unboxed JS number on the hot path.
 * Use `num()` to read any numeric value and `mkFloat()` to produce a float result.
 */

/** An integral-valued float (e.g. `2.0`). Non-integral floats are plain numbers. */
export class EFloat {
  constructor(public readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

export type Value =
  | undefined
  | null
  | boolean
  | number
  | bigint
  | EFloat
  | string
  | Buffer
  | Value[]
  | { [key: string]: Value };

export type ValueMap = { [key: string]: Value };

/** Wrap a float result: integral values are boxed so they keep their float-ness. */
export function mkFloat(n: number): number | EFloat {
  return Number.isInteger(n) ? new EFloat(n) : n;
}

export function isNumber(v: unknown): v is number | EFloat | bigint {
  return typeof v === 'number' || v instanceof EFloat || typeof v === 'bigint';
}

/** True for integers (EMQX `is_integer`). */
export function isInt(v: unknown): v is number | bigint {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}

/** True for floats (EMQX `is_float`), including boxed integral floats. */
export function isFloat(v: unknown): v is number | EFloat {
  return (typeof v === 'number' && !Number.isInteger(v)) || v instanceof EFloat;
}

/** Numeric value of a number-like (caller has checked `isNumber`). */
export function num(v: number | EFloat | bigint): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v.value;
}

export function isString(v: unknown): v is string | Buffer {
  return typeof v === 'string' || Buffer.isBuffer(v);
}

export function isMap(v: unknown): v is ValueMap {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof EFloat) &&
    !Buffer.isBuffer(v)
  );
}

/** Text of a string-like value (Buffer decoded as UTF-8). */
export function text(v: string | Buffer): string {
  return typeof v === 'string' ? v : v.toString('utf8');
}

/**
 * EMQX float-to-text: `float_to_binary(F, [{decimals, 10}, compact])` — at most 10 decimals,
 * trailing zeros dropped but one decimal kept (`0.1`, `2.0`, `0.3333333333`).
 */
export function floatToText(f: number): string {
  if (!Number.isFinite(f)) return String(f);
  // toFixed switches to exponent form at |f| >= 1e21; such doubles are integral, and EMQX
  // prints them as plain digits.
  if (Math.abs(f) >= 1e21) return `${BigInt(f).toString()}.0`;
  let s = f.toFixed(10);
  s = s.replace(/0+$/, '');
  if (s.endsWith('.')) s += '0';
  if (s === '-0.0') return '-0.0';
  return s;
}

/** Text form of any value, as EMQX `str/1` and `+` concatenation produce it. */
export function toText(v: Value): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Number.isInteger(v) ? integerText(v) : floatToText(v);
    case 'bigint':
      return v.toString();
    default:
      if (v instanceof EFloat) return floatToText(v.value);
      if (Buffer.isBuffer(v)) return v.toString('utf8');
      return encodeJson(v);
  }
}

function integerText(n: number): string {
  // Plain digits, never exponent notation, for integers beyond 1e21.
  return Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
}

/**
 * JSON encoding of rule outputs (what sinks write and `json_encode` returns): compact, UTF-8
 * verbatim, undefined as `null`, integral floats with `.0`, Buffers as UTF-8 text.
 *
 * Most outputs hold only strings, finite-or-not numbers below 1e21, booleans, null, arrays and
 * plain maps without undefined values; for those the native `JSON.stringify` produces exactly the
 * same text at about 2.5× the speed, so a cheap scan picks it. Anything else takes the generic
 * encoder (`encodeJsonGeneric`); a property test keeps the two paths identical.
 */
export function encodeJson(v: Value): string {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    if (!(v instanceof EFloat) && !Buffer.isBuffer(v)) {
      const native = nativeMap(v as ValueMap);
      return native !== undefined ? JSON.stringify(native) : encodeJsonGeneric(v);
    }
  } else if (isNativeJsonSafe(v)) return JSON.stringify(v);
  return encodeJsonGeneric(v);
}

/**
 * A map that `JSON.stringify` renders exactly as the generic encoder does: the map itself when
 * every member is native-safe, or — the commonest record the native path would refuse, a map
 * holding the MQTT payload as a Buffer (`SELECT clientid, topic, payload ...`) — a copy with
 * each Buffer member replaced by its UTF-8 text, since the generic encoder writes a Buffer as
 * its text in a JSON string. One pass over the members, the copy made only at the first Buffer
 * (issue #10, the e2e bench's record: 1.4 µs generic; 1.17 µs with a separate check and copy,
 * 0.99 µs in one pass, CPU time). Any
 * other shape, and a `__proto__` key in a copy (a plain copy would take it for its prototype;
 * a null-prototype copy stringifies slower): undefined.
 */
function nativeMap(v: ValueMap): ValueMap | undefined {
  let out: ValueMap | undefined;
  for (const k in v) {
    const e = v[k];
    if (e !== undefined && isNativeJsonSafe(e, 1)) {
      if (out !== undefined) {
        if (k === '__proto__') return undefined;
        out[k] = e;
      }
    } else if (Buffer.isBuffer(e)) {
      if (out === undefined) {
        out = copyBefore(v, k);
        if (out === undefined) return undefined;
      }
      if (k === '__proto__') return undefined;
      out[k] = e.toString('utf8');
    } else return undefined;
  }
  return out ?? v;
}

/** The members of `v` before key `stop` (in `for…in` order), or undefined for a `__proto__` key. */
function copyBefore(v: ValueMap, stop: string): ValueMap | undefined {
  const out: ValueMap = {};
  for (const k in v) {
    if (k === stop) break;
    if (k === '__proto__') return undefined;
    out[k] = v[k];
  }
  return out;
}

/** True when `JSON.stringify(v)` equals `encodeJsonGeneric(v)` (see encodeJson). */
function isNativeJsonSafe(v: Value, depth = 0): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      // Integers from 1e21 up print in exponent form natively; the generic path prints digits.
      return !(Math.abs(v) >= 1e21 && Number.isFinite(v));
    case 'object': {
      if (v === null) return true;
      // Too deep: the generic path says so clearly (JSON.stringify would overflow the stack).
      if (depth >= VALUE_MAX_DEPTH) return false;
      if (Array.isArray(v)) {
        // An undefined element becomes null on both paths.
        for (let i = 0; i < v.length; i++) {
          const e = v[i];
          if (e !== undefined && !isNativeJsonSafe(e, depth + 1)) return false;
        }
        return true;
      }
      if (v instanceof EFloat || Buffer.isBuffer(v)) return false;
      for (const k in v) {
        const e = (v as ValueMap)[k];
        // JSON.stringify would drop an undefined member; EMQX (and the generic path) emit null.
        if (e === undefined || !isNativeJsonSafe(e, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false; // undefined at top level, bigint
  }
}

/** The generic encoder behind `encodeJson`, for every value of the model. */
export function encodeJsonGeneric(v: Value, depth = 0): string {
  if (v === undefined || v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) return 'null';
      return Number.isInteger(v) ? integerText(v) : String(v);
    case 'bigint':
      return v.toString();
    default:
      break;
  }
  if (v instanceof EFloat) return Number.isFinite(v.value) ? floatJson(v.value) : 'null';
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('utf8'));
  if (depth >= VALUE_MAX_DEPTH) tooDeep('json_encode');
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ',';
      out += encodeJsonGeneric(v[i], depth + 1);
    }
    return out + ']';
  }
  let out = '{';
  let first = true;
  for (const key in v) {
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(key) + ':' + encodeJsonGeneric((v as ValueMap)[key], depth + 1);
  }
  return out + '}';
}

function floatJson(f: number): string {
  const s = String(f);
  return /[.eE]/.test(s) ? s : s + '.0';
}

// A number literal whose text marks it as a float although its value is integral (`2.0`, `1e3`),
// or an integer too large for a double. Only payloads containing one need the slow decode path.
const FLOATISH_OR_BIG = /\d\.\d*[eE]|\d\.0+(?![0-9])|\d[eE][+-]?\d|\d{16,}/;

/**
 * Deepest nesting of arrays/objects `decodeJson` accepts (issue #19). Jackson's default
 * (`StreamReadConstraints.maxNestingDepth`) too; serde_json stops at 128, Go's encoding/json at
 * 10,000. EMQX's jiffy decodes iteratively with no limit, but nothing a device sends nests this
 * deep, and every recursive helper on decoded values (encodeJson, cloneValue, comparisons, the
 * term codec) is then safe: a 100,000-deep payload is not JSON to Sluice rather than a stack
 * overflow or a 16 ms parse.
 */
export const JSON_MAX_DEPTH = 1000;

/**
 * Deepest value the recursive helpers below (`encodeJson`, `cloneValue`, `exactEquals`,
 * `compareTerms`) walk; past it they throw a `RangeError` with a clear message instead of
 * exhausting the stack. Twice JSON_MAX_DEPTH, so a decoded payload wrapped by a rule fits, and
 * low enough that even unoptimised frames (~300 B each) stay well inside the default stack.
 */
export const VALUE_MAX_DEPTH = 2000;

function tooDeep(what: string): never {
  throw new RangeError(`${what}: value nested deeper than ${VALUE_MAX_DEPTH} levels`);
}

/** Thrown by `decodeJson` (a `SyntaxError`, as for invalid JSON) for text nested too deep. */
export class JsonTooDeepError extends SyntaxError {
  constructor(max: number) {
    super(`JSON nested deeper than ${max} levels`);
    this.name = 'JsonTooDeepError';
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_SQ = 0x5b;
const OPEN_CURLY = 0x7b;
const CLOSE_SQ = 0x5d;
const CLOSE_CURLY = 0x7d;

/** At least `n` opening brackets in `s`? (native `indexOf`: cheap; a lower bound of the depth) */
function hasOpenings(s: string | Buffer, n: number): boolean {
  let count = 0;
  for (const b of typeof s === 'string' ? ['[', '{'] : [OPEN_SQ, OPEN_CURLY]) {
    let i = -1;
    while ((i = (s as string).indexOf(b as string, i + 1)) !== -1) if (++count >= n) return true;
  }
  return false;
}

/**
 * True when JSON text (or its UTF-8 bytes) nests arrays/objects deeper than `max`, brackets
 * inside strings not counted. Linear and allocation-free; text that cannot be that deep (fewer
 * than `max + 1` opening brackets in all) is not scanned. Invalid JSON is judged by its brackets
 * only (JSON.parse rejects it anyway).
 */
export function jsonDepthExceeds(s: string | Buffer, max: number = JSON_MAX_DEPTH): boolean {
  if (s.length <= max || !hasOpenings(s, max + 1)) return false;
  return typeof s === 'string' ? textTooDeep(s, max) : bytesTooDeep(s, max);
}

// Two copies of one loop so that each stays monomorphic (a shared accessor was 2.5× slower).
function textTooDeep(s: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0, n = s.length; i < n; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_SQ || c === OPEN_CURLY) {
      if (++depth > max) return true;
    } else if (c === CLOSE_SQ || c === CLOSE_CURLY) depth--;
  }
  return false;
}

function bytesTooDeep(s: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0, n = s.length; i < n; i++) {
    const c = s[i] as number;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_SQ || c === OPEN_CURLY) {
      if (++depth > max) return true;
    } else if (c === CLOSE_SQ || c === CLOSE_CURLY) depth--;
  }
  return false;
}

/**
 * `JSON.parse` for the value model's fast path, refusing text nested deeper than
 * JSON_MAX_DEPTH (`JsonTooDeepError`). For callers that decode bytes themselves.
 */
export function parseJsonCapped(textOrBytes: string | Buffer): unknown {
  if (jsonDepthExceeds(textOrBytes)) throw new JsonTooDeepError(JSON_MAX_DEPTH);
  return JSON.parse(typeof textOrBytes === 'string' ? textOrBytes : textOrBytes.toString('utf8'));
}

/**
 * Decode JSON text into the value model. JSON `null` stays `null`; `2.0` becomes an `EFloat`;
 * integers beyond 2^53 become `bigint`. Throws `SyntaxError` on invalid JSON, and
 * `JsonTooDeepError` (a SyntaxError) for JSON nested deeper than JSON_MAX_DEPTH (callers map
 * both to `decode_json_failed`).
 */
export function decodeJson(textOrBytes: string | Buffer): Value {
  if (jsonDepthExceeds(textOrBytes)) throw new JsonTooDeepError(JSON_MAX_DEPTH);
  const s = typeof textOrBytes === 'string' ? textOrBytes : textOrBytes.toString('utf8');
  if (!FLOATISH_OR_BIG.test(s)) return JSON.parse(s) as Value;
  return JSON.parse(s, reviveNumber) as Value;
}

function reviveNumber(
  this: unknown,
  _key: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  if (typeof value !== 'number' || context?.source === undefined) return value;
  const src = context.source;
  if (/[.eE]/.test(src)) return Number.isInteger(value) ? new EFloat(value) : value;
  if (!Number.isSafeInteger(value)) return BigInt(src);
  return value;
}

/**
 * Exact term equality (Erlang `=:=`): used by `IN`, simple `CASE`, `contains`. No coercion;
 * `1` and `1.0` differ; strings and Buffers with the same bytes are equal; maps/lists structural.
 */
export function exactEquals(a: Value, b: Value, depth = 0): boolean {
  if (a === b) return true;
  if (isNumber(a) && isNumber(b)) {
    return isFloat(a) === isFloat(b) && num(a) === num(b);
  }
  if (isString(a) && isString(b)) return text(a) === text(b);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    if (depth >= VALUE_MAX_DEPTH) tooDeep('comparison');
    for (let i = 0; i < a.length; i++) if (!exactEquals(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    if (depth >= VALUE_MAX_DEPTH) tooDeep('comparison');
    for (const k of ka) {
      if (!(k in b) || !exactEquals(a[k], b[k], depth + 1)) return false;
    }
    return true;
  }
  return false;
}

/** Kind order of Erlang term comparison as the rule engine exposes it (spec §6.3 rule 5). */
function kindRank(v: Value): number {
  if (isNumber(v)) return 0;
  if (typeof v === 'boolean' || v === null || v === undefined) return 1;
  if (isString(v)) return 4;
  if (Array.isArray(v)) return 3;
  return 2; // map
}

/**
 * Erlang-style term ordering with numeric-aware equality (`1 == 1.0`). Returns <0, 0, >0.
 * Strings compare byte-wise (UTF-8), maps and lists structurally.
 */
export function compareTerms(a: Value, b: Value, depth = 0): number {
  if (isNumber(a) && isNumber(b)) {
    if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
    const x = num(a);
    const y = num(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const ra = kindRank(a);
  const rb = kindRank(b);
  if (ra !== rb) return ra - rb;
  if (isString(a) && isString(b)) {
    return Buffer.compare(
      typeof a === 'string' ? Buffer.from(a, 'utf8') : a,
      typeof b === 'string' ? Buffer.from(b, 'utf8') : b,
    );
  }
  if (ra === 1) return atomText(a).localeCompare(atomText(b));
  if (depth >= VALUE_MAX_DEPTH) tooDeep('comparison');
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = compareTerms(a[i], b[i], depth + 1);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    if (ka.length !== kb.length) return ka.length - kb.length;
    for (let i = 0; i < ka.length; i++) {
      const c = (ka[i] as string).localeCompare(kb[i] as string);
      if (c !== 0) return c;
    }
    for (const k of ka) {
      const c = compareTerms(a[k], b[k], depth + 1);
      if (c !== 0) return c;
    }
  }
  return 0;
}

function atomText(v: Value): string {
  return v === undefined ? 'undefined' : v === null ? 'null' : String(v);
}

/**
 * Set `key` on a map as an own data property, even `__proto__` (a plain assignment would set
 * the object's prototype instead: data from a payload must never do that).
 */
export function setOwn(o: ValueMap, key: string, v: Value): void {
  if (key === '__proto__')
    Object.defineProperty(o, key, {
      value: v,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  else o[key] = v;
}

/** Deep-freeze-free structural clone for values (maps, lists); scalars returned as is. */
export function cloneValue(v: Value, depth = 0): Value {
  if (Array.isArray(v)) {
    if (depth >= VALUE_MAX_DEPTH) tooDeep('clone');
    return v.map((e) => cloneValue(e, depth + 1));
  }
  if (isMap(v)) {
    if (depth >= VALUE_MAX_DEPTH) tooDeep('clone');
    const out: ValueMap = {};
    for (const k in v) if (Object.hasOwn(v, k)) setOwn(out, k, cloneValue(v[k], depth + 1));
    return out;
  }
  return v;
}
