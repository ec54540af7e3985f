/**
 * Validations and transformations created over the management API (EMQX 5.7/5.8
 * `/api/v5/schema_validations`, `/api/v5/message_transformations`; docs/api.md), and their
 * persistence — the same two-owner model as the schema registry (decision 0011):
 *
 * - entries in sluice.yaml are owned by the file: listed by the API, never changed by it
 *   (`ingress_config_owned`), replaced as a whole on a reload;
 * - entries created over the API live in each section's `api_store` JSON file (default
 *   `data/schema_validations.json`, `data/message_transformations.json` beside sluice.yaml),
 *   rewritten atomically (temp file + rename, mode 0600) before the running lists change, and
 *   read at start (and when `api_store` names another file). So they survive a hot reload (the
 *   reload replaces the sluice.yaml entries only) and a restart.
 *
 * Order: the sluice.yaml entries first, in file order, then the API entries in their order
 * (POST appends, as EMQX's "append a new validation"; `reorder` moves API entries only). A
 * sluice.yaml entry hides an API entry of the same name (warning `ingress_config_owned`).
 *
 * Every change is validated against the entry spec (field paths), compiled (SQL checks,
 * variform, topic filters) and written to the store before `Ingress.configure` swaps the lists;
 * a failure at any step changes nothing.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { validate } from '../../core/index.js';
import type { Logger, SluiceError } from '../../core/index.js';
import { IngressErrors } from './errors.js';
import type {
  Ingress,
  IngressConfig,
  IngressIssue,
  IngressMetrics,
  TransformationConfig,
  ValidationConfig,
} from './ingress.js';
import { transformationEntrySpec, validationEntrySpec } from './spec.js';

export type IngressKind = 'validation' | 'transformation';
type EntryConfig = ValidationConfig | TransformationConfig;

/** One entry as the API lists it: its config and who owns it. */
export type IngressEntryInfo = EntryConfig & { readonly origin: 'config' | 'api' };

/** The two sections as loaded from sluice.yaml (defaults filled by the spec). */
export interface IngressSections extends IngressConfig {
  schema_validation?: { validations: ValidationConfig[]; api_store?: string };
  message_transformation?: { transformations: TransformationConfig[]; api_store?: string };
}

export interface IngressStoreDeps {
  readonly logger: Logger;
  /** File access (tests inject fakes). */
  readonly readFile?: (file: string) => string;
  readonly writeFile?: (file: string, text: string) => void;
}

export interface IngressStore {
  /**
   * Apply sluice.yaml's sections (start and reload): its entries replace the config-owned
   * ones; the API entries stay (read from `api_store` when the file is new). Returns the
   * issues; with any, nothing changes.
   */
  configure(cfg: IngressSections, baseDir: string): IngressIssue[];
  list(kind: IngressKind): IngressEntryInfo[];
  get(kind: IngressKind, name: string): IngressEntryInfo | undefined;
  /** Append a new entry (`ingress_entry_invalid`, `ingress_entry_exists`, `ingress_store_failed`). */
  create(kind: IngressKind, body: unknown): IngressEntryInfo;
  /** Replace an API entry (`ingress_entry_not_found`, `ingress_config_owned`, …). */
  update(kind: IngressKind, body: unknown): IngressEntryInfo;
  remove(kind: IngressKind, name: string): void;
  enable(kind: IngressKind, name: string, enable: boolean): void;
  /** `order` names every entry once, sluice.yaml's first (`ingress_reorder_invalid`). */
  reorder(kind: IngressKind, order: unknown): void;
  /** The running lists' counters (Ingress.metrics). */
  metrics(): IngressMetrics;
  resetMetrics(kind: IngressKind, name: string): boolean;
}

const SECTION = {
  validation: {
    section: 'schema_validation',
    list: 'validations',
    spec: validationEntrySpec,
    file: 'data/schema_validations.json',
  },
  transformation: {
    section: 'message_transformation',
    list: 'transformations',
    spec: transformationEntrySpec,
    file: 'data/message_transformations.json',
  },
} as const;

interface Side {
  config: EntryConfig[];
  api: EntryConfig[];
  file: string | undefined;
}

