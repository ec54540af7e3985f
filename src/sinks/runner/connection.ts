/**
 * The runner's connection state machine: idle → connecting ⇄ connected → stopped. Connect
 * attempts back off with jitter; a lost connection reconnects after one backoff step (so a
 * flapping peer is not hammered); `stop` aborts an attempt in progress through its signal.
 */
import { backoffDelay, SluiceError } from '../../core/index.js';
import type { Logger, Sink } from '../../core/index.js';
import { describeError } from './describe.js';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'failed' | 'stopped';

export interface ConnectionEvents {
  /** The sink connected (first time or again). */
  connected(): void;
  /** A connect attempt failed (the next one is scheduled). */
  attemptFailed(err: unknown): void;
  /** `connect()` failed with a non-retriable error: no more attempts (state `failed`). */
  gaveUp(err: SluiceError): void;
}

export interface ConnectionOptions {
  backoff: { initialMs: number; maxMs: number };
  random: () => number;
  schedule: (fn: () => void, ms: number) => () => void;
  logger: Logger;
}

export class Connection {
  state: ConnectionState = 'idle';
  lastError: unknown;
  private attempt = 0;
  private cancelTimer: (() => void) | undefined;
  private abort = new AbortController();
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(
    private readonly sink: Sink,
    private readonly opts: ConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {}

  /** Connect (retrying with backoff); resolves once connected, rejects if stopped first. */
  start(): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    if (this.state === 'stopped') return Promise.reject(stoppedError());
    if (this.state === 'failed') return Promise.reject(this.lastError);
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.state === 'idle') {
      this.state = 'connecting';
      void this.tryConnect();
    }
    return p;
  }

  /** The sink reported `sink_not_connected`: reconnect after one backoff step. */
  lost(err: unknown): void {
    this.lastError = err;
    if (this.state !== 'connected') return;
    this.opts.logger.warn(
      { code: 'sink_not_connected', err: describeError(err) },
      'sink reported not connected; reconnecting',
    );
    this.state = 'connecting';
    this.attempt = 0;
    const delay = backoffDelay(this.attempt++, this.opts.backoff, this.opts.random);
    this.cancelTimer = this.opts.schedule(() => void this.tryConnect(), delay);
  }

  /** Cancel any attempt or timer and abort a connect in progress. */
  cancel(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.abort.abort();
    this.abort = new AbortController();
  }

  /** Final: pending `start()` calls reject unless the sink had connected. */
  stop(): void {
    const wasConnected = this.state === 'connected';
    this.cancel();
    this.state = 'stopped';
    if (!wasConnected) {
      const w = this.waiters;
      this.waiters = [];
      for (const s of w) s.reject(stoppedError());
    }
  }

  private async tryConnect(): Promise<void> {
    this.cancelTimer = undefined;
    if (this.state !== 'connecting') return;
    const signal = this.abort.signal;
    try {
      await this.sink.connect(signal);
    } catch (err) {
      if (this.state !== 'connecting' || signal.aborted) return;
      this.lastError = err;
      if (err instanceof SluiceError && !err.retriable) {
        // Retrying cannot help (bad credentials format, a missing native addon, …): stop and
        // say so once, until the configuration changes.
        this.state = 'failed';
        this.opts.logger.error(
          { code: 'sink_connect_failed', err: describeError(err) },
          'sink connect failed with a non-retriable error; the sink is marked failed and not retried',
        );
        const w = this.waiters;
        this.waiters = [];
        for (const s of w) s.reject(err);
        this.events.gaveUp(err);
        return;
      }
      const delay = backoffDelay(this.attempt++, this.opts.backoff, this.opts.random);
      this.opts.logger.warn(
        {
          code: 'sink_connect_failed',
          err: describeError(err),
          attempt: this.attempt,
          retryInMs: delay,
        },
        'sink connect failed',
      );
      this.cancelTimer = this.opts.schedule(() => void this.tryConnect(), delay);
      this.events.attemptFailed(err);
      return;
    }
    if (this.state !== 'connecting' || signal.aborted) return;
    this.state = 'connected';
    if (this.attempt > 0) this.opts.logger.info({ attempts: this.attempt }, 'sink connected');
    this.attempt = 0;
    const w = this.waiters;
    this.waiters = [];
    for (const s of w) s.resolve();
    this.events.connected();
  }
}

function stoppedError(): SluiceError {
  return new SluiceError('shutdown', 'sink runner stopped before the sink connected');
}
