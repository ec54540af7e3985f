/**
 * Ingress schema validation / message transformation endpoints (EMQX 5.7 / 5.8 paths and
 * shapes, emqx_schema_validation_http_api / emqx_message_transformation_http_api; decision
 * 0013, docs/api.md, docs/schema-validation.md, docs/message-transformation.md):
 *
 *   GET    /api/v5/schema_validations                        every validation, in order
 *   POST   /api/v5/schema_validations                        append one (201)
 *   PUT    /api/v5/schema_validations                        replace one (body names it)
 *   POST   /api/v5/schema_validations/reorder                {"order": [names…]} (204)
 *   GET    /api/v5/schema_validations/validation/{name}
 *   DELETE /api/v5/schema_validations/validation/{name}      (204)
 *   POST   /api/v5/schema_validations/validation/{name}/enable/{true|false}   (204)
 *   GET    /api/v5/schema_validations/validation/{name}/metrics
 *   POST   /api/v5/schema_validations/validation/{name}/metrics/reset
 *   (the same under /api/v5/message_transformations/transformation/…)
 *
 * Entries of sluice.yaml are listed (`origin: "config"`) but read-only (409
 * `ingress_config_owned`); the API's own are kept in each section's `api_store` file by the
 * engine's ingress store (src/runtime/ingress/api-store.ts) and survive reloads and restarts.
 */
import { SluiceError, toJsonSchema } from '../core/index.js';
import { transformationEntrySpec, validationEntrySpec } from '../runtime/index.js';
import { ApiErrors } from './errors.js';
import { badRequest, HttpError, json, readJsonObject } from './http.js';
import { E, J } from './openapi.js';
import type { Handler, Route, RouteContext } from './routes.js';
import type { ApiIngress } from './types.js';

function ingressOr404(ctx: RouteContext): ApiIngress {
  const i = ctx.deps.engine.ingress;
  if (!i) throw new HttpError(404, ApiErrors.api_not_found('this engine has no ingress checks'));
  return i;
}

type Kind = 'validation' | 'transformation';

const STATUS: Readonly<Record<string, number>> = {
  ingress_entry_invalid: 400,
  ingress_reorder_invalid: 400,
  ingress_entry_not_found: 404,
  ingress_entry_exists: 409,
  ingress_config_owned: 409,
  ingress_store_failed: 503,
};

/** Store errors → HTTP statuses, with their lists (issues; not_found/duplicated/…) in the body. */
function storeCall<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SluiceError && STATUS[e.code] !== undefined) {
      const extra: Record<string, unknown> = {};
      for (const k of ['issues', 'not_found', 'duplicated', 'not_reordered'])
        if (e.context[k] !== undefined) extra[k] = e.context[k];
      throw new HttpError(STATUS[e.code] as number, e, {}, extra);
    }
    throw e;
  }
}

function notFound(kind: Kind, name: string): HttpError {
  return new HttpError(
    404,
    new SluiceError('ingress_entry_not_found', `no ${kind} ${JSON.stringify(name)}`),
  );
}

function entry(ctx: RouteContext, kind: Kind, name: string) {
  const m = ingressOr404(ctx).metrics();
  const list = kind === 'validation' ? m.validations : m.transformations;
  const e = list.find((x) => x.name === name);
  if (!e) throw notFound(kind, name);
  return e;
}

/** A listed entry's `origin` is ours; a body read back and sent again may carry it. */
function bodyOf(b: Record<string, unknown>): Record<string, unknown> {
  const { origin: _origin, ...rest } = b;
  return rest;
}

const metricsOf =
  (kind: Kind): Handler =>
  (_req, [name], ctx) => {
    const e = entry(ctx, kind, name as string);
    const metrics = { matched: e.matched, succeeded: e.succeeded, failed: e.failed };
    // EMQX's shape: cluster totals plus the same per node (one node here).
    return json(200, {
      metrics,
      node_metrics: [{ node: ctx.deps.engine.config.config.node ?? 'sluice', metrics }],
    });
  };

const resetOf =
  (kind: Kind): Handler =>
  (_req, [name], ctx) => {
    entry(ctx, kind, name as string);
    ingressOr404(ctx).resetMetrics(kind, name as string);
    return { status: 204 };
  };

const listOf =
  (kind: Kind): Handler =>
  (_req, _p, ctx) =>
    json(200, ingressOr404(ctx).list(kind));

const createOf =
  (kind: Kind): Handler =>
  async (req, _p, ctx) => {
    const i = ingressOr404(ctx);
    const body = bodyOf(await readJsonObject(req, ctx.maxBodyBytes));
    return json(
      201,
      storeCall(() => i.create(kind, body)),
    );
  };

const updateOf =
  (kind: Kind): Handler =>
  async (req, _p, ctx) => {
    const i = ingressOr404(ctx);
    const body = bodyOf(await readJsonObject(req, ctx.maxBodyBytes));
    if (typeof body['name'] !== 'string') throw badRequest('name must be a string');
    if (!i.get(kind, body['name'])) throw notFound(kind, body['name']);
    return json(
      200,
      storeCall(() => i.update(kind, body)),
    );
  };

const getOf =
  (kind: Kind): Handler =>
  (_req, [name], ctx) => {
    const e = ingressOr404(ctx).get(kind, name as string);
    if (!e) throw notFound(kind, name as string);
    return json(200, e);
  };

const deleteOf =
  (kind: Kind): Handler =>
  (_req, [name], ctx) => {
    const i = ingressOr404(ctx);
    storeCall(() => i.remove(kind, name as string));
    return { status: 204 };
  };

