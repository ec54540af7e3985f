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
 * cached for `subject_cache_ttl`. Misses block the caller (sync-http.ts) for at most
 * `request_timeout`, capped at the rule budget; failures are never cached.
 */
import type { Value } from '../core/index.js';
import type { SluiceError } from '../core/index.js';
import { compileAvro } from './avro.js';
import type { Codec } from './codec.js';
import { bytesOf } from './codec.js';
import { SchemaErrors } from './errors.js';
import type { SyncHttp } from './sync-http.js';

export interface ConfluentConfig {
  readonly type: 'confluent';
  readonly url: string;
  readonly auth?: { readonly username: string; readonly password: string };
  readonly request_timeout: number;
  readonly cache_size: number;
  readonly subject_cache_ttl: number;
}

export interface ConfluentClient {
  decode(data: Value, args: readonly Value[], deadline: number): Value;
  encode(map: Value, args: readonly Value[], deadline: number): Buffer;
  /** Cached schema ids (tests, metrics). */
  cachedIds(): number[];
}

export function createConfluentClient(
  name: string,
  cfg: ConfluentConfig,
  http: SyncHttp,
  now: () => number,
): ConfluentClient {
  const base = cfg.url.replace(/\/+$/, '');
  const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json' };
  if (cfg.auth)
    headers['authorization'] =
      `Basic ${Buffer.from(`${cfg.auth.username}:${cfg.auth.password}`).toString('base64')}`;
  const byId = new Map<number, Codec>();
  const bySubject = new Map<string, { id: number; at: number }>();
  const ctx = { registry: name };

  const request = (p: string, deadline: number): Record<string, unknown> => {
    const left = Math.min(cfg.request_timeout, Math.floor(deadline - performance.now()));
    if (left <= 0)
      throw SchemaErrors.external_registry_unavailable(
        `registry ${JSON.stringify(name)}: no time left in the rule budget to fetch ${p}`,
        { context: ctx },
      );
    const r = http.get(`${base}${p}`, headers, left);
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

  const codecFor = (id: number, deadline: number): Codec => {
    const hit = byId.get(id);
    if (hit) {
      byId.delete(id);
      byId.set(id, hit);
      return hit;
    }
    const body = request(`/schemas/ids/${id}`, deadline);
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

  const idOf = (v: Value, deadline: number): number => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
    if (typeof v === 'string' || Buffer.isBuffer(v)) {
      const subject = v.toString();
      const c = bySubject.get(subject);
      if (c && now() - c.at < cfg.subject_cache_ttl) return c.id;
      const body = request(`/subjects/${encodeURIComponent(subject)}/versions/latest`, deadline);
      const id = body['id'];
      if (typeof id !== 'number')
        throw SchemaErrors.external_registry_unavailable(
          `registry ${JSON.stringify(name)}: subject ${JSON.stringify(subject)} has no id`,
          { context: ctx },
        );
      bySubject.set(subject, { id, at: now() });
      return id;
    }
    throw SchemaErrors.bad_input(
      `registry ${JSON.stringify(name)}: {bad_schema_id, ${String(v)}}: a schema id is a non-negative integer (or a subject name)`,
      { context: ctx },
    );
  };

  return {
    decode(data, args, deadline) {
      const buf = bytesOf(data, 'Data', (r) => {
        throw SchemaErrors.bad_input(`registry ${JSON.stringify(name)}: ${r}`, { context: ctx });
      });
      if (args.length > 0) return codecFor(idOf(args[0], deadline), deadline).decode(buf, []);
      if (buf.length < 5 || buf[0] !== 0)
        throw SchemaErrors.bad_input(
          `registry ${JSON.stringify(name)}: bad_input: not in the Confluent wire format (magic byte 0 + 4-byte schema id)`,
          { context: ctx },
        );
      return codecFor(buf.readUInt32BE(1), deadline).decode(buf.subarray(5), []);
    },
    encode(map, args, deadline) {
      if (args.length === 0)
        throw SchemaErrors.bad_input(
          `registry ${JSON.stringify(name)}: avro_encode needs a schema id (or subject)`,
          { context: ctx },
        );
      return codecFor(idOf(args[0], deadline), deadline).encode(map, []) as Buffer;
    },
    cachedIds: () => [...byId.keys()],
  };
}