function defaultWrite(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

export function createIngressStore(ingress: Ingress, deps: IngressStoreDeps): IngressStore {
  const readFile = deps.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  const writeFile = deps.writeFile ?? defaultWrite;
  const log = deps.logger;
  const sides: Record<IngressKind, Side> = {
    validation: { config: [], api: [], file: undefined },
    transformation: { config: [], api: [], file: undefined },
  };

  /** The running order: config entries, then the API entries they do not hide. */
  const merged = (s: Side): EntryConfig[] => {
    const names = new Set(s.config.map((e) => e.name));
    return [...s.config, ...s.api.filter((e) => !names.has(e.name))];
  };

  const assemble = (v: Side, t: Side): IngressConfig => ({
    schema_validation: { validations: merged(v) as ValidationConfig[] },
    message_transformation: { transformations: merged(t) as TransformationConfig[] },
  });

  /** Compile one entry alone; issue paths relative to the entry (as the API body). */
  const compileIssues = (kind: IngressKind, e: EntryConfig): IngressIssue[] => {
    const { section, list } = SECTION[kind];
    const prefix = `${section}.${list}[0]`;
    return ingress.check({ [section]: { [list]: [e] } } as IngressConfig).map((i) => ({
      path: i.path.startsWith(prefix) ? i.path.slice(prefix.length).replace(/^\./, '') : i.path,
      reason: i.reason,
    }));
  };

  const invalid = (kind: IngressKind, issues: readonly IngressIssue[]): SluiceError =>
    IngressErrors.ingress_entry_invalid(
      `invalid ${kind}: ${issues.map((i) => `${i.path || '(body)'}: ${i.reason}`).join('; ')}`,
      { context: { issues: issues.map((i) => ({ path: i.path, reason: i.reason })) } },
    );

  /** Body → a complete entry (defaults filled), or `ingress_entry_invalid`. */
  const entryOf = (kind: IngressKind, body: unknown): EntryConfig => {
    const r = validate<EntryConfig>(SECTION[kind].spec, body);
    if (!r.ok) throw invalid(kind, r.issues);
    const problems = compileIssues(kind, r.value);
    if (problems.length > 0) throw invalid(kind, problems);
    return r.value;
  };

  const readStore = (kind: IngressKind, file: string): EntryConfig[] => {
    let text: string;
    try {
      text = readFile(file);
    } catch (e) {
      // No file yet (ENOTDIR: a parent is a file; the first write will say so).
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw IngressErrors.ingress_store_failed(`cannot read ${file}: ${(e as Error).message}`, {
        cause: e,
        context: { file },
      });
    }
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw IngressErrors.ingress_store_failed(`${file} is not JSON: ${(e as Error).message}`, {
        cause: e,
        context: { file },
      });
    }
    const raw = doc?.[SECTION[kind].list];
    if (!Array.isArray(raw))
      throw IngressErrors.ingress_store_failed(
        `${file}: no "${SECTION[kind].list}" list (not a Sluice ${kind} store)`,
        { context: { file } },
      );
    const out: EntryConfig[] = [];
    const seen = new Set<string>();
    for (const item of raw) {
      try {
        const e = entryOf(kind, item);
        if (seen.has(e.name)) throw new Error(`duplicate name ${e.name}`);
        seen.add(e.name);
        out.push(e);
      } catch (err) {
        // One bad entry (a hand edit, a function removed since) must not stop the start.
        log.error(
          {
            code: 'ingress_entry_invalid',
            [kind]: (item as { name?: unknown })?.name,
            file,
            reason: (err as Error).message,
          },
          `${kind} from the API store does not compile; skipped`,
        );
      }
    }
    return out;
  };

  const persist = (kind: IngressKind, api: readonly EntryConfig[]): void => {
    const file = sides[kind].file;
    if (!file) return;
    const text = `${JSON.stringify({ version: 1, [SECTION[kind].list]: api }, null, 2)}\n`;
    try {
      writeFile(file, text);
    } catch (e) {
      throw IngressErrors.ingress_store_failed(`cannot write ${file}: ${(e as Error).message}`, {
        cause: e,
        context: { file },
      });
    }
  };

  /** Check, write, then swap: the API side of `kind` becomes `api`. */
  const commit = (kind: IngressKind, api: EntryConfig[]): void => {
    const next: Record<IngressKind, Side> = { ...sides, [kind]: { ...sides[kind], api } };
    const cfg = assemble(next.validation, next.transformation);
    const issues = ingress.check(cfg);
    if (issues.length > 0) throw invalid(kind, issues);
    persist(kind, api);
    const applied = ingress.configure(cfg);
    if (applied.length > 0) throw invalid(kind, applied); // not reached: checked above
    sides[kind].api = api;
  };

  const info = (kind: IngressKind, e: EntryConfig): IngressEntryInfo => ({
    ...e,
    origin: sides[kind].config.some((c) => c.name === e.name) ? 'config' : 'api',
  });

  const apiIndex = (kind: IngressKind, name: string): number => {
    const s = sides[kind];
    if (s.config.some((e) => e.name === name))
      throw IngressErrors.ingress_config_owned(
        `${kind} ${JSON.stringify(name)} is declared in sluice.yaml; edit the file and reload`,
        { context: { [kind]: name } },
      );
    const i = s.api.findIndex((e) => e.name === name);
    if (i < 0)
      throw IngressErrors.ingress_entry_not_found(`no ${kind} ${JSON.stringify(name)}`, {
        context: { [kind]: name },
      });
    return i;
  };

  return {
    configure(cfg, baseDir) {
      const issues: IngressIssue[] = [];
      const next: Record<IngressKind, Side> = { ...sides };
      for (const kind of ['validation', 'transformation'] as const) {
        const { section, list, file: dflt } = SECTION[kind];
        const sec = cfg[section] as { api_store?: string } | undefined;
        const file = path.resolve(baseDir, sec?.api_store ?? dflt);
        const config = [
          ...(((sec as Record<string, unknown> | undefined)?.[list] as EntryConfig[]) ?? []),
        ];
        let api = sides[kind].api;
        if (file !== sides[kind].file) {
          try {
            api = readStore(kind, file);
          } catch (e) {
            issues.push({ path: `${section}.api_store`, reason: (e as Error).message });
          }
        }
        next[kind] = { config, api, file };
      }
      if (issues.length > 0) return issues;
      const found = ingress.configure(assemble(next.validation, next.transformation));
      if (found.length > 0) return found;
      for (const kind of ['validation', 'transformation'] as const) {
        const names = new Set(next[kind].config.map((e) => e.name));
        for (const e of next[kind].api)
          if (names.has(e.name))
            log.warn(
              { code: 'ingress_config_owned', [kind]: e.name },
              `a ${kind} in sluice.yaml hides the API ${kind} of the same name`,
            );
        sides[kind] = next[kind];
      }
      return [];
    },
    list: (kind) => merged(sides[kind]).map((e) => info(kind, e)),
    get(kind, name) {
      const e = merged(sides[kind]).find((x) => x.name === name);
      return e && info(kind, e);
    },
    create(kind, body) {
      const e = entryOf(kind, body);
      if (merged(sides[kind]).some((x) => x.name === e.name))
        throw IngressErrors.ingress_entry_exists(`${kind} ${JSON.stringify(e.name)} exists`, {
          context: { [kind]: e.name },
        });
      commit(kind, [...sides[kind].api, e]);
      return info(kind, e);
    },
    update(kind, body) {
      const name = (body as { name?: unknown } | null)?.name;
      if (typeof name === 'string') apiIndex(kind, name);
      const e = entryOf(kind, body);
      const i = apiIndex(kind, e.name);
      const api = [...sides[kind].api];
      api[i] = e;
      commit(kind, api);
      return info(kind, e);
    },
    remove(kind, name) {
      const i = apiIndex(kind, name);
      commit(
        kind,
        sides[kind].api.filter((_, j) => j !== i),
      );
    },
    enable(kind, name, enable) {
      const i = apiIndex(kind, name);
      const api = [...sides[kind].api];
      api[i] = { ...(api[i] as EntryConfig), enable };
      commit(kind, api);
    },
    reorder(kind, order) {
      if (!Array.isArray(order) || order.some((n) => typeof n !== 'string'))
        throw IngressErrors.ingress_reorder_invalid('order must be a list of names', {
          context: { not_found: [], duplicated: [], not_reordered: [] },
        });
      const names = order as string[];
      const s = sides[kind];
      const all = merged(s).map((e) => e.name);
      const known = new Set(all);
      const seen = new Set<string>();
      const duplicated = new Set<string>();
      for (const n of names) (seen.has(n) ? duplicated : seen).add(n);
      const notFound = [...new Set(names.filter((n) => !known.has(n)))];
      const notReordered = all.filter((n) => !seen.has(n));
      if (notFound.length || duplicated.size || notReordered.length)
        throw IngressErrors.ingress_reorder_invalid(
          `order must name every ${kind} exactly once (not found: ${notFound.join(', ') || '-'}; duplicated: ${[...duplicated].join(', ') || '-'}; missing: ${notReordered.join(', ') || '-'})`,
          {
            context: {
              not_found: notFound,
              duplicated: [...duplicated],
              not_reordered: notReordered,
            },
          },
        );
      const head = names.slice(0, s.config.length);
      if (head.some((n, i) => n !== s.config[i]?.name))
        throw IngressErrors.ingress_config_owned(
          `the ${kind}s of sluice.yaml (${s.config.map((e) => e.name).join(', ')}) come first, in their file order; only API ${kind}s can be reordered`,
          { context: {} },
        );
      const byName = new Map(s.api.map((e) => [e.name, e]));
      const hidden = s.api.filter((e) => s.config.some((c) => c.name === e.name));
      commit(kind, [
        ...names.slice(s.config.length).map((n) => byName.get(n) as EntryConfig),
        ...hidden,
      ]);
    },
    metrics: () => ingress.metrics(),
    resetMetrics: (kind, name) => ingress.resetMetrics(kind, name),
  };
}
