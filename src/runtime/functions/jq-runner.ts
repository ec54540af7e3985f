/**
 * Runs jq programs for the `jq` function (spec §8.6) with a real timeout, behind the
 * synchronous function-call contract.
 *
 * jq itself is the official C implementation compiled to WebAssembly (npm `jq-web`, jq 1.7),
 * loaded in a worker thread. A call posts the program and input to the worker and blocks the
 * caller with `Atomics.wait` until the worker signals completion or the timeout passes; the
 * result is then read synchronously with `receiveMessageOnPort`. On timeout the worker is
 * terminated (a runaway `range(1e12)` cannot block the engine) and its replacement is started
 * right after the current evaluation (`setImmediate`), without waiting: the WebAssembly loads
 * (~300 ms) in the new worker's own thread.
 *
 * The main thread never blocks longer than `timeoutMs`, which `jq()` caps at the rule's
 * remaining budget — and that includes waiting for a worker to load: a budgeted call that
 * finds the replacement still loading fails at once (issue #19: the next call used to block the event
 * loop for the whole load); the first worker of a runner (started by `warm()` at rule
 * creation, or by the first call) is waited for at most `timeoutMs`. The worker is `unref()`ed
 * so it never keeps the process alive.
 *
 * Created per engine by `createDefaultServices()`; no module-level state.
 */
import { createRequire } from 'node:module';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

/**
 * Thrown by `run` when it gave up without running the program to stay within `timeoutMs`: the
 * worker is (re)loading. `jq()` reports it as the rule budget error.
 */
export class JqNotReady extends Error {
  override readonly name = 'JqNotReady';
}

/** Outcome of one jq run, as the worker reports it. */
type Reply = { ok: true; out: string } | { ok: false; error: string };

export interface JqRunner {
  /**
   * Run `program` on `inputJson`; returns each output as JSON text. Throws `Error` with jq's
   * message on a compile/runtime error, or with `timeout` in the message. `budgeted`: the
   * caller runs under a rule budget (`timeoutMs` is what is left of it), so a replacement
   * worker that is still loading is not waited for at all (`JqNotReady`).
   */
  run(program: string, inputJson: string, timeoutMs: number, budgeted?: boolean): string[];
  /**
   * Run `program` without blocking: in a worker of its own, one program at a time in call
   * order. Rejects with jq's message, or with `timeout` in the message after `timeoutMs` of
   * running (the worker is then replaced; queued runs go on in the new one).
   */
  runAsync(program: string, inputJson: string, timeoutMs: number): Promise<string[]>;
  /** Start the workers now (at rule creation) so that the first call finds them loaded. */
  warm(): void;
  /** Stop the worker (tests and engine shutdown). */
  close(): Promise<void>;
}

/** How long the first call may wait for the WebAssembly module to load. */
const LOAD_TIMEOUT_MS = 30_000;

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const signal = new Int32Array(workerData.signal);
const port = workerData.port;
require(workerData.jqPath).then((jq) => {
  Atomics.store(signal, 1, 1);
  Atomics.notify(signal, 1);
  parentPort.on('message', ({ program, input }) => {
    let reply;
    try {
      const out = jq.raw(input, program, ['-c']);
      reply = { ok: true, out: typeof out === 'string' ? out : '' };
    } catch (e) {
      reply = { ok: false, error: String(e && e.message ? e.message : e) };
    }
    port.postMessage(reply);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  });
}, (e) => {
  Atomics.store(signal, 1, 2);
  Atomics.notify(signal, 1);
});
`;

/**
 * CPU priority (nice) of the worker that runs rules' jq programs alongside the event loop: the
 * lowest. A program that loops until its timeout (10 s by default, EMQX's) keeps a core busy
 * that long; at nice 19 it gets what the broker, the rules and the sinks leave idle, instead of
 * an equal share of a core they need (on 2 cores it stretched the event loop's turns 3 × in
 * wall-clock time). Linux: the nice value is per thread (setpriority(2) on the thread id, read
 * from /proc/thread-self); elsewhere the worker keeps the process's priority.
 */
export const JQ_WORKER_NICE = 19;

const ASYNC_WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
let tid;
try {
  tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  const os = require('node:os');
  if (workerData.nice > os.getPriority(tid)) os.setPriority(tid, workerData.nice);
} catch {}
require(workerData.jqPath).then((jq) => {
  parentPort.postMessage({ ready: true, tid });
  parentPort.on('message', ({ program, input }) => {
    let reply;
    try {
      const out = jq.raw(input, program, ['-c']);
      reply = { ok: true, out: typeof out === 'string' ? out : '' };
    } catch (e) {
      reply = { ok: false, error: String(e && e.message ? e.message : e) };
    }
    parentPort.postMessage(reply);
  });
}, (e) => parentPort.postMessage({ ready: false, error: String(e && e.message ? e.message : e) }));
`;

