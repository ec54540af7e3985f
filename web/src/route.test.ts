import { describe, expect, it } from 'vitest';

import { parseRoute } from './route.js';
import { groupByMessage } from './trace-steps.js';

describe('parseRoute (hash routes)', () => {
  it.each([
    ['', { page: 'overview' }],
    ['#/', { page: 'overview' }],
    ['#/rules', { page: 'rules' }],
    ['#/rules/new', { page: 'rule', id: undefined }],
    ['#/rules/a%2Fb', { page: 'rule', id: 'a/b' }],
    ['#/sinks/mem', { page: 'sink', name: 'mem' }],
    ['#/clients', { page: 'clients' }],
    ['#/traces/t1', { page: 'traces', id: 't1' }],
    ['#/bogus', { page: 'overview' }],
    ['#/rules/%E0%A4%A', { page: 'overview' }],
  ])('%s', (hash, route) => expect(parseRoute(hash)).toEqual(route));
});

describe('groupByMessage (trace view)', () => {
  it('groups steps per message in seq order, messages in order of their first step', () => {
    const s = (seq: number, msg_id: string, step: string) => ({
      trace_id: 't',
      seq,
      msg_id,
      ts: seq,
      step,
    });
    const g = groupByMessage([s(3, 'm2', 'received'), s(1, 'm1', 'received'), s(2, 'm1', 'ack')]);
    expect(g.map((x) => [x.msgId, x.steps.map((y) => y.seq)])).toEqual([
      ['m1', [1, 2]],
      ['m2', [3]],
    ]);
  });
});
