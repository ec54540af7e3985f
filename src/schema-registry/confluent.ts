/**
 * A client of a Confluent-compatible schema registry (`schema_registry.external.<name>`, type
 * `confluent`), for `avro_decode`/`avro_encode` (EMQX 5.8 names, emqx_schema_registry_external):
 * - `avro_decode(Registry, Data)`: Data in the Confluent wire format — magic byte 0, the schema
 *   id as a 4-byte big-endian integer, then the Avro body; `avro_decode(Registry, Data, Id)`:
 *   Data is the bare Avro body of schema `Id`.
 * - `avro_encode(Registry, Map, Id)`: the bare Avro body (EMQX does not tag it); Sluice also
 *   takes a subject name instead of `Id` (its latest version).
 * REST calls (Confluent Schema Registry API): `GET /schemas/ids/{id}` and
 * `GET /subjects/{subject}/versions/latest`. Schemas by id are immutable there, so they are
 * cached for good (at most `cache_size`, least recently used evicted); a subject's latest id is
 * cached for `subject_cache_ttl`; a failed fetch for `failure_cache_ttl` (decision 0014).
 *
 * A miss with a `wait` hook (a rule message, evaluated in passes) never blocks: one fetch per
 * id / subject is in flight (later misses join it), with `request_timeout`, on the event loop;
 * `wait(ready)` suspends the message's evaluation until it ends. Without the hook (rule_test, a
 * validation's SQL check) the miss blocks (sync-http.ts), for at most `request_timeout` capped at
 * the rule budget.
 */
import { SluiceError } from '../core/index.js';
import type { ExternalWait, Value } from '../core/index.js';
import { compileAvro } from './avro.js';
import type { Codec } from './codec.js';
import { bytesOf } from './codec.js';
import { SchemaErrors } from './errors.js';
import type { SyncHttp, SyncReply } from './sync-http.js';

export interface ConfluentConfig {
  readonly type: 'confluent';
  readonly url: string;
  readonly auth?: { readonly username: string; readonly password: string };
  readonly request_timeout: number;
  readonly cache_size: number;
  readonly subject_cache_ttl: number;
  /** Absent in configs built before it existed: 5 s. */
  readonly failure_cache_ttl?: number;
}

/** Counters of one external registry (GET /metrics `sluice_schema_registry_external_*`). */
export interface ConfluentMetrics {
  /** Registry requests started (one per id / subject miss, shared by the messages waiting). */
  fetches: number;
  fetch_failures: number;
  /** Lookups answered from the id cache / that needed a fetch. */
  cache_hits: number;
  cache_misses: number;
  /** Messages failed at once by a remembered failure (`failure_cache_ttl`). */
  failure_cache_hits: number;
  /** Message evaluations suspended waiting for a fetch (did not block the loop). */
  waits: number;
  /** Fetches in flight now. */
  inflight: number;
  /** Schema ids cached now. */
  cached_ids: number;
}

/** A non-blocking GET (the event loop's fetch); injectable for tests. */
export type AsyncGet = (
  url: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
) => Promise<SyncReply>;

export const fetchGet: AsyncGet = async (url, headers, timeoutMs) => {
  try {
    const r = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    return { ok: true, status: r.status, body: await r.text() };
  } catch (e) {
    const err = e as Error & { cause?: { message?: string } };
    const why = err.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : err.cause?.message;
    return { ok: false, error: String(why ?? err.message ?? e) };
  }
};

export interface ConfluentClient {
  decode(data: Value, args: readonly Value[], deadline: number, wait?: ExternalWait): Value;
  encode(map: Value, args: readonly Value[], deadline: number, wait?: ExternalWait): Buffer;
  /** Cached schema ids (tests, metrics). */
  cachedIds(): number[];
  metrics(): ConfluentMetrics;
}

