/**
 * Error codes of the rule runtime (compiler + evaluator). Every code the runtime raises — as a
 * compile-time diagnostic or as a per-message evaluation failure — is declared here so that
 * docs/errors.md lists it (TEAM.md). Section references are to shared/spec/rule-sql.md.
 *
 * Two error classes:
 * - `SqlError`: thrown by `compileRule` when the SQL has diagnostics (parser or semantic);
 *   `.diagnostics` holds them all, `.message` renders each with its caret snippet.
 * - `RuleEvaluationError`: thrown by `CompiledRule.evaluate` for one message (`run` turns it
 *   into a `failed` outcome instead). `.code` is the most specific code known (e.g.
 *   `decode_json_failed`), `.clauseCode` always the EMQX clause code (§9), `.reason` the text.
 */
import { SluiceError, defineErrors } from '../core/index.js';
import { formatDiagnostic } from '../sql-parser/index.js';
import type { Diagnostic } from '../sql-parser/index.js';

/** All diagnostics, each as `line:col: error[code]: message` plus its caret snippet. */
export function formatDiagnosticList(diagnostics: readonly Diagnostic[]): string {
  return diagnostics.map((d) => formatDiagnostic(d)).join('\n');
}

export const runtimeErrors = defineErrors('runtime', {
  rule_sql_invalid: {
    description: 'The rule SQL has syntax or semantic errors; see the diagnostics listed with it.',
    retriable: false,
  },
  sql_function_not_supported: {
    description: 'The rule calls a function that does not exist (names are case-sensitive).',
    retriable: false,
  },
  sql_function_arity: {
    description: 'A function is called with a number of arguments it does not accept.',
    retriable: false,
  },
  sql_function_bad_literal: {
    description:
      'A function rejected one of its literal arguments when the rule was created (e.g. an invalid regex).',
    retriable: false,
  },
  sql_unknown_event: {
    description: 'FROM names an `$events/...` topic that is not an EMQX event topic.',
    retriable: false,
  },
  sql_unsupported_event: {
    description:
      'FROM names an EMQX 4.x event topic that 5.x renamed (`$events/client_check_acl_complete`: use `$events/auth/check_authz_complete`).',
    retriable: false,
  },
  sql_invalid_topic_filter: {
    description: 'A FROM entry is not a valid MQTT topic filter (misplaced `#` or `+`, empty).',
    retriable: false,
  },
  sql_parse_worker_failed: {
    description:
      'The worker thread that parses long rule SQL for the API died or did not answer (crash, out of memory, 60 s timeout); the rule was not created, updated or tested. Retriable: the next request starts a new worker.',
    retriable: true,
  },
  decode_json_failed: {
    description:
      'A `payload.…` path (or FOREACH payload) reached a payload that is not valid JSON.',
    retriable: false,
  },
  bad_sql_function_argument: {
    description: 'A function was called with an argument of the wrong type, range or format.',
    retriable: false,
  },
  select_and_transform_error: {
    description:
      'Evaluating the SELECT list failed for this message (bad arithmetic operands, non-numeric comparison, …).',
    retriable: false,
  },
  match_conditions_error: {
    description:
      'Evaluating WHERE failed for this message (e.g. a bare column or non-boolean used as a condition).',
    retriable: false,
  },
  select_and_collect_error: {
    description: 'Evaluating the FOREACH list failed for this message.',
    retriable: false,
  },
  match_incase_error: {
    description: 'Evaluating INCASE failed for one element of the FOREACH collection.',
    retriable: false,
  },
  doeach_error: {
    description: 'Evaluating the DO list failed for one element of the FOREACH collection.',
    retriable: false,
  },
});

export type EvaluationClause = 'select' | 'where' | 'foreach' | 'incase' | 'do';

/** EMQX clause error code per clause (spec §9). */
export const CLAUSE_CODES: Readonly<Record<EvaluationClause, string>> = {
  select: 'select_and_transform_error',
  where: 'match_conditions_error',
  foreach: 'select_and_collect_error',
  incase: 'match_incase_error',
  do: 'doeach_error',
};

/** The SQL could not be compiled. `diagnostics` is never empty. */
export class SqlError extends SluiceError {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    super('rule_sql_invalid', formatDiagnosticList(diagnostics));
    this.name = 'SqlError';
    this.diagnostics = diagnostics;
  }
}

/** One message could not be evaluated by one rule (EMQX `failed.exception`). */
export class RuleEvaluationError extends SluiceError {
  /** Human-readable cause, without the clause prefix. */
  readonly reason: string;
  /** Which clause failed. */
  readonly clause: EvaluationClause;
  /** The EMQX clause code (`select_and_transform_error`, …), even when `code` is more specific. */
  readonly clauseCode: string;
  constructor(code: string, reason: string, clause: EvaluationClause, cause?: unknown) {
    super(code, `${clause.toUpperCase()}: ${reason}`, { cause });
    this.name = 'RuleEvaluationError';
    this.reason = reason;
    this.clause = clause;
    this.clauseCode = CLAUSE_CODES[clause];
  }
}

/**
 * Internal, cheap failure raised inside compiled closures; converted to a
 * `RuleEvaluationError` at the clause boundary (which knows the clause). `code` undefined means
 * "use the clause code".
 */
export class EvalFault {
  constructor(
    readonly code: string | undefined,
    readonly reason: string,
    readonly cause?: unknown,
  ) {}
}

export function fault(reason: string, code?: string, cause?: unknown): never {
  throw new EvalFault(code, reason, cause);
}

/** Convert anything thrown inside a clause into a RuleEvaluationError. */
export function toEvaluationError(e: unknown, clause: EvaluationClause): RuleEvaluationError {
  if (e instanceof RuleEvaluationError) return e;
  if (e instanceof EvalFault)
    return new RuleEvaluationError(e.code ?? CLAUSE_CODES[clause], e.reason, clause, e.cause);
  if (e instanceof SluiceError) return new RuleEvaluationError(e.code, e.message, clause, e);
  const msg = e instanceof Error ? e.message : String(e);
  return new RuleEvaluationError(CLAUSE_CODES[clause], msg, clause, e);
}
