/**
 * AST → logical plan (spec rule-sql §2–§4, §7): resolves functions (unknown name / wrong arity
 * become diagnostics pointing at the call), classifies FROM entries (unknown `$events/...`
 * topics and invalid filters become diagnostics pointing at the entry), folds constants,
 * specialises calls with literal arguments, resolves each name to the scope layers it may come
 * from, and derives output targets (implicit keys §3.2). Runs once per rule.
 *
 * Length: one recursive pass held in one `Builder`, because expression planning, call
 * resolution and target derivation share its scope and diagnostics; FROM classification
 * (`sources.ts`) and name analysis (`scope.ts`) live apart.
 */
import { createDiagnostic } from '../../sql-parser/index.js';
import type {
  AliasTarget,
  Diagnostic,
  Expr,
  FromEntry,
  PathExpr,
  SelectItem,
  SourceRange,
  Statement,
} from '../../sql-parser/index.js';
import { mkFloat } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import { BadArg, NOT_CONSTANT } from '../functions/registry.js';
import type {
  CallContext,
  Clause,
  FunctionRegistry,
  FunctionServices,
  MaybeConstant,
} from '../functions/registry.js';
import { EvalFault } from '../errors.js';
import { ARITH, compare, negate, identity } from '../value-ops.js';
import { classifySource } from './sources.js';
import { collectRoots, writtenRoots } from './scope.js';
import type {
  Layer,
  PlanExpr,
  PlanItem,
  PlanSource,
  PlanStep,
  PlanTarget,
  RulePlan,
  TargetStep,
} from './types.js';

export interface PlanOptions {
  readonly functions: FunctionRegistry;
  readonly services: FunctionServices;
}

interface Scope {
  readonly ov: ReadonlySet<string>;
  readonly item: string | undefined;
  readonly sel: ReadonlySet<string>;
  readonly clause: Clause;
}

const EMPTY: ReadonlySet<string> = new Set();

export function diagnostic(
  sql: string,
  code: string,
  message: string,
  range: SourceRange,
): Diagnostic {
  return createDiagnostic(sql, code, message, range);
}

export function buildPlan(
  sql: string,
  statement: Statement,
  options: PlanOptions,
): { plan: RulePlan } | { diagnostics: Diagnostic[] } {
  const b = new Builder(sql, options);
  const plan = b.statement(statement);
  if (b.diags.length === 0) return { plan };
  return { diagnostics: [...b.diags].sort((x, y) => x.range.start.offset - y.range.start.offset) };
}

class Builder {
  readonly diags: Diagnostic[] = [];
  private ephemeral = 0;

  constructor(
    private readonly sql: string,
    private readonly options: PlanOptions,
  ) {}

  private report(code: string, message: string, range: SourceRange): void {
    this.diags.push(diagnostic(this.sql, code, message, range));
  }

  statement(st: Statement): RulePlan {
    const sources = st.from.map((f) => this.source(f));
    if (st.kind === 'Select') {
      const fields = this.items(st.fields, {
        ov: EMPTY,
        item: undefined,
        sel: EMPTY,
        clause: 'select',
      });
      const written = writtenRoots(fields);
      const where =
        st.where &&
        this.expr(st.where, { ov: written, item: undefined, sel: EMPTY, clause: 'where' }, false);
      return {
        kind: 'select',
        sql: this.sql,
        statement: st,
        sources,
        fields,
        ...(where ? { where } : {}),
      };
    }
    const fields = this.items(st.fields, {
      ov: EMPTY,
      item: undefined,
      sel: EMPTY,
      clause: 'foreach',
    });
    const written = writtenRoots(fields);
    const last = st.fields[st.fields.length - 1];
    const elementName =
      last && last.kind === 'Field' && last.alias ? aliasText(last.alias) : 'item';
    const where =
      st.where &&
      this.expr(st.where, { ov: written, item: undefined, sel: EMPTY, clause: 'where' }, false);
    const elementScope = { ov: EMPTY, item: elementName, sel: written };
    const incase = st.incase && this.expr(st.incase, { ...elementScope, clause: 'incase' }, false);
    const doItems = st.do && this.items(st.do, { ...elementScope, clause: 'do' });
    return {
      kind: 'foreach',
      sql: this.sql,
      statement: st,
      sources,
      fields,
      elementName,
      ...(where ? { where } : {}),
      ...(incase ? { incase } : {}),
      ...(doItems ? { do: doItems } : {}),
    };
  }

