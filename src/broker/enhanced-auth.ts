/**
 * MQTT 5 enhanced authentication (§4.12, the AUTH packet) with the SCRAM authenticator
 * (authn-scram.ts; config `broker.scram`, EMQX `mechanism = scram`). Decision 0016.
 *
 *   CONNECT  Authentication-Method SCRAM-SHA-256 | SCRAM-SHA-512, Authentication-Data client-first
 *   AUTH     0x18 (continue) server-first                        broker → client
 *   AUTH     0x18 client-final                                    client → broker
 *   CONNACK  0x00 with Authentication-Method + Data server-final   (or 0x87 not authorized)
 *
 * A method we do not run still gets CONNACK 0x8C (bad authentication method) from Aedes
 * [MQTT-4.12.0-1]. Re-authentication [MQTT-4.12.1-1]: a connected client sends AUTH 0x19 with
 * the method of its CONNECT and a new client-first; the broker answers AUTH 0x18 server-first,
 * the client AUTH 0x18 client-final, the broker AUTH 0x00 server-final. A failed
 * re-authentication is DISCONNECT 0x87 [MQTT-4.12.1-2]; the user name may not change.
 * AUTH from a client that did not use enhanced authentication, with another method, or with a
 * reason code out of turn, is DISCONNECT 0x82 (protocol error) [MQTT-4.12.0-7].
 *
 * How the exchange runs inside Aedes (our patch, src/broker/aedes-patch.test.ts): Aedes' connect
 * handler asks `supportsAuthenticationMethod` before refusing an Authentication-Method, then
 * calls the authenticate hook with the client's socket reads paused. The hook (hooks.ts) hands
 * the client here: we write AUTH 0x18, mark the client `_enhancedAuthPending` and resume reading;
 * Aedes routes the AUTH to `handleAuth`, which pauses reading again before settling, so the
 * connect sequence goes on exactly as after a password check. Any other packet before CONNACK
 * closes the connection [MQTT-3.1.2-30] (patched lib/handlers/index.js). A client that does not
 * answer within `connect_timeout` is refused (0x87).
 *
 * Aedes internals used (README invariant 7): `client.pause()` / `resume()`, `client.conn`,
 * `client.connecting`, `client.connected`, `client.disconnect()`, and the patch's
 * `supportsAuthenticationMethod`, `handleAuth`, `_enhancedAuthPending`, the hook error's
 * `reasonCode`.
 */
import type { Client } from 'aedes';
import { generate } from 'mqtt-packet';
import type { AuthnOutcome } from './auth.js';
import { recordOf, type ClientRecord } from './client-records.js';
import type { BrokerContext, ClientV5Internals } from './context.js';
import type { ScramPending, ScramServer } from './authn-scram.js';

const CONTINUE = 0x18;
const REAUTHENTICATE = 0x19;
const NOT_AUTHORIZED = 0x87;
const PROTOCOL_ERROR = 0x82;

/** What the record keeps of a client that authenticated with an AUTH exchange. */
export interface EnhancedAuthState {
  readonly method: string;
  /** The SCRAM user name in force (re-authentication must keep it). */
  username: string;
  /** server-final for the CONNACK (cleared once sent). */
  connackData?: Buffer;
  /** Set while the connect exchange waits for the client's AUTH. */
  onAuth?: (packet: AuthPacket) => void;
  /** Set while a re-authentication waits for client-final. */
  reauth?: { pending: ScramPending; timer: NodeJS.Timeout };
}

export interface AuthPacket {
  cmd: 'auth';
  reasonCode?: number;
  properties?: { authenticationMethod?: string; authenticationData?: Buffer };
}

/** The chain outcome of an exchange, with the MQTT 5 CONNACK code of a refusal. */
export interface EnhancedOutcome {
  readonly outcome: AuthnOutcome;
  readonly reasonCode?: number;
}

type AuthClient = ClientV5Internals & {
  conn: NodeJS.WritableStream & NodeJS.EventEmitter;
  connecting: boolean;
  closed?: boolean;
  pause(): void;
  resume(): void;
  _enhancedAuthPending?: boolean;
};

