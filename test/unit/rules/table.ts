/**
 * Table-driven whole-rule tests (CONVENTIONS.md #10): each case is `{sql, context, expected}`
 * run through the real `compileRule` (parser + compiler + built-in functions). `expected` is the
 * list of outputs, or `{ error: code }` for a per-message failure. Outputs are compared with
 * `toStrictEqual`, so `undefined` keys, `null`, `EFloat` and `Buffer` values must match exactly.
 */
import { expect, it } from 'vitest';
import { compileRule } from '../../../src/index.js';
import type { CompileOptions } from '../../../src/index.js';
import type { Value, ValueMap } from '../../../src/index.js';

export interface RuleCase {
  /** Spec section cited, e.g. `§3.1`. */
  readonly spec: string;
  readonly name: string;
  readonly sql: string;
  readonly context: ValueMap;
  readonly expected: readonly ValueMap[] | { readonly error: string };
  readonly options?: CompileOptions;
}

/** A message-publish context with a JSON (object/array) or raw text payload as a Buffer. */
export function msg(payload: Value | string, extra: ValueMap = {}): ValueMap {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return {
    id: '0005F8F84FFFAFB9F44200000BC0F7E1',
    clientid: 'c1',
    username: 'u1',
    topic: 't/1',
    qos: 1,
    flags: { dup: false, retain: false },
    pub_props: { 'User-Property': { a: 'b' } },
    peerhost: '127.0.0.1',
    timestamp: 1700000000000,
    node: 'sluice@127.0.0.1',
    event: 'message.publish',
    payload: Buffer.from(text, 'utf8'),
    ...extra,
  };
}

export function runCases(cases: readonly RuleCase[]): void {
  for (const c of cases) {
    it(`${c.spec} ${c.name}: ${c.sql}`, () => {
      const rule = compileRule(c.sql, c.options);
      if ('error' in c.expected) {
        const { error } = c.expected as { error: string };
        let thrown: unknown;
        try {
          rule.evaluate(c.context);
        } catch (e) {
          thrown = e;
        }
        expect(thrown, 'expected a RuleEvaluationError').toBeDefined();
        expect((thrown as { code: string }).code).toBe(error);
        const outcome = rule.run(c.context);
        expect(outcome.kind).toBe('failed');
        if (outcome.kind === 'failed') expect(outcome.code).toBe(error);
      } else {
        expect(rule.evaluate(c.context)).toStrictEqual(c.expected);
      }
    });
  }
}
