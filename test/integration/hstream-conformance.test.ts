/**
 * The shared sink conformance suite against the `hstreamdb` sink and the HStreamDB stand-in
 * (test/hstream-server: the real wire protocol and the server's rules, strict mode). Each test
 * gets its own server with a persistence file, so `dropConnection` can stop it and start it again
 * on the same port, keeping every acknowledged record — a real restart under the connected sink.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { silentLogger } from '../../src/core/index.js';
import { createHStreamSink } from '../../src/sinks/hstream/index.js';
import { startStandInServer, type StandInServer } from '../hstream-server/server.js';
import { sinkConfig, uniqueStream } from '../hstream-server/helpers.js';
import { runSinkConformance } from './sink-conformance.js';

runSinkConformance('hstreamdb', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-hs-conf-'));
  const persistFile = path.join(dir, 'log.jsonl');
  let server: StandInServer = await startStandInServer({ persistFile, strict: true });
  const port = server.port;
  const stream = uniqueStream('conf');
  const sink = createHStreamSink(
    { logger: silentLogger, now: Date.now },
    sinkConfig({
      url: `hstream://127.0.0.1:${port}`,
      stream,
      partition_key: '${id}',
      record_template: '${.}',
      auto_create: { enable: true, shard_count: 2 },
    }),
    'conformance',
  );
  const ids = (): number[] =>
    server
      .records(stream)
      .map((r) => (JSON.parse(r.payload.toString('utf8')) as { id: number }).id);
  return {
    sink,
    async readIds(atLeast) {
      const deadline = Date.now() + 10_000;
      while (ids().length < atLeast && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      return ids();
    },
    async dropConnection() {
      await server.stop();
      server = await startStandInServer({ persistFile, strict: true, port });
    },
    async cleanup() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
