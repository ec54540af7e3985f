/**
 * Lazy loader for the optional native package `kerberos` (mongodb-js, N-API over MIT GSSAPI).
 * It is an optionalDependency: it builds only where libkrb5-dev was installed before `npm ci`,
 * so nothing may import it statically. Only the subset used by provider.ts is typed here, which
 * also keeps type-checking independent of whether the package is installed.
 */
import { createRequire } from 'node:module';
import { KafkaErrors } from '../errors.js';

export interface KerberosClient {
  contextComplete: boolean;
  username: string;
  /** base64 in, base64 out; '' for the first call. */
  step(challenge: string): Promise<string>;
  /** RFC 4752 only: unwrapped 4-byte offer in (base64), wrapped reply out. Never call with ''. */
  wrap(challenge: string, options?: { user?: string }): Promise<string>;
  unwrap(challenge: string): Promise<string>;
}

export interface KerberosModule {
  GSS_MECH_OID_KRB5: number;
  GSS_C_MUTUAL_FLAG: number;
  GSS_C_SEQUENCE_FLAG: number;
  version?: string;
  initializeClient(
    service: string,
    options?: { principal?: string; mechOID?: number; flags?: number },
  ): Promise<KerberosClient>;
}

let cached: KerberosModule | undefined;

/**
 * Load `kerberos` once; throws `kafka_gssapi_unavailable` with the fix when it is missing or its
 * addon does not load. (Module-level cache: the addon is process-wide anyway.)
 */
export function loadKerberos(): KerberosModule {
  if (cached) return cached;
  try {
    const require = createRequire(import.meta.url);
    cached = require('kerberos') as KerberosModule;
    return cached;
  } catch (err) {
    throw KafkaErrors.kafka_gssapi_unavailable(
      'authentication.mechanism gssapi needs the optional native package "kerberos", which is ' +
        `not usable here (${(err as Error).message.split('\n')[0]}). Install the MIT Kerberos ` +
        'headers and rebuild it: `sudo apt-get install libkrb5-dev` (Debian/Ubuntu; ' +
        '`krb5-devel` on RHEL) then `npm rebuild kerberos` (or `npm install kerberos`).',
      { cause: err },
    );
  }
}
