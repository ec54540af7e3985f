/**
 * The engine's event bus: N producers (the embedded broker, gateways) feed one rule source.
 * Each producer is asked for exactly the events the current rules can match
 * (`source.interest()`), so it builds no columns for the rest; when the rules change, every
 * producer is re-listened — the new listener added before the old one is removed, in one
 * synchronous step, so no event is missed or seen twice.
 */
import type { BrokerEvent, EventName, EventProducer, Logger } from '../core/index.js';

export interface EventSink {
  push(e: BrokerEvent, ingestTs?: number): void;
  interest(): readonly EventName[] | null;
}

export class EventBus {
  private readonly offs = new Map<EventProducer, () => void>();
  private attached = false;

  constructor(
    private readonly producers: readonly EventProducer[],
    private readonly sink: EventSink,
    private readonly logger: Logger,
  ) {}

  /** Start (or refresh) listening on every producer. */
  attach(): void {
    this.attached = true;
    const names = this.sink.interest();
    // Producers stamp `timestamp` with the engine clock just before emitting: that reading is
    // the ingest time too (one clock read per event, not two).
    const push = (e: BrokerEvent): void => {
      const ts = e.columns['timestamp'];
      this.sink.push(e, typeof ts === 'number' ? ts : undefined);
    };
    for (const p of this.producers) {
      let off: () => void;
      try {
        off = p.listen(push, names);
      } catch (err) {
        this.logger.error(
          { code: 'event_listen_failed', err, producer: p.name },
          'event producer refused a listener',
        );
        continue;
      }
      this.offs.get(p)?.();
      this.offs.set(p, off);
    }
  }

  /** The rules' interest changed: re-listen while attached. */
  refresh(): void {
    if (this.attached) this.attach();
  }

  detach(): void {
    this.attached = false;
    for (const off of this.offs.values()) off();
    this.offs.clear();
  }
}
