/**
 * A loopback stand-in for a Confluent Schema Registry (the REST subset Sluice uses:
 * `GET /schemas/ids/{id}`, `GET /subjects/{subject}/versions/latest`, HTTP Basic auth), run in
 * a worker thread: the registry client blocks the main thread while it fetches a schema
 * (src/schema-registry/sync-http.ts), so the server must live on another thread. Binds
 * 127.0.0.1 on port 0; `stop()` ends the worker. `hits()` counts requests per path (cache tests).
 */
import { Worker } from 'node:worker_threads';

export interface StandinSchema {
  readonly id: number;
  readonly subject: string;
  /** Avro schema JSON text. */
  readonly schema: string;
  readonly schemaType?: string;
}

export interface ConfluentStandin {
  readonly url: string;
  hits(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const http = require('node:http');
const { schemas, auth, delay } = workerData;
const hits = {};
const server = http.createServer((req, res) => {
  hits[req.url] = (hits[req.url] || 0) + 1;
  if (delay > 0) return void setTimeout(() => handle(req, res), delay);
  handle(req, res);
});
function handle(req, res) {
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify(body));
  };
  if (auth && req.headers.authorization !== 'Basic ' + Buffer.from(auth).toString('base64'))
    return send(401, { error_code: 401, message: 'Unauthorized' });
  let m = /^\\/schemas\\/ids\\/(\\d+)$/.exec(req.url);
  if (m) {
    const s = schemas.find((x) => x.id === Number(m[1]));
    if (!s) return send(404, { error_code: 40403, message: 'Schema not found' });
    return send(200, s.schemaType ? { schema: s.schema, schemaType: s.schemaType } : { schema: s.schema });
  }
  m = /^\\/subjects\\/([^/]+)\\/versions\\/latest$/.exec(req.url);
  if (m) {
    const all = schemas.filter((x) => x.subject === decodeURIComponent(m[1]));
    const s = all[all.length - 1];
    if (!s) return send(404, { error_code: 40401, message: 'Subject not found' });
    return send(200, { subject: s.subject, version: all.length, id: s.id, schema: s.schema });
  }
  send(404, { error_code: 404, message: 'HTTP 404 Not Found' });
}
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => {
  if (m === 'hits') parentPort.postMessage({ hits });
  if (m === 'stop') server.close(() => process.exit(0));
});
`;

export async function startConfluentStandin(
  schemas: readonly StandinSchema[],
  auth?: string,
  /** Answer every request this many ms late (benchmarks). */
  delayMs = 0,
): Promise<ConfluentStandin> {
  const worker = new Worker(SOURCE, { eval: true, workerData: { schemas, auth, delay: delayMs } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (m: { port: number }) => resolve(m.port));
    worker.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () =>
      new Promise((resolve) => {
        worker.once('message', (m: { hits: Record<string, number> }) => resolve(m.hits));
        worker.postMessage('hits');
      }),
    stop: async () => {
      const done = new Promise((r) => worker.once('exit', r));
      worker.postMessage('stop');
      await done;
    },
  };
}
