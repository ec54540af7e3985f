/** The public runtime API contract: outcomes, errors, message contexts and injected services. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  RuleEvaluationError,
  compileRule,
  createMessageContext,
  parseRule,
} from '../../../src/index.js';
import {
  builtinFunctions,
  createDefaultServices,
  createFunctionRegistry,
} from '../../../src/runtime/index.js';
import type { FunctionDef } from '../../../src/runtime/index.js';
import { msg } from './table.js';

afterEach(() => vi.restoreAllMocks());

describe('CompiledRule', () => {
  it('exposes kind, sources and the statement', () => {
    const r = compileRule('FOREACH payload.l FROM "a", "b"');
    expect(r.kind).toBe('foreach');
    expect(r.sources).toEqual(['a', 'b']);
    expect(r.statement).toEqual(parseRule('FOREACH payload.l FROM "a", "b"').ast);
  });

  it('run() returns passed / filtered / failed and never throws', () => {
    const r = compileRule('SELECT payload.x AS x FROM "t" WHERE x > 1');
    expect(r.run(msg({ x: 2 }))).toEqual({ kind: 'passed', outputs: [{ x: 2 }] });
    expect(r.run(msg({ x: 0 }))).toEqual({ kind: 'filtered' });
    const failed = r.run(msg('{'));
    expect(failed.kind).toBe('failed');
    if (failed.kind === 'failed') {
      expect(failed.code).toBe('decode_json_failed');
      expect(failed.reason).toMatch(/SELECT: payload is not valid JSON/);
      expect(failed.error).toBeInstanceOf(RuleEvaluationError);
    }
  });

  it('RuleEvaluationError carries code, clause, clauseCode and reason', () => {
    const r = compileRule('SELECT clientid FROM "t" WHERE abs(\'x\') = 1');
    try {
      r.evaluate(msg({}));
      expect.unreachable();
    } catch (e) {
      const err = e as RuleEvaluationError;
      expect(err).toBeInstanceOf(RuleEvaluationError);
      expect(err.code).toBe('bad_sql_function_argument');
      expect(err.clause).toBe('where');
      expect(err.clauseCode).toBe('match_conditions_error');
      expect(err.reason).toMatch(/^abs\("x"\)/);
    }
  });

  it('outputs are fresh maps; the shared decoded payload is never mutated', () => {
    const r = compileRule('SELECT payload, \'X\' AS payload.a.b FROM "t"');
    const mc = createMessageContext(msg({ a: { b: 1, c: 2 } }));
    const [first] = r.evaluate(mc);
    expect(first).toEqual({ payload: { a: { b: 'X', c: 2 } } });
    const reader = compileRule('SELECT payload.a AS a FROM "t"');
    expect(reader.evaluate(mc)).toEqual([{ a: { b: 1, c: 2 } }]);
  });
});

describe('message context (§5: decode at most once per message)', () => {
  it('decodes the payload once for many rules and only when a path reaches it', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const rules = [
      compileRule('SELECT payload.a AS a FROM "t"'),
      compileRule('SELECT payload.b AS b FROM "t" WHERE payload.a = 1'),
      compileRule('SELECT clientid FROM "t"'),
    ];
    const mc = createMessageContext(msg({ a: 1, b: 2 }));
    parse.mockClear();
    const outs = rules.map((r) => r.evaluate(mc));
    expect(outs).toEqual([[{ a: 1 }], [{ b: 2 }], [{ clientid: 'c1' }]]);
    expect(parse).toHaveBeenCalledTimes(1);
    expect(mc.payloadDecoded).toBe(true);

    const untouched = createMessageContext(msg({ a: 1 }));
    parse.mockClear();
    rules[2]?.evaluate(untouched);
    expect(parse).not.toHaveBeenCalled();
    expect(untouched.payloadDecoded).toBe(false);
  });

  it('a plain column map works as well', () => {
    expect(compileRule('SELECT payload.a AS a FROM "t"').evaluate(msg({ a: 5 }))).toEqual([
      { a: 5 },
    ]);
  });
});

describe('injected services and registry', () => {
  // Test doubles: two functions reading the injected services (kv store, clock, node).
  const probe: FunctionDef[] = [
    {
      name: 'probe_put',
      family: 'test',
      arity: { min: 2, max: 2 },
      signature: 'probe_put(Key, Value)',
      description: 'test double',
      impl: ([k, v], ctx) => {
        ctx.services.kvStore.set(String(k), v);
        return ctx.services.node;
      },
    },
    {
      name: 'probe_get',
      family: 'test',
      arity: { min: 1, max: 1 },
      signature: 'probe_get(Key)',
      description: 'test double',
      impl: ([k], ctx) => [ctx.services.kvStore.get(String(k)), ctx.services.now(), ctx.clause],
    },
  ];
  const functions = createFunctionRegistry([...builtinFunctions, ...probe]);

  it('functions see the injected services and the clause they run in', () => {
    const services = createDefaultServices({ now: () => 42_000, node: 'n1@host' });
    const put = compileRule('SELECT probe_put(\'k\', payload.v) AS r FROM "t"', {
      services,
      functions,
    });
    const get = compileRule(
      "SELECT probe_get('k') AS v FROM \"t\" WHERE is_array(probe_get('k'))",
      {
        services,
        functions,
      },
    );
    expect(put.evaluate(msg({ v: 7 }))).toEqual([{ r: 'n1@host' }]);
    expect(get.evaluate(msg({}))).toEqual([{ v: [7, 42_000, 'select'] }]);
    expect(services.kvStore.get('k')).toBe(7);
  });

  it('an injected registry replaces the built-ins', () => {
    expect(() =>
      compileRule('SELECT upper(clientid) FROM "t"', { functions: createFunctionRegistry(probe) }),
    ).toThrow(/unknown function upper/);
  });
});
