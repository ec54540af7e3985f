/**
 * `sluice trace`: start a per-message trace on a running Sluice over the management API
 * (`POST /api/v5/traces`), follow its Server-Sent Events stream and print one line per step,
 * under a header line per message (repeated when the steps of several messages interleave).
 * Ctrl-C (the stop signal) deletes the trace; the command also ends when the trace stops
 * (duration or max_messages reached, deleted elsewhere).
 *
 * Where the API is: `--url`, else `SLUICE_API_URL`, else `api.bind`/`api.port` of `-c FILE`
 * (or ./sluice.yaml), else http://127.0.0.1:18083. Credentials: `SLUICE_API_KEY` (`key:secret`,
 * HTTP Basic, as `curl -u`), else `SLUICE_API_TOKEN` or the config's `api.token` (Bearer).
 */
import { existsSync } from 'node:fs';

import { checkConfig } from '../engine/index.js';

export interface TraceCommandOptions {
  topic?: string | undefined;
  clientid?: string | undefined;
  rule?: string | undefined;
  duration?: string | undefined;
  max?: string | undefined;
  url?: string | undefined;
  config?: string | undefined;
}

export interface TraceIo {
  out(line: string): void;
  err(line: string): void;
  /** Resolves on Ctrl-C: the trace is deleted and the command ends. */
  stopSignal?: Promise<string>;
  env?: Readonly<Record<string, string | undefined>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Step = Record<string, any>;

function short(v: unknown, max = 160): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function clock(ts: number): string {
  return new Date(ts).toISOString().slice(11, 23);
}

/** One readable line for a step (docs/cli.md "sluice trace"). */
export function formatStep(s: Step): string {
  const d: Step = s['detail'] ?? {};
  const rule = s['rule_id'] ? String(s['rule_id']) : '';
  const to = s['action'] ? ` → ${s['action']}` : '';
  const err = d['error']
    ? typeof d['error'] === 'string'
      ? ` error: ${d['error']}`
      : ` error ${d['error'].code}: ${d['error'].reason}`
    : '';
  let what: string;
  switch (s['step']) {
    case 'received':
      what = `${d['rules']} rule(s) match FROM`;
      break;
    case 'rule_matched':
      what = '';
      break;
    case 'where':
      what = err ? `false${err}` : `${d['result']}  ${d['expr'] ?? ''} ← ${short(d['value'])}`;
      break;
    case 'select':
      what = err ? err.trim() : d['output'] === null ? 'no output' : short(d['output']);
      break;
    case 'action_render':
      what = short(d['data']);
      break;
    case 'buffered':
      what = `queued=${d['queued']}`;
      break;
    case 'send_attempt':
      what = `attempt ${d['attempt']}${err ? ` failed${err.replace(' error:', ':')}` : ''}`;
      break;
    case 'ack':
      what = `acknowledged after ${d['latency_ms']} ms`;
      break;
    case 'drop':
      what = `${d['reason']}${d['counted'] === 'failed' ? ' (failed)' : ''}`;
      break;
    case 'fallback':
      what = `from ${d['from']} (${d['reason']})`;
      break;
    default:
      what = short(d);
  }
  const where = `${rule}${to}`;
  const rest = [where, what].filter((x) => x !== '').join('  ');
  return `  ${clock(s['ts'])}  ${String(s['step']).padEnd(15)}${rest}`.trimEnd();
}

function messageHeader(s: Step): string {
  const who = s['clientid'] !== undefined ? ` from ${s['clientid']}` : '';
  return `message ${s['msg_id']}  ${s['topic'] ?? ''}${who}`;
}

/** The API address and credentials, from the options, the environment and the config. */
function target(
  opts: TraceCommandOptions,
  env: Readonly<Record<string, string | undefined>>,
): { url: string; headers: Record<string, string> } | { error: string } {
  let url = opts.url ?? env['SLUICE_API_URL'];
  let token = env['SLUICE_API_TOKEN'];
  const file = opts.config ?? (existsSync('sluice.yaml') ? 'sluice.yaml' : undefined);
  if (file !== undefined && (url === undefined || token === undefined)) {
    const r = checkConfig(file);
    if (!r.loaded) {
      if (opts.config !== undefined) return { error: `cannot read ${file}: fix it or give --url` };
    } else {
      const api = r.loaded.config.api;
      const host = api.bind === '0.0.0.0' || api.bind === '::' ? '127.0.0.1' : api.bind;
      url ??= `http://${host.includes(':') ? `[${host}]` : host}:${api.port}`;
      token ??= api.token;
    }
  }
  url ??= 'http://127.0.0.1:18083';
  const headers: Record<string, string> = {};
  const key = env['SLUICE_API_KEY'];
  if (key) headers['Authorization'] = `Basic ${Buffer.from(key).toString('base64')}`;
  else if (token) headers['Authorization'] = `Bearer ${token}`;
  return { url: url.replace(/\/+$/, ''), headers };
}

function body(opts: TraceCommandOptions): Record<string, unknown> | string {
  const filter: Record<string, string> = {};
  if (opts.topic !== undefined) filter['topic'] = opts.topic;
  if (opts.clientid !== undefined) filter['clientid'] = opts.clientid;
  if (opts.rule !== undefined) filter['rule_id'] = opts.rule;
  if (Object.keys(filter).length === 0) return 'give at least one of --topic, --clientid, --rule';
  const out: Record<string, unknown> = { name: 'sluice trace (cli)', filter };
  for (const [opt, key] of [
    ['duration', 'duration_s'],
    ['max', 'max_messages'],
  ] as const) {
    const v = opts[opt];
    if (v === undefined) continue;
    const n = Number(v.replace(/s$/, ''));
    if (!Number.isFinite(n) || n <= 0)
      return `--${opt} must be a positive number, got ${JSON.stringify(v)}`;
    out[key] = n;
  }
  return out;
}

/** Run the command; resolves with the exit code (0 ended, 1 API error, 64 usage). */
export async function traceCommand(opts: TraceCommandOptions, io: TraceIo): Promise<number> {
  const req = body(opts);
  if (typeof req === 'string') {
    io.err(`sluice trace: ${req}`);
    return 64;
  }
  const t = target(opts, io.env ?? process.env);
  if ('error' in t) {
    io.err(`sluice trace: ${t.error}`);
    return 1;
  }
  const api = `${t.url}/api/v5/traces`;
  let trace: Step;
  try {
    const res = await fetch(api, {
      method: 'POST',
      headers: { ...t.headers, 'Content-Type': 'application/json' },
      body: JSON.stringify(req),
    });
    trace = (await res.json()) as Step;
    if (res.status !== 201) {
      io.err(`sluice trace: ${res.status} ${trace['code']}: ${trace['message']}`);
      return 1;
    }
  } catch (err) {
    io.err(`sluice trace: cannot reach the management API at ${t.url}: ${(err as Error).message}`);
    return 1;
  }
  const id = trace['id'] as string;
  io.err(
    `tracing ${short(trace['filter'])} until ${trace['ends_at']} or ${trace['max_messages']} messages (trace ${id}; Ctrl-C stops)`,
  );
  const abort = new AbortController();
  let interrupted = false;
  void io.stopSignal?.then(() => {
    interrupted = true;
    abort.abort();
  });
  let reason = 'disconnected';
  try {
    const res = await fetch(`${api}/${encodeURIComponent(id)}/stream`, {
      headers: { ...t.headers, Accept: 'text/event-stream' },
      signal: abort.signal,
    });
    if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
    const decoder = new TextDecoder();
    let buf = '';
    let lastMsg: string | undefined;
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (event === 'step') {
          const s = JSON.parse(data) as Step;
          if (s['msg_id'] !== lastMsg) {
            lastMsg = s['msg_id'];
            io.out(messageHeader(s));
          }
          io.out(formatStep(s));
        } else if (event === 'end') reason = (JSON.parse(data) as Step)['reason'];
      }
    }
  } catch (err) {
    if (!interrupted) {
      io.err(`sluice trace: ${(err as Error).message}`);
      return 1;
    }
  }
  if (interrupted) {
    await fetch(`${api}/${encodeURIComponent(id)}`, { method: 'DELETE', headers: t.headers }).catch(
      () => undefined,
    );
    reason = 'interrupted';
  }
  io.err(`trace ${id} ended (${reason})`);
  return 0;
}