  private source(f: FromEntry): PlanSource {
    return classifySource(f, (code, message) => this.report(code, message, f.range));
  }

  /** Plan a SELECT/FOREACH/DO list; `base` is the scope below the list's own alias overlay. */
  private items(items: readonly SelectItem[], base: Scope): PlanItem[] {
    const out: PlanItem[] = [];
    const written = new Set<string>();
    const targets: (PlanTarget | undefined)[] = [];
    for (const item of items) {
      if (item.kind === 'Wildcard') {
        out.push({ kind: 'wildcard' });
        targets.push(undefined);
        continue;
      }
      const scope: Scope = { ...base, ov: new Set(written) };
      const expr = this.expr(item.expr, scope, false);
      const target = item.alias
        ? this.aliasTarget(item.alias, scope)
        : this.implicitTarget(item.expr, scope);
      targets.push(target);
      out.push({ kind: 'field', expr, target, writesScope: false, range: item.range });
      written.add(target.root);
    }
    // Decide which writes later items can observe (§4.1.1); skip the others on the hot path.
    for (let i = 0; i < items.length; i++) {
      const p = out[i] as PlanItem;
      const target = targets[i];
      if (p.kind !== 'field' || target === undefined) continue;
      const later = new Map<string, boolean>();
      for (let j = i + 1; j < items.length; j++) {
        const it = items[j] as SelectItem;
        if (it.kind === 'Field') collectRoots(it.expr, later);
      }
      const readLater = later.has(target.root);
      const bareLater = later.get(target.root) === true;
      // `SELECT payload.a` writes payload.a with the value it just read: invisible to later
      // items unless they read the whole root (where EMQX shows the decoded payload).
      const identity =
        target.implicit &&
        item(items[i]).expr.kind === 'Path' &&
        target.steps.every((s) => s.k === 'key');
      const writesScope = readLater && !(identity && (target.steps.length === 0 || !bareLater));
      out[i] = { ...p, writesScope };
    }
    return out;
  }

  private aliasTarget(a: AliasTarget, _scope: Scope): PlanTarget {
    const steps: TargetStep[] = a.segments.map((s) =>
      s.kind === 'Key'
        ? { k: 'key', key: s.key }
        : { k: 'index', index: s.index, negative: s.negative },
    );
    return { root: a.root, steps, implicit: false };
  }

  private implicitTarget(e: Expr, scope: Scope): PlanTarget {
    switch (e.kind) {
      case 'Path': {
        const steps: TargetStep[] = [];
        for (const s of e.segments) {
          if (s.kind === 'Key') steps.push({ k: 'key', key: s.key });
          else if (s.kind === 'Index')
            steps.push({ k: 'dyn', index: this.expr(s.index, scope, false) });
        }
        return { root: e.root, steps, implicit: true };
      }
      case 'String':
        return { root: e.value, steps: [], implicit: true };
      case 'Call':
        return { root: `_v_fun_${e.name}_${++this.ephemeral}`, steps: [], implicit: true };
      case 'Integer':
      case 'Float':
      case 'Boolean':
        return { root: `_v_const_${++this.ephemeral}`, steps: [], implicit: true };
      case 'Case':
        return { root: `_v_case_${++this.ephemeral}`, steps: [], implicit: true };
      case 'List':
        return { root: `_v_list_${++this.ephemeral}`, steps: [], implicit: true };
      case 'Range':
        return { root: `_v_range_${++this.ephemeral}`, steps: [], implicit: true };
      default:
        return { root: `_v_op_${++this.ephemeral}`, steps: [], implicit: true };
    }
  }

