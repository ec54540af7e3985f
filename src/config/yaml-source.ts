/**
 * sluice.yaml as a located document: parse with the `yaml` package keeping node ranges, apply
 * `${ENV}` substitution on scalar values, and map a validation path (`sinks.k1.batch.size`,
 * `rules[2].actions[0]`) back to the line and column of the node it names — or, when the node
 * is missing, of the closest parent that exists.
 */
import {
  LineCounter,
  Scalar,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parse,
  parseDocument,
  visit,
} from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';

import { substituteEnv } from './env.js';
import type { ConfigIssue } from './issues.js';
import { caretSnippet } from './issues.js';

export interface YamlSource {
  readonly file: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  /** Plain JS value after env substitution (undefined for an empty file). */
  readonly value: unknown;
  /** Syntax and env issues; when non-empty `value` must not be used. */
  readonly issues: readonly ConfigIssue[];
  locate(path: string): { line: number; column: number; node?: YamlNode };
  /** An issue at `path` (with line, column and snippet). */
  /** `onKey`: point at the key of the last path segment (unknown fields), not at its value. */
  issueAt(code: string, path: string, reason: string, onKey?: boolean): ConfigIssue;
}

/** `a.b[0].c` → ['a', 'b', 0, 'c']. */
export function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[1] as string);
  }
  return out;
}

export function parseYamlSource(
  file: string,
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issues: ConfigIssue[] = [];

  const posOf = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };

  for (const e of [...doc.errors]) {
    const { line, column } = posOf(e.pos[0]);
    issues.push({
      code: 'config_yaml_syntax',
      file,
      line,
      column,
      path: '',
      reason: e.message.split('\n')[0] ?? e.message,
      snippet: caretSnippet(text, line, column, Math.max(1, e.pos[1] - e.pos[0])),
    });
  }

  function locate(path: string, onKey = false): { line: number; column: number; node?: YamlNode } {
    let node: unknown = doc.contents;
    let best: YamlNode | undefined = (doc.contents as YamlNode | null) ?? undefined;
    const segs = splitPath(path);
    let lastKey: YamlNode | undefined;
    for (let k = 0; k < segs.length; k++) {
      const seg = segs[k] as string | number;
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
        );
        if (!pair) {
          // A missing field: point at the key of the mapping that lacks it.
          if (lastKey) best = lastKey;
          break;
        }
        lastKey = pair.key as YamlNode;
        best = (pair.value as YamlNode | null) ?? (pair.key as YamlNode);
        if (onKey && k === segs.length - 1) {
          best = pair.key as YamlNode;
          break;
        }
        if (!pair.value) break;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (!item) break;
        best = item as YamlNode;
        node = item;
      } else break;
    }
    const offset = best?.range?.[0] ?? 0;
    return { ...posOf(offset), ...(best ? { node: best } : {}) };
  }

  function issueAt(code: string, path: string, reason: string, onKey = false): ConfigIssue {
    const { line, column, node } = locate(path, onKey);
    const width = node?.range
      ? Math.max(1, Math.min(node.range[1], text.length) - node.range[0])
      : 1;
    return {
      code,
      file,
      line,
      column,
      path,
      reason,
      snippet: caretSnippet(text, line, column, width),
    };
  }

  if (issues.length === 0) {
    visit(doc, {
      Scalar(key, node) {
        if (key === 'key' || typeof node.value !== 'string') return;
        const sub = substituteEnv(node.value, env);
        if (!sub.changed) return;
        if (sub.missing.length) {
          const { line, column } = posOf(node.range?.[0] ?? 0);
          for (const name of sub.missing)
            issues.push({
              code: 'config_env_missing',
              file,
              line,
              column,
              path: '',
              reason: `environment variable ${name} is not set (write \${${name}:-default} to give a default)`,
              snippet: caretSnippet(text, line, column, 1),
            });
          return;
        }
        // An unquoted `port: ${PORT}` becomes the number 1883, as if written in place.
        if (node.type === Scalar.PLAIN) {
          let typed: unknown;
          try {
            typed = parse(sub.value);
          } catch {
            typed = sub.value;
          }
          node.value = typed === null || typeof typed === 'object' ? sub.value : typed;
        } else node.value = sub.value;
      },
    });
  }

  const value = issues.length === 0 ? (doc.toJS({ maxAliasCount: 100 }) as unknown) : undefined;
  return { file, text, doc, value, issues, locate, issueAt };
}
