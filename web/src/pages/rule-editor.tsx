/**
 * Create or edit a rule: id, description, actions (the configured sinks), the SQL with live
 * diagnostics (parsed in the browser as you type), a "try it" panel backed by
 * `POST /api/v5/rule_test`, and save (`POST /api/v5/rules` or `PUT /api/v5/rules/{id}`).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';

import { api, ApiError, errorText } from '../api.js';
import { SqlEditor } from '../components/sql-editor.js';
import type { EditorDiagnostic } from '../components/sql-editor.js';
import { browserDiagnostics } from '../diagnostics.js';
import type { Rule, Sink } from '../types.js';

const STARTER =
  'SELECT\n  payload.temp AS temp,\n  clientid\nFROM "sensors/#"\nWHERE payload.temp > 30';

interface ApiDiagnostic {
  code: string;
  message: string;
  line: number;
  column: number;
  end_line: number;
  end_column: number;
  expected?: string[];
  snippet: string;
}

function fromApi(body: Record<string, unknown>): EditorDiagnostic[] {
  const list = body['diagnostics'];
  if (!Array.isArray(list)) return [];
  return (list as ApiDiagnostic[]).map((d) => ({
    code: d.code,
    message: d.message,
    line: d.line,
    column: d.column,
    endLine: d.end_line,
    endColumn: d.end_column,
    ...(d.expected ? { expected: d.expected } : {}),
    snippet: d.snippet,
    source: 'server' as const,
  }));
}

/** The "saved" note of a rule just created, shown by the editor the page moves to. */
let flash: string | undefined;

