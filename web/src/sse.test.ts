import { describe, expect, it } from 'vitest';

import { createSseParser } from './sse.js';
import type { SseEvent } from './sse.js';

function parse(chunks: readonly string[]): SseEvent[] {
  const out: SseEvent[] = [];
  const p = createSseParser((e) => out.push(e));
  for (const c of chunks) p.push(c);
  return out;
}

describe('createSseParser (HTML §9.2.6 event stream)', () => {
  const stream =
    ': keep-alive\n' +
    'event: step\nid: 1\ndata: {"seq":1,\ndata: "step":"received"}\n\n' +
    'data: plain\n\n' +
    'event: end\ndata: {}\n\n';
  const expected: SseEvent[] = [
    { event: 'step', data: '{"seq":1,\n"step":"received"}', id: '1' },
    { event: 'message', data: 'plain', id: '1' },
    { event: 'end', data: '{}', id: '1' },
  ];

  it('dispatches on a blank line, joins data lines, skips comments, keeps the last id', () => {
    expect(parse([stream])).toEqual(expected);
  });

  it('gives the same events however the text is chunked (one character at a time)', () => {
    expect(parse([...stream])).toEqual(expected);
  });

  it('accepts CRLF and CR line ends, even split between chunks', () => {
    const crlf = stream.replace(/\n/g, '\r\n');
    expect(parse([crlf])).toEqual(expected);
    expect(parse(crlf.split('\n').map((s, i, a) => (i < a.length - 1 ? s + '\n' : s)))).toEqual(
      expected,
    );
    expect(parse([stream.replace(/\n/g, '\r')])).toEqual(expected);
  });

  it('does not dispatch an event without data, nor an unterminated one', () => {
    expect(parse(['event: step\n\n', 'data: half'])).toEqual([]);
  });
});
