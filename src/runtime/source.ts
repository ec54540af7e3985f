/**
 * The one shared hot event stream (CONVENTIONS.md data path): broker events enter through
 * `push()` (or by subscribing `events$` to the broker's stream) and are demultiplexed to the
 * attached rule pipelines through a topic-filter trie (topic-index.ts).
 *
 * Per event:
 *  1. the targets for `event.matchTopic` come from a per-topic cache, or from one walk of the
 *     index (no per-rule filter checks). The cache holds up to `MATCH_CACHE_SIZE` topics and is
 *     emptied whenever a target is attached or detached, so a lookup never returns a stale set
 *     (devices publish to the same few topics over and over: most events hit the cache);
 *  2. if nothing matched, nothing else happens (the payload is never decoded);
 *  3. otherwise ONE message context is created from the event columns (`createContext`, the
 *     compiler's `createMessageContext`: payload JSON is decoded lazily, at most once, and
 *     shared by every rule that reads it) and handed to each matching target exactly once,
 *     even when several of the target's FROM filters match.
 *
 * Delivery to targets is synchronous, in attach order within a trie node. A target that throws
 * is logged and skipped; it never ends the stream (CONVENTIONS.md #4).
 */
import { Subject } from 'rxjs';
import type { Observable } from 'rxjs';

import { EVENT_TOPICS } from '../core/index.js';
import type { BrokerEvent, EventName, Logger } from '../core/index.js';
import { createTopicIndex, normaliseFilter } from './topic-index.js';
import type { Tracer, TriggerTrace } from './trace/index.js';

/** What a rule pipeline receives for one matching event. */
export interface Trigger<C> {
  readonly event: BrokerEvent;
  /** The shared lazy message context (one per event, shared across rules). */
  readonly ctx: C;
  /** Wall-clock ms when the event entered the source. */
  readonly ingestTs: number;
  /** Set only while a running trace selects this event (docs/api.md "Traces"). */
  readonly trace: TriggerTrace | undefined;
}

/** An attached consumer (a rule pipeline's input). */
export interface SourceTarget<C> {
  /** Called synchronously for each matching event. */
  deliver(trigger: Trigger<C>): void;
}

export interface SourceDeps<C> {
  /** Build the shared per-event context (the compiler's `createMessageContext`). */
  createContext(columns: BrokerEvent['columns']): C;
  logger: Logger;
  now(): number;
  /**
   * Called (synchronously, inside `attach`/`detach`) whenever `interest()` changes, so the feeder
   * can subscribe to just those events (the broker's `onEvent(fn, { names })`) and skip building
   * the others' columns.
   */
  onInterestChange?(names: readonly EventName[]): void;
}

export interface EventSource<C> {
  /**
   * Feed one event (the broker's `onEvent` listener calls this). `ingestTs` is the wall-clock ms
   * the event entered the source when the caller already read the clock for it (the broker's
   * `timestamp` column, taken with the same clock just before); default `deps.now()`.
   */
  push(event: BrokerEvent, ingestTs?: number): void;
  /** Every event pushed, as one hot stream (for taps such as `$events` counters or tests). */
  readonly events$: Observable<BrokerEvent>;
  /** Attach `target` under each filter (legacy event topics are normalised). */
  attach(filters: readonly string[], target: SourceTarget<C>): void;
  detach(filters: readonly string[], target: SourceTarget<C>): void;
  /**
   * The event names some attached filter can match — the only events whose `push` can reach a
   * target. `message.publish` is included while any filter is not exactly one of the event
   * topics of spec §7.2 (an event-topic filter such as `$events/client/connected` is an event
   * rule); every other event is included when its slash topic matches an attached filter.
   */
  interest(): readonly EventName[];
  /** Number of (filter, target) pairs attached. */
  readonly size: number;
  /**
   * Follow events for the trace recorder (`TraceRegistry`'s `onActive`): null while no trace
   * runs, so the untraced path costs one null check per event.
   */
  setTracer(tracer: Tracer | null): void;
  /** Complete `events$`; later pushes are ignored. */
  close(): void;
}

/** Topics whose target lists are cached (the cache is cleared when it fills up). */
export const MATCH_CACHE_SIZE = 10_000;

const NONE: readonly never[] = Object.freeze([]);

/** Non-publish event names with their slash match topic (what the broker uses as `matchTopic`). */
const EVENTS = Object.entries(EVENT_TOPICS).map(
  ([name, [topic]]) => [name as EventName, topic] as const,
);
const EVENT_TOPIC_SET: ReadonlySet<string> = new Set(EVENTS.map(([, t]) => t));

export function createEventSource<C>(deps: SourceDeps<C>): EventSource<C> {
  const index = createTopicIndex<SourceTarget<C>>();
  const events$ = new Subject<BrokerEvent>();
  let closed = false;
  const cache = new Map<string, readonly SourceTarget<C>[]>();
  /** (filter, target) pairs whose filter is not exactly an event topic (they can match publishes). */
  let publishPairs = 0;
  let interest: readonly EventName[] = NONE;
  let tracer: Tracer | null = null;

  function computeInterest(): readonly EventName[] {
    const names: EventName[] = publishPairs > 0 ? ['message.publish'] : [];
    for (const [name, topic] of EVENTS) {
      let hit = false;
      index.match(topic, () => (hit = true));
      if (hit) names.push(name);
    }
    return names;
  }

  function refreshInterest(): void {
    const next = computeInterest();
    if (next.length === interest.length && next.every((n, i) => interest[i] === n)) return;
    interest = Object.freeze(next);
    deps.onInterestChange?.(interest);
  }

  /** Targets matching `topic`, each once (a rule with two matching filters runs once). */
  function lookup(topic: string): readonly SourceTarget<C>[] {
    let targets = cache.get(topic);
    if (targets !== undefined) return targets;
    const found = new Set<SourceTarget<C>>();
    index.match(topic, (t) => found.add(t));
    targets = found.size === 0 ? NONE : [...found];
    if (cache.size >= MATCH_CACHE_SIZE) cache.clear();
    cache.set(topic, targets);
    return targets;
  }

  function push(event: BrokerEvent, ingestTs?: number): void {
    if (closed) return;
    if (events$.observed) events$.next(event);
    const targets = lookup(event.matchTopic);
    // A traced event is recorded even when no rule matched it (`received` with rules: 0).
    const trace = tracer === null ? undefined : tracer.begin(event, targets.length);
    if (targets.length === 0) return;
    const trigger: Trigger<C> = {
      event,
      ctx: deps.createContext(event.columns),
      ingestTs: ingestTs ?? deps.now(),
      trace,
    };
    for (const t of targets) {
      try {
        t.deliver(trigger);
      } catch (err) {
        deps.logger.error(
          { code: 'rule_internal_error', err, topic: event.matchTopic },
          'rule target threw; event skipped',
        );
      }
    }
  }

  return {
    push,
    events$: events$.asObservable(),
    attach(filters, target) {
      for (const f of filters) {
        const before = index.size;
        index.add(f, target);
        if (index.size !== before && !EVENT_TOPIC_SET.has(normaliseFilter(f))) publishPairs++;
      }
      cache.clear();
      refreshInterest();
    },
    detach(filters, target) {
      for (const f of filters) {
        const before = index.size;
        index.remove(f, target);
        if (index.size !== before && !EVENT_TOPIC_SET.has(normaliseFilter(f))) publishPairs--;
      }
      cache.clear();
      refreshInterest();
    },
    interest: () => interest,
    setTracer(t) {
      tracer = t;
    },
    get size() {
      return index.size;
    },
    close() {
      closed = true;
      events$.complete();
    },
  };
}
