/**
 * The broker's authentication as the core `ClientAuthenticator` port, for gateways (OCPP HTTP
 * Basic): the same chain an MQTT CONNECT meets — the built-in user list, then the extra
 * authenticators of `EngineDeps.broker`, then `allow_anonymous`.
 */
import { createBuiltinAuthenticator, resolveBrokerConfig, runAuthnChain } from '../broker/index.js';
import type { Authenticator, BrokerConfigInput } from '../broker/index.js';
import type { ClientAuthenticator } from '../core/index.js';

export function brokerAuthenticator(
  brokerConfig: Record<string, unknown>,
  extra: readonly Authenticator[],
): ClientAuthenticator {
  const cfg = resolveBrokerConfig(brokerConfig as BrokerConfigInput);
  const chain = [createBuiltinAuthenticator(cfg.users), ...extra];
  return async (req) => {
    const out = await runAuthnChain(chain, req, cfg.allow_anonymous);
    return out.ok
      ? { ok: true, is_superuser: out.is_superuser }
      : { ok: false, reason: out.reason_code === 'success' ? 'not_authorized' : out.reason_code };
  };
}
