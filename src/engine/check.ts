/** `sluice check`: validate a sluice.yaml and its rules without starting anything. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { compileRules, loadConfig, parseYamlSource } from '../config/index.js';
import type { ConfigIssue } from '../config/index.js';
import { silentLogger } from '../core/index.js';
import { createDefaultServices, createIngress } from '../runtime/index.js';
import { createSchemaRegistry } from '../schema-registry/index.js';
import type { SchemaRegistryConfig } from '../schema-registry/index.js';
import { checkSources } from '../sources/index.js';
import type { SourcesConfig } from '../sources/index.js';
import { ingressConfigOf } from './ingress-config.js';
import { createCompiler } from './rules.js';
import { schemaPathIssues } from './schema-paths/index.js';
import { configParts, sinkTypeMap } from './sinks.js';
import type { CheckReport, EngineDeps } from './types.js';

export function checkConfig(
  file: string,
  deps: Pick<EngineDeps, 'env' | 'sinkTypes'> = {},
): CheckReport {
  const r = loadConfig(file, configParts(deps.sinkTypes), { env: deps.env ?? process.env });
  if (!r.ok) return { issues: r.issues, rules: 0, sinks: 0 };
  const services = createDefaultServices({ node: r.loaded.config.node ?? 'sluice@check' });
  const c = compileRules(r.loaded.rules, createCompiler(services));
  const display = path.relative(process.cwd(), path.resolve(file)) || file;
  const sourceIssues: ConfigIssue[] = checkSources(
    r.loaded.config.sources as unknown as SourcesConfig,
  ).map(([p, reason]) => ({
    code: 'config_invalid_field',
    file: display,
    line: 0,
    column: 0,
    path: p,
    reason,
  }));
  const badSchemas = schemaIssues(file, r.loaded.config.schema_registry, deps);
  const prefix = 'schema_registry.schemas.';
  const invalid = new Set(
    badSchemas.filter((i) => i.path.startsWith(prefix)).map((i) => i.path.slice(prefix.length)),
  );
  const issues = [
    ...r.ruleIssues,
    ...c.issues,
    ...sourceIssues,
    ...badSchemas,
    ...ingressIssues(file, r.loaded.config, services, deps),
    ...schemaPathIssues(r.loaded, c.compiled, invalid),
    ...preflight(file, r.loaded.sinks, deps),
  ].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  return {
    issues,
    rules: c.compiled.length,
    sinks: Object.keys(r.loaded.sinks).length,
    loaded: r.loaded,
  };
}

/** Schemas that do not compile (the engine would refuse to start), located in the file. */
function schemaIssues(
  file: string,
  section: Record<string, unknown> | undefined,
  deps: Pick<EngineDeps, 'env'>,
): ConfigIssue[] {
  if (!section) return [];
  const registry = createSchemaRegistry();
  const found = registry.configure(
    section as unknown as SchemaRegistryConfig,
    path.dirname(path.resolve(file)),
  );
  void registry.close();
  if (found.length === 0) return [];
  const display = path.relative(process.cwd(), path.resolve(file)) || file;
  const src = parseYamlSource(display, readFileSync(file, 'utf8'), deps.env ?? process.env);
  return found.map(([p, reason]) => src.issueAt('schema_invalid', p, reason));
}

/**
 * Validations / transformations that do not compile (bad SQL check, variform expression, topic
 * filter, duplicate name; the engine would refuse to start), located in the file.
 */
function ingressIssues(
  file: string,
  config: Parameters<typeof ingressConfigOf>[0],
  services: ReturnType<typeof createDefaultServices>,
  deps: Pick<EngineDeps, 'env'>,
): ConfigIssue[] {
  const schemas = createSchemaRegistry();
  const found = createIngress({ services, schemas, logger: silentLogger }).check(
    ingressConfigOf(config),
  );
  void schemas.close();
  if (found.length === 0) return [];
  const display = path.relative(process.cwd(), path.resolve(file)) || file;
  const src = parseYamlSource(display, readFileSync(file, 'utf8'), deps.env ?? process.env);
  return found.map((i) => src.issueAt('ingress_config_invalid', i.path, i.reason));
}

/** What a valid config still lacks on this machine (SinkType.preflight), located in the file. */
function preflight(
  file: string,
  sinks: Readonly<Record<string, { type: string }>>,
  deps: Pick<EngineDeps, 'env' | 'sinkTypes'>,
): ConfigIssue[] {
  const types = sinkTypeMap(deps.sinkTypes);
  const found: { code: string; path: string; reason: string }[] = [];
  for (const [name, sc] of Object.entries(sinks)) {
    const t = types.get(sc.type);
    for (const p of t?.preflight?.(sc as never) ?? [])
      found.push({ ...p, path: `sinks.${name}.${p.path}` });
  }
  if (found.length === 0) return [];
  const display = path.relative(process.cwd(), path.resolve(file)) || file;
  const src = parseYamlSource(display, readFileSync(file, 'utf8'), deps.env ?? process.env);
  return found.map((p) => src.issueAt(p.code, p.path, p.reason));
}
