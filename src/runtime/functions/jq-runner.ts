/**
 * Runs jq programs for the `jq` function (spec §8.6) with a real timeout, behind the
 * synchronous function-call contract.
 *
 * jq itself is the official C implementation compiled to WebAssembly (npm `jq-web`, jq 1.7),
 * loaded in a worker thread. A call posts the program and input to the worker and blocks the
 * caller with `Atomics.wait` until the worker signals completion or the timeout passes; the
 * result is then read synchronously with `receiveMessageOnPort`. On timeout the worker is
 * terminated (a runaway `range(1e12)` cannot block the engine) and a fresh one is started on
 * the next call. The worker is `unref()`ed so it never keeps the process alive.
 *
 * Created per engine by `createDefaultServices()`; no module-level state.
 */
import { createRequire } from 'node:module';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

/** Outcome of one jq run, as the worker reports it. */
type Reply = { ok: true; out: string } | { ok: false; error: string };

export interface JqRunner {
  /**
   * Run `program` on `inputJson`; returns each output as JSON text. Throws `Error` with jq's
   * message on a compile/runtime error, or with `timeout` in the message.
   */
  run(program: string, inputJson: string, timeoutMs: number): string[];
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

interface Live {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
}

export function createJqRunner(): JqRunner {
  const jqPath = createRequire(import.meta.url).resolve('jq-web');
  let live: Live | undefined;

  const start = (): Live => {
    const signal = new Int32Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { signal: signal.buffer, port: port2, jqPath },
      transferList: [port2],
    });
    worker.unref();
    worker.on('error', () => {
      if (live?.worker === worker) live = undefined;
    });
    // Wait for the module to load (state slot 1: 1 = ready, 2 = failed).
    Atomics.wait(signal, 1, 0, LOAD_TIMEOUT_MS);
    const state = Atomics.load(signal, 1);
    if (state !== 1) {
      void worker.terminate();
      port1.close();
      throw new Error(
        state === 2 ? 'jq: the WebAssembly jq module failed to load' : 'jq: loading timed out',
      );
    }
    return { worker, port: port1, signal };
  };

  const stop = (l: Live): void => {
    l.port.close();
    void l.worker.terminate();
    if (live === l) live = undefined;
  };

  return {
    run(program, inputJson, timeoutMs) {
      const l = (live ??= start());
      Atomics.store(l.signal, 0, 0);
      l.worker.postMessage({ program, input: inputJson });
      const waited = Atomics.wait(l.signal, 0, 0, timeoutMs);
      if (waited === 'timed-out') {
        stop(l);
        throw new Error(`jq: timeout after ${timeoutMs} ms`);
      }
      const msg = receiveMessageOnPort(l.port);
      if (msg === undefined) {
        stop(l);
        throw new Error('jq: the worker did not answer');
      }
      const reply = msg.message as Reply;
      if (!reply.ok) throw new Error(reply.error.replace(/^Non-zero exit code: \d+\n/, ''));
      return reply.out === '' ? [] : reply.out.split('\n');
    },
    async close() {
      if (live) {
        const l = live;
        live = undefined;
        l.port.close();
        await l.worker.terminate();
      }
    },
  };
}