export function RuleEditor({ id }: { id: string | undefined }) {
  const isNew = id === undefined;
  const [ruleId, setRuleId] = useState('');
  const [description, setDescription] = useState('');
  const [sql, setSql] = useState(isNew ? STARTER : '');
  const [actions, setActions] = useState<string[]>([]);
  const [enable, setEnable] = useState(false);
  const [sinks, setSinks] = useState<Sink[]>([]);
  const [serverDiags, setServerDiags] = useState<{ sql: string; list: EditorDiagnostic[] }>();
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>(() => {
    const f = flash;
    flash = undefined;
    return f === undefined ? undefined : { kind: 'ok', text: f };
  });
  const [loaded, setLoaded] = useState(isNew);
  // Try it
  const [topic, setTopic] = useState('sensors/room1');
  const [payload, setPayload] = useState('{"temp": 35}');
  const [clientid, setClientid] = useState('c_dashboard');
  const [output, setOutput] = useState<{ kind: 'ok' | 'error' | 'nomatch'; text: string }>();

  useEffect(() => {
    void api<Sink[]>('GET', '/api/v5/sinks')
      .then(setSinks)
      .catch(() => setSinks([]));
    if (isNew) return;
    void api<Rule>('GET', `/api/v5/rules/${encodeURIComponent(id)}`)
      .then((r) => {
        setRuleId(r.id);
        setDescription(r.description);
        setSql(r.sql);
        setActions(r.actions);
        setEnable(r.enable);
        setLoaded(true);
      })
      .catch((e) => setMessage({ kind: 'error', text: errorText(e) }));
  }, [id]);

  const parsed = useMemo(() => browserDiagnostics(sql), [sql]);
  // Server diagnostics hold until the text they were about changes.
  const diagnostics = parsed.length > 0 ? parsed : serverDiags?.sql === sql ? serverDiags.list : [];

  async function save(e: Event): Promise<void> {
    e.preventDefault();
    setMessage(undefined);
    try {
      const body = { sql, actions, description, enable };
      const r = isNew
        ? await api<Rule>('POST', '/api/v5/rules', {
            ...(ruleId.trim() !== '' ? { id: ruleId.trim() } : {}),
            ...body,
          })
        : await api<Rule>('PUT', `/api/v5/rules/${encodeURIComponent(id)}`, body);
      setServerDiags(undefined);
      const text = `Rule ${r.id} saved (${r.status}).`;
      if (isNew) {
        flash = text;
        location.hash = `#/rules/${encodeURIComponent(r.id)}`;
      } else setMessage({ kind: 'ok', text });
    } catch (err) {
      if (err instanceof ApiError) setServerDiags({ sql, list: fromApi(err.body) });
      setMessage({ kind: 'error', text: errorText(err) });
    }
  }

  async function tryIt(): Promise<void> {
    setOutput(undefined);
    try {
      const out = await api<unknown>('POST', '/api/v5/rule_test', {
        sql,
        context: { event_type: 'message_publish', topic, payload, clientid },
      });
      setOutput({ kind: 'ok', text: JSON.stringify(out, null, 2) });
    } catch (err) {
      if (err instanceof ApiError && err.status === 412)
        setOutput({ kind: 'nomatch', text: err.message });
      else {
        if (err instanceof ApiError) setServerDiags({ sql, list: fromApi(err.body) });
        setOutput({ kind: 'error', text: errorText(err) });
      }
    }
  }

  const title = isNew ? 'New rule' : `Rule ${id}`;
  return (
    <>
      <h1>{title}</h1>
      {!loaded ? <p>Loading…</p> : null}
      <form class="rule-form" onSubmit={(e) => void save(e)}>
        {isNew ? (
          <>
            <label for="rule-id">Rule id</label>
            <input
              id="rule-id"
              value={ruleId}
              placeholder="generated when empty"
              onInput={(e) => setRuleId((e.currentTarget as HTMLInputElement).value)}
            />
          </>
        ) : null}
        <label for="rule-description">Description</label>
        <input
          id="rule-description"
          value={description}
          onInput={(e) => setDescription((e.currentTarget as HTMLInputElement).value)}
        />
        <label for="rule-sql">SQL</label>
        <SqlEditor id="rule-sql" value={sql} onInput={setSql} diagnostics={diagnostics} />
        <fieldset>
          <legend>Actions (sinks)</legend>
          {sinks.length === 0 ? <p class="muted">No sinks configured.</p> : null}
          {sinks.map((s) => (
            <label class="check" key={s.name}>
              <input
                type="checkbox"
                checked={actions.includes(s.name)}
                onChange={(e) =>
                  setActions(
                    (e.currentTarget as HTMLInputElement).checked
                      ? [...actions, s.name]
                      : actions.filter((a) => a !== s.name),
                  )
                }
              />{' '}
              {s.name} <span class="muted">({s.type})</span>
            </label>
          ))}
        </fieldset>
        <label class="check">
          <input
            id="rule-enable"
            type="checkbox"
            checked={enable}
            onChange={(e) => setEnable((e.currentTarget as HTMLInputElement).checked)}
          />{' '}
          Enabled
        </label>
        <div class="row">
          <button type="submit" disabled={parsed.length > 0}>
            {isNew ? 'Create rule' : 'Save rule'}
          </button>
          <a href="#/rules">Back to rules</a>
        </div>
        {message ? (
          <p role={message.kind === 'error' ? 'alert' : 'status'} class={message.kind}>
            {message.text}
          </p>
        ) : null}
      </form>

      <section class="try-it" aria-labelledby="try-h">
        <h2 id="try-h">Try it</h2>
        <p class="muted">
          Runs the SQL above on one sample <code>message.publish</code> event. Nothing is published
          and no action runs.
        </p>
        <label for="try-topic">Topic</label>
        <input
          id="try-topic"
          value={topic}
          onInput={(e) => setTopic((e.currentTarget as HTMLInputElement).value)}
        />
        <label for="try-clientid">Client id</label>
        <input
          id="try-clientid"
          value={clientid}
          onInput={(e) => setClientid((e.currentTarget as HTMLInputElement).value)}
        />
        <label for="try-payload">Payload</label>
        <textarea
          id="try-payload"
          rows={3}
          value={payload}
          onInput={(e) => setPayload((e.currentTarget as HTMLTextAreaElement).value)}
        />
        <div class="row">
          <button type="button" onClick={() => void tryIt()}>
            Run test
          </button>
        </div>
        <div aria-live="polite">
          {output ? (
            <>
              <h3>
                {output.kind === 'ok'
                  ? 'Output'
                  : output.kind === 'nomatch'
                    ? 'No output'
                    : 'Error'}
              </h3>
              <pre class={`output ${output.kind}`} data-testid="try-output">
                {output.text}
              </pre>
            </>
          ) : null}
        </div>
      </section>
    </>
  );
}
