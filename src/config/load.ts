/**
 * Load sluice.yaml and its rule files into a validated, located configuration.
 *
 * Two severities of problem:
 *  - `issues`: the file itself is unusable (YAML syntax, env substitution, a field that fails
 *    the spec, an unknown sink type). A start refuses such a config; a hot reload keeps the
 *    running config entirely.
 *  - `ruleIssues`: one rule is unusable (bad header, duplicate id, unknown action; SQL
 *    diagnostics are added by `compileRules`). The other rules are fine; a hot reload keeps the
 *    old version of a broken rule running (identified by id, or by file for rule files).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { validate } from '../core/index.js';
import type { ConfigIssue } from './issues.js';
import { caretSnippet } from './issues.js';
import { parseRuleFile } from './rule-file.js';
import type { RuleEntry } from './rule-file.js';
import { configSpec, sinkSpec } from './spec.js';
import type { ConfigParts, SinkConfig, SluiceConfig } from './spec.js';
import { parseYamlSource } from './yaml-source.js';
import { globName } from './watch.js';
import type { WatchTarget } from './watch.js';
import type { YamlSource } from './yaml-source.js';

export interface LoadOptions {
  /** Environment for `${NAME}` substitution (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface LoadedConfig {
  /** Absolute path of sluice.yaml. */
  readonly file: string;
  readonly config: SluiceConfig;
  /** Validated sinks (defaults applied), by name. */
  readonly sinks: Readonly<Record<string, SinkConfig>>;
  /** Every rule that passed the file-level checks (inline first, then files in name order). */
  readonly rules: readonly RuleEntry[];
  /** Rule files that exist but could not be used (their running rules are kept on reload). */
  readonly brokenRuleFiles: readonly string[];
  /** Rule ids (inline) that could not be used. */
  readonly brokenRuleIds: readonly string[];
  /** Directories to watch for hot reload. */
  /** What hot reload watches: sluice.yaml and the rule-file patterns, by directory. */
  readonly watchTargets: readonly WatchTarget[];
}

export type LoadResult =
  | { ok: true; loaded: LoadedConfig; ruleIssues: ConfigIssue[] }
  | { ok: false; issues: ConfigIssue[] };

/** Files matching `pattern` (relative to baseDir): a path, or `*`/`?` wildcards in the last segment. */
export function expandRuleFiles(
  baseDir: string,
  pattern: string,
): { dir: string; files: string[] } {
  const abs = path.resolve(baseDir, pattern);
  const dir = path.dirname(abs);
  const base = path.basename(abs);
  if (!/[*?]/.test(base)) return { dir, files: existsFile(abs) ? [abs] : [] };
  const re = globName(base);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { dir, files: [] };
  }
  return {
    dir,
    files: names
      .filter((n) => re.test(n) && !n.startsWith('.'))
      .sort()
      .map((n) => path.join(dir, n))
      .filter(existsFile),
  };
}

function existsFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function unreadable(file: string, err: unknown): ConfigIssue {
  return {
    code: 'config_file_unreadable',
    file,
    line: 0,
    column: 0,
    path: '',
    reason: `cannot read ${file}: ${readError(err)}`,
  };
}

/** An fs error in words, with its code (`no such file (ENOENT)`). */
function readError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'it is a directory, not a file',
    ENOTDIR: 'a part of the path is not a directory',
    EMFILE: 'too many open files',
  };
  if (code && words[code]) return `${words[code]} (${code})`;
  return code ?? (err as Error).message;
}

export function loadConfig(file: string, parts: ConfigParts, opts: LoadOptions = {}): LoadResult {
  const abs = path.resolve(file);
  const display = path.relative(process.cwd(), abs) || abs;
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    return { ok: false, issues: [unreadable(display, err)] };
  }
  return loadConfigText(display, abs, text, parts, opts);
}

