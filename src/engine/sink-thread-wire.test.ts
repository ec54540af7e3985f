import { MessageChannel } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { EFloat } from '../core/index.js';
import type { SinkRecord } from '../core/index.js';
import { contextFields, decodeRecord, WireBatch } from './sink-thread-wire.js';
import type { WireRecord } from './sink-thread-wire.js';

/** Send a batch through a real MessagePort (structured clone + transfer) and decode it. */
async function roundTrip(batch: WireBatch): Promise<SinkRecord[]> {
  const { port1, port2 } = new MessageChannel();
  const got = new Promise<WireRecord[]>((resolve) => port2.once('message', resolve));
  port1.postMessage(batch.records, batch.arenas);
  const records = await got;
  port1.close();
  return records.map(decodeRecord);
}

describe('sink thread wire format', () => {
  it('keeps Buffers (slices of a larger pool), EFloats and nested values', async () => {
    const pool = Buffer.alloc(64 * 1024, 0x61);
    pool.write('hello', 100);
    const big = Buffer.alloc(100_000, 7); // larger than an arena share: its own ArrayBuffer
    const rec: SinkRecord = {
      data: {
        payload: pool.subarray(100, 105),
        f: new EFloat(2),
        n: 3,
        list: [Buffer.from([0, 255]), new EFloat(1.5), 'x', null],
        map: { inner: Buffer.from('é', 'utf8'), big },
        u: undefined,
      },
      ruleId: 'r1',
      ingestTs: 12345,
    };
    const b = new WireBatch(null);
    b.add(rec);
    b.add({ data: { payload: pool.subarray(0, 3) }, ruleId: 'r2', ingestTs: 1 });
    // The source record is not modified by the conversion.
    expect(Buffer.isBuffer(rec.data['payload'])).toBe(true);
    const [back, second] = await roundTrip(b);
    expect(Buffer.isBuffer(back!.data['payload'])).toBe(true);
    expect((back!.data['payload'] as Buffer).toString()).toBe('hello');
    // The bytes crossed in one arena shared by the batch (moved, not copied), not as the
    // 64 KiB pool behind each slice.
    expect((back!.data['payload'] as Buffer).buffer).toBe(
      (second!.data['payload'] as Buffer).buffer,
    );
    expect(b.arenas[0]!.byteLength).toBe(0); // transferred: detached on the sending side
    expect(back!.data['f']).toBeInstanceOf(EFloat);
    expect((back!.data['f'] as EFloat).value).toBe(2);
    const list = back!.data['list'] as unknown[];
    expect(Buffer.isBuffer(list[0]) && [...(list[0] as Buffer)]).toEqual([0, 255]);
    expect(list[1]).toBeInstanceOf(EFloat);
    expect(list.slice(2)).toEqual(['x', null]);
    const map = back!.data['map'] as Record<string, Buffer>;
    expect(map['inner']!.toString('utf8')).toBe('é');
    expect(map['big']!.equals(big)).toBe(true);
    expect('u' in back!.data).toBe(true);
    expect(back).toMatchObject({ ruleId: 'r1', ingestTs: 12345 });
    expect(back!.context).toBeUndefined();
    expect((second!.data['payload'] as Buffer).toString()).toBe('aaa');
  });

  it('carries only the event columns the templates name', async () => {
    const fields = contextFields({
      url: 'hstream://h:1',
      partition_key: '${clientid}',
      record_template: '${payload.temp} at ${.topic} by ${pub_props.foo}',
      nested: { list: ['${username}', 'plain'] },
      whole: '${.}',
    });
    expect([...fields!].sort()).toEqual(['clientid', 'payload', 'pub_props', 'topic', 'username']);
    expect(contextFields({ url: 'x', stream: 's', n: 3 })).toBeNull();

    const b = new WireBatch(['clientid', 'payload']);
    b.add({
      data: { x: 1 },
      ruleId: 'r',
      ingestTs: 0,
      context: { clientid: 'c1', payload: Buffer.from('{"a":1}'), peerhost: '10.0.0.1' },
    });
    const [back] = await roundTrip(b);
    expect(Object.keys(back!.context!).sort()).toEqual(['clientid', 'payload']);
    expect(back!.context!['clientid']).toBe('c1');
    expect(Buffer.isBuffer(back!.context!['payload'])).toBe(true);
  });
});
