/**
 * The OpenAPI 3.1 document of the whole API, generated from the route table (routes.ts: each
 * route's path, methods and `docs`) and the body schemas (schemas.ts), served at
 * `GET /api/v5/openapi.json`. Like EMQX's swagger document it is answered without credentials:
 * it describes this version's endpoints (the same for every Sluice of the version, and
 * docs/api.md) and no instance data.
 */
import { SCHEMAS, ref } from './schemas.js';
import type { JsonSchema } from './schemas.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ResponseDoc {
  readonly description: string;
  /** Body schema (JSON unless `contentType` says otherwise); none for 204. */
  readonly schema?: JsonSchema;
  readonly contentType?: string;
}

/** One operation's documentation (a method of a route). */
/** A documented JSON answer. */
export const J = (description: string, schema: JsonSchema): ResponseDoc => ({
  description,
  schema,
});
/** A documented error answer (the Error schema). */
export const E = (description: string): ResponseDoc => ({ description, schema: ref('Error') });

export interface OperationDoc {
  readonly summary: string;
  readonly description?: string;
  /** Request body schema (JSON). */
  readonly request?: JsonSchema;
  /** Query parameters. */
  readonly query?: readonly { name: string; description: string; schema: JsonSchema }[];
  /** Responses by status; 401/403/429/500 are added for authenticated operations. */
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Answered without credentials. */
  readonly public?: boolean;
}

/** What the generator reads of a route (routes.ts `Route`). */
export interface DocumentedRoute {
  readonly path: readonly string[];
  readonly methods: Readonly<Partial<Record<Method, unknown>>>;
  /** Names (and meanings) of the `*` segments, in order. */
  readonly params?: readonly { readonly name: string; readonly description: string }[];
  readonly admin?: boolean;
  readonly docs: Readonly<Partial<Record<Method, OperationDoc>>>;
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});

function openApiPath(r: DocumentedRoute): string {
  let i = 0;
  return (
    '/' +
    r.path
      .map((seg) => {
        if (seg !== '*') return seg;
        const p = r.params?.[i++];
        if (!p) throw new Error(`route /${r.path.join('/')} has an undocumented path parameter`);
        return `{${p.name}}`;
      })
      .join('/')
  );
}

function operation(r: DocumentedRoute, method: Method, doc: OperationDoc): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, res] of Object.entries(doc.responses)) {
    responses[status] = {
      description: res.description,
      ...(res.schema
        ? { content: { [res.contentType ?? 'application/json']: { schema: res.schema } } }
        : {}),
    };
  }
  if (!doc.public) {
    responses['401'] ??= errorResponse(
      'api_unauthorized: a credential is needed (Basic API key or Bearer token)',
    );
    if (method !== 'GET' || r.admin)
      responses['403'] ??= errorResponse('api_forbidden: a viewer key may not do this');
    responses['429'] ??= errorResponse('api_auth_rate_limited: too many failed authentications');
  }
  if (doc.request) responses['413'] ??= errorResponse('api_body_too_large');
  responses['500'] ??= errorResponse('api_internal_error');
  const parameters = [
    ...(r.params ?? []).map((p) => ({
      name: p.name,
      in: 'path',
      required: true,
      description: p.description,
      schema: { type: 'string' },
    })),
    ...(doc.query ?? []).map((q) => ({
      name: q.name,
      in: 'query',
      required: false,
      description: q.description,
      schema: q.schema,
    })),
  ];
  return {
    operationId: `${method.toLowerCase()}_${r.path
      .map((s) => (s === '*' ? 'by_id' : s))
      .join('_')
      .replace(/[^A-Za-z0-9_]/g, '_')}`,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [r.path[2] ?? r.path[0]],
    ...(parameters.length ? { parameters } : {}),
    ...(doc.request
      ? {
          requestBody: { required: true, content: { 'application/json': { schema: doc.request } } },
        }
      : {}),
    responses,
    ...(doc.public ? { security: [] } : {}),
  };
}

/** The OpenAPI 3.1 document for `routes`. Throws when a route method has no docs (a bug). */
export function buildOpenApi(
  routes: readonly DocumentedRoute[],
  version: string,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const item: Record<string, unknown> = {};
    for (const method of Object.keys(r.methods) as Method[]) {
      const doc = r.docs[method];
      if (!doc) throw new Error(`${method} /${r.path.join('/')} has no docs in the route table`);
      item[method.toLowerCase()] = operation(r, method, doc);
    }
    paths[openApiPath(r)] = item;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice management API',
      version,
      description:
        'EMQX-compatible management API of Sluice (docs/api.md). Errors are `{code, message}` with the codes of docs/errors.md.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    security: [{ basicAuth: [] }, { bearerAuth: [] }],
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        basicAuth: {
          type: 'http',
          scheme: 'basic',
          description:
            'An API key: `key:secret` from `sluice api-key create` or api.bootstrap_file.',
        },
        bearerAuth: { type: 'http', scheme: 'bearer', description: '`api.token`.' },
      },
    },
  };
}
