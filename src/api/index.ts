/**
 * The management HTTP API (docs/api.md): health, rules (list, get, create, update,
 * enable/disable, delete), EMQX-style rule metrics, rule test, sink metrics and Prometheus
 * `/metrics`; API keys with roles, limits and an audit log. The engine comes in as a small
 * structural interface (`ApiEngine`).
 */
export { createApiServer } from './server.js';
export { ApiErrors } from './errors.js';
export { MAX_BODY_BYTES } from './http.js';
export { isLoopbackHost } from './guard.js';
export { createCredentialStore } from './credentials.js';
export type { CredentialStore, Principal } from './credentials.js';
export {
  createApiKey,
  deleteApiKey,
  readKeyFile,
  parseRole,
  parseBootstrapFile,
  KEY_NAME,
} from './key-file.js';
export type { ApiRole, StoredApiKey, CreatedApiKey } from './key-file.js';
export type { AuditEntry } from './audit.js';
export { renderPrometheus, escapeLabelValue, PROMETHEUS_CONTENT_TYPE } from './prometheus.js';
export type {
  ApiAddress,
  ApiBrokerMetrics,
  ApiDeps,
  ApiEngine,
  ApiMetrics,
  ApiRuleInput,
  ApiServer,
  ApiServerConfig,
  ApiSinkMetrics,
} from './types.js';
