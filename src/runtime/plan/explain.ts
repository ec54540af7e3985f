/**
 * Render a rule plan as readable text (`explainRule(sql)`), e.g.
 *
 * ```
 * SELECT rule
 *   from:   "sensors/#" (mqtt)
 *   select: t := payload.temp  [payload decoded once per message]
 *           clientid := clientid
 *   where:  (payload.temp > 30)
 * ```
 *
 * Constants are shown folded, calls specialised on literal arguments are marked `[specialized]`,
 * items whose value later items can read are marked `[visible to later items]`.
 */
import { EFloat, encodeJson } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import type { PlanExpr, PlanItem, PlanStep, PlanTarget, RulePlan } from './types.js';

function constText(v: Value): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `'${v}'`;
  if (Buffer.isBuffer(v)) return `<<${v.length} bytes>>`;
  if (v instanceof EFloat) return encodeJson(v);
  return encodeJson(v);
}

function stepsText(steps: readonly PlanStep[]): string {
  let s = '';
  for (const st of steps) {
    if (st.k === 'key')
      s += /^[A-Za-z][A-Za-z0-9_$@~]*$/.test(st.key) ? `.${st.key}` : `.'${st.key}'`;
    else if (st.k === 'slice') s += `[${st.from}..${st.to}]`;
    else s += `[${exprText(st.index)}]`;
  }
  return s;
}

export function exprText(p: PlanExpr): string {
  switch (p.op) {
    case 'const':
      return constText(p.value);
    case 'name':
      return p.name;
    case 'path':
      return p.root + stepsText(p.steps);
    case 'docpath':
      return `payload.${p.root}${stepsText(p.steps)}`;
    case 'call':
      return `${p.name}(${p.args.map(exprText).join(', ')})${p.specialized ? ' [specialized]' : ''}`;
    case 'arith':
    case 'compare':
      return `(${exprText(p.left)} ${p.operator} ${exprText(p.right)})`;
    case 'and':
    case 'or':
      return `(${exprText(p.left)} ${p.op.toUpperCase()} ${exprText(p.right)})`;
    case 'unary':
      return `${p.operator}${exprText(p.operand)}`;
    case 'not':
      return `NOT ${exprText(p.operand)}`;
    case 'in':
      return `(${exprText(p.operand)} ${p.negated ? 'NOT IN' : 'IN'} (${p.list.map(exprText).join(', ')}))`;
    case 'list':
      return `[${p.elements.map(exprText).join(', ')}]`;
    case 'case': {
      let s = 'CASE';
      if (p.subject) s += ` ${exprText(p.subject)}`;
      for (const b of p.branches) s += ` WHEN ${exprText(b.when)} THEN ${exprText(b.then)}`;
      if (p.else) s += ` ELSE ${exprText(p.else)}`;
      return s + ' END';
    }
  }
}

function targetText(t: PlanTarget): string {
  let s = t.root;
  for (const st of t.steps) {
    if (st.k === 'key') s += `.${st.key}`;
    else if (st.k === 'index') s += `[${st.negative ? '-' : ''}${st.index}]`;
    else s += `[${exprText(st.index)}]`;
  }
  return s;
}

function readsPayload(p: PlanExpr): boolean {
  switch (p.op) {
    case 'path':
      return p.payload || p.steps.some((s) => s.k === 'index' && readsPayload(s.index));
    case 'docpath':
      return true;
    case 'call':
      return p.args.some(readsPayload);
    case 'arith':
    case 'compare':
    case 'and':
    case 'or':
      return readsPayload(p.left) || readsPayload(p.right);
    case 'unary':
    case 'not':
      return readsPayload(p.operand);
    case 'in':
      return readsPayload(p.operand) || p.list.some(readsPayload);
    case 'list':
      return p.elements.some(readsPayload);
    case 'case':
      return (
        (p.subject !== undefined && readsPayload(p.subject)) ||
        p.branches.some((b) => readsPayload(b.when) || readsPayload(b.then)) ||
        (p.else !== undefined && readsPayload(p.else))
      );
    default:
      return false;
  }
}

function itemLines(items: readonly PlanItem[]): string[] {
  return items.map((it) => {
    if (it.kind === 'wildcard') return '* (every column of the scope)';
    const notes: string[] = [];
    if (it.target.implicit) notes.push('implicit key');
    if (it.writesScope) notes.push('visible to later items');
    if (readsPayload(it.expr)) notes.push('reads payload');
    return `${targetText(it.target)} := ${exprText(it.expr)}${notes.length ? `  [${notes.join(', ')}]` : ''}`;
  });
}

function section(label: string, lines: readonly string[]): string[] {
  const pad = ' '.repeat(label.length + 4);
  return lines.map((l, i) => (i === 0 ? `  ${label}: ${l}` : `${pad}${l}`));
}

export function explainPlan(plan: RulePlan): string {
  const out: string[] = [`${plan.kind.toUpperCase()} rule`];
  out.push(
    ...section(
      'from',
      plan.sources.map((s) => `"${s.topic}" (${s.type}${s.event ? `: ${s.event}` : ''})`),
    ),
  );
  if (plan.kind === 'select') {
    out.push(...section('select', itemLines(plan.fields)));
    if (plan.where) out.push(...section('where', [exprText(plan.where)]));
    return out.join('\n');
  }
  const lines = itemLines(plan.fields);
  lines[lines.length - 1] += `  [collection; element bound to ${plan.elementName ?? 'item'}]`;
  out.push(...section('foreach', lines));
  if (plan.where) out.push(...section('where', [exprText(plan.where)]));
  if (plan.incase) out.push(...section('incase', [exprText(plan.incase)]));
  if (plan.do) out.push(...section('do', itemLines(plan.do)));
  else out.push('  do: (none: each output is columns + FOREACH output + element)');
  return out.join('\n');
}
