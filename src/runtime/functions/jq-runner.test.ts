import { afterAll, describe, expect, it } from 'vitest';
import { JqNotReady, createJqRunner } from './jq-runner.js';
import { compileRule } from '../compile-rule.js';
import { createDefaultServices } from './index.js';

/** Retry a budgeted call until the worker has loaded (the event loop keeps running between). */
async function untilReady(run: () => string[]): Promise<string[]> {
  for (let i = 0; i < 600; i++) {
    try {
      return run();
    } catch (e) {
      if (!(e instanceof JqNotReady)) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('the jq worker never became ready');
}

describe('jq runner restarts (issue #19)', () => {
  const runner = createJqRunner();
  afterAll(() => runner.close());

  it('after a timeout the replacement loads in the background; a budgeted call never waits for it', async () => {
    runner.warm();
    // Unbudgeted: the first worker is waited for (up to the timeout).
    expect(runner.run('. + 1', '1', 30_000)).toEqual(['2']);
    expect(() => runner.run('def f: f; f', '1', 100, true)).toThrow(/timeout after 100 ms/);
    // The replacement was started by the timeout, not by this call, and is still loading (the
    // WebAssembly takes far longer than these two synchronous statements): a budgeted call
    // fails at once with JqNotReady instead of blocking for the load.
    let err: unknown;
    try {
      runner.run('. + 1', '1', 1_000, true);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JqNotReady);
    // Without any further call the replacement finishes loading and answers.
    expect(await untilReady(() => runner.run('. * 3', '2', 1_000, true))).toEqual(['6']);
  });

  it('an unbudgeted call waits for a loading replacement (up to its timeout)', () => {
    expect(() => runner.run('def f: f; f', '1', 100, true)).toThrow(/timeout/);
    expect(runner.run('[., 1]', '0', 30_000)).toEqual(['[0,1]']);
  });
});

describe('jq worker warm-up at rule creation', () => {
  it('creating a rule that calls jq with shared services starts the worker; other rules do not', () => {
    let warmed = 0;
    const services = createDefaultServices({ jqWarm: () => void warmed++ });
    compileRule(`SELECT payload.a AS a FROM "t"`, { services });
    expect(warmed).toBe(0);
    compileRule(`SELECT jq('.a', payload) AS a FROM "t"`, { services });
    expect(warmed).toBe(1);
  });
});

describe('jq runs without blocking (runAsync), issue #19', () => {
  it('a program looping until its timeout does not hold up the jobs queued behind it', async () => {
    const runner = createJqRunner();
    try {
      expect(await runner.runAsync('.a', '{"a":1}', 30_000)).toEqual(['1']); // loaded
      let loopDone = false;
      const looping = runner.runAsync('def f: f; f', '1', 8_000).then(
        () => (loopDone = true),
        () => (loopDone = true),
      );
      // Queued behind the loop: runs in a spare lane once the loop has run JQ_SLOW_MS.
      const quick = await runner.runAsync('. * 2', '21', 30_000);
      expect(quick).toEqual(['42']);
      expect(loopDone).toBe(false);
      // And another one, now that the spare lane is loaded.
      expect(await runner.runAsync('[., .]', '1', 30_000)).toEqual(['[1,1]']);
      expect(loopDone).toBe(false);
      await runner.close();
      await looping;
    } finally {
      await runner.close();
    }
  });

  it('jobs in call order in one lane while none is slow; a timeout replaces the lane’s worker', async () => {
    const runner = createJqRunner();
    try {
      const outs = await Promise.all(
        [1, 2, 3].map((n) => runner.runAsync('. + 1', String(n), 30_000)),
      );
      expect(outs).toEqual([['2'], ['3'], ['4']]);
      await expect(runner.runAsync('def f: f; f', '1', 300)).rejects.toThrow(
        /timeout after 300 ms/,
      );
      expect(await runner.runAsync('. * 3', '2', 30_000)).toEqual(['6']);
    } finally {
      await runner.close();
    }
  });
});
