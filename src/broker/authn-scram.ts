/**
 * SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) for MQTT 5 enhanced authentication
 * (§4.12; EMQX `mechanism = scram`, `backend = built_in_database`). This file holds the SASL
 * side only: credentials, message parsing and the proof check. The MQTT side (AUTH packets,
 * CONNACK, re-authentication) is enhanced-auth.ts.
 *
 * Stored credential (never the password; salt and keys standard base64):
 *
 *   scram-sha-256$<iterations>$<salt>$<StoredKey>$<ServerKey>
 *   scram-sha-512$<iterations>$<salt>$<StoredKey>$<ServerKey>
 *
 *   SaltedPassword = PBKDF2-HMAC-H(password, salt, iterations)   (Hi() of RFC 5802 §2.2)
 *   ClientKey      = HMAC(SaltedPassword, "Client Key")
 *   StoredKey      = H(ClientKey)
 *   ServerKey      = HMAC(SaltedPassword, "Server Key")
 *
 * The exchange (no channel binding: gs2 header `n,,` or `y,,`; `p=` is refused):
 *
 *   client-first  n,,n=<user>,r=<cnonce>               CONNECT Authentication-Data
 *   server-first  r=<cnonce><snonce>,s=<salt>,i=<iter>   AUTH 0x18
 *   client-final  c=biws,r=<nonce>,p=<ClientProof>        AUTH 0x18
 *   server-final  v=<ServerSignature>                     CONNACK (or AUTH 0x00 on re-auth)
 *
 * The server checks H(ClientProof XOR HMAC(StoredKey, AuthMessage)) == StoredKey in constant
 * time. A user name that is not configured gets a server-first with a salt derived from a
 * per-broker secret (RFC 5802 §9: do not reveal which names exist), and its proof always fails.
 *
 * Passwords are normalised with NFKC before hashing (the mapping step of SASLprep, RFC 4013);
 * SASLprep's prohibited-character checks are not applied. ASCII passwords are unaffected.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { BrokerErrors } from './errors.js';

export type ScramAlgorithm = 'sha256' | 'sha512';

/** MQTT Authentication-Method names (RFC 7677 / IANA SASL names) per algorithm. */
export const SCRAM_METHODS: Readonly<Record<ScramAlgorithm, string>> = {
  sha256: 'SCRAM-SHA-256',
  sha512: 'SCRAM-SHA-512',
};

export function scramAlgorithmOf(method: string): ScramAlgorithm | undefined {
  if (method === 'SCRAM-SHA-256') return 'sha256';
  if (method === 'SCRAM-SHA-512') return 'sha512';
  return undefined;
}