  private layers(name: string, scope: Scope): Layer[] {
    const ls: Layer[] = [];
    if (scope.ov.has(name)) ls.push('ov');
    if (scope.item === name) ls.push('item');
    if (scope.sel.has(name)) ls.push('sel');
    return ls;
  }

  /** Plan an expression. `inDoc`: inside a payload path's index (names read the document). */
  expr(e: Expr, scope: Scope, inDoc: boolean): PlanExpr {
    switch (e.kind) {
      case 'Integer': {
        const n = Number(e.raw);
        return { op: 'const', value: Number.isSafeInteger(n) ? n : BigInt(e.raw) };
      }
      case 'Float':
        return { op: 'const', value: mkFloat(e.value) };
      case 'String':
        return { op: 'const', value: e.value };
      case 'Boolean':
        return { op: 'const', value: e.value };
      case 'Range': {
        const list: Value[] = [];
        for (let i = e.from; i <= e.to; i++) list.push(i);
        return { op: 'const', value: list };
      }
      case 'Path':
        return this.path(e, scope, inDoc);
      case 'Call':
        return this.call(e, scope, inDoc);
      case 'Arithmetic': {
        const left = this.expr(e.left, scope, inDoc);
        const right = this.expr(e.right, scope, inDoc);
        return fold({ op: 'arith', operator: e.op, left, right }, () =>
          ARITH[e.op](constOf(left), constOf(right)),
        );
      }
      case 'Unary': {
        const operand = this.expr(e.operand, scope, inDoc);
        return fold({ op: 'unary', operator: e.op, operand }, () =>
          e.op === '-' ? negate(constOf(operand)) : identity(constOf(operand)),
        );
      }
      case 'Compare': {
        const left = this.expr(e.left, scope, inDoc);
        const right = this.expr(e.right, scope, inDoc);
        return fold({ op: 'compare', operator: e.op, left, right }, () =>
          compare(e.op, constOf(left), constOf(right)),
        );
      }
      case 'Logical':
        return {
          op: e.op,
          left: this.expr(e.left, scope, inDoc),
          right: this.expr(e.right, scope, inDoc),
        };
      case 'Not':
        return { op: 'not', operand: this.expr(e.operand, scope, inDoc) };
      case 'In':
        return {
          op: 'in',
          operand: this.expr(e.operand, scope, inDoc),
          list: e.list.map((x) => this.expr(x, scope, inDoc)),
          negated: e.negated,
        };
      case 'List': {
        const elements = e.elements.map((x) => this.expr(x, scope, inDoc));
        if (elements.every((x) => x.op === 'const'))
          return { op: 'const', value: elements.map((x) => constOf(x)) };
        return { op: 'list', elements };
      }
      case 'Case':
        return {
          op: 'case',
          ...(e.subject ? { subject: this.expr(e.subject, scope, inDoc) } : {}),
          branches: e.branches.map((br) => ({
            when: this.expr(br.when, scope, inDoc),
            then: this.expr(br.then, scope, inDoc),
          })),
          ...(e.else ? { else: this.expr(e.else, scope, inDoc) } : {}),
        };
    }
  }

  private path(e: PathExpr, scope: Scope, inDoc: boolean): PlanExpr {
    const payload = !inDoc && e.root === 'payload' && e.segments.length > 0;
    const steps: PlanStep[] = e.segments.map((s): PlanStep => {
      if (s.kind === 'Key') return { k: 'key', key: s.key };
      if (s.kind === 'Slice') return { k: 'slice', from: s.from, to: s.to };
      // §3.1: inside a payload path an index variable is read from the decoded payload.
      return { k: 'index', index: this.expr(s.index, scope, inDoc || payload) };
    });
    if (inDoc) return { op: 'docpath', root: e.root, steps };
    const layers = this.layers(e.root, scope);
    if (steps.length === 0) return { op: 'name', name: e.root, layers };
    return { op: 'path', root: e.root, layers, payload, steps };
  }

