/**
 * A throwaway MIT Kerberos KDC on 127.0.0.1 for the integration tests (recipe: shared spec
 * kafka-gssapi.md §3.4). Everything lives in one temp dir: its own krb5.conf (KRB5_CONFIG),
 * kdc.conf (KRB5_KDC_PROFILE), database, stash, keytabs and log; the system-wide Kerberos files are
 * never read or written. The KDC listens on an ephemeral UDP+TCP port and runs in the foreground
 * (`krb5kdc -n`) in its own process group.
 *
 * Principals: one service principal `kafka/localhost@REALM` (the broker's), one client
 * principal + keytab per name in `clients`, and `stale`: a principal whose keytab was made
 * stale by re-keying it afterwards (for the "bad keytab" tests).
 */
import { mkdir, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freeTcpUdpPort, run, spawnGroup, stopGroup, which, groupAlive } from './proc.js';

export interface KdcFacts {
  realm: string;
  /** 127.0.0.1 port of the KDC (UDP and TCP). */
  port: number;
  /** krb5.conf for clients, the KDC tools and (via -Djava.security.krb5.conf) the JVM. */
  krb5Conf: string;
  /** kdc.conf (KRB5_KDC_PROFILE) — only the KDC and kadmin.local need it. */
  kdcConf: string;
  dir: string;
  pid: number;
  /** Broker service principal and its keytab. */
  service: { principal: string; keytab: string };
  /** Client principal → keytab. */
  clients: Record<string, { principal: string; keytab: string }>;
  /** A principal whose keytab no longer matches the KDC's key (re-keyed after export). */
  stale: { principal: string; keytab: string };
}

export interface KdcOptions {
  dir: string;
  realm?: string;
  clients?: readonly string[];
  serviceHost?: string;
}

function tool(name: string): string {
  const p = which(name);
  if (!p) {
    throw new Error(
      `${name} not found: install the MIT Kerberos packages first (sudo bash scripts/install-system-deps.sh)`,
    );
  }
  return p;
}

export async function startKdc(opts: KdcOptions): Promise<KdcFacts> {
  const realm = opts.realm ?? 'SLUICE.TEST';
  const dir = opts.dir;
  await mkdir(dir, { recursive: true });
  const port = await freeTcpUdpPort();
  const krb5Conf = join(dir, 'krb5.conf');
  const kdcConf = join(dir, 'kdc.conf');
  // kadmind/kpasswd are never started, but kdc.conf must not point them at default ports.
  await writeFile(
    kdcConf,
    `[kdcdefaults]
    kdc_listen = 127.0.0.1:${port}
    kdc_tcp_listen = 127.0.0.1:${port}
[realms]
    ${realm} = {
        database_name = ${dir}/principal
        key_stash_file = ${dir}/stash
        acl_file = ${dir}/kadm5.acl
        max_life = 24h 0m 0s
        max_renewable_life = 7d 0h 0m 0s
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }
[logging]
    kdc = FILE:${dir}/kdc.log
    default = FILE:${dir}/krb5libs.log
`,
  );
  // Canonicalization off: the service principal is exactly kafka/<host the client dialled>
  // (spec §2.3), independent of this machine's hosts file and reverse DNS.
  await writeFile(
    krb5Conf,
    `[libdefaults]
    default_realm = ${realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    ticket_lifetime = 24h
    forwardable = true
[realms]
    ${realm} = {
        kdc = 127.0.0.1:${port}
    }
[domain_realm]
    localhost = ${realm}
    .localhost = ${realm}
`,
  );
  await writeFile(join(dir, 'kadm5.acl'), `*/admin@${realm} *\n`);
  const env = { ...process.env, KRB5_CONFIG: krb5Conf, KRB5_KDC_PROFILE: kdcConf };
  await run(tool('kdb5_util'), ['create', '-s', '-r', realm, '-P', 'throwaway-master-pw'], {
    env,
  });
  const kadmin = async (q: string) => run(tool('kadmin.local'), ['-r', realm, '-q', q], { env });

  const serviceHost = opts.serviceHost ?? 'localhost';
  const service = {
    principal: `kafka/${serviceHost}@${realm}`,
    keytab: join(dir, 'kafka.keytab'),
  };
  await kadmin(`addprinc -randkey ${service.principal}`);
  await kadmin(`ktadd -k ${service.keytab} ${service.principal}`);
  const clients: KdcFacts['clients'] = {};
  for (const name of opts.clients ?? ['sluice-a', 'sluice-b']) {
    const entry = { principal: `${name}@${realm}`, keytab: join(dir, `${name}.keytab`) };
    await kadmin(`addprinc -randkey ${entry.principal}`);
    await kadmin(`ktadd -k ${entry.keytab} ${entry.principal}`);
    clients[name] = entry;
  }
  const stale = { principal: `sluice-stale@${realm}`, keytab: join(dir, 'sluice-stale.keytab') };
  await kadmin(`addprinc -randkey ${stale.principal}`);
  await kadmin(`ktadd -k ${stale.keytab} ${stale.principal}`);
  await kadmin(`cpw -randkey ${stale.principal}`); // the exported keytab is now stale

  const proc = spawnGroup(tool('krb5kdc'), ['-n', '-r', realm], {
    env,
    logFile: join(dir, 'krb5kdc.out'),
  });
  await writeFile(join(dir, 'kdc.pid'), String(proc.pid));
  // Ready when a keytab login succeeds (kinit from krb5-user) — proves UDP/TCP serving.
  const kinit = tool('kinit');
  const first = Object.values(clients)[0] ?? service;
  let lastErr: unknown;
  for (let i = 0; i < 100; i++) {
    if (!groupAlive(proc.pid)) {
      const out = await readFile(join(dir, 'krb5kdc.out'), 'utf8').catch(() => '');
      throw new Error(`krb5kdc exited during start-up:\n${out}`);
    }
    try {
      await run(kinit, ['-k', '-t', first.keytab, first.principal], {
        env: { ...env, KRB5CCNAME: `FILE:${join(dir, 'probe.cc')}` },
        timeoutMs: 10_000,
      });
      return {
        realm,
        port,
        krb5Conf,
        kdcConf,
        dir,
        pid: proc.pid,
        service,
        clients,
        stale,
      };
    } catch (err) {
      lastErr = err;
      await delay(100);
    }
  }
  await stopGroup(proc.pid);
  throw new Error(`KDC did not become ready: ${String(lastErr)}`);
}

export async function stopKdc(facts: Pick<KdcFacts, 'pid'>): Promise<void> {
  await stopGroup(facts.pid, 5_000);
}
