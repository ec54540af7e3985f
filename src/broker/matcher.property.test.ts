/**
 * Differential test of the topic matcher (matcher.ts, decision 0024) against the Qlobber that
 * mqemitter builds for Aedes (taken from a real `mqemitter({ matchEmptyLevels: true })`, so
 * the options are mqemitter's own): random sequences of add / remove(filter, fn) /
 * remove(filter) / match over random filters and topics — `+`, `#` (also mid-filter and
 * several), empty levels, `$` levels, unicode, literal wildcards in topics, too many levels,
 * too many `#` — applied to both. Every `match` must return the same listeners in the same
 * order (compared as arrays, duplicates included: mqemitter calls them in that order), and
 * every call that throws must throw the same message on both, leaving both unchanged.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { qlobberEntries, TopicMatcher } from './matcher.js';

interface QlobberLike {
  add(topic: string, val: unknown): unknown;
  remove(topic: string, val?: unknown): unknown;
  match(topic: string): unknown[];
  visit(): Iterable<{ type: string; key?: string; value?: unknown }>;
  _separator: string;
}

const require = createRequire(import.meta.url);
const mqemitter = require('mqemitter') as (opts: object) => { _matcher: QlobberLike };
/** mqemitter's Qlobber, as Aedes builds it (matchEmptyLevels true) or with empty levels off. */
const qlobber = (matchEmptyLevels: boolean): QlobberLike =>
  mqemitter({ matchEmptyLevels })._matcher;

const LISTENERS = [0, 1, 2, 3].map((i) => Object.assign(() => i, { id: i }));
const ids = (vals: unknown[]): number[] => vals.map((v) => (v as { id: number }).id);

const level = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'c') },
  { weight: 3, arbitrary: fc.constantFrom('+', '#') },
  { weight: 2, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('$SYS', '$share', 'é', '😀', 'a b', '+a', 'a#') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 3 }) },
);
const topic = fc.oneof(
  // A few filters used over and over: duplicates, interleaved listeners, remove of a copy.
  { weight: 15, arbitrary: fc.constantFrom('a/b', 'a/+', '#', 'a/#', '+/+', 'a') },
  {
    weight: 30,
    arbitrary: fc.array(level, { minLength: 1, maxLength: 5 }).map((w) => w.join('/')),
  },
  // Over Qlobber's 100 words, or around it.
  {
    weight: 1,
    arbitrary: fc.integer({ min: 99, max: 102 }).map((n) => Array(n).fill('a').join('/')),
  },
  { weight: 1, arbitrary: fc.constantFrom('#/#/#/#', 'a/#/#/#/#', '#/#/#') },
);

type Op =
  | { op: 'add'; topic: string; fn: number }
  | { op: 'remove'; topic: string; fn: number }
  | { op: 'removeAll'; topic: string }
  | { op: 'match'; topic: string };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), topic, fn: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), topic, fn: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeAll' as const), topic }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('match' as const), topic }) },
);

/** Run `f`, returning its result or the thrown message. */
function attempt<R>(f: () => R): { ok: R } | { threw: string } {
  try {
    return { ok: f() };
  } catch (err) {
    return { threw: (err as Error).message };
  }
}

function check(ops: Op[], matchEmptyLevels: boolean, splitCacheSize: number): void {
  const q = qlobber(matchEmptyLevels);
  const m = new TopicMatcher<unknown>({ matchEmptyLevels, splitCacheSize });
  const added = new Set<string>();
  const seen = new Set<string>();
  for (const o of ops) {
    seen.add(o.topic);
    if (o.op === 'match') {
      const a = attempt(() => ids(q.match(o.topic)));
      const b = attempt(() => ids(m.match(o.topic)));
      expect(b, `match ${JSON.stringify(o.topic)}`).toEqual(a);
      continue;
    }
    let a, b;
    if (o.op === 'add') {
      added.add(o.topic);
      a = attempt(() => void q.add(o.topic, LISTENERS[o.fn]));
      b = attempt(() => void m.add(o.topic, LISTENERS[o.fn]));
    } else if (o.op === 'remove') {
      a = attempt(() => void q.remove(o.topic, LISTENERS[o.fn]));
      b = attempt(() => void m.remove(o.topic, LISTENERS[o.fn]));
    } else {
      a = attempt(() => void q.remove(o.topic));
      b = attempt(() => void m.remove(o.topic));
    }
    expect(b, `${o.op} ${JSON.stringify(o.topic)}`).toEqual(a);
  }
  // Finally every filter added and every topic used, as a topic.
  for (const t of new Set([...added, ...seen]))
    expect(
      attempt(() => ids(m.match(t))),
      `final match ${JSON.stringify(t)}`,
    ).toEqual(attempt(() => ids(q.match(t))));
}

/** Ops that remove mostly what was added: the adds' filters again, in random order. */
const addThenRemove = fc
  .array(fc.record({ topic, fn: fc.nat(3) }), { minLength: 1, maxLength: 40 })
  .chain((adds) =>
    fc
      .shuffledSubarray(adds, { minLength: 0, maxLength: adds.length })
      .chain((rm) =>
        fc
          .array(topic, { maxLength: 10 })
          .map((probes): Op[] => [
            ...adds.map((a) => ({ op: 'add' as const, ...a })),
            ...probes.map((t) => ({ op: 'match' as const, topic: t })),
            ...rm.flatMap((r): Op[] => [
              { op: 'remove', ...r },
              ...probes.map((t) => ({ op: 'match' as const, topic: t })),
            ]),
          ]),
      ),
  );

describe('TopicMatcher vs mqemitter’s Qlobber', () => {
  it('gives the same matches, in the same order, over random add / remove / match sequences', () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 80 }),
        fc.constantFrom(0, 2, 4096),
        (ops, cache) => check(ops, true, cache),
      ),
      { numRuns: 3000 },
    );
  });

  it('stays identical while the filters added are removed again (pruning, Map → inline)', () => {
    fc.assert(
      fc.property(addThenRemove, fc.constantFrom(0, 3, 4096), (ops, cache) =>
        check(ops, true, cache),
      ),
      { numRuns: 800 },
    );
  });

  it('carries a Qlobber’s state over (installMatcher’s qlobberEntries) with the same matches', () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 60 }),
        fc.array(topic, { minLength: 1, maxLength: 20 }),
        (ops, probes) => {
          const q = qlobber(true);
          for (const o of ops)
            attempt(() =>
              o.op === 'add'
                ? q.add(o.topic, LISTENERS[o.fn])
                : o.op === 'remove'
                  ? q.remove(o.topic, LISTENERS[o.fn])
                  : o.op === 'removeAll'
                    ? q.remove(o.topic)
                    : undefined,
            );
          const m = new TopicMatcher<unknown>();
          for (const [f, v] of qlobberEntries(q)) m.add(f, v);
          for (const t of [...probes, ...ops.map((o) => o.topic)])
            expect(
              attempt(() => ids(m.match(t))),
              t,
            ).toEqual(attempt(() => ids(q.match(t))));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is identical with matchEmptyLevels false too (the option mqemitter defaults to true)', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => check(ops, false, 0)),
      { numRuns: 500 },
    );
  });
});