/** As `loadConfig`, with the YAML text given (file is used for messages and relative paths). */
export function loadConfigText(
  display: string,
  abs: string,
  text: string,
  parts: ConfigParts,
  opts: LoadOptions = {},
): LoadResult {
  const env = opts.env ?? process.env;
  const src: YamlSource = parseYamlSource(display, text, env);
  if (src.issues.length) return { ok: false, issues: [...src.issues] };
  const checked = validate<SluiceConfig>(configSpec(parts), src.value ?? {});
  // Every problem in one run: the sinks are checked even when the top level has errors.
  const issues: ConfigIssue[] = checked.ok
    ? []
    : checked.issues.map((i) =>
        src.issueAt('config_invalid_field', i.path, i.reason, i.onKey === true),
      );
  const rawSinks = checked.ok
    ? checked.value.sinks
    : ((src.value as { sinks?: unknown } | null)?.sinks ?? {});

  // Sinks: each validated against its type's spec + the runner spec.
  const sinks: Record<string, SinkConfig> = {};
  const sinkEntries =
    typeof rawSinks === 'object' && rawSinks !== null && !Array.isArray(rawSinks)
      ? Object.entries(rawSinks as Record<string, unknown>)
      : [];
  for (const [name, raw] of sinkEntries) {
    const p = `sinks.${name}`;
    const type = (raw as { type?: unknown } | null)?.type;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      issues.push(src.issueAt('config_invalid_field', p, 'must be a mapping with a `type`'));
      continue;
    }
    if (typeof type !== 'string') {
      issues.push(
        src.issueAt(
          'config_invalid_field',
          `${p}.type`,
          `is required (one of ${parts.sinkTypes.map((t) => t.type).join(', ')})`,
        ),
      );
      continue;
    }
    const spec = sinkSpec(parts, type);
    if (!spec) {
      issues.push(
        src.issueAt(
          'config_unknown_sink_type',
          `${p}.type`,
          `unknown sink type ${JSON.stringify(type)} (known: ${parts.sinkTypes.map((t) => t.type).join(', ')})`,
        ),
      );
      continue;
    }
    const v = validate<SinkConfig>(spec, raw, p);
    if (!v.ok)
      issues.push(
        ...v.issues.map((i) =>
          src.issueAt('config_invalid_field', i.path, i.reason, i.onKey === true),
        ),
      );
    else sinks[name] = v.value;
  }
  issues.push(...fallbackIssues(sinks, src));
  if (issues.length || !checked.ok) {
    // In file order, as a reader fixes them.
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    // A duplicate (same place, same reason) from the two passes is reported once.
    const seen = new Set<string>();
    return {
      ok: false,
      issues: issues.filter((i) => {
        const k = `${i.line}:${i.column}:${i.reason}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      }),
    };
  }
  const config = checked.value;

  const baseDir = path.dirname(abs);
  const ruleIssues: ConfigIssue[] = [];
  const rules: RuleEntry[] = [];
  const brokenRuleFiles: string[] = [];
  const brokenRuleIds: string[] = [];
  const seen = new Map<string, RuleEntry>();
  const sinkNames = new Set(Object.keys(sinks));

  const accept = (entry: RuleEntry, markBroken: () => void): void => {
    const prior = seen.get(entry.id);
    if (prior) {
      ruleIssues.push({
        code: 'rule_duplicate_id',
        file: entry.origin.file,
        line: entry.at.line,
        column: entry.at.column,
        path: entry.at.path ? `${entry.at.path}.id` : 'id',
        reason: `rule id ${JSON.stringify(entry.id)} is already used at ${prior.origin.file}:${prior.at.line}`,
        rule: entry.id,
      });
      markBroken();
      return;
    }
    let bad = false;
    entry.actions.forEach((a, i) => {
      if (sinkNames.has(a)) return;
      bad = true;
      const at = entry.actionAt?.[i] ?? entry.at;
      ruleIssues.push({
        code: 'rule_unknown_action',
        file: entry.origin.file,
        line: at.line,
        column: at.column,
        path: entry.at.path ? `${entry.at.path}.actions[${i}]` : `actions[${i}]`,
        reason: `action ${JSON.stringify(a)} is not a configured sink (sinks: ${[...sinkNames].join(', ') || 'none'})`,
        snippet: caretSnippet(entry.origin.fileText, at.line, at.column, a.length),
        rule: entry.id,
      });
    });
    seen.set(entry.id, entry);
    if (bad) markBroken();
    else rules.push(entry);
  };

  // Inline rules.
  config.rules.forEach((r, i) => {
    const p = `rules[${i}]`;
    const decl = src.locate(p);
    const sqlAt = src.locate(`${p}.sql`);
    const origin = sqlOrigin(src, `${p}.sql`, sqlAt);
    const actionAt = r.actions.map((_, j) => {
      const l = src.locate(`${p}.actions[${j}]`);
      return { line: l.line, column: l.column };
    });
    accept(
      {
        id: r.id,
        sql: r.sql,
        actions: r.actions,
        enabled: r.enabled,
        description: r.description,
        origin,
        at: { line: decl.line, column: decl.column, path: p },
        actionAt,
      },
      () => brokenRuleIds.push(r.id),
    );
  });

  // Rule files.
  const watchTargets: WatchTarget[] = [{ dir: path.dirname(abs), names: [path.basename(abs)] }];
  for (const pattern of config.rule_files) {
    const { dir, files } = expandRuleFiles(baseDir, pattern);
    watchTargets.push({ dir, names: [path.basename(path.resolve(baseDir, pattern))] });
    for (const f of files) {
      const shown = path.relative(process.cwd(), f) || f;
      let body: string;
      try {
        body = readFileSync(f, 'utf8');
      } catch (err) {
        ruleIssues.push(unreadable(shown, err));
        brokenRuleFiles.push(shown);
        continue;
      }
      const parsed = parseRuleFile(shown, body);
      ruleIssues.push(...parsed.issues);
      if (!parsed.entry) brokenRuleFiles.push(shown);
      else accept(parsed.entry, () => brokenRuleFiles.push(shown));
    }
  }

  return {
    ok: true,
    ruleIssues,
    loaded: {
      file: abs,
      config,
      sinks,
      rules,
      brokenRuleFiles,
      brokenRuleIds,
      watchTargets,
    },
  };
}

/** Map SQL positions inside a YAML scalar back to the file (block scalars: next line + indent). */
function sqlOrigin(
  src: YamlSource,
  p: string,
  at: ReturnType<YamlSource['locate']>,
): RuleEntry['origin'] {
  const node = at.node as { type?: string } | undefined;
  const base = { file: src.file, fileText: src.text, path: p };
  if (node?.type === 'BLOCK_LITERAL' || node?.type === 'BLOCK_FOLDED') {
    const next = src.text.split(/\r\n|\r|\n/)[at.line] ?? '';
    const indent = next.length - next.trimStart().length;
    return { ...base, lineOffset: at.line, firstColumnOffset: indent, columnOffset: indent };
  }
  const quoted = node?.type === 'QUOTE_DOUBLE' || node?.type === 'QUOTE_SINGLE' ? 1 : 0;
  return {
    ...base,
    lineOffset: at.line - 1,
    firstColumnOffset: at.column - 1 + quoted,
    columnOffset: 0,
  };
}

/**
 * `fallback_actions` (issue #12): every name is a configured sink other than this one and the
 * fallback graph has no cycle. (A sink thread posts its given-up records back to the main
 * thread, src/engine/sink-thread.ts, so `thread: worker` is allowed.)
 */
function fallbackIssues(sinks: Record<string, SinkConfig>, src: YamlSource): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const targets = (n: string): string[] =>
    ((sinks[n] as { fallback_actions?: string[] } | undefined)?.fallback_actions ?? []).filter(
      (t) => t in sinks && t !== n,
    );
  for (const [name, sc] of Object.entries(sinks)) {
    const fb = (sc as { fallback_actions?: string[] }).fallback_actions ?? [];
    if (fb.length === 0) continue;
    const p = `sinks.${name}.fallback_actions`;
    fb.forEach((t, i) => {
      if (t === name)
        out.push(
          src.issueAt('config_fallback_invalid', `${p}.${i}`, 'a sink cannot be its own fallback'),
        );
      else if (!(t in sinks))
        out.push(
          src.issueAt(
            'config_fallback_invalid',
            `${p}.${i}`,
            `${JSON.stringify(t)} is not a configured sink`,
          ),
        );
    });
    // A path back to `name` through the fallback graph is a cycle.
    const seen = new Set<string>();
    const stack = targets(name).map((t) => [t, `${name} -> ${t}`] as const);
    while (stack.length) {
      const [at, via] = stack.pop() as readonly [string, string];
      if (at === name) {
        out.push(src.issueAt('config_fallback_invalid', p, `fallback cycle: ${via}`));
        break;
      }
      if (seen.has(at)) continue;
      seen.add(at);
      for (const t of targets(at)) stack.push([t, `${via} -> ${t}`]);
    }
  }
  return out;
}
