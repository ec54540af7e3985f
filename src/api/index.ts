/**
 * The management HTTP API (docs/api.md): health, rules (list, get, create, update,
 * enable/disable, delete), EMQX-style rule metrics, rule test, sink metrics and Prometheus
 * `/metrics`. The engine comes in as a small structural interface (`ApiEngine`).
 */
export { createApiServer } from './server.js';
export { ApiErrors } from './errors.js';
export { MAX_BODY_BYTES } from './http.js';
export { renderPrometheus, escapeLabelValue, PROMETHEUS_CONTENT_TYPE } from './prometheus.js';
export type {
  ApiAddress,
  ApiBrokerMetrics,
  ApiDeps,
  ApiEngine,
  ApiRuleInput,
  ApiServer,
  ApiServerConfig,
  ApiSinkMetrics,
} from './types.js';
