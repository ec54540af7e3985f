/**
 * The embedded MQTT broker (Aedes). Entered only through this file; see README.md for the
 * invariants and docs/broker.md for users.
 */
export { createBroker, resolveBrokerConfig } from './broker.js';
export type {
  Broker,
  BrokerDeps,
  BrokerMetrics,
  EventFilter,
  PublishRequest,
  ReceivedMessage,
} from './broker.js';
export { brokerConfigSpec, listenerSpec, DEFAULT_PORTS } from './config.js';
export type {
  BrokerConfig,
  BrokerConfigInput,
  ListenerConfig,
  ListenerType,
  TlsOptionsConfig,
  UserConfig,
} from './config.js';
export { hashPassword, parsePasswordHash, verifyPassword } from './password.js';
export type { HashOptions } from './password.js';
export { scramCredential, parseScramCredential } from './authn-scram.js';
export {
  runAuthnChain,
  runAuthzChain,
  createBuiltinAuthenticator,
  sysPublishAuthorizer,
} from './auth.js';
export type {
  Authenticator,
  AuthnRequest,
  AuthnResult,
  AuthnOutcome,
  Authorizer,
  AuthzRequest,
  AuthzResult,
  AuthzOutcome,
} from './auth.js';
export type { BoundAddress } from './listeners.js';
export { BrokerErrors } from './errors.js';
// Revocation helpers, reusable by other TLS servers (the OCPP wss gateway) via the engine.
export { attachOcspStapling, createOcspClientChecker } from './tls-ocsp.js';
export { createTlsRevocationPort } from './tls-security.js';
export type { OcspStapler, OcspStaplingOptions, OcspStaplingDeps } from './tls-ocsp.js';
export { verifyOcspResponse } from './pki.js';
export type { JwtAuthConfig } from './authn-jwt.js';