export function createConfluentClient(
  name: string,
  cfg: ConfluentConfig,
  http: SyncHttp,
  now: () => number,
  get: AsyncGet = fetchGet,
): ConfluentClient {
  const base = cfg.url.replace(/\/+$/, '');
  const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json' };
  if (cfg.auth)
    headers['authorization'] =
      `Basic ${Buffer.from(`${cfg.auth.username}:${cfg.auth.password}`).toString('base64')}`;
  const byId = new Map<number, Codec>();
  const bySubject = new Map<string, { id: number; at: number }>();
  const ctx = { registry: name };

  const ttl = cfg.failure_cache_ttl ?? 5000;
  const stats = {
    fetches: 0,
    fetch_failures: 0,
    cache_hits: 0,
    cache_misses: 0,
    failure_cache_hits: 0,
    waits: 0,
  };
  /** Fetches in flight by key (`id:N`, `subject:S`); settle (never reject) when done. */
  const inflight = new Map<string, Promise<void>>();
  /** Remembered failures by key, until `until` (now() clock). */
  const failed = new Map<string, { err: SluiceError; until: number }>();

  const remembered = (key: string): void => {
    const f = failed.get(key);
    if (!f) return;
    if (now() < f.until) {
      stats.failure_cache_hits++;
      throw f.err;
    }
    failed.delete(key);
  };
  const remember = (key: string, e: unknown): void => {
    stats.fetch_failures++;
    if (ttl > 0 && e instanceof SluiceError) failed.set(key, { err: e, until: now() + ttl });
  };

  /** Start (or join) the fetch for `key` and suspend the caller until it ends. */
  const suspend = (key: string, run: () => Promise<void>, wait: ExternalWait): never => {
    let p = inflight.get(key);
    if (!p) {
      stats.fetches++;
      p = run()
        .then(
          () => failed.delete(key),
          (e: unknown) => remember(key, e),
        )
        .then(() => {
          inflight.delete(key);
        });
      inflight.set(key, p);
    }
    stats.waits++;
    return wait(p);
  };

  const requestAsync = async (p: string): Promise<Record<string, unknown>> =>
    interpret(p, await get(`${base}${p}`, headers, cfg.request_timeout));

  const request = (p: string, deadline: number): Record<string, unknown> => {
    const left = Math.min(cfg.request_timeout, Math.floor(deadline - performance.now()));
    if (left <= 0)
      throw SchemaErrors.external_registry_unavailable(
        `registry ${JSON.stringify(name)}: no time left in the rule budget to fetch ${p}`,
        { context: ctx },
      );
    stats.fetches++;
    return interpret(p, http.get(`${base}${p}`, headers, left));
  };

  const interpret = (p: string, r: SyncReply): Record<string, unknown> => {
    if (!r.ok)
      throw SchemaErrors.external_registry_unavailable(
        `registry ${JSON.stringify(name)}: GET ${p} failed: ${r.error}`,
        { context: ctx },
      );
    let err: SluiceError | undefined;
    if (r.status === 404)
      err = SchemaErrors.external_schema_not_found(
        `registry ${JSON.stringify(name)}: ${p} not found (schema_not_found)`,
        { context: ctx },
      );
    else if (r.status === 401 || r.status === 403)
      err = SchemaErrors.bad_registry_credentials(
        `registry ${JSON.stringify(name)}: GET ${p} answered ${r.status} (bad_registry_credentials)`,
        { context: ctx },
      );
    else if (r.status !== 200)
      err = SchemaErrors.external_registry_unavailable(
        `registry ${JSON.stringify(name)}: GET ${p} answered ${r.status}`,
        { context: ctx },
      );
    if (err) throw err;
    try {
      const body = JSON.parse(r.body) as unknown;
      if (body && typeof body === 'object') return body as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw SchemaErrors.external_registry_unavailable(
      `registry ${JSON.stringify(name)}: GET ${p} did not answer a JSON object`,
      { context: ctx },
    );
  };

  const compileBody = (id: number, body: Record<string, unknown>): Codec => {
    const kind = body['schemaType'];
    if (kind !== undefined && kind !== 'AVRO')
      throw SchemaErrors.schema_decode_error(
        `registry ${JSON.stringify(name)}: schema ${id} is ${String(kind)}; avro_decode/avro_encode take Avro schemas only`,
        { context: { ...ctx, id } },
      );
    if (typeof body['schema'] !== 'string')
      throw SchemaErrors.external_registry_unavailable(
        `registry ${JSON.stringify(name)}: /schemas/ids/${id} has no "schema" text`,
        { context: ctx },
      );
    const codec = compileAvro(`${name}#${id}`, body['schema']);
    byId.set(id, codec);
    if (byId.size > cfg.cache_size) byId.delete(byId.keys().next().value as number);
    return codec;
  };

  const codecFor = (id: number, deadline: number, wait?: ExternalWait): Codec => {
    const hit = byId.get(id);
    if (hit) {
      stats.cache_hits++;
      byId.delete(id);
      byId.set(id, hit);
      return hit;
    }
    const key = `id:${id}`;
    remembered(key);
    stats.cache_misses++;
    const path = `/schemas/ids/${id}`;
    if (wait)
      return suspend(
        key,
        async () => {
          compileBody(id, await requestAsync(path));
        },
        wait,
      );
    try {
      return compileBody(id, request(path, deadline));
    } catch (e) {
      if (!/no time left/.test((e as Error).message)) remember(key, e);
      throw e;
    }
  };

  const subjectId = (subject: string, body: Record<string, unknown>): number => {
    const id = body['id'];
    if (typeof id !== 'number')
      throw SchemaErrors.external_registry_unavailable(
        `registry ${JSON.stringify(name)}: subject ${JSON.stringify(subject)} has no id`,
        { context: ctx },
      );
    bySubject.set(subject, { id, at: now() });
    return id;
  };

  const idOf = (v: Value, deadline: number, wait?: ExternalWait): number => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
    if (typeof v === 'string' || Buffer.isBuffer(v)) {
      const subject = v.toString();
      const c = bySubject.get(subject);
      if (c && now() - c.at < cfg.subject_cache_ttl) return c.id;
      const key = `subject:${subject}`;
      remembered(key);
      const path = `/subjects/${encodeURIComponent(subject)}/versions/latest`;
      if (wait)
        return suspend(
          key,
          async () => {
            subjectId(subject, await requestAsync(path));
          },
          wait,
        );
      try {
        return subjectId(subject, request(path, deadline));
      } catch (e) {
        if (!/no time left/.test((e as Error).message)) remember(key, e);
        throw e;
      }
    }
    throw SchemaErrors.bad_input(
      `registry ${JSON.stringify(name)}: {bad_schema_id, ${String(v)}}: a schema id is a non-negative integer (or a subject name)`,
      { context: ctx },
    );
  };

  return {
    decode(data, args, deadline, wait) {
      const buf = bytesOf(data, 'Data', (r) => {
        throw SchemaErrors.bad_input(`registry ${JSON.stringify(name)}: ${r}`, { context: ctx });
      });
      if (args.length > 0)
        return codecFor(idOf(args[0], deadline, wait), deadline, wait).decode(buf, []);
      if (buf.length < 5 || buf[0] !== 0)
        throw SchemaErrors.bad_input(
          `registry ${JSON.stringify(name)}: bad_input: not in the Confluent wire format (magic byte 0 + 4-byte schema id)`,
          { context: ctx },
        );
      return codecFor(buf.readUInt32BE(1), deadline, wait).decode(buf.subarray(5), []);
    },
    encode(map, args, deadline, wait) {
      if (args.length === 0)
        throw SchemaErrors.bad_input(
          `registry ${JSON.stringify(name)}: avro_encode needs a schema id (or subject)`,
          { context: ctx },
        );
      return codecFor(idOf(args[0], deadline, wait), deadline, wait).encode(map, []) as Buffer;
    },
    cachedIds: () => [...byId.keys()],
    metrics: () => ({ ...stats, inflight: inflight.size, cached_ids: byId.size }),
  };
}
