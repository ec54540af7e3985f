/**
 * Messages being routed, by Aedes broker counter: how many copies each reached (to detect
 * `no_subscribers` drops) and its publish columns (reused by delivered / dropped events).
 *
 * Hot path (one open + one close per publish, one hit per delivered copy): a fixed ring of
 * slots indexed by `counter & MASK` held in typed arrays, so routing allocates nothing per
 * message. Counters are assigned in increasing order and a route lives only while Aedes routes
 * the message, so the slot is almost always free; when it is still held by an older message
 * (more than RING messages routing at once, e.g. a backed-up mqemitter queue) the route goes to
 * an overflow Map instead. Lookups check the slot's counter first, then the Map: exact either way.
 */
import type { ValueMap } from '../core/index.js';

const RING = 4096;
const MASK = RING - 1;
const FREE = -1;

export class RouteTable {
  private readonly counters = new Float64Array(RING).fill(FREE);
  private readonly deliveries = new Uint32Array(RING);
  private readonly columnsOf: (Readonly<ValueMap> | null)[] = new Array<null>(RING).fill(null);
  private readonly overflow = new Map<
    number,
    { deliveries: number; columns: Readonly<ValueMap> | null }
  >();

  /** Start routing message `counter` (its publish columns, or null when none were built). */
  open(counter: number, columns: Readonly<ValueMap> | null): void {
    const i = counter & MASK;
    if (this.counters[i] === FREE) {
      this.counters[i] = counter;
      this.deliveries[i] = 0;
      this.columnsOf[i] = columns;
    } else this.overflow.set(counter, { deliveries: 0, columns });
  }

  /** Count `n` copies of message `counter` delivered (or queued); false when it is not routing. */
  hit(counter: number, n: number): boolean {
    const i = counter & MASK;
    if (this.counters[i] === counter) {
      this.deliveries[i]! += n;
      return true;
    }
    const r = this.overflow.size === 0 ? undefined : this.overflow.get(counter);
    if (r === undefined) return false;
    r.deliveries += n;
    return true;
  }

  /** The publish columns of a routing message (undefined when it is not routing). */
  columns(counter: number): Readonly<ValueMap> | null | undefined {
    const i = counter & MASK;
    if (this.counters[i] === counter) return this.columnsOf[i];
    return this.overflow.size === 0 ? undefined : this.overflow.get(counter)?.columns;
  }

  /** Stop routing message `counter`; returns how many copies it reached (-1 if unknown). */
  close(counter: number): number {
    const i = counter & MASK;
    if (this.counters[i] === counter) {
      this.counters[i] = FREE;
      this.columnsOf[i] = null;
      return this.deliveries[i]!;
    }
    const r = this.overflow.get(counter);
    if (r === undefined) return -1;
    this.overflow.delete(counter);
    return r.deliveries;
  }

  clear(): void {
    this.counters.fill(FREE);
    this.columnsOf.fill(null);
    this.overflow.clear();
  }
}
