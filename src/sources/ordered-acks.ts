/**
 * In-order acknowledgement: messages finish in any order (sinks acknowledge batches
 * concurrently), but acknowledgements leave in arrival order — MQTT requires PUBACKs in the
 * order the PUBLISHes arrived [MQTT-4.6.0-2], and a Kafka commit must never pass an unfinished
 * record. `release(item)` is called for the longest finished prefix, oldest first.
 */
export interface AckEntry<T> {
  readonly item: T;
  /** When the entry was added (`now()` ms), for `ack_timeout`. */
  readonly at: number;
  done: boolean;
}

export class OrderedAcks<T> {
  private queue: AckEntry<T>[] = [];
  private head = 0;

  constructor(
    private readonly release: (item: T) => void,
    private readonly now: () => number,
  ) {}

  /** Entries added and not yet released. */
  get size(): number {
    return this.queue.length - this.head;
  }

  add(item: T): AckEntry<T> {
    const e: AckEntry<T> = { item, at: this.now(), done: false };
    this.queue.push(e);
    return e;
  }

  /** Mark `e` finished and release the finished prefix. */
  complete(e: AckEntry<T>): void {
    e.done = true;
    this.flush();
  }

  /**
   * Mark every entry older than `maxAgeMs` finished (ack_timeout); returns how many were
   * forced. 0 disables.
   */
  forceOlderThan(maxAgeMs: number): number {
    if (maxAgeMs <= 0) return 0;
    const limit = this.now() - maxAgeMs;
    let forced = 0;
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.at > limit) break;
      if (!e.done) {
        e.done = true;
        forced++;
      }
    }
    if (forced) this.flush();
    return forced;
  }

  /** Forget everything unreleased (the connection they belong to is gone). */
  clear(): void {
    this.queue = [];
    this.head = 0;
  }

  private flush(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.done) {
      const e = this.queue[this.head++]!;
      this.release(e.item);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