  private call(e: Extract<Expr, { kind: 'Call' }>, scope: Scope, inDoc: boolean): PlanExpr {
    const args = e.args.map((a) => this.expr(a, scope, inDoc));
    const unsupported: PlanExpr = { op: 'const', value: undefined };
    if (e.module !== undefined) {
      this.report(
        'sql_function_not_supported',
        `external function modules are not supported: ${e.module}.${e.name}()`,
        e.nameRange,
      );
      return unsupported;
    }
    if (e.name === 'div' || e.name === 'mod') {
      if (args.length !== 2) {
        this.report(
          'sql_function_arity',
          `${e.name}() takes 2 arguments, got ${args.length}`,
          callRange(e),
        );
        return unsupported;
      }
      const [left, right] = args as [PlanExpr, PlanExpr];
      const op = e.name;
      return fold({ op: 'arith', operator: op, left, right }, () =>
        ARITH[op](constOf(left), constOf(right)),
      );
    }
    const def = this.options.functions.get(e.name);
    if (def === undefined) {
      this.report('sql_function_not_supported', `unknown function ${e.name}()`, e.nameRange);
      return unsupported;
    }
    if (args.length < def.arity.min || args.length > def.arity.max) {
      const { min, max } = def.arity;
      const want =
        min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      this.report(
        'sql_function_arity',
        `${e.name}() takes ${want} argument${want === '1' ? '' : 's'}, got ${args.length} (${def.signature})`,
        callRange(e),
      );
      return unsupported;
    }
    let impl = def.impl;
    let specialized = false;
    const consts: MaybeConstant[] = args.map((a) => (a.op === 'const' ? a.value : NOT_CONSTANT));
    if (def.specialize && consts.some((c) => c !== NOT_CONSTANT)) {
      try {
        const s = def.specialize(consts);
        if (s) {
          impl = s;
          specialized = true;
        }
      } catch (err) {
        const why = err instanceof BadArg ? err.reason : String((err as Error)?.message ?? err);
        this.report('sql_function_bad_literal', `${e.name}(): ${why}`, callRange(e));
        return unsupported;
      }
    }
    if (def.effects) {
      // Run once per message when the rule is evaluated in passes (async-eval.ts).
      const inner = impl;
      impl = (a, ctx) => {
        const session = ctx.services.session?.current;
        return session ? session.replay(() => inner(a, ctx)) : inner(a, ctx);
      };
    }
    const call: PlanExpr = { op: 'call', name: e.name, def, impl, specialized, args };
    if (def.pure && args.every((a) => a.op === 'const')) {
      const ctx: CallContext = {
        columns: {},
        clause: scope.clause,
        services: this.options.services,
      };
      try {
        return { op: 'const', value: impl(consts as Value[], ctx) };
      } catch {
        return call; // fails for every message: leave the error to run time, as EMQX does
      }
    }
    return call;
  }
}

/** The whole call, from its name to its last argument (robust to a short `range`). */
function callRange(e: Extract<Expr, { kind: 'Call' }>): SourceRange {
  let end = e.range.end;
  for (const r of [e.nameRange, ...e.args.map((a) => a.range)])
    if (r.end.offset > end.offset) end = r.end;
  return { start: e.range.start, end };
}

function item(i: SelectItem | undefined): Extract<SelectItem, { kind: 'Field' }> {
  return i as Extract<SelectItem, { kind: 'Field' }>;
}

function constOf(p: PlanExpr): Value {
  if (p.op !== 'const') throw NOT_FOLDABLE;
  return p.value;
}

const NOT_FOLDABLE = new Error('not foldable');

/** Replace `node` by its value when its operands are constants and evaluation succeeds. */
function fold(node: PlanExpr, evaluate: () => Value): PlanExpr {
  try {
    return { op: 'const', value: evaluate() };
  } catch (e) {
    if (e === NOT_FOLDABLE || e instanceof EvalFault) return node;
    throw e;
  }
}

function aliasText(a: AliasTarget): string {
  if (a.segments.length === 0) return a.root;
  let s = a.root;
  for (const seg of a.segments)
    s += seg.kind === 'Key' ? `.${seg.key}` : `[${seg.negative ? '-' : ''}${seg.index}]`;
  return s;
}