interface AsyncJob {
  readonly program: string;
  readonly input: string;
  readonly timeoutMs: number;
  resolve(out: string[]): void;
  reject(err: Error): void;
}

/**
 * A job in a lane longer than this makes the next job start in a spare lane: one rule's program
 * that loops until its timeout does not hold up other rules' programs (issue #19).
 */
export const JQ_SLOW_MS = 250;
/** Lanes (workers) at most; each loaded jq costs ~20 MB. */
export const JQ_MAX_LANES = 2;
/** A spare lane idle this long is stopped (the first lane stays). */
export const JQ_SPARE_IDLE_MS = 30_000;

interface Lane {
  worker: Worker;
  ready: boolean;
  running: { job: AsyncJob; timer: NodeJS.Timeout; started: number } | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * The non-blocking runner behind `runAsync`: a FIFO of jobs and up to `JQ_MAX_LANES` workers
 * ("lanes"), one job in a lane at a time. Normally one lane runs everything in call order.
 * When every lane's job has run longer than `JQ_SLOW_MS` (a program looping until its timeout,
 * 10 s by default), a spare lane is started for the jobs queued behind — the rule engine
 * evaluates one message of a rule at a time, so those are other rules' — and stopped again after
 * `JQ_SPARE_IDLE_MS` without work. The timeout of a job runs from when its lane starts it (a job
 * queued behind a slow one is not charged for the wait); a job over its timeout terminates its
 * lane's worker and a new worker takes the lane.
 */
