/**
 * The function registry: name → implementation + arity/type spec (CONVENTIONS.md #3, issue #3).
 *
 * Calling convention
 * ------------------
 * - Rule SQL names are case-sensitive and lower-case (spec §8). The compiler resolves a call
 *   ONCE at rule creation: unknown name → diagnostic `sql_function_not_supported`; argument
 *   count outside `arity` → diagnostic `sql_function_arity`. The hot path never looks a
 *   function up by name.
 * - At run time the compiled call site evaluates the argument expressions left to right and
 *   calls `impl(args, ctx)`. An implementation signals a bad argument by throwing `BadArg`
 *   (via `badArg()`); the call site turns that into a `RuleEvaluationError` with code
 *   `bad_sql_function_argument` naming the function and the argument values.
 * - `specialize` lets a function do work once at compile time when some arguments are
 *   literals (compile a regex, parse a date format). It receives the literal values (or
 *   `NOT_CONSTANT`) and may return a faster impl for that call site, or throw `BadArg` to
 *   reject the call at rule creation.
 * - `pure` functions with all-literal arguments may be constant-folded by the compiler.
 */
import type { SessionSlot } from '../async-eval.js';
import type { SchemaRegistryPort, Value, ValueMap } from '../../core/index.js';
import type { ParseLimits } from '../../sql-parser/index.js';
import type { PcreRegex } from './regex.js';

/** Services a function may need; injected per engine (no module-level state). */
export interface FunctionServices {
  /** Wall clock in ms. */
  now(): number;
  /** Node-global key/value table for `kv_store_*`. */
  readonly kvStore: Map<string, Value>;
  /** Environment lookup (`getenv` reads only `EMQXVAR_`-prefixed names through this). */
  getenv(name: string): string | undefined;
  /** Node name for context columns. */
  readonly node: string;
  /**
   * Offset of the server's local time zone from UTC in seconds at `epochMs` (`now_rfc3339`,
   * `unix_ts_to_rfc3339`, offset `'local'`). Optional (added for issue #3); when absent the
   * process time zone is used.
   */
  localOffsetSeconds?(epochMs: number): number;
  /**
   * Per-client state for `proc_dict_*` (EMQX keeps it in the connection process). Optional
   * (added for issue #3); when absent those functions fail with a clear error.
   */
  procDict?(clientid: string): Map<string, Value>;
  /**
   * Runs a jq program for `jq()`: returns each output as JSON text, throws `Error` with jq's
   * message (or a timeout) otherwise. Optional (added for issue #3); when absent `jq()` fails
   * with a clear error. `budgeted`: `timeoutMs` is what is left of a rule budget (the runner
   * then does not wait for a restarting worker).
   */
  jq?(program: string, inputJson: string, timeoutMs: number, budgeted?: boolean): string[];
  /**
   * Start the jq worker ahead of the first `jq()` call (the compiler calls it when a rule that
   * calls jq is created with shared services). Optional (added for issue #19).
   */
  jqWarm?(): void;
  /**
   * Runs a jq program without blocking the caller (a worker thread of its own; the timeout
   * terminates it). Rules that call jq are evaluated in passes through it (async-eval.ts).
   * Optional (added for issue #19); absent = `jq` blocks the evaluation (bounded by budget).
   */
  jqAsync?(program: string, inputJson: string, timeoutMs: number): Promise<string[]>;
  /** The evaluation session of the pass in progress (async-eval.ts); set around a pass. */
  readonly session?: SessionSlot;
  /**
   * The running evaluation's deadline on the `performance.now()` clock (the rule budget,
   * guard.ts), or Infinity. Functions that wait (jq) never wait past it. Optional.
   */
  deadline?(): number;
  /**
   * Compiles a regex pattern that reaches `regex_*` at run time (not a literal), through a
   * bounded cache (`createRegexCache`); throws BadArg for an invalid or unsupported pattern.
   * Optional (added for issue #19); when absent each call compiles its pattern.
   */
  regex?(pattern: string): PcreRegex;
  /**
   * Size limits for rule SQL compiled with these services (`rule_limits.max_sql_bytes` /
   * `max_sql_tokens`; the engine's services carry its configuration). Not a function service
   * strictly, but the services are the per-engine context every compile receives. Optional
   * (added for issue #19); absent = the parser's defaults.
   */
  readonly sqlLimits?: ParseLimits;
  /**
   * The engine's schema registry for `schema_decode`, `spb_decode`, `avro_decode`, … (issue
   * #16; src/schema-registry implements the core port). Optional; when absent those functions
   * fail with a clear error.
   */
  readonly schemas?: SchemaRegistryPort;
  /**
   * Release what the services hold (the jq worker thread). Optional (added for issue #3); the
   * engine calls it once on shutdown. Calling functions afterwards may start resources anew.
   */
  close?(): Promise<void>;
}

/** Which clause a call is evaluated in: context functions answer only in SELECT/DO (§8.1). */
export type Clause = 'select' | 'where' | 'foreach' | 'do' | 'incase';

export interface CallContext {
  /** The trigger's columns (the EMQX context map). */
  readonly columns: Readonly<ValueMap>;
  readonly clause: Clause;
  readonly services: FunctionServices;
}

export type FunctionImpl = (args: readonly Value[], ctx: CallContext) => Value;

/** Marker for a non-literal argument passed to `specialize`. */
export const NOT_CONSTANT: unique symbol = Symbol('not-constant');
export type MaybeConstant = Value | typeof NOT_CONSTANT;

export interface FunctionDef {
  readonly name: string;
  /** Docs grouping, e.g. `string`, `math`, `date`. */
  readonly family: string;
  /** Inclusive bounds; `max: Infinity` for variadic functions. */
  readonly arity: { readonly min: number; readonly max: number };
  /** Signature text for docs/diagnostics, e.g. `substr(String, Start[, Length])`. */
  readonly signature: string;
  readonly description: string;
  /** Examples for docs (and checked by a test): a call and its expected output as JSON text. */
  readonly examples?: readonly { readonly sql: string; readonly result: string }[];
  readonly impl: FunctionImpl;
  readonly specialize?: (args: readonly MaybeConstant[]) => FunctionImpl | undefined;
  readonly pure?: boolean;
  /**
   * The call has effects or a changing answer (clock, randomness, kv store): in a rule that is
   * evaluated in passes (async-eval.ts) it runs once per message and later passes replay it.
   */
  readonly effects?: boolean;
}

/** Thrown by implementations for a wrong argument (type, range, format). */
export class BadArg extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'BadArg';
  }
}

export function badArg(reason = 'bad argument'): never {
  throw new BadArg(reason);
}

export interface FunctionRegistry {
  get(name: string): FunctionDef | undefined;
  list(): readonly FunctionDef[];
}

export function createFunctionRegistry(defs: readonly FunctionDef[]): FunctionRegistry {
  const byName = new Map<string, FunctionDef>();
  for (const def of defs) {
    if (byName.has(def.name)) throw new Error(`duplicate function definition: ${def.name}`);
    byName.set(def.name, def);
  }
  const sorted = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  return { get: (name) => byName.get(name), list: () => sorted };
}
