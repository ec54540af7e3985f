/**
 * Server-Sent Events over `fetch` (the trace stream): `EventSource` cannot send an
 * `Authorization` header, and the API authenticates by header only, so the stream is read
 * with fetch and parsed here (WHATWG HTML §9.2.6 "Interpreting an event stream": lines end in
 * LF, CR or CRLF; `event:`, `data:` (joined with LF), `id:`; `:` comments; a blank line
 * dispatches). Pure parsing, unit-tested; `streamEvents` drives it from a Response body.
 */
import { request } from './api.js';

export interface SseEvent {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}

export interface SseParser {
  /** Feed decoded text as it arrives (any chunking). */
  push(text: string): void;
}

export function createSseParser(onEvent: (e: SseEvent) => void): SseParser {
  let buf = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let sawCR = false;

  function line(l: string): void {
    if (l === '') {
      if (data.length > 0)
        onEvent({ event: event || 'message', data: data.join('\n'), ...(id ? { id } : {}) });
      event = '';
      data = [];
      return;
    }
    if (l.startsWith(':')) return;
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
  }

  return {
    push(text) {
      for (const ch of text) {
        if (sawCR) {
          sawCR = false;
          if (ch === '\n') continue;
        }
        if (ch === '\r' || ch === '\n') {
          sawCR = ch === '\r';
          line(buf);
          buf = '';
        } else buf += ch;
      }
    },
  };
}

/**
 * Read an SSE endpoint with the dashboard's credential until it ends or `signal` aborts.
 * `lastEventId` resumes after that event (`Last-Event-ID`, as EventSource does on reconnect).
 * Rejects with the HTTP status when the server refuses the stream.
 */
export async function streamEvents(
  path: string,
  onEvent: (e: SseEvent) => void,
  signal: AbortSignal,
  lastEventId?: string,
): Promise<void> {
  const res = await request('GET', path, undefined, signal, {
    accept: 'text/event-stream',
    ...(lastEventId !== undefined ? { 'last-event-id': lastEventId } : {}),
  });
  if (!res.ok || !res.body) throw new Error(`stream ${path}: HTTP ${res.status}`);
  const parser = createSseParser(onEvent);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}
