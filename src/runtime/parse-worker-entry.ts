/**
 * Entry of the parse worker thread (parse-worker.ts starts it). One message in, one out:
 * `{ id, sql, limits }` → `{ id, ast }` (the AST as JSON text) or `{ id, result }` (the
 * diagnostics, by structured clone): exactly what `parseRule` returns on this thread (it never
 * throws on bad input); an unexpected throw comes back as `{ id, error }`. The AST is JSON
 * (ast.ts: plain, finite, no undefined members) because `JSON.parse` rebuilds it on the caller's
 * thread 1.5–3× faster than structured clone's deserializer, and that part is on the event loop.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';

import { parseRule, type ParseLimits } from '../sql-parser/index.js';

interface Request {
  readonly id: number;
  readonly sql: string;
  readonly limits: ParseLimits;
}

/**
 * Nice 5 for this thread only (on Linux `setpriority` of "0" is the calling thread): when the
 * cores are busy (the abuse suite's looping jq worker holds one), the event loop gets the CPU
 * before a parse that nobody but one API request waits for. Measured after `jq_loop`, 2 runs
 * each at load 4.5–4.9: case_5000 lag 151–192 ms at nice 0, 50.6–50.9 ms at nice 5.
 */
export const PARSE_WORKER_NICE = 5;
try {
  setPriority(PARSE_WORKER_NICE);
} catch {
  // not permitted here: parse at the normal priority
}

parentPort!.on('message', (m: Request) => {
  try {
    const result = parseRule(m.sql, m.limits);
    parentPort!.postMessage(
      result.ast !== undefined
        ? { id: m.id, ast: JSON.stringify(result.ast) }
        : { id: m.id, result },
    );
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
