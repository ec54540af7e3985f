/**
 * Schema registry endpoints (EMQX `GET/POST /api/v5/schema_registry`,
 * `GET/PUT/DELETE /api/v5/schema_registry/{name}`; docs/schema-registry.md). Schemas created
 * here are kept by the registry in its `api_store` file; schemas from sluice.yaml are listed
 * but read-only (409 `schema_config_owned`). Kept apart from routes.ts so the route table
 * only gains one line.
 */
import { SluiceError } from '../core/index.js';
import { ApiErrors } from './errors.js';
import { badRequest, HttpError, json, readJsonObject } from './http.js';
import { E, J } from './openapi.js';
import type { Handler, Route, RouteContext } from './routes.js';
import { ref } from './schemas.js';
import type { ApiSchemaDef, ApiSchemaInfo, ApiSchemaRegistry } from './types.js';

function registryOr404(ctx: RouteContext): ApiSchemaRegistry {
  const r = ctx.deps.engine.schemas;
  if (!r) throw new HttpError(404, ApiErrors.api_not_found('this engine has no schema registry'));
  return r;
}

function schemaJson(s: ApiSchemaInfo): Record<string, unknown> {
  return {
    name: s.name,
    type: s.type,
    source: s.source,
    description: s.description,
    ...(s.imports ? { imports: s.imports } : {}),
    ...(s.file ? { file: s.file } : {}),
    origin: s.origin,
    created_at: new Date(s.created_at).toISOString(),
  };
}

/** Registry errors → HTTP statuses (anything else is a 500). */
function registryError(err: unknown): never {
  if (err instanceof SluiceError) {
    const status =
      err.code === 'serde_not_found'
        ? 404
        : err.code === 'schema_already_exists' || err.code === 'schema_config_owned'
          ? 409
          : err.code === 'schema_store_failed'
            ? 503
            : 400;
    throw new HttpError(status, err);
  }
  throw err;
}

function defOf(body: Record<string, unknown>): ApiSchemaDef {
  const { type, source, description, imports } = body;
  if (type !== 'avro' && type !== 'protobuf' && type !== 'json')
    throw badRequest('type must be avro, protobuf or json');
  if (typeof source !== 'string') throw badRequest('source must be a string (the schema text)');
  if (description !== undefined && typeof description !== 'string')
    throw badRequest('description must be a string');
  if (
    imports !== undefined &&
    (imports === null ||
      typeof imports !== 'object' ||
      Array.isArray(imports) ||
      Object.values(imports).some((v) => typeof v !== 'string'))
  )
    throw badRequest('imports must map import paths to .proto text');
  for (const k of Object.keys(body))
    if (!['name', 'type', 'source', 'description', 'imports', 'origin', 'created_at'].includes(k))
      throw badRequest(`unknown field ${JSON.stringify(k)}`);
  return {
    type,
    source,
    ...(description !== undefined ? { description } : {}),
    ...(imports !== undefined ? { imports: imports as Record<string, string> } : {}),
  };
}

const list: Handler = (_req, _p, ctx) => json(200, registryOr404(ctx).list().map(schemaJson));

const create: Handler = async (req, _p, ctx) => {
  const r = registryOr404(ctx);
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  if (typeof body['name'] !== 'string' || body['name'] === '')
    throw badRequest('name must be a non-empty string');
  try {
    return json(201, schemaJson(r.create(body['name'], defOf(body))));
  } catch (e) {
    return registryError(e);
  }
};

const get: Handler = (_req, [name], ctx) => {
  const s = registryOr404(ctx).get(name as string);
  if (!s)
    throw new HttpError(
      404,
      new SluiceError('serde_not_found', `schema ${JSON.stringify(name)} does not exist`),
    );
  return json(200, schemaJson(s));
};

const put: Handler = async (req, [name], ctx) => {
  const r = registryOr404(ctx);
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  if (body['name'] !== undefined && body['name'] !== name)
    throw badRequest('name in the body differs from the path');
  try {
    return json(200, schemaJson(r.update(name as string, defOf(body))));
  } catch (e) {
    return registryError(e);
  }
};

const remove: Handler = (_req, [name], ctx) => {
  try {
    registryOr404(ctx).remove(name as string);
  } catch (e) {
    return registryError(e);
  }
  return { status: 204 };
};

export const SCHEMA_ROUTES: readonly Route[] = [
  {
    path: ['api', 'v5', 'schema_registry'],
    methods: { GET: list, POST: create },
    docs: {
      GET: {
        summary: 'Every schema: from sluice.yaml (read-only) and created over the API',
        responses: { 200: J('Schemas', ref('SchemaList')), 404: E('no schema registry') },
      },
      POST: {
        summary: 'Create a schema (kept in schema_registry.api_store)',
        request: ref('SchemaInput'),
        responses: {
          201: J('Created', ref('Schema')),
          400: E('invalid schema or body'),
          409: E('schema_already_exists'),
        },
      },
    },
  },
  {
    path: ['api', 'v5', 'schema_registry', '*'],
    params: [{ name: 'name', description: 'Schema name.' }],
    methods: { GET: get, PUT: put, DELETE: remove },
    docs: {
      GET: {
        summary: 'One schema',
        responses: { 200: J('Schema', ref('Schema')), 404: E('serde_not_found') },
      },
      PUT: {
        summary: 'Replace a schema created over the API',
        request: ref('SchemaInput'),
        responses: {
          200: J('Updated', ref('Schema')),
          400: E('invalid schema or body'),
          404: E('serde_not_found'),
          409: E('schema_config_owned'),
        },
      },
      DELETE: {
        summary: 'Delete a schema created over the API',
        responses: {
          204: { description: 'Deleted' },
          404: E('serde_not_found'),
          409: E('schema_config_owned'),
        },
      },
    },
  },
];
