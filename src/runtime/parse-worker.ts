/**
 * `parseRule` on a worker thread, for callers that can wait (the management API): a large rule
 * (the largest the default limits allow, a 480-branch CASE, takes 40–60 ms to lex and parse
 * cold) must not hold the event loop that the broker and every rule share (issue #19,
 * decision 0022).
 *
 * Contract:
 * - `parse(sql, limits)` resolves to exactly what `parseRule(sql, limits)` returns on the
 *   caller's thread: the same AST (sent as JSON text) or the same diagnostics
 *   (codes, messages, ranges, caret snippets). It never rejects for bad SQL.
 * - SQL shorter than `minChars` (default 2,048 UTF-16 units, ≈ 1 ms to parse) is parsed on the
 *   caller's thread: a round trip to the worker would cost more than it saves.
 * - One worker, started on first use, parses one rule at a time in arrival order; it is
 *   unreferenced while idle (it never keeps the process alive) and stopped after `idleMs`
 *   without work (its heap and RSS go with it; the next large rule starts a fresh one).
 * - The worker's stack is the main thread's (`stackSizeMb`), so nesting that gives
 *   `sql_too_complex` here does on the caller's thread too, and an AST that comes back can be
 *   planned and compiled on the caller's thread without exhausting its stack.
 * - The worker thread runs at nice 5 (Linux; parse-worker-entry.ts): under CPU contention the
 *   event loop goes first.
 * - If the worker dies (crash, `terminate`, out of memory) or does not answer within
 *   `timeoutMs`, every request it held rejects with `sql_parse_worker_failed` (retriable) and
 *   the next request starts a new worker. After `close()` requests are parsed on the caller's
 *   thread.
 */
import { Worker } from 'node:worker_threads';

import { parseRule } from '../sql-parser/index.js';
import type { ParseLimits, ParseResult, Statement } from '../sql-parser/index.js';
import { runtimeErrors } from './errors.js';

export interface ParseWorkerOptions {
  /** SQL shorter than this (UTF-16 units) is parsed on the caller's thread. Default 2,048. */
  readonly minChars?: number;
  /** Stop the idle worker after this long (ms). Default 30,000. */
  readonly idleMs?: number;
  /**
   * A request not answered within this long fails and the worker is replaced (ms). Default
   * 60,000: the worker runs at a lower priority (parse-worker-entry.ts), so on a saturated host
   * a parse the default limits allow may take seconds.
   */
  readonly timeoutMs?: number;
  /**
   * The worker's stack in MB. Default 1.15: V8 keeps 192 KB of a thread's stack in reserve, so
   * this gives the worker the main thread's 984 KB JavaScript stack.
   */
  readonly stackSizeMb?: number;
}

export interface ParseWorker {
  /** `parseRule(sql, limits)`, off the caller's thread for long SQL (see the module comment). */
  parse(sql: string, limits?: ParseLimits): Promise<ParseResult>;
  /** Stop the worker; pending requests reject with `sql_parse_worker_failed`. */
  close(): Promise<void>;
  /** For tests and metrics: requests answered by the worker, and workers started. */
  stats(): { readonly offThread: number; readonly started: number; readonly running: boolean };
  /** Tests only: kill the worker as a crash would (pending requests fail). */
  crashForTest(): Promise<void>;
}

export const PARSE_WORKER_DEFAULTS = {
  minChars: 2_048,
  idleMs: 30_000,
  timeoutMs: 60_000,
  stackSizeMb: 1.15,
} as const;

interface Pending {
  readonly resolve: (r: ParseResult) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

type Reply =
  | { readonly id: number; readonly ast: string }
  | { readonly id: number; readonly result: ParseResult }
  | { readonly id: number; readonly error: string };

/**
 * The worker entry: compiled JavaScript next to this file, or TypeScript under tsx (dev,
 * tests). The process's own flags are not passed on: some (`--expose-gc`, `--cpu-prof`) are
 * refused in a worker, and the parser needs none.
 */
function workerEntry(): { url: URL; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(ts ? './parse-worker-entry.ts' : './parse-worker-entry.js', import.meta.url);
  return { url, execArgv: ts ? ['--import', 'tsx'] : [] };
}

export function createParseWorker(options: ParseWorkerOptions = {}): ParseWorker {
  const minChars = options.minChars ?? PARSE_WORKER_DEFAULTS.minChars;
  const idleMs = options.idleMs ?? PARSE_WORKER_DEFAULTS.idleMs;
  const timeoutMs = options.timeoutMs ?? PARSE_WORKER_DEFAULTS.timeoutMs;
  const stackSizeMb = options.stackSizeMb ?? PARSE_WORKER_DEFAULTS.stackSizeMb;
  const pending = new Map<number, Pending>();
  let worker: Worker | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let nextId = 1;
  let closed = false;
  let offThread = 0;
  let started = 0;

  /** Fail every request `w` held and forget `w` (the next request starts a new worker). */
  const fail = (w: Worker, why: string): void => {
    if (w !== worker) return;
    worker = undefined;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    const err = runtimeErrors.sql_parse_worker_failed(
      `the rule SQL could not be parsed: the parse worker ${why}; try again`,
    );
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    pending.clear();
    void w.terminate();
  };

  const settle = (w: Worker): void => {
    if (pending.size > 0) return;
    w.unref();
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (w !== worker || pending.size > 0) return;
      worker = undefined;
      void w.terminate();
    }, idleMs);
    idleTimer.unref();
  };

  const start = (): Worker => {
    const entry = workerEntry();
    const w = new Worker(entry.url, {
      execArgv: entry.execArgv,
      resourceLimits: { stackSizeMb },
    });
    started++;
    w.on('message', (m: Reply) => {
      const p = pending.get(m.id);
      if (p === undefined) return;
      pending.delete(m.id);
      clearTimeout(p.timer);
      if ('ast' in m) {
        offThread++;
        p.resolve({ ast: JSON.parse(m.ast) as Statement });
      } else if ('result' in m) {
        offThread++;
        p.resolve(m.result);
      } else p.reject(new Error(`parseRule threw in the parse worker: ${m.error}`));
      settle(w);
    });
    w.on('error', (err) => fail(w, `failed (${err.message})`));
    w.on('messageerror', (err) => fail(w, `sent an unreadable answer (${err.message})`));
    w.on('exit', (code) => fail(w, `exited (code ${code})`));
    return w;
  };

  return {
    parse(sql, limits = {}) {
      if (closed || sql.length < minChars) return Promise.resolve(parseRule(sql, limits));
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = undefined;
      let w: Worker;
      try {
        w = worker ??= start();
      } catch (err) {
        return Promise.reject(
          runtimeErrors.sql_parse_worker_failed(
            `the rule SQL could not be parsed: the parse worker did not start (${(err as Error).message}); try again`,
            { cause: err },
          ),
        );
      }
      w.ref();
      const id = nextId++;
      return new Promise<ParseResult>((resolve, reject) => {
        const timer = setTimeout(() => fail(w, `did not answer within ${timeoutMs} ms`), timeoutMs);
        timer.unref();
        pending.set(id, { resolve, reject, timer });
        w.postMessage({ id, sql, limits });
      });
    },
    async close() {
      closed = true;
      const w = worker;
      if (w === undefined) return;
      fail(w, 'was stopped');
      await w.terminate();
    },
    stats: () => ({ offThread, started, running: worker !== undefined }),
    async crashForTest() {
      const w = worker;
      if (w === undefined) return;
      // terminate() makes the worker exit as a crash would; 'exit' then fails what it held.
      await w.terminate();
    },
  };
}
