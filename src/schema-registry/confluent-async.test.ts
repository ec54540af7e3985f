/**
 * The non-blocking miss path of the Confluent client (decision 0014) with an injected GET and
 * clock: one request per id / subject in flight however many callers wait, the wait hook gets a
 * promise that settles (never rejects), failures remembered for failure_cache_ttl then retried,
 * counters.
 */
import { describe, expect, it } from 'vitest';

import { SluiceError } from '../core/index.js';
import type { ExternalWait } from '../core/index.js';
import { compileAvro } from './avro.js';
import { createConfluentClient } from './confluent.js';
import type { AsyncGet } from './confluent.js';
import type { SyncHttp, SyncReply } from './sync-http.js';

const SCHEMA = JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'n', type: 'int' }] });
const body = compileAvro('r', SCHEMA).encode({ n: 3 }, []) as Buffer;
const tagged = (id: number) => {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(id, 1);
  return Buffer.concat([h, body]);
};
const noSync: SyncHttp = {
  get: () => {
    throw new Error('the blocking path must not be used with a wait hook');
  },
  close: async () => {},
};

function setup(ttl = 1000) {
  let t = 0;
  const calls: string[] = [];
  const answers = new Map<string, (r: SyncReply) => void>();
  const get: AsyncGet = (url) => {
    calls.push(url);
    return new Promise((resolve) => answers.set(url, resolve));
  };
  const c = createConfluentClient(
    'reg',
    {
      type: 'confluent',
      url: 'http://registry',
      request_timeout: 1000,
      cache_size: 10,
      subject_cache_ttl: 60_000,
      failure_cache_ttl: ttl,
    },
    noSync,
    () => t,
    get,
  );
  const waits: Promise<void>[] = [];
  const wait: ExternalWait = (ready) => {
    waits.push(ready);
    throw new Error('suspended');
  };
  const attempt = (f: () => unknown): unknown => {
    try {
      return f();
    } catch (e) {
      if (e instanceof SluiceError) return e.code;
      return (e as Error).message;
    }
  };
  return {
    c,
    calls,
    waits,
    wait,
    attempt,
    answer: (url: string, r: SyncReply) => answers.get(url)!(r),
    advance: (ms: number) => (t += ms),
  };
}

describe('Confluent client, non-blocking misses', () => {
  it('one request per id however many callers wait; all get the schema once it is in', async () => {
    const s = setup();
    for (let i = 0; i < 5; i++)
      expect(s.attempt(() => s.c.decode(tagged(9), [], Infinity, s.wait))).toBe('suspended');
    expect(s.calls).toEqual(['http://registry/schemas/ids/9']);
    expect(s.c.metrics()).toMatchObject({ fetches: 1, waits: 5, inflight: 1, cache_misses: 5 });
    s.answer('http://registry/schemas/ids/9', {
      ok: true,
      status: 200,
      body: JSON.stringify({ schema: SCHEMA }),
    });
    await Promise.all(s.waits);
    expect(s.c.decode(tagged(9), [], Infinity, s.wait)).toEqual({ n: 3 });
    expect(s.c.metrics()).toMatchObject({ fetches: 1, inflight: 0, cached_ids: 1, cache_hits: 1 });
  });

  it('a failure settles the waits, is remembered for failure_cache_ttl with its code, then retried', async () => {
    const s = setup(1000);
    expect(s.attempt(() => s.c.decode(tagged(4), [], Infinity, s.wait))).toBe('suspended');
    s.answer('http://registry/schemas/ids/4', { ok: true, status: 404, body: '{}' });
    await expect(Promise.all(s.waits)).resolves.toBeDefined();
    expect(s.attempt(() => s.c.decode(tagged(4), [], Infinity, s.wait))).toBe(
      'external_schema_not_found',
    );
    s.advance(999);
    expect(s.attempt(() => s.c.decode(tagged(4), [], Infinity, s.wait))).toBe(
      'external_schema_not_found',
    );
    expect(s.calls).toHaveLength(1);
    expect(s.c.metrics()).toMatchObject({ fetch_failures: 1, failure_cache_hits: 2 });
    s.advance(1);
    expect(s.attempt(() => s.c.decode(tagged(4), [], Infinity, s.wait))).toBe('suspended');
    expect(s.calls).toHaveLength(2);
    s.answer('http://registry/schemas/ids/4', { ok: false, error: 'timeout after 1000 ms' });
    await Promise.all(s.waits);
    expect(s.attempt(() => s.c.decode(tagged(4), [], Infinity, s.wait))).toBe(
      'external_registry_unavailable',
    );
  });

  it('failure_cache_ttl 0: every message asks again', async () => {
    const s = setup(0);
    s.attempt(() => s.c.decode(tagged(5), [], Infinity, s.wait));
    s.answer('http://registry/schemas/ids/5', { ok: true, status: 503, body: '' });
    await Promise.all(s.waits);
    expect(s.attempt(() => s.c.decode(tagged(5), [], Infinity, s.wait))).toBe('suspended');
    expect(s.calls).toHaveLength(2);
  });

  it('a subject is fetched once too (avro_encode by subject), then its id', async () => {
    const s = setup();
    expect(s.attempt(() => s.c.encode({ n: 1 }, ['readings'], Infinity, s.wait))).toBe('suspended');
    expect(s.attempt(() => s.c.encode({ n: 2 }, ['readings'], Infinity, s.wait))).toBe('suspended');
    expect(s.calls).toEqual(['http://registry/subjects/readings/versions/latest']);
    s.answer(s.calls[0]!, { ok: true, status: 200, body: '{"id":12}' });
    await Promise.all(s.waits);
    expect(s.attempt(() => s.c.encode({ n: 1 }, ['readings'], Infinity, s.wait))).toBe('suspended');
    expect(s.calls[1]).toBe('http://registry/schemas/ids/12');
  });
});
