/**
 * Evaluating a rule whose functions wait (jq) without blocking the event loop (issue #19: "the
 * main thread never blocks waiting for jq").
 *
 * The compiled closures are synchronous, so a rule that calls `jq()` is run in *passes*
 * (record and replay). In a pass, a `jq()` call whose result is not yet known records what it
 * needs (`session.pending`) and throws `EvalSuspended`; the pass's outcome is discarded, the
 * caller runs the program in the jq worker without waiting for it (`services.jqAsync`), stores
 * the result in `session.memo` and runs the next pass, in which that call answers from the
 * memo. Evaluation is deterministic given the same inputs, so every pass retraces the previous
 * one up to the suspension point — except for functions with effects or changing answers
 * (`now_timestamp`, `random`, `uuid_v4`, `kv_store_*`, `proc_dict_*`: `FunctionDef.effects`).
 * Their calls are recorded in pass order (`session.log`) and replayed by later passes, so a
 * `kv_store_put` runs once and `now_timestamp()` reads the same in every pass.
 *
 * A rule with n jq calls on one message takes n + 1 passes; each pass is a normal budgeted
 * evaluation (guard.ts). Only the final pass counts in the rule's metrics.
 */
import type { Value } from '../core/index.js';

/** Thrown by a waiting function in a pass that must wait for its answer. */
export class EvalSuspended extends Error {
  override readonly name = 'EvalSuspended';
  constructor() {
    super('evaluation suspended: waiting for jq or a schema fetch');
  }
}

/** The answer of one jq run: outputs (JSON texts) or jq's error message. */
export type JqAnswer = { readonly outputs: readonly string[] } | { readonly error: string };

export interface JqRequest {
  readonly key: string;
  readonly program: string;
  readonly input: string;
  readonly timeoutMs: number;
}

type Logged =
  { readonly ok: true; readonly v: Value } | { readonly ok: false; readonly e: unknown };

/**
 * What a pass waits for besides jq: an external schema fetch (`avro_decode` on a cache miss,
 * decision 0014). `ready` settles when the fetch ended; the next pass finds the schema (or the
 * remembered failure) in the registry's cache.
 */
export interface WaitRequest {
  readonly ready: Promise<void>;
}

/** The state of one message's evaluation across its passes. */
export class EvalSession {
  /** jq answers by request key (program, input, timeout). */
  readonly memo = new Map<string, JqAnswer>();
  /** Results of effectful calls, in call order. */
  private readonly log: Logged[] = [];
  private cursor = 0;
  /** What the last pass waits for (set by `jq()`, `avro_decode`), or undefined when it completed. */
  pending: JqRequest | WaitRequest | undefined;
  /** Times this message waited for a fetch (pass-lane.ts bounds it). */
  waits = 0;

  /** Start a pass: effectful calls replay from the first. */
  beginPass(): void {
    this.cursor = 0;
    this.pending = undefined;
  }

  /** Run an effectful call once per message: later passes get the recorded result. */
  replay(call: () => Value): Value {
    const i = this.cursor++;
    const seen = this.log[i];
    if (seen !== undefined) {
      if (seen.ok) return seen.v;
      throw seen.e;
    }
    try {
      const v = call();
      this.log.push({ ok: true, v });
      return v;
    } catch (e) {
      // A call that suspended the pass has no result yet: the next pass makes it again.
      if (e instanceof EvalSuspended) throw e;
      this.log.push({ ok: false, e });
      throw e;
    }
  }
}

/** Where functions find the session of the pass in progress (one per engine's services). */
export interface SessionSlot {
  current: EvalSession | undefined;
}

/** What the runtime needs to evaluate a rule in passes (a compiled rule's `passes`). */
export interface RulePasses {
  readonly slot: SessionSlot;
  jq(program: string, inputJson: string, timeoutMs: number): Promise<string[]>;
}
