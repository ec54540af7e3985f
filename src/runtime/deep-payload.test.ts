import { describe, expect, it } from 'vitest';
import { compileRule } from './compile-rule.js';
import { call } from './functions/test-helpers.js';
import { createMessageContext } from './message-context.js';

const deep = (d: number): string => '{"a":'.repeat(d) + '1' + '}'.repeat(d);

describe('deeply nested payloads and values (issue #19)', () => {
  const rule = compileRule('SELECT payload.a AS a, payload AS p FROM "t"');

  it('a payload nested deeper than 1000 levels is not JSON: the reading rule fails with a reason', () => {
    for (const payload of [Buffer.from(deep(100_000)), deep(1001)]) {
      const out = rule.run(createMessageContext({ topic: 't', payload }));
      expect(out).toMatchObject({ kind: 'failed', code: 'decode_json_failed' });
      expect(out.kind === 'failed' && out.reason).toMatch(
        /treated as not JSON: JSON nested deeper than 1000 levels/,
      );
    }
    // 1000 levels decode, and reading into them works.
    const ok = rule.run(createMessageContext({ topic: 't', payload: Buffer.from(deep(1000)) }));
    expect(ok.kind).toBe('passed');
  });

  it('a rule that never looks inside the payload is unaffected', () => {
    const raw = compileRule('SELECT payload AS p FROM "t"');
    const payload = Buffer.from(deep(100_000));
    expect(raw.run(createMessageContext({ topic: 't', payload }))).toMatchObject({
      kind: 'passed',
      outputs: [{ p: payload }],
    });
  });

  it('json_decode and term_decode refuse over-deep input with a clear error, not a stack overflow', () => {
    expect(() => call('json_decode', [deep(100_000)])).toThrow(/nested deeper than 1000 levels/);
    // ETF: 100,000 nested one-element lists, then the NIL tails.
    const n = 100_000;
    const b = Buffer.alloc(1 + n * 5 + 1 + n);
    b[0] = 131;
    for (let i = 0; i < n; i++) b.set([108, 0, 0, 0, 1], 1 + i * 5);
    b.fill(106, 1 + n * 5);
    expect(() => call('term_decode', [b])).toThrow(/term nested deeper than 2000 levels/);
  });
});
