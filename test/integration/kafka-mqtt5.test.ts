/**
 * MQTT 5 metadata into Kafka headers (issue #13 item 4), read back from the real broker by a
 * kafkajs consumer: user properties through `kafka_headers` (repeated keys → repeated headers),
 * content type and binary correlation data through `kafka_ext_headers`, and the W3C trace
 * context passed through by default. Records carry the `pub_props` column as the embedded
 * broker builds it for a v5 PUBLISH.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  consumeAll,
  createTopic,
  record,
  startSink,
  uniqueTopic,
  waitFor,
  type SinkUnderTest,
} from './kafka-helpers.js';

const k = inject('services').kafka;
const started: SinkUnderTest[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.runner.stop()));
});

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('kafka sink: MQTT 5 metadata as Kafka headers', () => {
  it('user properties, content type, correlation data and traceparent are read back', async () => {
    const topic = uniqueTopic('mqtt5');
    await createTopic(k.plaintext, topic, 1);
    const s = startSink('mqtt5', {
      bootstrap_hosts: k.plaintext,
      topic,
      message: { key: '${clientid}', value: '${payload}' },
      kafka_headers: "${pub_props.'User-Property'}",
      kafka_ext_headers: [
        {
          kafka_ext_header_key: 'content-type',
          kafka_ext_header_value: "${pub_props.'Content-Type'}",
        },
        {
          kafka_ext_header_key: 'correlation-data',
          kafka_ext_header_value: "${pub_props.'Correlation-Data'}",
        },
      ],
    });
    started.push(s);
    await s.runner.start();
    const v5 = record(
      { payload: Buffer.from('{"t":1}') },
      {
        clientid: 'dev-5',
        pub_props: {
          'User-Property': {
            site: 'north',
            tag: ['a', 'b'],
            traceparent: TRACEPARENT,
            tracestate: 'v=1',
          },
          'Content-Type': 'application/json',
          'Correlation-Data': Buffer.from([0, 0xff, 0x10]),
        },
      },
    );
    // An MQTT 3.1.1 publisher's message: no properties, so no headers at all.
    const v3 = record({ payload: Buffer.from('{"t":2}') }, { clientid: 'dev-3', pub_props: {} });
    expect(s.runner.enqueue(v5)).toBe(true);
    expect(s.runner.enqueue(v3)).toBe(true);
    await waitFor(() => s.runner.metrics().success === 2, 60_000, 'acks');

    const got = await consumeAll(k.plaintext, topic, 2);
    expect(got).toHaveLength(2);
    const [a, b] = got;
    const text = (bs: Buffer[] | undefined) => bs?.map((x) => x.toString('utf8'));
    expect(text(a!.headerValues!['site'])).toEqual(['north']);
    expect(text(a!.headerValues!['tag'])).toEqual(['a', 'b']);
    expect(text(a!.headerValues!['content-type'])).toEqual(['application/json']);
    expect(a!.headerValues!['correlation-data']?.map((x) => [...x])).toEqual([[0, 0xff, 0x10]]);
    // traceparent is a user property here, so kafka_headers already set it; once, not twice.
    expect(text(a!.headerValues!['traceparent'])).toEqual([TRACEPARENT]);
    expect(text(a!.headerValues!['tracestate'])).toEqual(['v=1']);
    expect(b!.key).toBe('dev-3');
    expect(b!.headerValues).toEqual({});
  });

  it('passes traceparent through by default, with no header setting at all', async () => {
    const topic = uniqueTopic('trace');
    await createTopic(k.plaintext, topic, 1);
    const s = startSink('trace', { bootstrap_hosts: k.plaintext, topic });
    started.push(s);
    await s.runner.start();
    s.runner.enqueue(
      record(
        { n: 1 },
        { clientid: 'd', pub_props: { 'User-Property': { traceparent: TRACEPARENT, x: 'y' } } },
      ),
    );
    await waitFor(() => s.runner.metrics().success === 1, 60_000, 'ack');
    const [m] = await consumeAll(k.plaintext, topic, 1);
    expect(m!.headers).toEqual({ traceparent: TRACEPARENT });
  });
});
