/**
 * Child process of hstream-faults.test.ts: a disk-buffered runner in front of the real
 * hstreamdb sink, enqueuing sequence-numbered records (key + seq) forever, 50 every 10 ms,
 * printing `acc <seq> …` for the records `enqueue` accepted. The test SIGKILLs it.
 *
 *   node --import tsx test/integration/hstream-fault-child.ts <port> <stream> <buffer dir>
 */
import { createPipeline, record } from '../hstream-server/helpers.js';

const [port, stream, dir] = process.argv.slice(2) as [string, string, string];
const { runner } = createPipeline(
  {
    url: `hstream://127.0.0.1:${port}`,
    stream,
    partition_key: '${key}',
    follow_lookups: false,
    auto_create: { enable: true, shard_count: 2 },
  },
  {
    batch_size: 20,
    linger: 2,
    max_inflight: 4,
    request_ttl: 0,
    buffer: { mode: 'disk', dir, fsync: 'never', max_records: 1_000_000 },
  },
);
await runner.start();
let seq = 0;
setInterval(() => {
  const acc: number[] = [];
  for (let i = 0; i < 50; i++, seq++)
    if (runner.enqueue(record({ key: `k${seq % 6}`, seq }))) acc.push(seq);
  process.stdout.write(`acc ${acc.join(' ')}\n`);
}, 10);
