/**
 * `createSchemaRegistry`: the schemas by name, compiled once, and the external registries.
 *
 * Two owners of schemas: sluice.yaml (`schema_registry.schemas`, replaced as a whole by
 * `configure` at start and on reload) and the API (`create`/`update`/`remove`, kept in the
 * `api_store` JSON file, written atomically on every change and read by `configure`). A name
 * belongs to one owner: the API cannot change a config schema (`schema_config_owned`), and a
 * config schema hides an API schema of the same name (warning). EMQX keeps API changes in its
 * cluster config; Sluice keeps the YAML file as written by the user and the API's schemas
 * beside it (docs/decisions/0011-schema-registry.md).
 *
 * Every change swaps an immutable entry in a Map between two messages; rule functions look the
 * name up on each call, so a new version applies to the next message.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { SluiceError } from '../core/index.js';
import type { Logger, SchemaHandle, SchemaRegistryPort } from '../core/index.js';
import { compileAvro } from './avro.js';
import type { Codec, ReadFile, SchemaDef, SchemaType } from './codec.js';
import { createConfluentClient } from './confluent.js';
import type { ConfluentClient, ConfluentConfig, ConfluentMetrics } from './confluent.js';
import { SchemaErrors } from './errors.js';
import { compileJsonSchema } from './json-schema.js';
import { compileProtobuf } from './protobuf.js';
import { SCHEMA_NAME_PATTERN } from './spec.js';
import { createSparkplugCodec, SPARKPLUG_SCHEMA_NAME } from './sparkplug.js';
import type { SparkplugCodec } from './sparkplug.js';
import { createSyncHttp } from './sync-http.js';

export type { SchemaDef, SchemaType } from './codec.js';

/** The validated `schema_registry:` section (spec.ts). */
export interface SchemaRegistryConfig {
  readonly schemas: Readonly<Record<string, SchemaDef>>;
  readonly external: Readonly<Record<string, ConfluentConfig>>;
  readonly api_store: string;
}

export interface SchemaInfo {
  readonly name: string;
  readonly type: SchemaType;
  readonly source: string;
  readonly file?: string;
  readonly imports?: Readonly<Record<string, string>>;
  readonly description: string;
  /** Who owns it: sluice.yaml or the API. */
  readonly origin: 'config' | 'api';
  readonly created_at: number;
}

export interface SchemaRegistryDeps {
  readonly now?: () => number;
  readonly logger?: Logger;
  /** File access (tests inject fakes). */
  readonly readFile?: ReadFile;
  readonly writeFile?: (file: string, text: string) => void;
}

export interface SchemaRegistry extends SchemaRegistryPort {
  /**
   * Apply the config section (start and reload): compiles every config schema and reads the
   * API store. Returns `[path, reason]` for each schema that does not compile; on any issue
   * nothing changes (the previous schemas stay).
   */
  configure(cfg: SchemaRegistryConfig, baseDir: string): [string, string][];
  list(): SchemaInfo[];
  get(name: string): SchemaInfo | undefined;
  /** API: add a schema (`schema_already_exists`, `schema_invalid`, `schema_store_failed`). */
  create(name: string, def: SchemaDef): SchemaInfo;
  /** API: replace an API schema (`serde_not_found`, `schema_config_owned`, …). */
  update(name: string, def: SchemaDef): SchemaInfo;
  /** API: delete an API schema. */
  remove(name: string): void;
  /** Fetch / cache counters of each external registry (decision 0014). */
  externalMetrics(): Record<string, ConfluentMetrics>;
  /** Stop the external-registry fetch worker. */
  close(): Promise<void>;
}

interface Entry {
  readonly info: SchemaInfo;
  readonly codec: Codec;
  readonly handle: SchemaHandle;
}

const NAME = new RegExp(SCHEMA_NAME_PATTERN);

function handleOf(name: string, codec: Codec): SchemaHandle {
  return {
    name,
    type: codec.type,
    decode: (d, a) => codec.decode(d, a),
    encode: (d, a) => codec.encode(d, a),
    check: (d, a) => {
      try {
        if (typeof d === 'string' || Buffer.isBuffer(d)) codec.decode(d, a);
        else codec.encode(d, a);
        return true;
      } catch (e) {
        if (e instanceof SluiceError) return false;
        throw e;
      }
    },
  };
}

