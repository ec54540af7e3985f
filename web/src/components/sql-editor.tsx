/**
 * The rule SQL editor: a plain textarea over a layer that repeats the text with the
 * diagnostics' ranges marked (wavy underline), and the list of diagnostics under it — each
 * with its line and column and the parser's caret snippet. The parser runs in the browser
 * (src/sql-parser, bundled) on every edit; diagnostics from the server (a compile error on
 * save, e.g. an unknown function) are shown the same way until the text changes.
 */
import { useMemo, useRef } from 'preact/hooks';

import { markRuns, offsetOf } from '../marks.js';
import type { MarkRange } from '../marks.js';
import type { EditorDiagnostic } from '../diagnostics.js';

export type { EditorDiagnostic };

export interface SqlEditorProps {
  readonly id: string;
  readonly value: string;
  readonly onInput: (v: string) => void;
  readonly diagnostics: readonly EditorDiagnostic[];
}

export function SqlEditor({ id, value, onInput, diagnostics }: SqlEditorProps) {
  const layer = useRef<HTMLPreElement>(null);
  const runs = useMemo(() => {
    const ranges: MarkRange[] = diagnostics.map((d, index) => ({
      start: offsetOf(value, d.line, d.column),
      end: offsetOf(value, d.endLine, d.endColumn),
      index,
    }));
    return markRuns(value, ranges);
  }, [value, diagnostics]);
  const listId = `${id}-diagnostics`;
  return (
    <div class="sql-editor">
      <div class="editor-box">
        <pre class="editor-layer" aria-hidden="true" ref={layer}>
          {runs.map((r, i) =>
            r.mark === undefined ? (
              r.text
            ) : (
              <mark
                key={i}
                class="diag-mark"
                data-diagnostic={r.mark}
                title={diagnostics[r.mark]?.message}
              >
                {r.text}
              </mark>
            ),
          )}
          {'\n'}
        </pre>
        <textarea
          id={id}
          class="editor-input"
          spellcheck={false}
          autocomplete="off"
          rows={8}
          value={value}
          aria-invalid={diagnostics.length > 0}
          aria-describedby={listId}
          onInput={(e) => onInput((e.currentTarget as HTMLTextAreaElement).value)}
          onScroll={(e) => {
            const t = e.currentTarget as HTMLTextAreaElement;
            if (layer.current) {
              layer.current.scrollTop = t.scrollTop;
              layer.current.scrollLeft = t.scrollLeft;
            }
          }}
        />
      </div>
      <div id={listId} class="diagnostics" aria-live="polite" data-testid="diagnostics">
        {diagnostics.length === 0 ? (
          <p class="ok" data-testid="no-diagnostics">
            No problems found.
          </p>
        ) : (
          <ul>
            {diagnostics.map((d, i) => (
              <li
                key={i}
                class="diagnostic"
                data-testid="diagnostic"
                data-line={d.line}
                data-column={d.column}
                data-code={d.code}
              >
                <span class="loc">
                  Line {d.line}, column {d.column}
                </span>{' '}
                <span class="code">[{d.code}]</span> {d.message}
                {d.expected && d.expected.length > 0 ? (
                  <span class="expected"> (expected {d.expected.join(', ')})</span>
                ) : null}
                {d.source === 'server' ? <span class="src"> — from the server</span> : null}
                <pre class="snippet">{d.snippet}</pre>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
