/**
 * The matcher removals of src/broker/subscribe-slices.ts: at most one slice per event-loop turn,
 * the rest in arrival order on the following turns, every completion callback called.
 */
import { describe, expect, it } from 'vitest';
import type { Aedes } from 'aedes';
import { installSubscribeSlices } from './subscribe-slices.js';

const turn = () => new Promise((r) => setImmediate(r));

function fakeAedes() {
  const removed: string[] = [];
  const a = {
    unsubscribe(topic: string, _func: unknown, done?: (err?: Error) => void) {
      removed.push(topic);
      done?.();
    },
  };
  return { a, removed };
}

describe('installSubscribeSlices: matcher removals', () => {
  it('1,200 removals asked in one turn go 500 / 500 / 200 over three turns, in order', async () => {
    const { a, removed } = fakeAedes();
    installSubscribeSlices(a as unknown as Aedes, 500);
    const topics = Array.from({ length: 1200 }, (_, i) => `t/${i}`);
    let done = 0;
    for (const t of topics) a.unsubscribe(t, null, () => done++);
    expect(removed).toHaveLength(500);
    await turn();
    expect(removed).toHaveLength(1000);
    await turn();
    expect(removed).toEqual(topics);
    expect(done).toBe(1200);
  });

  it('a removal asked while others wait, in a later turn with budget left, goes at once', async () => {
    const { a, removed } = fakeAedes();
    installSubscribeSlices(a as unknown as Aedes, 2);
    for (const t of ['a', 'b', 'c', 'd', 'e']) a.unsubscribe(t, null);
    expect(removed).toEqual(['a', 'b']);
    await turn(); // c, d
    expect(removed).toEqual(['a', 'b', 'c', 'd']);
    await turn(); // e
    expect(removed).toEqual(['a', 'b', 'c', 'd', 'e']);
    await turn();
    await turn();
    a.unsubscribe('f', null);
    expect(removed).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });
});
