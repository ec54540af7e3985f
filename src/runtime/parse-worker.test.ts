import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';

import { afterEach, describe, expect, it } from 'vitest';

import { parseRule } from '../sql-parser/index.js';
import { createParseWorker, type ParseWorker } from './parse-worker.js';

const caseRule = (n: number, tail = ''): string =>
  `SELECT CASE ${Array.from({ length: n }, (_, i) => `WHEN payload.v = ${i} THEN 'b${i}'`).join(' ')} ELSE 'none' END AS c FROM "t"${tail}`;

const workers: ParseWorker[] = [];
function worker(opts: Parameters<typeof createParseWorker>[0] = {}): ParseWorker {
  const w = createParseWorker({ minChars: 0, ...opts });
  workers.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

/** Rules whose sync diagnostics (code, message, range, caret snippet) the worker must repeat. */
const BAD = [
  '',
  '   \n ',
  'SELECT a FORM "t"',
  "SELECT a FROM t WHERE b = 'x",
  'SELECT a, FROM t',
  'SELECT a & b FROM "t"',
  'SELECT select FROM "t"',
  'SELECT a == 1 FROM "t"',
  'SELECT 10e2 AS x FROM "t"',
  'SELECT a FROM "t" -- trailing',
  'SELECT a AND b FROM "t"',
  'SELECT a.b[1.5] FROM "t"',
  'SELECT \uD800 FROM "t"',
  caseRule(300, ' WHERE'), // a syntax error at the very end of a long rule
  caseRule(300).replace("THEN 'b299'", "THEN 'b299"), // unterminated string, long rule
  caseRule(600), // over max_sql_tokens (4,000)
  caseRule(5000), // over max_sql_bytes (64 KiB)
];

describe('createParseWorker (issue #19: rule SQL parsed off the event loop)', () => {
  it('gives exactly the diagnostics of the synchronous parseRule, carets included', async () => {
    const w = worker();
    for (const sql of BAD) {
      const sync = parseRule(sql);
      expect(sync.diagnostics, sql.slice(0, 40)).toBeDefined();
      expect(await w.parse(sql), sql.slice(0, 40)).toEqual(sync);
    }
    expect(w.stats().offThread).toBe(BAD.length);
  });

  it('gives exactly the AST of the synchronous parseRule for a long valid rule', async () => {
    const w = worker();
    const sql = caseRule(480);
    const r = await w.parse(sql);
    expect(r.ast).toBeDefined();
    expect(r).toStrictEqual(parseRule(sql)); // no member lost or added on the way
    expect(w.stats()).toMatchObject({ offThread: 1, started: 1 });
  });

  it('applies the caller’s limits, and 0 disables them as on the caller’s thread', async () => {
    const w = worker();
    const sql = caseRule(600);
    for (const limits of [{ maxTokens: 100 }, { maxBytes: 1000 }, { maxTokens: 0 }]) {
      expect(await w.parse(sql, limits)).toEqual(parseRule(sql, limits));
    }
    expect((await w.parse(sql, { maxTokens: 0 })).ast).toBeDefined();
  });

  it('nesting beyond the stack gives sql_too_complex there as here; shallow nesting parses', async () => {
    const w = worker();
    const nested = (n: number) => `SELECT ${'('.repeat(n)}1${')'.repeat(n)} AS x FROM "t"`;
    const none = { maxTokens: 0, maxBytes: 0 };
    const deep = await w.parse(nested(5000), none);
    expect(deep.diagnostics?.[0]?.code).toBe('sql_too_complex');
    expect(deep).toEqual(parseRule(nested(5000), none));
    expect((await w.parse(nested(50), none)).ast).toEqual(parseRule(nested(50), none).ast);
  });

  it('answers concurrent requests each with its own result', async () => {
    const w = worker();
    const sqls = Array.from({ length: 24 }, (_, i) =>
      i % 3 === 2 ? caseRule(20 + i, ' WHERE') : caseRule(20 + i),
    );
    const results = await Promise.all(sqls.map((s) => w.parse(s)));
    results.forEach((r, i) => expect(r).toEqual(parseRule(sqls[i]!)));
    expect(w.stats()).toMatchObject({ offThread: 24, started: 1 });
  });

  it('parses short SQL on the caller’s thread without starting a worker', async () => {
    const w = worker({ minChars: 2048 });
    const sql = 'SELECT payload.a AS a FROM "t/#" WHERE payload.b > 1';
    expect(await w.parse(sql)).toEqual(parseRule(sql));
    expect(w.stats()).toEqual({ offThread: 0, started: 0, running: false });
    await w.parse(caseRule(480)); // 19 KB: off the thread
    expect(w.stats()).toMatchObject({ offThread: 1, started: 1 });
  });

  it('a worker crash fails the pending requests with sql_parse_worker_failed; the next one works', async () => {
    const w = worker();
    const sql = caseRule(480);
    await w.parse('SELECT 1 AS x FROM "t"'); // started and warm
    const pending = [w.parse(sql), w.parse(sql)];
    await w.crashForTest();
    for (const p of pending)
      await expect(p).rejects.toMatchObject({
        code: 'sql_parse_worker_failed',
        retriable: true,
        message: expect.stringMatching(/parse worker exited \(code \d+\); try again/),
      });
    expect(await w.parse(sql)).toEqual(parseRule(sql));
    expect(w.stats()).toMatchObject({ started: 2, running: true });
  });

  it('a worker that does not answer in time is replaced; its requests fail clearly', async () => {
    const w = worker({ timeoutMs: 1 }); // a fresh worker cannot even load the parser in 1 ms
    await expect(w.parse(caseRule(100))).rejects.toMatchObject({
      code: 'sql_parse_worker_failed',
      message: expect.stringContaining('did not answer within 1 ms'),
    });
    expect(w.stats().running).toBe(false);
  });

  it('stops the idle worker after idleMs and starts a new one when needed', async () => {
    const w = worker({ idleMs: 50 });
    await w.parse(caseRule(50));
    expect(w.stats().running).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(w.stats().running).toBe(false);
    expect((await w.parse(caseRule(50))).ast).toBeDefined();
    expect(w.stats().started).toBe(2);
  });

  it('lowers the priority of the worker thread only, not of the caller’s', async () => {
    const before = getPriority();
    const w = worker();
    await w.parse(caseRule(10));
    expect(getPriority()).toBe(before);
    if (existsSync(`/proc/${process.pid}/task`)) {
      // Linux: one thread of this process now runs at nice 5 (the parse worker).
      const nice = readdirSync(`/proc/${process.pid}/task`).map((t) => {
        const stat = readFileSync(`/proc/${process.pid}/task/${t}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      });
      expect(nice).toContain(Math.max(before, 5));
    }
  });

  it('after close, parses on the caller’s thread; requests in flight fail', async () => {
    const w = worker();
    const inFlight = expect(w.parse(caseRule(480))).rejects.toMatchObject({
      code: 'sql_parse_worker_failed',
      message: expect.stringContaining('was stopped'),
    });
    await w.close();
    await inFlight;
    const sql = caseRule(10, ' WHERE');
    expect(await w.parse(sql)).toEqual(parseRule(sql));
    expect(w.stats()).toMatchObject({ started: 1, running: false });
  });
});
