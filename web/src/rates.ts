/**
 * Rates from counters, for the live numbers and sparklines: the API reports cumulative
 * counters (`messages.received`, a rule's `matched`, …); each poll adds a sample and the rate
 * is the difference over the elapsed time. Pure (time comes in), so it is unit-tested.
 */

export interface RatePoint {
  /** Seconds since the epoch (uPlot's x axis). */
  readonly t: number;
  /** Per second since the previous sample. */
  readonly rate: number;
}

export class RateSeries {
  private last: { ms: number; value: number } | undefined;
  private readonly points: RatePoint[] = [];

  constructor(private readonly keep = 60) {}

  /**
   * Add the counter's value at `ms`. A counter that went down (a rule re-created, a restart)
   * starts over instead of showing a negative rate.
   */
  add(ms: number, value: number): void {
    const prev = this.last;
    this.last = { ms, value };
    if (!prev || ms <= prev.ms) return;
    const delta = value - prev.value;
    const rate = delta < 0 ? 0 : (delta * 1000) / (ms - prev.ms);
    this.points.push({ t: ms / 1000, rate });
    if (this.points.length > this.keep) this.points.splice(0, this.points.length - this.keep);
  }

  /** The newest rate (0 before two samples). */
  get current(): number {
    return this.points[this.points.length - 1]?.rate ?? 0;
  }

  get history(): readonly RatePoint[] {
    return this.points;
  }
}

/** A rate for people: `0`, `0.4`, `12`, `1.2k`. */
export function formatRate(r: number): string {
  if (r >= 10_000) return `${(r / 1000).toFixed(0)}k`;
  if (r >= 1000) return `${(r / 1000).toFixed(1)}k`;
  if (r >= 10) return r.toFixed(0);
  if (r === 0) return '0';
  return r.toFixed(1);
}
