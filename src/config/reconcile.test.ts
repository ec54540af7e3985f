import { describe, expect, it } from 'vitest';

import { planReload } from './reconcile.js';
import type { RunningRule } from './reconcile.js';
import type { RuleEntry } from './rule-file.js';

const entry = (id: string, sql: string, file = 'rules/' + id + '.sql'): RuleEntry => ({
  id,
  sql,
  actions: ['out'],
  enabled: true,
  description: '',
  origin: { file, fileText: sql, path: '', lineOffset: 0, firstColumnOffset: 0, columnOffset: 0 },
  at: { line: 1, column: 1, path: '' },
});
const running = (id: string, sql: string, file = 'rules/' + id + '.sql'): RunningRule => ({
  id,
  sql,
  actions: ['out'],
  enabled: true,
  description: '',
  file,
});

describe('planReload', () => {
  it('adds new rules, updates changed ones, leaves unchanged ones alone, removes dropped ones', () => {
    const plan = planReload(
      [
        running('same', 'A'),
        running('changed', 'B'),
        running('gone', 'C'),
        running('api', 'D', ''),
      ],
      [
        { entry: entry('same', 'A'), rule: 1 },
        { entry: entry('changed', 'B2'), rule: 2 },
        { entry: entry('new', 'E'), rule: 3 },
      ],
      { ids: [], files: [] },
    );
    expect(plan.put.map((p) => [p.entry.id, p.change, p.rule])).toEqual([
      ['changed', 'updated', 2],
      ['new', 'added', 3],
    ]);
    expect(plan.remove).toEqual(['gone']);
    expect(plan.kept).toEqual([]);
  });

  it('keeps the running version of a rule whose file or id is broken now', () => {
    const plan = planReload([running('a', 'A'), running('b', 'B', 'sluice.yaml')], [], {
      ids: ['b'],
      files: ['rules/a.sql'],
    });
    expect(plan).toEqual({ put: [], remove: [], kept: ['a', 'b'] });
  });
});