export function createSchemaRegistry(deps: SchemaRegistryDeps = {}): SchemaRegistry {
  const now = deps.now ?? Date.now;
  const readFile: ReadFile = deps.readFile ?? ((f) => readFileSync(f, 'utf8'));
  const writeFile =
    deps.writeFile ??
    ((file: string, text: string) => {
      mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, text, { mode: 0o600 });
      renameSync(tmp, file);
    });
  const log = deps.logger;
  const http = createSyncHttp();
  let sparkplug: SparkplugCodec | undefined;
  const spb = (): SparkplugCodec => (sparkplug ??= createSparkplugCodec());

  let configEntries = new Map<string, Entry>();
  let apiEntries = new Map<string, Entry>();
  let externals = new Map<string, ConfluentClient>();
  let externalCfgs = new Map<string, string>();
  let storeFile: string | undefined;
  let baseDir = process.cwd();

  const compile = (name: string, def: SchemaDef, origin: 'config' | 'api', dir: string): Entry => {
    if (!NAME.test(name) || name.startsWith('__'))
      throw SchemaErrors.schema_invalid(
        `schema name ${JSON.stringify(name)}: letters, digits, "_", "." and "-" only, not starting with "__"`,
        { context: { schema: name } },
      );
    if (!['avro', 'protobuf', 'json'].includes(def.type))
      throw SchemaErrors.schema_invalid(
        `schema ${JSON.stringify(name)}: type must be avro, protobuf or json`,
        { context: { schema: name } },
      );
    if ((def.source === undefined) === (def.file === undefined))
      throw SchemaErrors.schema_invalid(
        `schema ${JSON.stringify(name)}: give exactly one of source and file`,
        { context: { schema: name } },
      );
    let source = def.source ?? '';
    let srcDir = dir;
    if (def.file !== undefined) {
      const file = path.resolve(dir, def.file);
      try {
        source = readFile(file);
      } catch (e) {
        throw SchemaErrors.schema_invalid(
          `schema ${JSON.stringify(name)}: cannot read ${file}: ${(e as Error).message}`,
          { cause: e, context: { schema: name } },
        );
      }
      srcDir = path.dirname(file);
    }
    const codec: Codec =
      def.type === 'avro'
        ? compileAvro(name, source)
        : def.type === 'json'
          ? compileJsonSchema(name, source)
          : compileProtobuf(name, { source, baseDir: srcDir, imports: def.imports }, readFile);
    const info: SchemaInfo = {
      name,
      type: def.type,
      source,
      ...(def.file !== undefined ? { file: def.file } : {}),
      ...(def.imports && Object.keys(def.imports).length ? { imports: def.imports } : {}),
      description: def.description ?? '',
      origin,
      created_at: now(),
    };
    return { info, codec, handle: handleOf(name, codec) };
  };

  const entry = (name: string): Entry | undefined =>
    configEntries.get(name) ?? apiEntries.get(name);

  const need = (name: string): Entry => {
    const e = entry(name);
    if (e) return e;
    throw SchemaErrors.serde_not_found(`{serde_not_found, ${JSON.stringify(name)}}`, {
      context: { schema: name },
    });
  };

  const sparkplugHandle = (): SchemaHandle => handleOf(SPARKPLUG_SCHEMA_NAME, spb().codec);

  const lookup = (name: string): SchemaHandle | undefined =>
    name === SPARKPLUG_SCHEMA_NAME ? sparkplugHandle() : entry(name)?.handle;

  const external = (name: string): ConfluentClient => {
    const c = externals.get(name);
    if (c) return c;
    throw SchemaErrors.registry_not_found(
      `registry_not_found: no external registry ${JSON.stringify(name)} in schema_registry.external`,
      { context: { registry: name } },
    );
  };

  const persist = (next: Map<string, Entry>): void => {
    if (!storeFile) return;
    const schemas: Record<string, unknown> = {};
    for (const [n, e] of next)
      schemas[n] = {
        type: e.info.type,
        source: e.info.source,
        ...(e.info.imports ? { imports: e.info.imports } : {}),
        description: e.info.description,
      };
    try {
      writeFile(storeFile, `${JSON.stringify({ version: 1, schemas }, null, 2)}\n`);
    } catch (e) {
      throw SchemaErrors.schema_store_failed(`cannot write ${storeFile}: ${(e as Error).message}`, {
        cause: e,
        context: { file: storeFile },
      });
    }
  };

  const readStore = (file: string): Map<string, Entry> => {
    let text: string;
    try {
      text = readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw SchemaErrors.schema_store_failed(`cannot read ${file}: ${(e as Error).message}`, {
        cause: e,
        context: { file },
      });
    }
    const out = new Map<string, Entry>();
    let doc: { schemas?: Record<string, SchemaDef> };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch (e) {
      throw SchemaErrors.schema_store_failed(`${file} is not JSON: ${(e as Error).message}`, {
        cause: e,
        context: { file },
      });
    }
    for (const [n, def] of Object.entries(doc.schemas ?? {})) {
      try {
        out.set(n, compile(n, def, 'api', path.dirname(file)));
      } catch (e) {
        log?.error(
          { code: 'schema_invalid', schema: n, err: e, file },
          'schema from the API store does not compile; skipped',
        );
      }
    }
    return out;
  };

  const registry: SchemaRegistry = {
    configure(cfg, dir) {
      const issues: [string, string][] = [];
      const nextConfig = new Map<string, Entry>();
      for (const [n, def] of Object.entries(cfg.schemas)) {
        try {
          nextConfig.set(n, compile(n, def, 'config', dir));
        } catch (e) {
          issues.push([`schema_registry.schemas.${n}`, (e as Error).message]);
        }
      }
      const file = path.resolve(dir, cfg.api_store);
      let nextApi = apiEntries;
      if (file !== storeFile) {
        try {
          nextApi = readStore(file);
        } catch (e) {
          issues.push(['schema_registry.api_store', (e as Error).message]);
        }
      }
      if (issues.length) return issues;
      for (const n of nextApi.keys())
        if (nextConfig.has(n))
          log?.warn(
            { code: 'schema_config_owned', schema: n },
            'a schema in sluice.yaml hides the API schema of the same name',
          );
      const nextExternal = new Map<string, ConfluentClient>();
      for (const [n, c] of Object.entries(cfg.external)) {
        // An unchanged registry keeps its client (and its cache).
        const old = externals.get(n);
        const same = old && JSON.stringify(c) === externalCfgs.get(n);
        nextExternal.set(n, same ? old : createConfluentClient(n, c, http, now));
      }
      externalCfgs = new Map(Object.entries(cfg.external).map(([n, c]) => [n, JSON.stringify(c)]));
      configEntries = nextConfig;
      apiEntries = nextApi;
      externals = nextExternal;
      storeFile = file;
      baseDir = dir;
      return [];
    },
    list: () =>
      [...apiEntries.values(), ...configEntries.values()]
        .filter((e) => configEntries.get(e.info.name) === e || !configEntries.has(e.info.name))
        .map((e) => e.info)
        .sort((a, b) => a.name.localeCompare(b.name)),
    get: (name) => entry(name)?.info,
    create(name, def) {
      if (entry(name) || name === SPARKPLUG_SCHEMA_NAME)
        throw SchemaErrors.schema_already_exists(`schema ${JSON.stringify(name)} exists`, {
          context: { schema: name },
        });
      const e = compile(name, def, 'api', baseDir);
      const next = new Map(apiEntries).set(name, e);
      persist(next);
      apiEntries = next;
      return e.info;
    },
    update(name, def) {
      if (configEntries.has(name))
        throw SchemaErrors.schema_config_owned(
          `schema ${JSON.stringify(name)} is declared in sluice.yaml; edit the file`,
          { context: { schema: name } },
        );
      const old = need(name);
      const e = compile(name, def, 'api', baseDir);
      const info = { ...e.info, created_at: old.info.created_at };
      const next = new Map(apiEntries).set(name, { ...e, info });
      persist(next);
      apiEntries = next;
      return info;
    },
    remove(name) {
      if (configEntries.has(name))
        throw SchemaErrors.schema_config_owned(
          `schema ${JSON.stringify(name)} is declared in sluice.yaml; edit the file`,
          { context: { schema: name } },
        );
      need(name);
      const next = new Map(apiEntries);
      next.delete(name);
      persist(next);
      apiEntries = next;
    },
    lookup,
    decode(name, data, args) {
      if (name === SPARKPLUG_SCHEMA_NAME) return spb().codec.decode(data, args);
      return need(name).codec.decode(data, args);
    },
    encode(name, data, args) {
      if (name === SPARKPLUG_SCHEMA_NAME) return spb().codec.encode(data, args);
      return need(name).codec.encode(data, args);
    },
    check(name, data, args) {
      const h = lookup(name) ?? need(name).handle;
      return h.check(data, args);
    },
    sparkplugDecode: (data, b64, topic) => spb().decode(data, b64, topic),
    sparkplugEncode: (map, b64) => spb().encode(map, b64),
    externalDecode: (reg, data, args, deadline, wait) =>
      external(reg).decode(data, args, deadline, wait),
    externalEncode: (reg, map, args, deadline, wait) =>
      external(reg).encode(map, args, deadline, wait),
    externalMetrics: () =>
      Object.fromEntries([...externals].map(([n, c]) => [n, c.metrics()] as const)),
    close: () => http.close(),
  };
  return registry;
}
