/**
 * A tiny evaluator for the docs examples (`lower('A')`, `1 + 2`, `[1, 'a']`, nested calls),
 * used by the example test and the docs generator's self-check. It is NOT the rule compiler:
 * it knows literals, lists, function calls and one binary operator (`+ - * /`).
 *
 * `mode` picks how calls run: `impl` calls `impl` directly; `specialize` first asks the
 * function's `specialize` with the literal arguments (as the compiler would) and runs that.
 */
import { EFloat } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import type { CallContext, FunctionRegistry, MaybeConstant } from './registry.js';
import { NOT_CONSTANT } from './registry.js';

type Node =
  { t: 'lit'; v: Value } | { t: 'list'; items: Node[] } | { t: 'call'; name: string; args: Node[] };

export function parseExample(src: string): Node {
  let i = 0;
  const ws = (): void => {
    while (/\s/.test(src[i] ?? '')) i++;
  };
  const fail = (msg: string): never => {
    throw new Error(`example parse error at ${i} in ${src}: ${msg}`);
  };
  const primary = (): Node => {
    ws();
    const c = src[i];
    if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) fail('unterminated string');
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            // Rule SQL keeps a doubled quote as two quotes (spec §1).
            s += "''";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src[i++];
      }
      return { t: 'lit', v: s };
    }
    if (c === '[') {
      i++;
      const items: Node[] = [];
      ws();
      if (src[i] === ']') {
        i++;
        return { t: 'list', items };
      }
      for (;;) {
        items.push(expr());
        ws();
        if (src[i] === ',') i++;
        else if (src[i] === ']') {
          i++;
          return { t: 'list', items };
        } else fail('expected , or ]');
      }
    }
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) {
      i += num[0].length;
      const isFloat = num[1] !== undefined || num[2] !== undefined;
      const n = Number(num[0]);
      return { t: 'lit', v: isFloat ? (Number.isInteger(n) ? new EFloat(n) : n) : n };
    }
    const id = /^[a-z_][a-z0-9_]*/.exec(src.slice(i));
    if (!id) return fail('unexpected character');
    i += id[0].length;
    if (id[0] === 'true' || id[0] === 'false') return { t: 'lit', v: id[0] === 'true' };
    ws();
    if (src[i] !== '(') fail('expected (');
    i++;
    const args: Node[] = [];
    ws();
    if (src[i] === ')') {
      i++;
      return { t: 'call', name: id[0], args };
    }
    for (;;) {
      args.push(expr());
      ws();
      if (src[i] === ',') i++;
      else if (src[i] === ')') {
        i++;
        return { t: 'call', name: id[0], args };
      } else fail('expected , or )');
    }
  };
  const expr = (): Node => {
    const left = primary();
    ws();
    const op = src[i];
    if (op === '+' || op === '-' || op === '*' || op === '/') {
      i++;
      return { t: 'call', name: op, args: [left, primary()] };
    }
    return left;
  };
  const n = expr();
  ws();
  if (i !== src.length) fail('trailing text');
  return n;
}

export function evalExample(
  node: Node,
  registry: FunctionRegistry,
  ctx: CallContext,
  mode: 'impl' | 'specialize',
): Value {
  switch (node.t) {
    case 'lit':
      return node.v;
    case 'list':
      return node.items.map((n) => evalExample(n, registry, ctx, mode));
    case 'call': {
      const def = registry.get(node.name);
      if (!def) throw new Error(`unknown function ${node.name}`);
      if (node.args.length < def.arity.min || node.args.length > def.arity.max)
        throw new Error(`arity mismatch for ${node.name}`);
      const args = node.args.map((n) => evalExample(n, registry, ctx, mode));
      if (mode === 'specialize' && def.specialize) {
        const lits: MaybeConstant[] = node.args.map((n, k) =>
          n.t === 'lit' ? args[k] : NOT_CONSTANT,
        );
        const fast = def.specialize(lits);
        if (fast) return fast(args, ctx);
      }
      return def.impl(args, ctx);
    }
  }
}
