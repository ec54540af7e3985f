/**
 * The process logger behind the `Logger` contract (issue #20):
 *
 * - **One value per key.** A child merges its bindings into its parent's instead of stacking
 *   them (pino's children repeat keys: `"component":"sluice","component":"broker",…`, which
 *   many JSON consumers reject). `component` is a dotted path: `broker` under the root, and a
 *   child naming `listener` under `broker` is `broker.listener` (naming the same or a longer
 *   path, e.g. `sink.kafka` under `sink`, keeps that name).
 * - **Two formats.** `json` is pino's line shape (`level` number, `time` ms, `msg`, fields);
 *   `text` is one readable line per event — time, level, component, message, then `key=value`
 *   fields — coloured when written to a terminal. `auto` picks text on a TTY, JSON otherwise.
 * - **Per-component levels**: `levels: { broker: 'debug' }` applies to `broker` and everything
 *   under it (the longest matching prefix wins); `setLevel` changes them at run time.
 * - **Repeats are rate-limited**: a warning or error with the same component, message and code
 *   as one logged less than `repeatWindowMs` ago (default 10 s) is counted, not written; the
 *   next one written says how many were suppressed (`suppressed: N`).
 */
import { pino } from 'pino';
import type { Logger } from './logger.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LogFormat = 'auto' | 'text' | 'json';

const RANK: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

export interface LogOptions {
  level: LogLevel;
  format?: LogFormat;
  /** Component path → level (prefix match on dotted paths). */
  levels?: Readonly<Record<string, LogLevel>>;
  /** Where lines go (default process.stdout). */
  stream?: { write(line: string): unknown; isTTY?: boolean };
  /** Clock for the `time` field (default Date.now). */
  now?: () => number;
  /** Window for suppressing repeated warnings/errors (default 10 000 ms; 0 = never). */
  repeatWindowMs?: number;
}

export interface ProcessLogger extends Logger {
  /** Change the level of one component path (and its children), or of the root with ''. */
  setLevel(component: string, level: LogLevel): void;
  /** The effective levels by component path ('' = root). */
  levels(): Record<string, LogLevel>;
}

/** `component` of a child under `parent` (see the module comment). */
export function joinComponent(parent: string | undefined, child: string): string {
  if (!parent || child === parent || child.startsWith(`${parent}.`)) return child;
  return `${parent}.${child}`;
}

const COLOR: Record<string, string> = {
  trace: '\x1b[90m',
  debug: '\x1b[36m',
  info: '\x1b[32m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[35m',
};

function textValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'object' && v !== null) {
    try {
      return JSON.stringify(v);
    } catch {
      return '[unserialisable]';
    }
  }
  return String(v);
}

export function createProcessLogger(opts: LogOptions): ProcessLogger {
  const stream = opts.stream ?? process.stdout;
  const now = opts.now ?? Date.now;
  const format =
    opts.format === 'text' || opts.format === 'json'
      ? opts.format
      : stream.isTTY === true
        ? 'text'
        : 'json';
  const color = format === 'text' && stream.isTTY === true;
  const levels = new Map<string, LogLevel>([
    ['', opts.level],
    ...Object.entries(opts.levels ?? {}),
  ]);
  let version = 0; // bumped by setLevel: children re-resolve their threshold lazily
  const repeatWindow = opts.repeatWindowMs ?? 10_000;
  /** key → last time written and how many were suppressed since (bounded: oldest evicted). */
  const repeats = new Map<string, { at: number; suppressed: number }>();
  const json =
    format === 'json'
      ? pino(
          { level: 'trace', base: null, timestamp: () => `,"time":${now()}` },
          { write: (s: string) => void stream.write(s) },
        )
      : undefined;

  const thresholdOf = (component: string): number => {
    let best = '';
    for (const k of levels.keys())
      if ((k === '' || component === k || component.startsWith(`${k}.`)) && k.length >= best.length)
        best = k;
    return RANK[levels.get(best) as LogLevel];
  };

  const make = (bindings: Readonly<Record<string, unknown>>): ProcessLogger => {
    const component = typeof bindings['component'] === 'string' ? bindings['component'] : '';
    let seen = -1;
    let threshold = 0;
    const write = (level: Exclude<LogLevel, 'silent'>, obj: object, msg?: string): void => {
      if (seen !== version) {
        threshold = thresholdOf(component);
        seen = version;
      }
      if (RANK[level] < threshold) return;
      // Call fields override bindings of the same name: every key appears once.
      const fields: Record<string, unknown> = { ...bindings, ...(obj as Record<string, unknown>) };
      if (repeatWindow > 0 && RANK[level] >= RANK.warn) {
        const code = (fields['code'] ??
          (fields['err'] as { code?: unknown } | undefined)?.code) as unknown;
        const key = `${component}\0${msg ?? ''}\0${String(code ?? '')}`;
        const t = now();
        const r = repeats.get(key);
        if (r && t - r.at < repeatWindow) {
          r.suppressed++;
          return;
        }
        if (r?.suppressed) fields['suppressed'] = r.suppressed;
        repeats.delete(key);
        repeats.set(key, { at: t, suppressed: 0 });
        if (repeats.size > 1000) repeats.delete(repeats.keys().next().value as string);
      }
      if (json) {
        json[level](fields, msg);
        return;
      }
      const { component: c, ...rest } = fields;
      const lv = level.toUpperCase().padEnd(5);
      const head = `${new Date(now()).toISOString()} ${color ? `${COLOR[level]}${lv}\x1b[0m` : lv} ${c ? `${String(c)}: ` : ''}${msg ?? ''}`;
      const tail = Object.entries(rest)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${textValue(v)}`)
        .join(' ');
      stream.write(`${head}${tail ? ` ${tail}` : ''}\n`);
    };
    return {
      debug: (o, m) => write('debug', o, m),
      info: (o, m) => write('info', o, m),
      warn: (o, m) => write('warn', o, m),
      error: (o, m) => write('error', o, m),
      child(b) {
        const next: Record<string, unknown> = { ...bindings, ...b };
        if (typeof b['component'] === 'string')
          next['component'] = joinComponent(component || undefined, b['component']);
        return make(next);
      },
      setLevel(c, level) {
        levels.set(c, level);
        version++;
      },
      levels: () => Object.fromEntries(levels),
    };
  };
  return make({});
}
