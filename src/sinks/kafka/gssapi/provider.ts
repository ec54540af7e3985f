/**
 * SASL/GSSAPI for kafkajs as a custom authentication provider (kafkajs ≥ 2.0 `Mechanism`
 * contract, shared spec kafka-gssapi.md §1) on top of MIT GSS-API through the `kerberos`
 * package. The exchange is RFC 4752 as Kafka's Java broker (JDK GssKrb5Server) runs it:
 *
 *   1. context establishment: client sends the initial krb5 token (AP-REQ); with mutual auth
 *      the broker answers AP-REP, which completes the client context; the client then sends an
 *      EMPTY token (RFC 4752 §3.1);
 *   2. the broker sends a wrapped 4-byte security-layer offer: byte 0 = layer bitmask
 *      (1 = none, the only one Kafka accepts), bytes 1-3 = max buffer size (§3.3);
 *   3. the client unwraps it, checks that "no security layer" is offered, and wraps
 *      [0x01][size][authorization id] back; the broker answers with empty bytes = done.
 *
 * kafkajs calls `authenticationProvider` for every new connection and again on each
 * re-authentication (KIP-368), so every call builds a FRESH GSS context: nothing is shared
 * between calls and the provider is safe to run concurrently for several connections.
 *
 * Framing (kafkajs SaslAuthenticate path): `request.encode()` must return the int32 length +
 * bytes itself; `response.decode()` receives the auth bytes re-prefixed by an int32 length.
 */
import type { AuthenticationProviderArgs, Mechanism } from 'kafkajs';
import { SluiceError } from '../../../core/index.js';
import type { Logger } from '../../../core/index.js';
import { KafkaErrors } from '../errors.js';
import { mapGssError } from './gss-errors.js';
import type { KerberosModule, KerberosClient } from './kerberos-module.js';

export interface GssapiOptions {
  kerberos: KerberosModule;
  sink: string;
  /** Broker's sasl.kerberos.service.name (default `kafka`). */
  serviceName: string;
  /** Host of the service principal; default: the host kafkajs is connecting to. */
  serviceHost?: string;
  /** Client principal; undefined = the default principal of the credential cache. */
  principal?: string;
  /** Authorization id sent in the final message ('' = the authenticated principal). */
  authorizationId?: string;
  logger: Logger;
  /** Called after each successful exchange (metrics). */
  onAuthenticated?: (ms: number) => void;
  /** Called after each failed exchange with the mapped error (metrics, status). */
  onFailure?: (err: SluiceError) => void;
}

const EMPTY = Buffer.alloc(0);

function frame(token: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + token.length);
  out.writeInt32BE(token.length, 0);
  token.copy(out, 4);
  return out;
}

/** Auth bytes as kafkajs hands them to decode(): int32 length (−1 = null) + bytes. */
function unframe(raw: Buffer): Buffer {
  if (raw.length < 4) return EMPTY;
  const n = raw.readInt32BE(0);
  return n <= 0 ? EMPTY : raw.subarray(4, 4 + n);
}

/** RFC 4752 §3.3 security-layer bit for "no security layer". */
const LAYER_NONE = 0x01;

export function createGssapiMechanism(opts: GssapiOptions): Mechanism {
  const k = opts.kerberos;
  return {
    mechanism: 'GSSAPI',
    authenticationProvider: (args: AuthenticationProviderArgs) => ({
      authenticate: () => authenticate(args),
    }),
  };

  async function authenticate({ host, port, saslAuthenticate }: AuthenticationProviderArgs) {
    const serviceHost = opts.serviceHost ?? host;
    const target = `${opts.serviceName}@${serviceHost}`; // host-based service name (RFC 2743 §4.1)
    const ctx = {
      sink: opts.sink,
      service: `${opts.serviceName}/${serviceHost}`,
      host: `${host}:${port}`,
      ...(opts.principal ? { principal: opts.principal } : {}),
    };
    const started = Date.now();
    /** One SaslAuthenticate round trip; a broker refusal becomes kafka_gssapi_rejected. */
    const send = async (token: Buffer): Promise<Buffer> => {
      try {
        const res = await saslAuthenticate<Buffer>({
          request: { encode: () => frame(token) },
          response: { decode: (raw: Buffer) => unframe(raw), parse: (b: Buffer) => b },
        });
        return res ?? EMPTY;
      } catch (err) {
        throw KafkaErrors.kafka_gssapi_rejected(
          `Kerberos: broker ${host}:${port} refused the GSSAPI exchange for ${opts.principal ?? 'the default principal'}: ${(err as Error).message}`,
          { cause: err, context: ctx },
        );
      }
    };
    /** A GSS call; failures become coded Kerberos errors. */
    const gss = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        throw mapGssError(err, ctx);
      }
    };

    try {
      const client: KerberosClient = await gss(() =>
        k.initializeClient(target, {
          ...(opts.principal ? { principal: opts.principal } : {}),
          // Raw krb5 tokens, not SPNEGO. (The option is `flags`, not the documented
          // `gssFlag`; we keep the package default MUTUAL|SEQUENCE.)
          mechOID: k.GSS_MECH_OID_KRB5,
        }),
      );
      // 1. Context establishment.
      let token = await gss(() => client.step(''));
      let response = await send(Buffer.from(token, 'base64'));
      while (!client.contextComplete) {
        token = await gss(() => client.step(response.toString('base64')));
        if (client.contextComplete && !token) {
          response = await send(EMPTY); // RFC 4752 §3.1: empty response after the last token
          break;
        }
        response = await send(Buffer.from(token ?? '', 'base64'));
      }
      // 2. Security-layer offer (wrapped by the broker).
      if (response.length === 0) {
        throw KafkaErrors.kafka_gssapi_failed(
          `Kerberos: broker ${host}:${port} sent no security-layer offer after context establishment`,
          { context: ctx },
        );
      }
      const offer = Buffer.from(
        await gss(() => client.unwrap(response.toString('base64'))),
        'base64',
      );
      if (offer.length !== 4 || ((offer[0] as number) & LAYER_NONE) === 0) {
        throw KafkaErrors.kafka_gssapi_failed(
          `Kerberos: broker ${host}:${port} offered security layers 0x${offer.toString('hex')}; only "no security layer" is supported (use SASL_SSL for encryption)`,
          { context: ctx },
        );
      }
      // 3. Our choice. The kerberos package's wrap() builds [0x01][size][authzid] itself from
      // the unwrapped offer (it echoes the broker's size where RFC 4752 says 0 — the JDK does
      // not check it) — so it must only ever get the offer, never arbitrary or empty data.
      const reply = await gss(() =>
        client.wrap(offer.toString('base64'), { user: opts.authorizationId ?? '' }),
      );
      await send(Buffer.from(reply, 'base64'));
      const ms = Date.now() - started;
      opts.logger.debug({ broker: `${host}:${port}`, ms }, 'GSSAPI authentication complete');
      opts.onAuthenticated?.(ms);
    } catch (err) {
      const coded =
        err instanceof SluiceError
          ? err
          : KafkaErrors.kafka_gssapi_failed(`Kerberos: ${(err as Error).message}`, {
              cause: err,
              context: ctx,
            });
      opts.onFailure?.(coded);
      throw coded;
    }
  }
}