export interface ScramCredential {
  readonly algorithm: ScramAlgorithm;
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** EMQX's default iteration count. */
export const SCRAM_DEFAULT_ITERATIONS = 4096;

const KEY_LEN: Readonly<Record<ScramAlgorithm, number>> = { sha256: 32, sha512: 64 };

/** The derived keys of `password` (for credential creation and for clients in tests). */
export function scramKeys(
  password: string,
  salt: Buffer,
  iterations: number,
  algorithm: ScramAlgorithm,
): { saltedPassword: Buffer; clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const saltedPassword = pbkdf2Sync(
    password.normalize('NFKC'),
    salt,
    iterations,
    KEY_LEN[algorithm],
    algorithm,
  );
  const clientKey = hmac(algorithm, saltedPassword, 'Client Key');
  return {
    saltedPassword,
    clientKey,
    storedKey: createHash(algorithm).update(clientKey).digest(),
    serverKey: hmac(algorithm, saltedPassword, 'Server Key'),
  };
}

/** The stored credential string of `password` (a CLI / config helper; synchronous). */
export function scramCredential(
  password: string,
  opts: { algorithm?: ScramAlgorithm; iterations?: number; salt?: Buffer } = {},
): string {
  const algorithm = opts.algorithm ?? 'sha256';
  const iterations = opts.iterations ?? SCRAM_DEFAULT_ITERATIONS;
  const salt = opts.salt ?? randomBytes(16);
  const k = scramKeys(password, salt, iterations, algorithm);
  return [
    `scram-${algorithm.replace('sha', 'sha-')}`,
    iterations,
    salt.toString('base64'),
    k.storedKey.toString('base64'),
    k.serverKey.toString('base64'),
  ].join('$');
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parse a stored credential; throws `broker_scram_credential_invalid` (config-time check). */
export function parseScramCredential(stored: string): ScramCredential {
  const bad = (why: string) =>
    BrokerErrors.broker_scram_credential_invalid(`invalid SCRAM credential: ${why}`);
  const parts = stored.split('$');
  if (parts.length !== 5 || (parts[0] !== 'scram-sha-256' && parts[0] !== 'scram-sha-512'))
    throw bad('expected scram-sha-256$iterations$salt$stored_key$server_key (or scram-sha-512$…)');
  const algorithm: ScramAlgorithm = parts[0] === 'scram-sha-256' ? 'sha256' : 'sha512';
  const iterations = Number(parts[1]);
  if (!Number.isInteger(iterations) || iterations < 1)
    throw bad('iterations must be an integer >= 1');
  const b64 = (s: string, what: string, len?: number): Buffer => {
    if (!B64.test(s)) throw bad(`${what} is not base64`);
    const b = Buffer.from(s, 'base64');
    if (len !== undefined && b.length !== len)
      throw bad(`${what} must be ${len} bytes for ${parts[0]}`);
    return b;
  };
  return {
    algorithm,
    iterations,
    salt: b64(parts[2]!, 'salt'),
    storedKey: b64(parts[3]!, 'stored_key', KEY_LEN[algorithm]),
    serverKey: b64(parts[4]!, 'server_key', KEY_LEN[algorithm]),
  };
}

function hmac(algorithm: ScramAlgorithm, key: Buffer, data: string): Buffer {
  return createHmac(algorithm, key).update(data, 'utf8').digest();
}

/** A SCRAM user of the broker. */
export interface ScramUser {
  readonly username: string;
  readonly credential: ScramCredential;
  readonly is_superuser: boolean;
}

/** Why an exchange failed (logged at info; the client gets CONNACK / DISCONNECT 0x87). */
export type ScramFailure =
  | 'malformed_client_first'
  | 'channel_binding_not_supported'
  | 'authzid_not_supported'
  | 'malformed_client_final'
  | 'channel_binding_mismatch'
  | 'nonce_mismatch'
  | 'invalid_proof';

/** The server state between server-first and client-final. */
export interface ScramPending {
  readonly username: string;
  readonly user: ScramUser | undefined;
  readonly algorithm: ScramAlgorithm;
  readonly gs2Header: string;
  readonly nonce: string;
  readonly clientFirstBare: string;
  readonly serverFirst: string;
}

export type ScramStart =
  | { readonly ok: true; readonly serverFirst: Buffer; readonly pending: ScramPending }
  | { readonly ok: false; readonly failure: ScramFailure };

export type ScramFinish =
  | { readonly ok: true; readonly serverFinal: Buffer; readonly user: ScramUser }
  | { readonly ok: false; readonly failure: ScramFailure };

/** `saslname` of RFC 5802 §5.1: `=2C` is `,`, `=3D` is `=`; any other `=` is malformed. */
function unescapeName(s: string): string | undefined {
  if (/=(?!2C|3D)/.test(s)) return undefined;
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** Printable ASCII except `,` (RFC 5802 `printable`), as a nonce must be. */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

export interface ScramServer {
  /** The Authentication-Method names offered (one per algorithm with at least one user). */
  readonly methods: ReadonlySet<string>;
  /** Handle client-first (the CONNECT's, or an AUTH 0x19's, Authentication-Data). */
  start(method: string, clientFirst: Buffer | undefined): ScramStart;
  /** Handle client-final; `serverFinal` goes back to the client on success. */
  finish(pending: ScramPending, clientFinal: Buffer | undefined): ScramFinish;
}

/** One user table per algorithm: a name may hold a SHA-256 and a SHA-512 credential. */
export function createScramServer(
  users: readonly ScramUser[],
  opts: { nonce?: () => string; secret?: Buffer } = {},
): ScramServer {
  const tables: Record<ScramAlgorithm, Map<string, ScramUser>> = {
    sha256: new Map(),
    sha512: new Map(),
  };
  for (const u of users) tables[u.credential.algorithm].set(u.username, u);
  const methods = new Set<string>();
  for (const a of ['sha256', 'sha512'] as const)
    if (tables[a].size > 0) methods.add(SCRAM_METHODS[a]);
  const secret = opts.secret ?? randomBytes(32);
  const serverNonce = opts.nonce ?? (() => randomBytes(18).toString('base64'));

  return {
    methods,
    start(method, data) {
      const algorithm = scramAlgorithmOf(method);
      if (!algorithm || !data) return { ok: false, failure: 'malformed_client_first' };
      const msg = data.toString('utf8');
      // gs2-header = gs2-cbind-flag "," [ authzid ] ","
      const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(msg);
      if (!m) return { ok: false, failure: 'malformed_client_first' };
      if (m[1]!.startsWith('p=')) return { ok: false, failure: 'channel_binding_not_supported' };
      const bare = m[3]!;
      // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
      const attrs = bare.split(',');
      if (attrs[0]?.startsWith('m=')) return { ok: false, failure: 'malformed_client_first' };
      const n = attrs[0]?.startsWith('n=') ? unescapeName(attrs[0].slice(2)) : undefined;
      const r = attrs[1]?.startsWith('r=') ? attrs[1].slice(2) : undefined;
      if (n === undefined || n === '' || r === undefined || !NONCE.test(r))
        return { ok: false, failure: 'malformed_client_first' };
      if (m[2] !== undefined) {
        const authzid = unescapeName(m[2].slice(2));
        if (authzid !== n) return { ok: false, failure: 'authzid_not_supported' };
      }
      const user = tables[algorithm].get(n);
      // An unknown user gets a stable made-up salt, so the answer does not tell it apart.
      const salt = user
        ? user.credential.salt
        : createHmac('sha256', secret).update(`${algorithm}\0${n}`).digest().subarray(0, 16);
      const iterations = user ? user.credential.iterations : SCRAM_DEFAULT_ITERATIONS;
      const nonce = r + serverNonce();
      const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
      return {
        ok: true,
        serverFirst: Buffer.from(serverFirst, 'utf8'),
        pending: {
          username: n,
          user,
          algorithm,
          gs2Header: msg.slice(0, msg.length - bare.length),
          nonce,
          clientFirstBare: bare,
          serverFirst,
        },
      };
    },
    finish(p, data) {
      if (!data) return { ok: false, failure: 'malformed_client_final' };
      const msg = data.toString('utf8');
      // client-final-message = channel-binding "," nonce ["," extensions] "," proof
      const at = msg.lastIndexOf(',p=');
      if (at < 0) return { ok: false, failure: 'malformed_client_final' };
      const withoutProof = msg.slice(0, at);
      const proofB64 = msg.slice(at + 3);
      const attrs = withoutProof.split(',');
      if (!attrs[0]?.startsWith('c=') || !attrs[1]?.startsWith('r=') || !B64.test(proofB64))
        return { ok: false, failure: 'malformed_client_final' };
      if (attrs[0].slice(2) !== Buffer.from(p.gs2Header, 'utf8').toString('base64'))
        return { ok: false, failure: 'channel_binding_mismatch' };
      if (attrs[1].slice(2) !== p.nonce) return { ok: false, failure: 'nonce_mismatch' };
      const user = p.user;
      const proof = Buffer.from(proofB64, 'base64');
      const authMessage = `${p.clientFirstBare},${p.serverFirst},${withoutProof}`;
      if (!user || proof.length !== user.credential.storedKey.length)
        return { ok: false, failure: 'invalid_proof' };
      const signature = hmac(p.algorithm, user.credential.storedKey, authMessage);
      const clientKey = Buffer.alloc(proof.length);
      for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
      const stored = createHash(p.algorithm).update(clientKey).digest();
      if (!timingSafeEqual(stored, user.credential.storedKey))
        return { ok: false, failure: 'invalid_proof' };
      const serverSignature = hmac(p.algorithm, user.credential.serverKey, authMessage);
      return {
        ok: true,
        serverFinal: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
        user,
      };
    },
  };
}

/**
 * A SCRAM client (RFC 5802 §3): for tests and tools. `first()` is the client-first message,
 * `final(serverFirst)` the client-final one, `verify(serverFinal)` checks the server signature.
 */
export function scramClient(
  username: string,
  password: string,
  algorithm: ScramAlgorithm,
  cnonce: string = randomBytes(18).toString('base64'),
): { first(): Buffer; final(serverFirst: Buffer): Buffer; verify(serverFinal: Buffer): boolean } {
  const name = username.replace(/=/g, '=3D').replace(/,/g, '=2C');
  const bare = `n=${name},r=${cnonce}`;
  let expected: string | undefined;
  return {
    first: () => Buffer.from(`n,,${bare}`, 'utf8'),
    final(serverFirstBuf) {
      const serverFirst = serverFirstBuf.toString('utf8');
      const f = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
      if (!f['r']?.startsWith(cnonce)) throw new Error('server nonce does not extend ours');
      const k = scramKeys(password, Buffer.from(f['s']!, 'base64'), Number(f['i']), algorithm);
      const withoutProof = `c=biws,r=${f['r']}`;
      const authMessage = `${bare},${serverFirst},${withoutProof}`;
      const sig = hmac(algorithm, k.storedKey, authMessage);
      const proof = Buffer.alloc(sig.length);
      for (let i = 0; i < sig.length; i++) proof[i] = k.clientKey[i]! ^ sig[i]!;
      expected = `v=${hmac(algorithm, k.serverKey, authMessage).toString('base64')}`;
      return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
    },
    verify: (serverFinal) => expected !== undefined && serverFinal.toString('utf8') === expected,
  };
}

/**
 * The SCRAM users of `broker.scram` (inline `users`, then `users_file`, a YAML or JSON list of
 * the same objects). Throws `broker_scram_credential_invalid` naming the entry.
 */
export function loadScramUsers(config: {
  users: readonly { username: string; credential: string; is_superuser?: boolean }[];
  users_file?: string | undefined;
}): ScramUser[] {
  const entries: { where: string; u: unknown }[] = config.users.map((u, i) => ({
    where: `broker.scram.users[${i}]`,
    u,
  }));
  if (config.users_file) {
    let list: unknown;
    try {
      list = parseYaml(readFileSync(config.users_file, 'utf8'));
    } catch (err) {
      throw BrokerErrors.broker_scram_credential_invalid(
        `SCRAM users file ${config.users_file} cannot be read: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (!Array.isArray(list))
      throw BrokerErrors.broker_scram_credential_invalid(
        `SCRAM users file ${config.users_file} must hold a list of {username, credential, is_superuser}`,
      );
    list.forEach((u, i) => entries.push({ where: `${config.users_file}[${i}]`, u }));
  }
  const seen = new Set<string>();
  return entries.map(({ where, u }) => {
    const o = u as { username?: unknown; credential?: unknown; is_superuser?: unknown };
    if (typeof o?.username !== 'string' || o.username === '' || typeof o.credential !== 'string')
      throw BrokerErrors.broker_scram_credential_invalid(
        `${where}: needs a non-empty username and a credential string`,
      );
    let credential: ScramCredential;
    try {
      credential = parseScramCredential(o.credential);
    } catch (err) {
      throw BrokerErrors.broker_scram_credential_invalid(`${where}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const key = `${credential.algorithm}\0${o.username}`;
    if (seen.has(key))
      throw BrokerErrors.broker_scram_credential_invalid(
        `${where}: user ${JSON.stringify(o.username)} has a second ${credential.algorithm} credential`,
      );
    seen.add(key);
    return { username: o.username, credential, is_superuser: o.is_superuser === true };
  });
}
