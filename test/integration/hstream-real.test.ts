/**
 * The sink against the REAL HStreamDB (images of hstream-sink.md §7: ZooKeeper + hstore
 * (LogDevice dev cluster) + hserver), via testcontainers. Runs when a Docker engine is reachable;
 * otherwise the suite is skipped and the reason printed (the one allowed skip: this machine may
 * have no Docker).
 *
 * hserver advertises its container IP, which the host cannot dial with testcontainers' random
 * port mapping, so the sink's `host_mapping` rewrites LookupShard answers to the mapped port —
 * exercising the remapping hook the same way EMQX users needed `host_mapping`.
 */
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GenericContainer,
  getContainerRuntimeClient,
  Network,
  Wait,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey, HStreamClient, zstdAvailable } from '../../src/sinks/hstream/index.js';
import { createPipeline, record, uniqueStream } from '../hstream-server/helpers.js';

const IMAGE = process.env['HSTREAM_IMAGE'] ?? 'hstreamdb/hstream:v0.19.3';

let dockerAvailable = false;
try {
  await getContainerRuntimeClient();
  dockerAvailable = true;
} catch (err) {
  console.log(
    `[hstream-real] SKIPPED: no Docker engine reachable, so the real-HStreamDB suite cannot run here (${(err as Error).message.split('\n')[0]})`,
  );
}

describe.skipIf(!dockerAvailable)(`real HStreamDB (${IMAGE})`, () => {
  let network: StartedNetwork;
  const containers: StartedTestContainer[] = [];
  let storeDir: string;
  let url: string;
  let hostMapping: Record<string, string>;

  beforeAll(async () => {
    storeDir = mkdtempSync(join(tmpdir(), 'sluice-hstore-'));
    chmodSync(storeDir, 0o777);
    network = await new Network().start();
    containers.push(
      await new GenericContainer('zookeeper:3.8.1')
        .withNetwork(network)
        .withNetworkAliases('zookeeper')
        .withWaitStrategy(Wait.forListeningPorts())
        .start(),
    );
    // hstore and hserver share /data/store: ld-dev-cluster writes logdevice.conf there (§7).
    const hstore = await new GenericContainer(IMAGE)
      .withNetwork(network)
      .withNetworkAliases('hstore')
      .withBindMounts([{ source: storeDir, target: '/data/store' }])
      .withEntrypoint(['bash', '-c'])
      .withCommand([
        "ld-dev-cluster --root /data/store --use-tcp --tcp-host $(hostname -I | awk '{print $1}') --user-admin-port 6440 --param enable-dscp-reflection=false --no-interactive > /data/store/hstore.log 2>&1",
      ])
      .withWaitStrategy(
        Wait.forSuccessfulCommand('grep -q "LogDevice Cluster running" /data/store/hstore.log'),
      )
      .withStartupTimeout(600_000)
      .start();
    containers.push(hstore);
    const hserver = await new GenericContainer(IMAGE)
      .withNetwork(network)
      .withNetworkAliases('hserver')
      .withBindMounts([{ source: storeDir, target: '/data/store' }])
      .withExposedPorts(6570)
      .withEntrypoint(['bash', '-c'])
      .withCommand([
        "IP=$(hostname -I | awk '{print $1}'); exec /usr/local/script/wait-for-storage.sh hstore 6440 zookeeper 2181 600 /usr/local/bin/hstream-server --bind-address 0.0.0.0 --port 6570 --internal-port 6571 --server-id 100 --seed-nodes $IP:6571 --advertised-address $IP --metastore-uri zk://zookeeper:2181 --store-config /data/store/logdevice.conf --store-admin-host hstore --store-admin-port 6440 --store-log-level warning",
      ])
      .withWaitStrategy(Wait.forListeningPorts())
      .withStartupTimeout(600_000)
      .start();
    containers.push(hserver);
    const host = hserver.getHost();
    const port = hserver.getMappedPort(6570);
    url = `hstream://${host}:${port}`;
    hostMapping = { [hserver.getIpAddress(network.getName())]: `${host}:${port}` };
    // The server answers Echo once up; appends may still see UNAVAILABLE while the store warms up
    // (the runner retries those).
    const c = client();
    const until = Date.now() + 180_000;
    for (;;) {
      try {
        await c.connect();
        break;
      } catch (err) {
        if (Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    c.close();
  });

  afterAll(async () => {
    for (const c of containers.reverse()) await c.stop().catch(() => {});
    await network?.stop().catch(() => {});
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  });

  function client(): HStreamClient {
    const port = Number(/:(\d+)$/.exec(url)![1]);
    const host = /^hstream:\/\/(.+):\d+$/.exec(url)![1]!;
    return new HStreamClient({
      endpoints: [{ host, port, tls: false }],
      timeoutMs: 30_000,
      appendTimeoutMs: 30_000,
      remap: (n) => {
        const to = hostMapping[n.host];
        if (!to) return n;
        const [h, p] = to.split(':');
        return { host: h!, port: Number(p) };
      },
    });
  }

  for (const compression of ['none', 'gzip', ...(zstdAvailable() ? ['zstd'] : [])]) {
    it(`writes through the runner and reads back content and per-key order (${compression})`, async () => {
      const stream = uniqueStream('real');
      const { runner } = createPipeline(
        {
          url,
          stream,
          compression,
          partition_key: '${k}',
          host_mapping: hostMapping,
          auto_create: { enable: true, shard_count: 2 },
        },
        { batch_size: 50, linger: 5, retry: { initial_backoff: 200, max_backoff: 2000 } },
      );
      await runner.start();
      const N = 500;
      for (let i = 0; i < N; i++) runner.enqueue(record({ k: `key-${i % 7}`, seq: i }));
      await runner.drain(120_000);
      expect(runner.metrics()).toMatchObject({ success: N, failed: 0, dropped: 0 });

      const c = client();
      await c.connect();
      try {
        const shards = await c.listShards(stream);
        expect(shards).toHaveLength(2);
        const seen: number[] = [];
        const last = new Map<string, number>();
        for (const s of shards) {
          for (const r of await c.readShard(s.shardId)) {
            const p = JSON.parse(r.payload.toString()) as { k: string; seq: number };
            expect(r.key).toBe(p.k);
            expect(r.flag).toBe(1);
            const h = hashKey(r.key);
            expect(h >= BigInt(s.startHashRangeKey) && h <= BigInt(s.endHashRangeKey)).toBe(true);
            expect(p.seq).toBeGreaterThan(last.get(p.k) ?? -1);
            last.set(p.k, p.seq);
            seen.push(p.seq);
          }
        }
        expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
        await c.deleteStream(stream, { force: true });
      } finally {
        c.close();
      }
    });
  }

  it('reports a missing stream clearly', async () => {
    const { sink } = createPipeline({
      url,
      stream: uniqueStream('missing'),
      host_mapping: hostMapping,
    });
    await expect(sink.connect()).rejects.toMatchObject({ code: 'hstream_stream_not_found' });
    await sink.close();
  });
});
