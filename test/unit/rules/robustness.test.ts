/**
 * "Bad input → clear error, nothing crashes": random rules built from the expression grammar,
 * run against random JSON payloads. compileRule either succeeds or throws SqlError; evaluate
 * either returns outputs or throws RuleEvaluationError with a declared code; run never throws.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RuleEvaluationError, SqlError, compileRule } from '../../../src/index.js';
import { runtimeErrors } from '../../../src/runtime/index.js';
import { topicMatches } from '../../../src/runtime/topic.js';

const declared = new Set(Object.keys(runtimeErrors));

const name = fc.constantFrom('a', 'b', 'clientid', 'qos', 'payload', 'x', 'item', 'l');
const key = fc.constantFrom('a', 'b', 'l', 'n', 's', '1', "'x-y'");
const literal = fc.oneof(
  fc.integer({ min: -5, max: 5 }).map(String),
  fc.constantFrom('1.5', '2.0', "'s'", "'1'", 'true', 'false', '[1, 2]', '[1..3]'),
);
const path = fc
  .tuple(
    name,
    fc.array(
      fc.oneof(
        key.map((k) => `.${k}`),
        fc.constantFrom('[1]', '[-1]', '[0]'),
      ),
      {
        maxLength: 3,
      },
    ),
    fc.constantFrom('', '', '', '[1..2]'),
  )
  .map(([n, s, range]) => n + s.join('') + range);
const call = (arg: fc.Arbitrary<string>) =>
  fc
    .constantFrom(
      ['abs', 1],
      ['upper', 1],
      ['str', 1],
      ['is_null', 1],
      ['length', 1],
      ['nth', 2],
      ['concat', 2],
    )
    .chain(([f, n]) =>
      fc
        .array(arg, { minLength: n as number, maxLength: n as number })
        .map((args) => `${f}(${args.join(', ')})`),
    );

const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'xsmall', withCrossShrink: true },
    literal,
    path,
    fc
      .tuple(tie('e'), fc.constantFrom('+', '-', '*', '/', 'div', 'mod'), tie('e'))
      .map(([l, op, r]) => `(${l} ${op} ${r})`),
    fc
      .tuple(tie('e'), fc.constantFrom('=', '<>', '<', '>=', '=~'), tie('e'))
      .map(([l, op, r]) => `(${l} ${op} ${r})`),
    call(tie('e')),
    fc
      .tuple(tie('e'), tie('e'), tie('e'))
      .map(([c, t, e]) => `CASE WHEN ${c} = 1 THEN ${t} ELSE ${e} END`),
  ),
})).e;

const cond = fc.oneof(
  fc
    .tuple(expr, fc.constantFrom('=', '!=', '>', '<='), expr)
    .map(([l, op, r]) => `${l} ${op} ${r}`),
  fc
    .tuple(expr, fc.array(expr, { minLength: 1, maxLength: 3 }))
    .map(([x, l]) => `NOT ${x} IN (${l.join(', ')})`),
  path,
);

const rule = fc.oneof(
  fc
    .tuple(fc.array(expr, { minLength: 1, maxLength: 3 }), fc.option(cond))
    .map(
      ([items, where]) =>
        `SELECT ${items.map((e, i) => `${e} AS k${i}`).join(', ')} FROM "t/#"${where ? ` WHERE ${where}` : ''}`,
    ),
  fc
    .tuple(path, expr, fc.option(cond))
    .map(
      ([coll, d, incase]) =>
        `FOREACH ${coll} AS item DO ${d} AS v${incase ? ` INCASE ${incase}` : ''} FROM "t/#"`,
    ),
);

const payload = fc.oneof(
  fc.json(),
  fc.constant('{not json'),
  fc
    .record({
      a: fc.integer(),
      l: fc.array(fc.integer(), { maxLength: 4 }),
      s: fc.string(),
      n: fc.constant(null),
    })
    .map((o) => JSON.stringify(o)),
);

describe('robustness: random rules × random payloads', () => {
  it('never crashes; failures are coded', () => {
    let compiledCount = 0;
    let evaluatedOk = 0;
    fc.assert(
      fc.property(rule, payload, (sql, body) => {
        let compiled;
        try {
          compiled = compileRule(sql);
        } catch (e) {
          expect(e).toBeInstanceOf(SqlError);
          return;
        }
        compiledCount++;
        const ctx = {
          clientid: 'c1',
          qos: 1,
          topic: 't/1',
          l: [1, 2, 3],
          payload: Buffer.from(body),
        };
        try {
          const outs = compiled.evaluate(ctx);
          expect(Array.isArray(outs)).toBe(true);
          evaluatedOk++;
        } catch (e) {
          expect(e).toBeInstanceOf(RuleEvaluationError);
          expect(declared.has((e as RuleEvaluationError).code)).toBe(true);
        }
        const outcome = compiled.run(ctx);
        expect(['passed', 'filtered', 'failed']).toContain(outcome.kind);
      }),
      { numRuns: 400 },
    );
    // The generator must exercise evaluation, not just rejection.
    expect(compiledCount).toBeGreaterThan(100);
    expect(evaluatedOk).toBeGreaterThan(20);
  });
});

describe('topic matching properties', () => {
  const level = fc.stringMatching(/^[a-z0-9]{0,3}$/);
  const topic = fc.array(level, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('/'));

  it('a filter made from a topic by wildcarding levels matches it', () => {
    fc.assert(
      fc.property(topic, fc.array(fc.boolean(), { maxLength: 5 }), fc.nat(6), (t, plus, cut) => {
        const levels = t.split('/').map((l, i) => (plus[i] ? '+' : l));
        const filter =
          cut < levels.length ? [...levels.slice(0, cut), '#'].join('/') : levels.join('/');
        expect(topicMatches(t, filter)).toBe(true);
        // [MQTT-4.7.2-1]: a filter starting with a wildcard never matches a `$` topic.
        if (/^[+#]/.test(filter)) expect(topicMatches('$' + t, filter)).toBe(false);
      }),
    );
  });
});