const enableOf =
  (kind: Kind): Handler =>
  (_req, [name, flag], ctx) => {
    const i = ingressOr404(ctx);
    if (flag !== 'true' && flag !== 'false')
      throw badRequest(`enable must be true or false, not ${JSON.stringify(flag)}`);
    if (!i.get(kind, name as string)) throw notFound(kind, name as string);
    storeCall(() => i.enable(kind, name as string, flag === 'true'));
    return { status: 204 };
  };

const reorderOf =
  (kind: Kind): Handler =>
  async (req, _p, ctx) => {
    const i = ingressOr404(ctx);
    const body = await readJsonObject(req, ctx.maxBodyBytes);
    for (const k of Object.keys(body))
      if (k !== 'order') throw badRequest(`unknown field ${JSON.stringify(k)}`);
    storeCall(() => i.reorder(kind, body['order']));
    return { status: 204 };
  };

const METRICS = {
  type: 'object',
  properties: {
    metrics: {
      type: 'object',
      properties: {
        matched: { type: 'integer' },
        succeeded: { type: 'integer' },
        failed: { type: 'integer' },
      },
    },
    node_metrics: { type: 'array', items: { type: 'object' } },
  },
};

/** An entry as answered: its config (defaults filled) and `origin`. */
const ENTRY = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    enable: { type: 'boolean' },
    origin: { enum: ['config', 'api'] },
  },
  required: ['name', 'enable', 'origin'],
};

/** 400 with `issues` / the reorder lists (EMQX `not_found`, `duplicated`, `not_reordered`). */
const INVALID = J('ingress_entry_invalid (with `issues`: field path and reason)', {
  type: 'object',
  properties: {
    code: { type: 'string' },
    message: { type: 'string' },
    issues: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, reason: { type: 'string' } },
      },
    },
  },
  required: ['code', 'message'],
});

function routes(kind: Kind, plural: string): Route[] {
  const spec = kind === 'validation' ? validationEntrySpec : transformationEntrySpec;
  const input = toJsonSchema(spec);
  const named = [{ name: 'name', description: `The ${kind}'s name.` }];
  return [
    {
      path: ['api', 'v5', plural],
      methods: { GET: listOf(kind), POST: createOf(kind), PUT: updateOf(kind) },
      docs: {
        GET: {
          summary: `Every ${kind} (sluice.yaml's first, then the API's), in the order they apply`,
          responses: {
            200: J(`${kind}s`, { type: 'array', items: ENTRY }),
            404: E('no ingress checks'),
          },
        },
        POST: {
          summary: `Append a ${kind} (kept in ${kind === 'validation' ? 'schema_validation' : 'message_transformation'}.api_store)`,
          request: input,
          responses: {
            201: J('Created', ENTRY),
            400: INVALID,
            409: E('ingress_entry_exists'),
            503: E('ingress_store_failed'),
          },
        },
        PUT: {
          summary: `Replace a ${kind} created over the API (the body names it)`,
          request: input,
          responses: {
            200: J('Updated', ENTRY),
            400: INVALID,
            404: E('ingress_entry_not_found'),
            409: E('ingress_config_owned'),
            503: E('ingress_store_failed'),
          },
        },
      },
    },
    {
      path: ['api', 'v5', plural, 'reorder'],
      methods: { POST: reorderOf(kind) },
      docs: {
        POST: {
          summary: `Reorder the ${kind}s: \`order\` names each once, sluice.yaml's first in file order`,
          request: {
            type: 'object',
            properties: { order: { type: 'array', items: { type: 'string' } } },
            required: ['order'],
            additionalProperties: false,
          },
          responses: {
            204: { description: 'Reordered' },
            400: J('ingress_reorder_invalid', {
              type: 'object',
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                not_found: { type: 'array', items: { type: 'string' } },
                duplicated: { type: 'array', items: { type: 'string' } },
                not_reordered: { type: 'array', items: { type: 'string' } },
              },
            }),
            409: E('ingress_config_owned'),
          },
        },
      },
    },
    {
      path: ['api', 'v5', plural, kind, '*'],
      params: named,
      methods: { GET: getOf(kind), DELETE: deleteOf(kind) },
      docs: {
        GET: {
          summary: `One ${kind}`,
          responses: { 200: J(kind, ENTRY), 404: E('ingress_entry_not_found') },
        },
        DELETE: {
          summary: `Delete a ${kind} created over the API`,
          responses: {
            204: { description: 'Deleted' },
            404: E('ingress_entry_not_found'),
            409: E('ingress_config_owned'),
            503: E('ingress_store_failed'),
          },
        },
      },
    },
    {
      path: ['api', 'v5', plural, kind, '*', 'enable', '*'],
      params: [...named, { name: 'enable', description: '`true` or `false`.' }],
      methods: { POST: enableOf(kind) },
      docs: {
        POST: {
          summary: `Enable or disable a ${kind} created over the API`,
          responses: {
            204: { description: 'Changed' },
            400: E('enable is not true / false'),
            404: E('ingress_entry_not_found'),
            409: E('ingress_config_owned'),
          },
        },
      },
    },
    {
      path: ['api', 'v5', plural, kind, '*', 'metrics'],
      params: named,
      methods: { GET: metricsOf(kind) },
      docs: {
        GET: {
          summary: `matched / succeeded / failed of one ${kind}`,
          responses: { 200: J('Metrics', METRICS), 404: E(`no such ${kind}`) },
        },
      },
    },
    {
      path: ['api', 'v5', plural, kind, '*', 'metrics', 'reset'],
      params: named,
      methods: { POST: resetOf(kind) },
      docs: {
        POST: {
          summary: `Zero the counters of one ${kind}`,
          responses: { 204: { description: 'Reset' }, 404: E(`no such ${kind}`) },
        },
      },
    },
  ];
}

export const INGRESS_ROUTES: readonly Route[] = [
  ...routes('validation', 'schema_validations'),
  ...routes('transformation', 'message_transformations'),
];
