/**
 * Ingress schema validation / message transformation endpoints (EMQX 5.7 / 5.8 paths;
 * decision 0013, docs/schema-validation.md, docs/message-transformation.md):
 *
 *   GET  /api/v5/schema_validations                                 the validations, in order
 *   GET  /api/v5/schema_validations/validation/{name}/metrics       matched / succeeded / failed
 *   POST /api/v5/schema_validations/validation/{name}/metrics/reset
 *   (the same three under /api/v5/message_transformations/transformation/…)
 *
 * The lists come from sluice.yaml and change through a config reload; there is no CRUD here.
 */
import { ApiErrors } from './errors.js';
import { HttpError, json } from './http.js';
import { E, J } from './openapi.js';
import type { Handler, Route, RouteContext } from './routes.js';
import type { ApiIngress } from './types.js';

function ingressOr404(ctx: RouteContext): ApiIngress {
  const i = ctx.deps.engine.ingress;
  if (!i) throw new HttpError(404, ApiErrors.api_not_found('this engine has no ingress checks'));
  return i;
}

type Kind = 'validation' | 'transformation';

function entry(ctx: RouteContext, kind: Kind, name: string) {
  const m = ingressOr404(ctx).metrics();
  const list = kind === 'validation' ? m.validations : m.transformations;
  const e = list.find((x) => x.name === name);
  if (!e) throw new HttpError(404, ApiErrors.api_not_found(`no ${kind} ${JSON.stringify(name)}`));
  return e;
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
  (_req, _p, ctx) => {
    const cfg = ingressOr404(ctx).list();
    return json(200, kind === 'validation' ? cfg.validations : cfg.transformations);
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

function routes(kind: Kind, plural: string): Route[] {
  return [
    {
      path: ['api', 'v5', plural],
      methods: { GET: listOf(kind) },
      docs: {
        GET: {
          summary: `The ${kind}s of sluice.yaml, in the order they apply`,
          responses: {
            200: J(`${kind}s`, { type: 'array', items: { type: 'object' } }),
            404: E('no ingress checks'),
          },
        },
      },
    },
    {
      path: ['api', 'v5', plural, kind, '*', 'metrics'],
      params: [{ name: 'name', description: `The ${kind}'s name.` }],
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
      params: [{ name: 'name', description: `The ${kind}'s name.` }],
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
