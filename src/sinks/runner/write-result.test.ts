import { describe, expect, it } from 'vitest';
import type { SinkRecord } from '../../core/index.js';
import { isWholeSuccess, splitWriteResult, unexpired } from './write-result.js';

const rec = (i: number, ingestTs = 0): SinkRecord => ({ data: { i }, ruleId: 'r', ingestTs });
const ids = (rs: readonly SinkRecord[]): number[] => rs.map((r) => r.data['i'] as number);

describe('write results', () => {
  it('knows a whole success', () => {
    expect(isWholeSuccess(undefined)).toBe(true);
    expect(isWholeSuccess({ retry: [], rejected: [] })).toBe(true);
    expect(isWholeSuccess({ retry: [0] })).toBe(false);
    expect(isWholeSuccess({ rejected: [{ index: 0, code: 'x', message: '' }] })).toBe(false);
  });

  it('splits by index, ignoring out-of-range and duplicate indexes', () => {
    const rs = [0, 1, 2, 3].map((i) => rec(i));
    const s = splitWriteResult(rs, {
      retry: [1, 9, -1],
      rejected: [
        { index: 2, code: 'too_big', message: '' },
        { index: 2, code: 'too_big', message: '' },
        { index: 7, code: 'x', message: '' },
      ],
    });
    expect(ids(s.ok)).toEqual([0, 3]);
    expect(ids(s.again)).toEqual([1]);
    expect(s.rejected).toEqual(['too_big']);
  });

  it('a record named for retry and rejection is rejected', () => {
    const s = splitWriteResult([rec(0)], {
      retry: [0],
      rejected: [{ index: 0, code: 'c', message: '' }],
    });
    expect([s.ok.length, s.again.length, s.rejected]).toEqual([0, 0, ['c']]);
  });

  it('splits out records the sink found expired; rejection wins over expiry, expiry over retry', () => {
    expect(isWholeSuccess({ expired: [0] })).toBe(false);
    const rs = [0, 1, 2, 3].map((i) => rec(i));
    const s = splitWriteResult(rs, {
      retry: [1],
      expired: [1, 2, 3, 8],
      rejected: [{ index: 3, code: 'c', message: '' }],
    });
    expect(ids(s.ok)).toEqual([0]);
    expect(ids(s.again)).toEqual([]);
    expect(ids(s.expired)).toEqual([1, 2]);
    expect(ids(s.rejectedRecords)).toEqual([3]);
  });

  it('filters expired records', () => {
    const rs = [rec(0, 0), rec(1, 60)];
    expect(ids(unexpired(rs, 100, 50))).toEqual([1]);
    expect(unexpired(rs, 100, 0)).toBe(rs);
  });
});
