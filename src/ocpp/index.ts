/**
 * The OCPP 1.6J gateway (charge points on WebSocket ⇄ MQTT topics). Entered only through this
 * file; see README.md for the invariants and docs/ocpp.md for users.
 */
export { createOcppGateway } from './gateway.js';
export type { OcppBoundAddress, OcppGateway, OcppGatewayDeps } from './gateway.js';
export {
  ocppConfigSpec,
  ocppListenerSpec,
  resolveOcppConfig,
  DEFAULT_OCPP_PORT,
} from './config.js';
export type { OcppConfig, OcppListenerConfig } from './config.js';
export type { ConnectionStats } from './connection.js';
export type { GatewayMetrics } from './metrics.js';
export { parseFrame, serializeFrame } from './frames.js';
export type { OcppErrorCode, OcppFrame } from './frames.js';
export { fromEnvelope, toEnvelope } from './envelope.js';
export { createPayloadValidator } from './validation.js';
export { OcppErrors } from './errors.js';
