/**
 * A loopback TCP proxy that injects network faults between a sink and its remote (issue #12
 * item 5; used by test/integration/hstream-faults.test.ts and bench/faults/):
 *
 *  - `latencyMs`: every chunk is held that long before it is forwarded (each direction);
 *  - `bytesPerSecond`: each direction of each connection is paced to that rate (0 = unlimited);
 *  - `partition()`: a black hole — nothing is forwarded either way and nothing is reset or
 *    closed; the proxy stops reading both sockets, so the peers' TCP windows fill up exactly as
 *    behind a silent network. New connections are accepted and held, not dialled through.
 *    `heal()` forwards everything held, in order (TCP would retransmit it after a partition
 *    shorter than its timeouts);
 *  - `cut()`: destroys every connection at once (what a remote crash or a middlebox reset
 *    looks like to the peers).
 *
 * Binds 127.0.0.1 on an ephemeral port. `setTarget` changes where new connections go. Order of
 * the bytes within a direction is always kept.
 */
import net from 'node:net';

export interface FaultProxy {
  readonly port: number;
  latencyMs: number;
  bytesPerSecond: number;
  readonly partitioned: boolean;
  /** Open client connections. */
  readonly connections: number;
  setTarget(port: number, host?: string): void;
  partition(): void;
  heal(): void;
  cut(): void;
  close(): Promise<void>;
}

interface Held {
  chunk: Buffer;
  at: number;
}

/** One direction of one connection: a FIFO of chunks released by time and rate. */
class Pipe {
  private readonly queue: Held[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the last queued byte may leave at the paced rate. */
  private paceAt = 0;
  private waitingDrain = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly proxy: { latencyMs: number; bytesPerSecond: number; partitioned: boolean },
  ) {
    from.on('data', (chunk: Buffer) => {
      const now = Date.now();
      let at = now + this.proxy.latencyMs;
      if (this.proxy.bytesPerSecond > 0) {
        this.paceAt =
          Math.max(this.paceAt, now) + (chunk.length / this.proxy.bytesPerSecond) * 1000;
        at = Math.max(at, this.paceAt);
      }
      this.queue.push({ chunk, at });
      // Keep the kernel buffers, not this process, holding a slow direction's backlog.
      if (this.queue.length > 64) from.pause();
      this.pump();
    });
  }

  pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.proxy.partitioned || this.waitingDrain || this.to.destroyed) return;
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const { chunk } = this.queue.shift()!;
      if (!this.to.write(chunk)) {
        this.waitingDrain = true;
        this.to.once('drain', () => {
          this.waitingDrain = false;
          this.pump();
        });
        return;
      }
    }
    if (this.queue.length > 0)
      this.timer = setTimeout(() => this.pump(), Math.max(1, this.queue[0]!.at - now));
    else if (!this.proxy.partitioned && this.from.isPaused()) this.from.resume();
  }

  /** A partition stops reading; heal resumes and releases what was held. */
  onPartition(p: boolean): void {
    if (p) this.from.pause();
    else {
      const now = Date.now();
      // Held chunks leave now (their latency has passed), paced again if a rate is set.
      this.paceAt = now;
      for (const h of this.queue) h.at = Math.min(h.at, now);
      this.from.resume();
      this.pump();
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

export async function startFaultProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<FaultProxy> {
  const state = { latencyMs: 0, bytesPerSecond: 0, partitioned: false };
  let target = { host: targetHost, port: targetPort };
  const pairs = new Set<{ client: net.Socket; upstream?: net.Socket; pipes: Pipe[] }>();
  const pending: (() => void)[] = [];

  const dial = (pair: { client: net.Socket; upstream?: net.Socket; pipes: Pipe[] }): void => {
    const upstream = net.connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    pair.pipes.push(new Pipe(pair.client, upstream, state), new Pipe(upstream, pair.client, state));
    if (state.partitioned) for (const p of pair.pipes) p.onPartition(true);
    else pair.client.resume();
    const end = (): void => {
      for (const p of pair.pipes) p.stop();
      pair.client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    upstream.on('error', end);
    upstream.on('close', end);
    pair.client.on('close', end);
  };

  const server = net.createServer((client) => {
    client.setNoDelay(true);
    client.on('error', () => client.destroy());
    client.pause();
    const pair: { client: net.Socket; upstream?: net.Socket; pipes: Pipe[] } = {
      client,
      pipes: [],
    };
    pairs.add(pair);
    client.on('close', () => {
      if (!pair.upstream) pairs.delete(pair);
    });
    if (state.partitioned) pending.push(() => !client.destroyed && dial(pair));
    else dial(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(v: number) {
      state.latencyMs = v;
    },
    get bytesPerSecond() {
      return state.bytesPerSecond;
    },
    set bytesPerSecond(v: number) {
      state.bytesPerSecond = v;
    },
    get partitioned() {
      return state.partitioned;
    },
    get connections() {
      return pairs.size;
    },
    setTarget(p, host = '127.0.0.1') {
      target = { host, port: p };
    },
    partition() {
      if (state.partitioned) return;
      state.partitioned = true;
      for (const pair of pairs) for (const p of pair.pipes) p.onPartition(true);
    },
    heal() {
      if (!state.partitioned) return;
      state.partitioned = false;
      for (const pair of pairs) for (const p of pair.pipes) p.onPartition(false);
      for (const d of pending.splice(0)) d();
    },
    cut() {
      for (const pair of [...pairs]) {
        for (const p of pair.pipes) p.stop();
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      pairs.clear();
    },
    close: async () => {
      pending.length = 0;
      for (const pair of [...pairs]) {
        for (const p of pair.pipes) p.stop();
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
