/**
 * MQTT 5 metadata into HStreamDB record header attributes (issue #13 item 4): runner → sink →
 * grpc-js → the stand-in server, read back with ReadShardStream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SinkRecord } from '../../src/core/index.js';
import { startStandInServer, type StandInServer } from '../hstream-server/server.js';
import { createPipeline, readStream, uniqueStream } from '../hstream-server/helpers.js';

let server: StandInServer;
let url: string;
beforeAll(async () => {
  server = await startStandInServer();
  url = `hstream://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.stop();
});

const rec = (seq: number, context: SinkRecord['context']): SinkRecord => ({
  data: { seq },
  ruleId: 'r1',
  ingestTs: Date.now(),
  ...(context ? { context } : {}),
});

describe('hstreamdb sink: MQTT 5 metadata as record attributes', () => {
  it.each(['raw', 'hrecord'] as const)(
    'user properties and templated attributes are read back (%s records)',
    async (record_type) => {
      const stream = uniqueStream('attrs');
      const { runner } = createPipeline(
        {
          url,
          stream,
          record_type,
          partition_key: '${clientid}',
          record_attributes: "${pub_props.'User-Property'}",
          attributes: { 'content-type': "${pub_props.'Content-Type'}", device: '${clientid}' },
          auto_create: { enable: true },
        },
        { batch_size: 10, linger: 2 },
      );
      await runner.start();
      runner.enqueue(
        rec(0, {
          clientid: 'dev-5',
          pub_props: {
            'User-Property': { site: 'north', tag: ['a', 'b'], device: 'overridden' },
            'Content-Type': 'application/json',
          },
        }),
      );
      // An MQTT 3.1.1 publisher's message: no properties; only the templated device attribute.
      runner.enqueue(rec(1, { clientid: 'dev-3', pub_props: {} }));
      await runner.drain(30_000);
      expect(runner.metrics()).toMatchObject({ success: 2, failed: 0, dropped: 0 });
      const back = await readStream(url, stream);
      const bySeq = (n: number) =>
        back.find((r) =>
          record_type === 'raw'
            ? (JSON.parse(r.payload.toString()) as { seq: number }).seq === n
            : r.key === (n === 0 ? 'dev-5' : 'dev-3'),
        );
      expect(back).toHaveLength(2);
      expect(bySeq(0)?.attributes).toEqual({
        site: 'north',
        tag: '["a","b"]',
        device: 'dev-5',
        'content-type': 'application/json',
      });
      expect(bySeq(1)?.attributes).toEqual({ device: 'dev-3' });
      await runner.stop();
    },
  );

  it('record_attributes must be one placeholder: hstream_config_invalid names the field', () => {
    expect(() => createPipeline({ url, stream: 's', record_attributes: '${a}${b}' })).toThrow(
      /record_attributes: must be a single/,
    );
  });
});
