import { describe, expect, it } from 'vitest';
import { EFloat, validate } from '../../core/index.js';
import type { SinkRecord } from '../../core/index.js';
import { consoleSinkSpec, createConsoleSink } from './index.js';
import type { LineStream } from './index.js';

const rec = (data: SinkRecord['data']): SinkRecord => ({
  data,
  ruleId: 'rule-1',
  ingestTs: 1700000000000,
  context: { clientid: 'c1', payload: Buffer.from('{"t":1}') },
});

function collector(fail?: Error): LineStream & { text: string } {
  const s = {
    text: '',
    write(chunk: string, cb: (err?: Error | null) => void) {
      if (fail) {
        setImmediate(() => cb(fail));
        return false;
      }
      s.text += chunk;
      setImmediate(() => cb());
      return true;
    },
  };
  return s;
}

describe('console sink', () => {
  it('writes one JSON line per output, encoded like every sink', async () => {
    const out = collector();
    const sink = createConsoleSink({}, out);
    await sink.connect();
    await sink.write([
      rec({ t: 21.5, f: new EFloat(2), b: Buffer.from('hi'), u: undefined }),
      rec({ s: 'é"' }),
    ]);
    expect(out.text).toBe('{"t":21.5,"f":2.0,"b":"hi","u":null}\n{"s":"é\\""}\n');
    await sink.close();
    await sink.close();
  });

  it('can wrap outputs in an envelope with the event context', async () => {
    const out = collector();
    await createConsoleSink({ envelope: true, include_context: true }, out).write([rec({ a: 1 })]);
    const line = JSON.parse(out.text.trim()) as Record<string, unknown>;
    expect(line).toEqual({
      rule: 'rule-1',
      ts: 1700000000000,
      output: { a: 1 },
      context: { clientid: 'c1', payload: '{"t":1}' },
    });
    const plain = collector();
    await createConsoleSink({ envelope: true }, plain).write([rec({ a: 1 })]);
    expect(plain.text).toBe('{"rule":"rule-1","ts":1700000000000,"output":{"a":1}}\n');
  });

  it('turns a stream error into a coded, non-retriable error', async () => {
    const sink = createConsoleSink({}, collector(new Error('EPIPE')));
    await expect(sink.write([rec({ a: 1 })])).rejects.toMatchObject({
      code: 'console_write_failed',
      retriable: false,
    });
  });

  it('measures records as their line length', () => {
    const sink = createConsoleSink({}, collector());
    expect(sink.sizeOf?.(rec({ a: 1 }))).toBe('{"a":1}\n'.length);
  });

  it('validates its config, rejecting unknown fields', () => {
    expect(validate(consoleSinkSpec, {})).toEqual({
      ok: true,
      value: { envelope: false, include_context: false },
    });
    const bad = validate(consoleSinkSpec, { colour: true }, 'sinks.c');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues[0]?.path).toBe('sinks.c.colour');
  });
});