export interface EnhancedAuth {
  /** Aedes' `supportsAuthenticationMethod` (patched connect.js). */
  supports(method: string): boolean;
  /** Run the CONNECT exchange (called by the authenticate hook, reads paused). */
  connect(
    client: Client,
    rec: ClientRecord,
    username: string | undefined,
  ): Promise<EnhancedOutcome>;
  /** Aedes' `handleAuth` (patched handlers/index.js): every AUTH packet a v5 client sends. */
  handleAuth(client: Client, packet: AuthPacket, done: () => void): void;
  /** Adds Authentication-Method / -Data to the successful CONNACK [MQTT-4.12.0-5]. */
  connackProperties(client: Client, props: Record<string, unknown>): void;
}

const EMPTY_ATTRS: Readonly<Record<string, string>> = Object.freeze({});

function allow(is_superuser: boolean): EnhancedOutcome {
  return {
    outcome: {
      ok: true,
      reason_code: 'success',
      is_superuser,
      is_anonymous: false,
      client_attrs: EMPTY_ATTRS,
    },
  };
}

function deny(reasonCode: number): EnhancedOutcome {
  return {
    outcome: {
      ok: false,
      reason_code: 'not_authorized',
      is_superuser: false,
      is_anonymous: false,
      client_attrs: EMPTY_ATTRS,
    },
    reasonCode,
  };
}

