/**
 * A blocking HTTP GET for the synchronous rule-function contract (the external registry is
 * asked only on a cache miss: once per schema id). Same technique as the jq runner
 * (src/runtime/functions/jq-runner.ts): a worker thread does the `fetch`, the caller waits with
 * `Atomics.wait` for at most `timeoutMs` and reads the reply with `receiveMessageOnPort`. Replies
 * carry the request id, so a reply that arrives after its caller gave up is dropped. The worker
 * is `unref()`ed and started on first use; `close()` ends it. One per registry (no module state).
 *
 * Consequence worth knowing: while a miss is fetched the event loop is blocked (at most
 * `timeoutMs`, which the caller caps at the rule budget), so the registry must not be served by
 * this same thread (tests run their stand-in registry in a worker).
 */
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

export type SyncReply =
  | { readonly ok: true; readonly status: number; readonly body: string }
  | { readonly ok: false; readonly error: string };

export interface SyncHttp {
  get(url: string, headers: Readonly<Record<string, string>>, timeoutMs: number): SyncReply;
  close(): Promise<void>;
}

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const signal = new Int32Array(workerData.signal);
const port = workerData.port;
port.on('message', async ({ id, url, headers, timeoutMs }) => {
  let reply;
  try {
    const r = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    reply = { id, ok: true, status: r.status, body: await r.text() };
  } catch (e) {
    reply = { id, ok: false, error: String((e && (e.cause && e.cause.message || e.message)) || e) };
  }
  port.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});
`;

export function createSyncHttp(): SyncHttp {
  let live: { worker: Worker; port: MessagePort; signal: Int32Array } | undefined;
  let next = 0;
  const start = (): NonNullable<typeof live> => {
    const sab = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { signal: sab, port: port2 },
      transferList: [port2],
    });
    worker.unref();
    worker.on('error', () => {
      live = undefined;
    });
    return { worker, port: port1, signal: new Int32Array(sab) };
  };
  return {
    get(url, headers, timeoutMs) {
      const l = (live ??= start());
      const id = ++next;
      Atomics.store(l.signal, 0, 0);
      l.port.postMessage({ id, url, headers, timeoutMs });
      const deadline = performance.now() + timeoutMs + 250;
      for (;;) {
        for (let m = receiveMessageOnPort(l.port); m; m = receiveMessageOnPort(l.port)) {
          const r = m.message as SyncReply & { id: number };
          if (r.id === id) return r;
        }
        const left = deadline - performance.now();
        if (left <= 0) return { ok: false, error: `timeout after ${timeoutMs} ms` };
        Atomics.wait(l.signal, 0, 0, left);
        Atomics.store(l.signal, 0, 0);
      }
    },
    async close() {
      const l = live;
      live = undefined;
      if (l) {
        l.port.close();
        await l.worker.terminate();
      }
    },
  };
}
