/**
 * Kerberos client credentials for sinks that name a principal + keytab (shared spec
 * kafka-gssapi.md §3.3). MIT reads its credential locations from process-wide environment
 * variables, so several sinks with different principals in one process need ONE arrangement:
 *
 *  - KRB5CCNAME = DIR:<private dir>: a credential-cache collection; MIT keeps one cache per
 *    client principal in it and picks the one matching the requested principal;
 *  - KRB5_CLIENT_KTNAME = FILE:<private dir>/client.keytab: the merge of every registered
 *    sink's keytab; MIT gets (and, on expiry, re-gets) initial tickets from it — no kinit.
 *
 * The merged keytab is rebuilt whenever a sink registers or leaves (and on every connect, so a
 * rotated keytab file is picked up). The environment is set before the first GSS call of any
 * sink. This is the one piece of process-wide state in the Kafka sink, because the GSS library
 * itself is process-wide; it lives in `defaultCredentialStore()`.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaErrors } from '../errors.js';
import { parseKeytab, mergeKeytabs } from './keytab.js';

export interface CredentialStore {
  /**
   * Check that `keytab` holds a key for `principal`, add it to the merged keytab and point MIT at
   * it. Resolves with the full principal name (realm added from the keytab if omitted).
   * Rejects with `kafka_gssapi_bad_keytab` when the file is unreadable or lacks the principal.
   */
  register(id: string, principal: string, keytab: string): Promise<string>;
  unregister(id: string): Promise<void>;
  /** The private directory (ccache collection + merged keytab); created on demand. */
  readonly dir: string;
  /** Remove the private directory now (it is re-created by the next register). */
  dispose(): void;
}

export function createCredentialStore(env: NodeJS.ProcessEnv = process.env): CredentialStore {
  // The private dir exists while at least one sink is registered; it is removed when the last
  // one leaves (and at process exit), so no ticket cache or keytab copy outlives its sinks.
  let dir: string | undefined;
  const paths = () => {
    if (!dir) {
      dir = mkdtempSync(join(tmpdir(), 'sluice-krb5-'));
      mkdirSync(join(dir, 'ccache'), { mode: 0o700 });
    }
    return { dir, ccdir: join(dir, 'ccache'), merged: join(dir, 'client.keytab') };
  };
  // The caller's own values, restored when the last sink leaves.
  let saved: { ccname: string | undefined; ktname: string | undefined } | undefined;
  const dispose = () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
    if (saved) {
      for (const [k, v] of [
        ['KRB5CCNAME', saved.ccname],
        ['KRB5_CLIENT_KTNAME', saved.ktname],
      ] as const) {
        if (v === undefined) delete env[k];
        else env[k] = v;
      }
      saved = undefined;
    }
  };
  const sinks = new Map<string, { principal: string; keytab: string }>();
  let chain: Promise<unknown> = Promise.resolve();

  async function readChecked(principal: string, keytab: string): Promise<[Buffer, string]> {
    let buf: Buffer;
    try {
      buf = await readFile(keytab);
    } catch (err) {
      throw KafkaErrors.kafka_gssapi_bad_keytab(
        `Kerberos: cannot read keytab ${keytab}: ${(err as Error).message}`,
        { cause: err, context: { principal, keytab } },
      );
    }
    let names: string[];
    try {
      names = [...new Set(parseKeytab(buf).map((e) => e.principal))];
    } catch (err) {
      throw KafkaErrors.kafka_gssapi_bad_keytab(
        `Kerberos: ${keytab} is not a usable keytab: ${(err as Error).message}`,
        { cause: err, context: { principal, keytab } },
      );
    }
    const match = principal.includes('@')
      ? names.find((n) => n === principal)
      : names.find((n) => n.slice(0, n.lastIndexOf('@')) === principal);
    if (!match) {
      throw KafkaErrors.kafka_gssapi_bad_keytab(
        `Kerberos: keytab ${keytab} has no key for principal ${principal} (it has: ${names.join(', ') || 'no entries'})`,
        { context: { principal, keytab } },
      );
    }
    return [buf, match];
  }

  async function rebuild(): Promise<void> {
    const { ccdir, merged } = paths();
    const bufs: Buffer[] = [];
    for (const { principal, keytab } of sinks.values())
      bufs.push((await readChecked(principal, keytab))[0]);
    const tmp = `${merged}.${process.pid}.tmp`;
    await writeFile(tmp, mergeKeytabs(bufs), { mode: 0o600 });
    await rename(tmp, merged);
    saved ??= { ccname: env['KRB5CCNAME'], ktname: env['KRB5_CLIENT_KTNAME'] };
    env['KRB5_CLIENT_KTNAME'] = `FILE:${merged}`;
    env['KRB5CCNAME'] = `DIR:${ccdir}`;
  }

  /** Serialise updates so concurrent sink starts never interleave file writes. */
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => {});
    return next;
  };

  return {
    get dir() {
      return paths().dir;
    },
    dispose,
    register: (id, principal, keytab) =>
      serial(async () => {
        const [, full] = await readChecked(principal, keytab);
        sinks.set(id, { principal: full, keytab });
        await rebuild();
        return full;
      }),
    unregister: (id) =>
      serial(async () => {
        if (!sinks.delete(id)) return;
        if (sinks.size > 0) await rebuild().catch(() => {});
        else dispose();
      }),
  };
}

let shared: CredentialStore | undefined;

/** The process-wide store (created on first use; its temp dir is removed at process exit). */
export function defaultCredentialStore(): CredentialStore {
  if (!shared) {
    const store = createCredentialStore();
    shared = store;
    process.once('exit', () => store.dispose());
  }
  return shared;
}
