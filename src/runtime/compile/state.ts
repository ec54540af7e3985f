/**
 * The mutable state of ONE evaluation of one rule on one message. It doubles as the
 * `CallContext` handed to functions (so calls allocate nothing): `columns`, `clause` and
 * `services` are the contract fields; the rest are the scope layers of plan/types.ts `Layer`.
 */
import type { Value, ValueMap } from '../../core/index.js';
import type { CallContext, Clause, FunctionServices } from '../functions/registry.js';
import type { MessageContext } from '../message-context.js';

export class EvalState implements CallContext {
  clause: Clause = 'select';
  /** Alias overlay of the current list, or (in WHERE) the output built by SELECT/FOREACH. */
  ov: ValueMap | null = null;
  /** `{ <element name>: element }` while evaluating INCASE/DO. */
  item: ValueMap | null = null;
  /** The FOREACH output while evaluating INCASE/DO. */
  sel: ValueMap | null = null;

  constructor(
    readonly mc: MessageContext,
    readonly columns: Readonly<ValueMap>,
    readonly services: FunctionServices,
  ) {}
}

export type Eval = (st: EvalState) => Value;