function createAsyncRunner(jqPath: string, nice: number) {
  const queue: AsyncJob[] = [];
  let head = 0;
  const lanes: Lane[] = [];
  let closed = false;
  let slowTimer: NodeJS.Timeout | undefined;

  const start = (lane?: Lane): Lane => {
    const w = new Worker(ASYNC_WORKER_SOURCE, {
      eval: true,
      workerData: { jqPath, nice },
    });
    w.unref();
    const l: Lane = lane ?? { worker: w, ready: false, running: undefined, idleTimer: undefined };
    l.worker = w;
    l.ready = false;
    l.running = undefined;
    w.on('message', (m: { ready?: boolean; error?: string } & Partial<Reply>) => {
      if (l.worker !== w) return;
      if (m.ready === true) {
        l.ready = true;
        return pump();
      }
      if (m.ready === false) {
        // Nothing can run: fail what is queued rather than wait for ever.
        drop(l);
        const err = new Error(`the WebAssembly jq module failed to load: ${m.error ?? ''}`);
        while (head < queue.length) queue[head++]!.reject(err);
        return;
      }
      const job = l.running?.job;
      if (!job) return;
      if (m.ok) job.resolve(m.out === '' || m.out === undefined ? [] : m.out.split('\n'));
      else job.reject(new Error(String(m.error).replace(/^Non-zero exit code: \d+\n/, '')));
      finish(l);
    });
    w.on('error', (err) => {
      if (l.worker !== w) return;
      const job = l.running?.job;
      drop(l);
      job?.reject(new Error(`jq: the worker failed: ${err.message}`));
      pump();
    });
    return l;
  };

  /** Take a lane out (its worker failed or could not load). */
  const drop = (l: Lane): void => {
    if (l.running) clearTimeout(l.running.timer);
    if (l.idleTimer) clearTimeout(l.idleTimer);
    l.running = undefined;
    const i = lanes.indexOf(l);
    if (i >= 0) lanes.splice(i, 1);
  };

  const finish = (l: Lane): void => {
    if (l.running) clearTimeout(l.running.timer);
    l.running = undefined;
    pump();
    // A spare lane with nothing to do goes after a while; the first one stays.
    if (!l.running && lanes.indexOf(l) > 0 && !closed) {
      if (l.idleTimer) clearTimeout(l.idleTimer);
      l.idleTimer = setTimeout(() => {
        if (l.running || lanes.indexOf(l) <= 0) return;
        drop(l);
        void l.worker.terminate();
      }, JQ_SPARE_IDLE_MS);
      l.idleTimer.unref();
    }
  };

  const dispatch = (l: Lane, job: AsyncJob): void => {
    if (l.idleTimer) {
      clearTimeout(l.idleTimer);
      l.idleTimer = undefined;
    }
    const w = l.worker;
    const timer = setTimeout(() => {
      // A runaway program: its worker goes, a new one takes the lane.
      void w.terminate();
      job.reject(new Error(`jq: timeout after ${job.timeoutMs} ms`));
      start(l);
      pump();
    }, job.timeoutMs);
    l.running = { job, timer, started: performance.now() };
    w.postMessage({ program: job.program, input: job.input });
  };

  const pump = (): void => {
    if (closed) return;
    while (head < queue.length) {
      const lane = lanes.find((l) => l.ready && !l.running);
      if (!lane) break;
      const job = queue[head]!;
      queue[head++] = undefined as unknown as AsyncJob;
      dispatch(lane, job);
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    if (head >= queue.length) return;
    // Jobs wait: a lane that is loading will take them; else a spare lane when every lane is
    // held by a slow job.
    if (lanes.length === 0) {
      lanes.push(start());
      return;
    }
    if (lanes.some((l) => !l.ready)) return;
    const now = performance.now();
    // When the most recently started of the running jobs started (every lane is busy here).
    const youngest = Math.max(...lanes.map((l) => (l.running ? l.running.started : now)));
    if (now - youngest >= JQ_SLOW_MS) {
      if (lanes.length < JQ_MAX_LANES) lanes.push(start());
      return;
    }
    // Look again when the youngest running job turns slow.
    if (slowTimer === undefined && lanes.length < JQ_MAX_LANES) {
      slowTimer = setTimeout(
        () => {
          slowTimer = undefined;
          pump();
        },
        Math.ceil(JQ_SLOW_MS - (now - youngest)) + 1,
      );
      slowTimer.unref();
    }
  };

  return {
    run(program: string, input: string, timeoutMs: number): Promise<string[]> {
      closed = false;
      return new Promise<string[]>((resolve, reject) => {
        queue.push({ program, input, timeoutMs, resolve, reject });
        pump();
      });
    },
    warm(): void {
      closed = false;
      if (lanes.length === 0) lanes.push(start());
    },
    async close(): Promise<void> {
      closed = true;
      if (slowTimer) clearTimeout(slowTimer);
      slowTimer = undefined;
      const err = new Error('jq: the engine is stopping');
      const all = lanes.splice(0);
      for (const l of all) {
        if (l.running) {
          clearTimeout(l.running.timer);
          l.running.job.reject(err);
          l.running = undefined;
        }
        if (l.idleTimer) clearTimeout(l.idleTimer);
      }
      while (head < queue.length) queue[head++]!.reject(err);
      queue.length = 0;
      head = 0;
      await Promise.all(all.map((l) => l.worker.terminate()));
    },
  };
}

interface Live {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
  /** A replacement started after a timeout (a call finding it loading fails at once). */
  replacement: boolean;
}

/** Slot 1 of the signal: 0 loading, 1 ready, 2 failed to load. */
const LOADING = 0;
const READY = 1;

export interface JqRunnerOptions {
  /** Nice value of the worker behind `runAsync` (default `JQ_WORKER_NICE`); never below the process's own. */
  asyncNice?: number;
}

export function createJqRunner(options: JqRunnerOptions = {}): JqRunner {
  const jqPath = createRequire(import.meta.url).resolve('jq-web');
  let live: Live | undefined;
  let closed = false;
  const async = createAsyncRunner(jqPath, options.asyncNice ?? JQ_WORKER_NICE);

  /** Start a worker without waiting for it: the WebAssembly loads in the worker's thread. */
  const start = (replacement: boolean): Live => {
    const signal = new Int32Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { signal: signal.buffer, port: port2, jqPath },
      transferList: [port2],
    });
    worker.unref();
    const l: Live = { worker, port: port1, signal, replacement };
    worker.on('error', () => {
      if (live === l) live = undefined;
    });
    return l;
  };

  /** A replacement is due: started on the next turn of the event loop (or by a call). */
  let restartDue = false;

  /**
   * Terminate `l` and start its replacement right after the current evaluation: constructing a
   * Worker costs the main thread some milliseconds, which belong to no rule's budget.
   */
  const replace = (l: Live): void => {
    l.port.close();
    void l.worker.terminate();
    if (live !== l) return;
    live = undefined;
    if (closed) return;
    restartDue = true;
    setImmediate(() => {
      if (!restartDue || closed) return;
      restartDue = false;
      live ??= start(true);
    });
  };

  /** Wait at most `ms` for `l` to load; throws when it does not (or failed to). */
  const ready = (l: Live, ms: number, budgeted: boolean): void => {
    if (Atomics.load(l.signal, 1) === LOADING) {
      // Under a budget a replacement is not waited for: the call fails at once and a later one
      // finds it ready (the first worker, started at rule creation, is waited for up to `ms`).
      if ((budgeted && l.replacement) || ms <= 0)
        throw new JqNotReady('the jq worker is restarting after a timeout; not waited for');
      Atomics.wait(l.signal, 1, LOADING, Math.min(ms, LOAD_TIMEOUT_MS));
    }
    const state = Atomics.load(l.signal, 1);
    if (state === READY) return;
    if (state === LOADING)
      throw new JqNotReady(
        `the jq worker did not load within ${Math.round(ms)} ms; not waited for longer`,
      );
    if (live === l) live = undefined;
    l.port.close();
    void l.worker.terminate();
    throw new Error('the WebAssembly jq module failed to load');
  };

  return {
    run(program, inputJson, timeoutMs, budgeted = false) {
      closed = false;
      const t0 = performance.now();
      if (live === undefined && restartDue) {
        if (budgeted)
          throw new JqNotReady('the jq worker is restarting after a timeout; not waited for');
        restartDue = false;
        live = start(true);
      }
      const l = (live ??= start(false));
      ready(l, timeoutMs, budgeted);
      const left = Math.max(1, Math.ceil(timeoutMs - (performance.now() - t0)));
      Atomics.store(l.signal, 0, 0);
      l.worker.postMessage({ program, input: inputJson });
      const waited = Atomics.wait(l.signal, 0, 0, left);
      if (waited === 'timed-out') {
        replace(l);
        throw new Error(`jq: timeout after ${timeoutMs} ms`);
      }
      const msg = receiveMessageOnPort(l.port);
      if (msg === undefined) {
        replace(l);
        throw new Error('jq: the worker did not answer');
      }
      const reply = msg.message as Reply;
      if (!reply.ok) throw new Error(reply.error.replace(/^Non-zero exit code: \d+\n/, ''));
      return reply.out === '' ? [] : reply.out.split('\n');
    },
    runAsync: (program, inputJson, timeoutMs) => async.run(program, inputJson, timeoutMs),
    warm() {
      // Deployed rules evaluate jq through the non-blocking worker; the blocking one serves
      // direct callers of a compiled rule's run() (no session).
      closed = false;
      async.warm();
      live ??= start(false);
    },
    async close() {
      closed = true;
      restartDue = false;
      await async.close();
      if (live) {
        const l = live;
        live = undefined;
        l.port.close();
        await l.worker.terminate();
      }
    },
  };
}
