/**
 * Traces (issue #18 item 1): start a trace with a filter, list traces, and follow one live —
 * its steps streamed from `GET /api/v5/traces/{id}/stream` (SSE read with fetch, so the
 * request carries the dashboard's credential like every other call) and grouped per message.
 * Built against the trace API contract of docs/dashboard.md; a server without tracing answers
 * 404 and the page says so.
 */
import { useEffect, useState } from 'preact/hooks';

import { api, ApiError, errorText } from '../api.js';
import { usePoll } from '../poll.js';
import { streamEvents } from '../sse.js';
import type { SseEvent } from '../sse.js';
import { groupByMessage } from '../trace-steps.js';
import type { TraceStep } from '../trace-steps.js';

interface Trace {
  id: string;
  name?: string;
  filter: { clientid?: string; topic?: string; rule_id?: string };
  state: string;
  started_at: string;
  ends_at?: string;
}

function describe(s: TraceStep): string {
  const parts = [s.rule_id ? `rule ${s.rule_id}` : '', s.action ? `action ${s.action}` : ''];
  const d = s.detail && Object.keys(s.detail).length > 0 ? JSON.stringify(s.detail) : '';
  return [...parts, d].filter(Boolean).join(' · ');
}

function TraceView({ id }: { id: string }) {
  const [steps, setSteps] = useState<TraceStep[]>([]);
  const [state, setState] = useState<'streaming' | 'ended' | 'error'>('streaming');
  const [error, setError] = useState<string>();
  useEffect(() => {
    const ctl = new AbortController();
    let last: string | undefined;
    let ended = false;
    setSteps([]);
    setState('streaming');
    setError(undefined);
    const onEvent = (e: SseEvent): void => {
      if (e.id !== undefined) last = e.id;
      if (e.event === 'step') {
        try {
          const s = JSON.parse(e.data) as TraceStep;
          setSteps((prev) => (prev.some((p) => p.seq === s.seq) ? prev : [...prev, s]));
        } catch {
          /* a malformed event is skipped */
        }
      } else if (e.event === 'end') {
        ended = true;
        setState('ended');
      }
    };
    // The server may close a stream (a reader too far behind, a restart): resume after the
    // last step seen, as EventSource would, until the trace ends or the view closes.
    void (async () => {
      for (let attempt = 0; !ended && !ctl.signal.aborted; attempt++) {
        try {
          await streamEvents(
            `/api/v5/traces/${encodeURIComponent(id)}/stream`,
            onEvent,
            ctl.signal,
            last,
          );
          attempt = 0;
        } catch (err) {
          if (ctl.signal.aborted) return;
          if (attempt >= 3) {
            setState('error');
            setError(errorText(err));
            return;
          }
        }
        if (!ended) await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    return () => ctl.abort();
  }, [id]);
  const groups = groupByMessage(steps);
  return (
    <section aria-labelledby="trace-view-h">
      <h2 id="trace-view-h">Trace {id}</h2>
      <p role="status" data-testid="trace-state">
        {state === 'streaming' ? 'Live' : state === 'ended' ? 'Ended' : `Stream failed: ${error}`}
        {' — '}
        {steps.length} steps, {groups.length} messages
      </p>
      {groups.map((g) => (
        <details open key={g.msgId} class="trace-msg" data-msg={g.msgId}>
          <summary>
            Message {g.msgId}
            {g.steps[0]?.topic ? ` on ${g.steps[0].topic}` : ''}
            {g.steps[0]?.clientid ? ` from ${g.steps[0].clientid}` : ''}
          </summary>
          <ol class="steps">
            {g.steps.map((s) => (
              <li key={s.seq} data-step={s.step}>
                <time class="muted">{new Date(Number(s.ts)).toISOString().slice(11, 23)}</time>{' '}
                <span class={`step ${s.step}`}>{s.step}</span> {describe(s)}
              </li>
            ))}
          </ol>
        </details>
      ))}
    </section>
  );
}

export function Traces({ selected }: { selected: string | undefined }) {
  const [name, setName] = useState('');
  const [clientid, setClientid] = useState('');
  const [topic, setTopic] = useState('');
  const [ruleId, setRuleId] = useState('');
  const [duration, setDuration] = useState('300');
  const [max, setMax] = useState('1000');
  const [note, setNote] = useState<{ kind: 'ok' | 'error'; text: string }>();
  const [unavailable, setUnavailable] = useState(false);
  const { data, error, refresh } = usePoll(async () => {
    try {
      return (await api<{ data: Trace[] }>('GET', '/api/v5/traces')).data;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) setUnavailable(true);
      throw e;
    }
  }, 2000);

  async function start(e: Event): Promise<void> {
    e.preventDefault();
    setNote(undefined);
    const filter: Record<string, string> = {};
    if (clientid.trim()) filter['clientid'] = clientid.trim();
    if (topic.trim()) filter['topic'] = topic.trim();
    if (ruleId.trim()) filter['rule_id'] = ruleId.trim();
    try {
      const t = await api<Trace>('POST', '/api/v5/traces', {
        ...(name.trim() ? { name: name.trim() } : {}),
        filter,
        ...(duration.trim() ? { duration_s: Number(duration) } : {}),
        ...(max.trim() ? { max_messages: Number(max) } : {}),
      });
      setNote({ kind: 'ok', text: `Trace ${t.id} started.` });
      location.hash = `#/traces/${encodeURIComponent(t.id)}`;
    } catch (err) {
      setNote({ kind: 'error', text: errorText(err) });
    }
    refresh();
  }

  async function stop(id: string): Promise<void> {
    try {
      await api('DELETE', `/api/v5/traces/${encodeURIComponent(id)}`);
    } catch (err) {
      setNote({ kind: 'error', text: errorText(err) });
    }
    refresh();
  }

  const input = (
    id: string,
    label: string,
    v: string,
    set: (s: string) => void,
    numeric = false,
  ) => (
    <>
      <label for={id}>{label}</label>
      <input
        id={id}
        inputMode={numeric ? 'numeric' : 'text'}
        value={v}
        onInput={(e) => set((e.currentTarget as HTMLInputElement).value)}
      />
    </>
  );

  return (
    <>
      <h1>Traces</h1>
      {unavailable ? (
        <p role="status" data-testid="trace-unavailable">
          Tracing is not available on this server (no <code>/api/v5/traces</code>).
        </p>
      ) : null}
      <form class="trace-form" onSubmit={(e) => void start(e)} aria-labelledby="trace-new-h">
        <h2 id="trace-new-h">Start a trace</h2>
        {input('trace-name', 'Name', name, setName)}
        {input('trace-clientid', 'Client id', clientid, setClientid)}
        {input('trace-topic', 'Topic filter', topic, setTopic)}
        {input('trace-rule', 'Rule id', ruleId, setRuleId)}
        {input('trace-duration', 'Duration (s)', duration, setDuration, true)}
        {input('trace-max', 'Max messages', max, setMax, true)}
        <div class="row">
          <button type="submit" disabled={unavailable}>
            Start trace
          </button>
        </div>
        {note ? (
          <p role={note.kind === 'error' ? 'alert' : 'status'} class={note.kind}>
            {note.text}
          </p>
        ) : null}
      </form>
      {error && !unavailable ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
      {data && data.length > 0 ? (
        <table>
          <caption class="sr-only">Traces</caption>
          <thead>
            <tr>
              <th scope="col">Trace</th>
              <th scope="col">Filter</th>
              <th scope="col">State</th>
              <th scope="col">Started</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.map((t) => (
              <tr key={t.id} data-trace={t.id}>
                <th scope="row">
                  <a href={`#/traces/${encodeURIComponent(t.id)}`}>{t.name ?? t.id}</a>
                </th>
                <td>
                  {Object.entries(t.filter)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(', ') || 'everything'}
                </td>
                <td>{t.state}</td>
                <td>{new Date(t.started_at).toLocaleTimeString()}</td>
                <td>
                  <button type="button" onClick={() => void stop(t.id)}>
                    Delete<span class="sr-only"> trace {t.name ?? t.id}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {selected ? <TraceView id={selected} /> : null}
    </>
  );
}