export function createEnhancedAuth(ctx: BrokerContext, scram: ScramServer): EnhancedAuth {
  const { logger, metrics, config } = ctx;
  const timeoutMs = config.connect_timeout;

  function writeAuth(client: AuthClient, reasonCode: number, method: string, data?: Buffer): void {
    const packet = {
      cmd: 'auth' as const,
      reasonCode,
      properties: {
        authenticationMethod: method,
        ...(data ? { authenticationData: data } : {}),
      },
    };
    client.conn.write(generate(packet as never, { protocolVersion: 5 }));
  }

  function failed(rec: ClientRecord, stage: 'connect' | 'reauth', why: string): void {
    if (stage === 'connect') metrics.enhanced_auth_failed++;
    else metrics.reauth_failed++;
    logger.info(
      { clientid: rec.clientid, method: rec.enhanced?.method ?? rec.auth_method, failure: why },
      stage === 'connect' ? 'enhanced authentication failed' : 're-authentication failed',
    );
  }

  function protocolError(client: AuthClient, rec: ClientRecord, why: string): void {
    logger.info({ clientid: rec.clientid, failure: why }, 'AUTH packet refused: protocol error');
    rec.reason ??= 'protocol_error';
    client.disconnect({ reasonCode: PROTOCOL_ERROR });
  }

  function connect(
    client: Client,
    rec: ClientRecord,
    username: string | undefined,
  ): Promise<EnhancedOutcome> {
    const c = client as AuthClient;
    const method = rec.auth_method!;
    const s = scram.start(method, rec.auth_data);
    if (!s.ok) {
      failed(rec, 'connect', s.failure);
      return Promise.resolve(deny(NOT_AUTHORIZED));
    }
    // The CONNECT user name, when given, must be the SCRAM one: authorization uses it.
    if (username !== undefined && username !== s.pending.username) {
      failed(rec, 'connect', 'username_mismatch');
      return Promise.resolve(deny(NOT_AUTHORIZED));
    }
    const state: EnhancedAuthState = { method, username: s.pending.username };
    rec.enhanced = state;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (r: EnhancedOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        c.conn.removeListener('close', onClose);
        c._enhancedAuthPending = false;
        state.onAuth = undefined;
        c.pause();
        resolve(r);
      };
      const onClose = (): void => {
        if (!settled) failed(rec, 'connect', 'closed');
        settle(deny(NOT_AUTHORIZED));
      };
      const timer = setTimeout(() => {
        failed(rec, 'connect', 'timeout');
        settle(deny(NOT_AUTHORIZED));
      }, timeoutMs);
      c.conn.once('close', onClose);
      state.onAuth = (packet) => {
        if (packet.reasonCode !== CONTINUE) {
          failed(rec, 'connect', `auth_reason_code_${packet.reasonCode ?? 0}`);
          return settle(deny(PROTOCOL_ERROR));
        }
        // [MQTT-4.12.0-5] every AUTH carries the CONNECT's method.
        if (packet.properties?.authenticationMethod !== method) {
          failed(rec, 'connect', 'method_changed');
          return settle(deny(PROTOCOL_ERROR));
        }
        const f = scram.finish(s.pending, packet.properties.authenticationData);
        if (!f.ok) {
          failed(rec, 'connect', f.failure);
          return settle(deny(NOT_AUTHORIZED));
        }
        metrics.enhanced_auth_success++;
        state.connackData = f.serverFinal;
        rec.username ??= f.user.username;
        settle(allow(f.user.is_superuser));
      };
      writeAuth(c, CONTINUE, method, s.serverFirst);
      c._enhancedAuthPending = true;
      // Aedes paused the socket for the authenticate hook; read on to get the AUTH.
      c.resume();
    });
  }

  function reauthenticate(c: AuthClient, rec: ClientRecord, st: EnhancedAuthState, p: AuthPacket) {
    if (st.reauth) {
      const { pending, timer } = st.reauth;
      clearTimeout(timer);
      st.reauth = undefined;
      if (p.reasonCode !== CONTINUE) return protocolError(c, rec, 'expected AUTH 0x18');
      const f = scram.finish(pending, p.properties?.authenticationData);
      if (!f.ok || f.user.username !== st.username) {
        failed(rec, 'reauth', f.ok ? 'username_changed' : f.failure);
        rec.reason ??= 'not_authorized';
        return c.disconnect({ reasonCode: NOT_AUTHORIZED });
      }
      metrics.reauth_success++;
      rec.is_superuser = f.user.is_superuser;
      logger.debug({ clientid: rec.clientid }, 're-authenticated');
      return writeAuth(c, 0x00, st.method, f.serverFinal);
    }
    if (p.reasonCode !== REAUTHENTICATE) return protocolError(c, rec, 'expected AUTH 0x19');
    const s = scram.start(st.method, p.properties?.authenticationData);
    if (!s.ok || s.pending.username !== st.username) {
      failed(rec, 'reauth', s.ok ? 'username_changed' : s.failure);
      rec.reason ??= 'not_authorized';
      return c.disconnect({ reasonCode: NOT_AUTHORIZED });
    }
    const timer = setTimeout(() => {
      st.reauth = undefined;
      if (c.closed) return;
      failed(rec, 'reauth', 'timeout');
      rec.reason ??= 'not_authorized';
      c.disconnect({ reasonCode: NOT_AUTHORIZED });
    }, timeoutMs);
    c.conn.once('close', () => clearTimeout(timer));
    st.reauth = { pending: s.pending, timer };
    writeAuth(c, CONTINUE, st.method, s.serverFirst);
  }

  function handleAuth(client: Client, packet: AuthPacket, done: () => void): void {
    const c = client as AuthClient;
    const rec = recordOf(client);
    if (!rec) {
      c.conn.destroy?.();
      return done();
    }
    const st = rec.enhanced;
    if (st?.onAuth) {
      // The connect exchange: onAuth pauses reading before `done` runs the read loop.
      st.onAuth(packet);
      return done();
    }
    if (!c.connected) {
      // AUTH while a CONNECT without Authentication-Method is being processed.
      logger.info({ clientid: rec.clientid }, 'AUTH before CONNACK without an exchange: closed');
      rec.reason ??= 'protocol_error';
      (c.conn as unknown as { destroy(): void }).destroy();
      return done();
    }
    if (!st) protocolError(c, rec, 'AUTH without Authentication-Method in CONNECT');
    else if (packet.properties?.authenticationMethod !== st.method)
      protocolError(c, rec, 'AUTH with another Authentication-Method');
    else reauthenticate(c, rec, st, packet);
    done();
  }

  return {
    supports: (method) => scram.methods.has(method),
    connect,
    handleAuth,
    connackProperties(client, props) {
      const st = recordOf(client)?.enhanced;
      if (!st) return;
      props['authenticationMethod'] = st.method;
      if (st.connackData) props['authenticationData'] = st.connackData;
      st.connackData = undefined;
    },
  };
}
