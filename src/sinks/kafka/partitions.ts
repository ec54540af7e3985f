/**
 * Partition counts per topic, for choosing a record's partition when it is enqueued (so the
 * runner can batch per topic-partition and keep one batch in flight per partition = order per
 * partition). Counts are fetched on first use and refreshed every
 * `partition_count_refresh_interval` (EMQX `partition_count_refresh_interval`), so added
 * partitions are picked up.
 *
 * `count(topic)` is synchronous (the enqueue path cannot wait): it returns the last known count
 * or undefined and starts a fetch when the value is missing or stale. `ensure(topic)` waits.
 */
export interface PartitionTable {
  count(topic: string): number | undefined;
  ensure(topic: string): Promise<number>;
  /** Forget everything (after a reconnect to possibly another cluster). */
  clear(): void;
}

export function createPartitionTable(deps: {
  fetch: (topic: string) => Promise<number>;
  refreshMs: number;
  now: () => number;
  onError?: (topic: string, err: unknown) => void;
}): PartitionTable {
  const known = new Map<string, { n: number; at: number }>();
  const inflight = new Map<string, Promise<number>>();

  function load(topic: string): Promise<number> {
    let p = inflight.get(topic);
    if (!p) {
      p = deps
        .fetch(topic)
        .then((n) => {
          known.set(topic, { n, at: deps.now() });
          return n;
        })
        .finally(() => inflight.delete(topic));
      inflight.set(topic, p);
    }
    return p;
  }

  return {
    count(topic) {
      const k = known.get(topic);
      if (!k || deps.now() - k.at >= deps.refreshMs) {
        load(topic).catch((err: unknown) => deps.onError?.(topic, err));
      }
      return k?.n;
    },
    async ensure(topic) {
      const k = known.get(topic);
      if (k) return k.n;
      return load(topic);
    },
    clear() {
      known.clear();
    },
  };
}
