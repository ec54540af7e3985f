/**
 * The mutable state of ONE evaluation of one rule on one message. It doubles as the
 * `CallContext` handed to functions (so calls allocate nothing): `columns`, `clause` and
 * `services` are the contract fields; the rest are the scope layers of plan/types.ts `Layer`.
 */
import type { Value, ValueMap } from '../../core/index.js';
import type { CallContext, Clause, FunctionServices } from '../functions/registry.js';
import { MessageContext } from '../message-context.js';

/**
 * Extends `MessageContext` so that evaluating a plain column map needs no second object: the
 * state is then its own payload cache; with a shared context (`shared`) it delegates to it.
 */
export class EvalState extends MessageContext implements CallContext {
  clause: Clause = 'select';
  /** Alias overlay of the current list, or (in WHERE) the output built by SELECT/FOREACH. */
  ov: ValueMap | null = null;
  /** Name the FOREACH element is bound to (alias or `item`). */
  elementName = 'item';
  /** The current FOREACH element while evaluating INCASE/DO (the `item` layer). */
  element: Value = undefined;
  /** The FOREACH output while evaluating INCASE/DO. */
  sel: ValueMap | null = null;
  /** Value of the last field item of the list just run (the FOREACH collection). */
  last: Value = undefined;

  constructor(
    columns: Readonly<ValueMap>,
    readonly services: FunctionServices,
    private readonly shared: MessageContext | null,
  ) {
    super(columns);
  }

  /** The decoded payload column, parsed at most once per message (maybe not yet exact). */
  payloadDocument(): Value {
    return this.shared === null ? this.decodedPayload() : this.shared.decodedPayload();
  }

  /** See `MessageContext.ensureExactPayload`: true when values must be read again. */
  settlePayload(): boolean {
    return this.shared === null ? this.ensureExactPayload() : this.shared.ensureExactPayload();
  }

  /** The decoded payload column, exact. */
  exactPayloadDocument(): Value {
    return this.shared === null ? this.exactPayload() : this.shared.exactPayload();
  }
}

/** A fresh evaluation state for a column map or a shared message context. */
export function createEvalState(
  input: Readonly<ValueMap> | MessageContext,
  services: FunctionServices,
): EvalState {
  return input instanceof MessageContext
    ? new EvalState(input.columns, services, input)
    : new EvalState(input as Readonly<ValueMap>, services, null);
}

export type Eval = (st: EvalState) => Value;
