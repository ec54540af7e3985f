/**
 * A per-message evaluation context (CONVENTIONS.md #3): the trigger's columns plus a lazy,
 * shared cache of the decoded JSON payload. The engine creates ONE per message with
 * `createMessageContext(columns)` and passes it to every rule's `evaluate`/`run`, so the payload
 * is parsed at most once per message however many rules read it, and only when some rule's
 * path reaches into it (spec rule-sql §5). `evaluate` also accepts a plain column map, in which
 * case the evaluation keeps its own cache.
 *
 * Exactness is settled lazily. `JSON.parse` alone loses two distinctions of the value model:
 * integral floats (`2.0` must stay a float, `EFloat`) and integers beyond 2^53 (`bigint`). Both
 * can only show up as integer-valued numbers, so the first parse is a plain one, and the
 * compiled rule calls `ensureExactPayload()` only when a read yields an integer or a
 * container: then the payload bytes are scanned once and, if they contain such numbers,
 * re-decoded exactly (the cache is replaced and the reader reads again). Reads of strings,
 * booleans and non-integral numbers — most sensor fields — never pay for the scan.
 *
 * A payload nested deeper than JSON_MAX_DEPTH (1000) is refused before `JSON.parse` by a linear
 * bracket scan (core/values.ts; only payloads with over 1000 brackets are scanned) and fails
 * like invalid JSON (`decode_json_failed`), so no rule walks a 100,000-deep value.
 *
 * The decoded value is shared between rules: compiled rules never mutate it (output writes copy
 * on write), and consumers of rule outputs must treat nested values as read-only.
 */
import { JsonTooDeepError, decodeJson, parseJsonCapped } from '../core/index.js';
import type { Value, ValueMap } from '../core/index.js';
import { needsExactDecode } from './compile/json.js';
import { fault } from './errors.js';

const NOT_DECODED = 0;
const DECODED = 1;
const FAILED = 2;

export class MessageContext {
  private state = NOT_DECODED;
  private exact = false;
  private decoded: Value = undefined;
  private failure = '';

  constructor(readonly columns: Readonly<ValueMap>) {}

  /**
   * The payload column decoded as JSON (cached; possibly not yet exact, see the module comment).
   * Throws the internal `decode_json_failed` fault when the payload is not valid JSON (every
   * later call throws the same). A payload that is not text/bytes (already structured) is
   * returned as is; a missing payload is undefined.
   */
  decodedPayload(): Value {
    if (this.state === DECODED) return this.decoded;
    if (this.state === FAILED) return fault(this.failure, 'decode_json_failed');
    const raw = this.columns.payload;
    try {
      if (Buffer.isBuffer(raw)) {
        this.decoded = parseJsonCapped(raw) as Value;
      } else if (typeof raw === 'string') {
        this.decoded = decodeJson(raw);
        this.exact = true;
      } else {
        this.decoded = raw;
        this.exact = true;
      }
      this.state = DECODED;
      return this.decoded;
    } catch (e) {
      this.state = FAILED;
      this.failure =
        e instanceof JsonTooDeepError
          ? `payload is treated as not JSON: ${e.message} (a stack-safety limit)`
          : `payload is not valid JSON (${(e as Error).message})`;
      return fault(this.failure, 'decode_json_failed');
    }
  }

  /**
   * Make the cached payload exact (integral floats as `EFloat`, big integers as `bigint`).
   * Returns true when the cached document was replaced — values read from the old one must be
   * read again. Call only after `decodedPayload()` succeeded.
   */
  ensureExactPayload(): boolean {
    if (this.exact || this.state !== DECODED) return false;
    this.exact = true;
    const raw = this.columns.payload;
    if (!Buffer.isBuffer(raw) || !needsExactDecode(raw)) return false;
    this.decoded = decodeJson(raw);
    return true;
  }

  /** The decoded payload, exact. */
  exactPayload(): Value {
    this.decodedPayload();
    this.ensureExactPayload();
    return this.decoded;
  }

  /** True once the payload was decoded successfully (for tests and metrics). */
  get payloadDecoded(): boolean {
    return this.state === DECODED;
  }
}

export function createMessageContext(columns: Readonly<ValueMap>): MessageContext {
  return new MessageContext(columns);
}

/** What `evaluate`/`run` accept: a column map or a shared per-message context. */
export type EvaluationInput = Readonly<ValueMap> | MessageContext;
