/**
 * Child process of ack-after-crash.test.ts: an engine whose tcp listener holds PUBACKs until
 * the records are in a disk buffer (`ack_after: buffered`), feeding a memory sink.
 *
 *   node --import tsx test/integration/ack-after-child.ts <buffer dir> <fsync> hold|deliver
 *
 * `hold`: the sink never finishes a write (records stay in the buffer); the test SIGKILLs the
 * process. `deliver`: the sink writes; every 100 ms the child prints `GOT <json seqs>` of what
 * the sink has, plus `REPLAYED <n>`. Prints `READY <port>` once listening.
 */
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

const [dir, fsync, mode] = process.argv.slice(2) as [string, string, 'hold' | 'deliver'];
const engine = createEngine(
  {
    broker: {
      listeners: {
        tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, ack_after: 'buffered' },
      },
    },
    sinks: {
      out: {
        type: 'memory',
        linger: 0,
        batch_size: 50,
        buffer: { mode: 'disk', dir, fsync, fsync_interval: '50ms', max_records: 1_000_000 },
      },
    },
    rules: [{ id: 'r', sql: 'SELECT payload.seq AS seq FROM "crash/#"', actions: ['out'] }],
  },
  { logger: silentLogger },
);
const [addr] = await engine.start();
const sink = engine.sink('out') as MemorySink;
if (mode === 'hold') sink.hold();
process.stdout.write(`READY ${addr!.port}\n`);
if (mode === 'deliver')
  setInterval(() => {
    const seqs = sink.records.map((r) => r.data['seq']);
    process.stdout.write(
      `GOT ${JSON.stringify(seqs)}\nREPLAYED ${engine.metrics().sinks['out']!.replayed}\n`,
    );
  }, 100);
