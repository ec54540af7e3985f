/**
 * A per-message evaluation context (CONVENTIONS.md #3): the trigger's columns plus a lazy,
 * shared cache of the decoded JSON payload. The engine creates ONE per message with
 * `createMessageContext(columns)` and passes it to every rule's `evaluate`/`run`, so the payload
 * is decoded at most once per message however many rules read it, and only when some rule's
 * path reaches into it (spec rule-sql §5). `evaluate` also accepts a plain column map, in which
 * case a fresh context is made for that one evaluation.
 *
 * The decoded value is shared between rules: compiled rules never mutate it (output writes copy
 * on write), and consumers of rule outputs must treat nested values as read-only.
 */
import { decodePayloadJson } from './compile/json.js';
import type { Value, ValueMap } from '../core/index.js';
import { fault } from './errors.js';

const NOT_DECODED = 0;
const DECODED = 1;
const FAILED = 2;

export class MessageContext {
  private state = NOT_DECODED;
  private decoded: Value = undefined;
  private failure = '';

  constructor(readonly columns: Readonly<ValueMap>) {}

  /**
   * The payload column decoded as JSON (cached). Throws the internal `decode_json_failed` fault
   * when the payload is not valid JSON (every later call throws the same). A payload that is not
   * text/bytes (already structured) is returned as is; a missing payload is undefined.
   */
  decodedPayload(): Value {
    if (this.state === DECODED) return this.decoded;
    if (this.state === FAILED) return fault(this.failure, 'decode_json_failed');
    const raw = this.columns.payload;
    if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) {
      this.state = DECODED;
      this.decoded = raw;
      return raw;
    }
    try {
      this.decoded = decodePayloadJson(raw);
      this.state = DECODED;
      return this.decoded;
    } catch (e) {
      this.state = FAILED;
      this.failure = `payload is not valid JSON (${(e as Error).message})`;
      return fault(this.failure, 'decode_json_failed');
    }
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

export function toMessageContext(input: EvaluationInput): MessageContext {
  return input instanceof MessageContext ? input : new MessageContext(input as Readonly<ValueMap>);
}
