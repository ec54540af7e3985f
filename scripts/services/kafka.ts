/**
 * A real single-node Apache Kafka broker (KRaft, combined broker+controller) for the integration
 * tests and benchmarks, started from the Maven Central jars — no Docker, no tarball.
 * Shared spec kafka-gssapi.md §4.
 *
 * Jars: `mvn dependency:copy-dependencies` on scripts/services/kafka-pom.xml into
 * `.cache/kafka-<version>/libs` (with the Maven local repository in `.cache/m2`), once.
 *
 * Listeners, all bound to 127.0.0.1 on ports picked free at start time:
 *  - PLAINTEXT    — no auth; also the inter-broker listener.
 *  - SASL_GSSAPI  — SASL_PLAINTEXT with GSSAPI; ADVERTISED as `localhost` so clients ask the KDC
 *                   for `kafka/localhost@REALM` (spec §2.3 — never 127.0.0.1).
 *  - SASL_USERS   — SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (SCRAM users are
 *                   created by `kafka-storage format --add-scram`).
 *  - SSL          — TLS without client auth; a throwaway self-signed certificate for `localhost`
 *                   (made with the JDK's keytool), advertised as `localhost`; its PEM is `caFile`.
 *  - CONTROLLER   — KRaft controller, PLAINTEXT.
 *  - PROXIED      — only with `proxiedAdvertisedPort`: PLAINTEXT, advertised on that port (a
 *                   fault proxy listening there and forwarding to `proxied`), so clients that
 *                   bootstrap through the proxy also produce through it (bench/faults/).
 */
import { mkdir, writeFile, readFile, rename, rm, access } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { freeTcpPorts, run, spawnGroup, stopGroup, groupAlive, which } from './proc.js';

export const DEFAULT_KAFKA_VERSION = '3.9.1';
const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..');

export interface KafkaFacts {
  version: string;
  dir: string;
  /** PID (= process group id) of the running broker JVM; changes on restart. */
  pid: number;
  /** `127.0.0.1:port` — PLAINTEXT. */
  plaintext: string;
  /** `localhost:port` — SASL_PLAINTEXT/GSSAPI (host must stay `localhost`, see above). */
  gssapi: string;
  /** `127.0.0.1:port` — SASL_PLAINTEXT with PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512. */
  sasl: string;
  /** `localhost:port` — TLS (server certificate for `localhost`, trusted via `caFile`). */
  ssl: string;
  /** PEM of the broker's self-signed certificate (the CA to trust for `ssl`). */
  caFile: string;
  plain: { username: string; password: string };
  scram: { username: string; password: string };
  /** Broker log (stdout/stderr of the JVM). */
  logFile: string;
  /** `127.0.0.1:port` the PROXIED listener binds (advertised as `proxiedAdvertisedPort`). */
  proxied?: string;
}

export interface KafkaOptions {
  dir: string;
  krb5Conf: string;
  serviceKeytab: string;
  servicePrincipal: string;
  version?: string;
  /** JVM heap (default 512m). */
  heap?: string;
  /** GSSAPI session lifetime (connections.max.reauth.ms) so clients re-authenticate. */
  gssapiReauthMs?: number;
  /** Add a PLAINTEXT listener advertised on this 127.0.0.1 port (a fault proxy's). */
  proxiedAdvertisedPort?: number;
}

function requireTool(name: string, hint: string): string {
  const p = which(name);
  if (!p) throw new Error(`${name} not found on PATH: ${hint}`);
  return p;
}

/** Download the broker jars once (cached under .cache/). Returns the libs dir. */
export async function ensureKafkaJars(version = DEFAULT_KAFKA_VERSION): Promise<string> {
  const base = join(REPO_ROOT, '.cache', `kafka-${version}`);
  const libs = join(base, 'libs');
  try {
    await access(join(libs, '.complete'));
    return libs;
  } catch {
    /* fetch below */
  }
  const mvn = requireTool('mvn', 'install Maven (sudo bash scripts/install-system-deps.sh)');
  await mkdir(base, { recursive: true });
  const tmp = join(base, `libs.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await run(
    mvn,
    [
      '-B',
      '-q',
      '-f',
      join(here, 'kafka-pom.xml'),
      `-Dkafka.version=${version}`,
      `-Dmaven.repo.local=${join(REPO_ROOT, '.cache', 'm2')}`,
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
      `-DoutputDirectory=${tmp}`,
      '-DincludeScope=runtime',
    ],
    { timeoutMs: 15 * 60_000 },
  );
  await writeFile(join(tmp, '.complete'), new Date().toISOString());
  try {
    await rename(tmp, libs);
  } catch {
    // A parallel run won the race (or a partial dir exists): keep theirs if complete.
    try {
      await access(join(libs, '.complete'));
    } catch {
      await rm(libs, { recursive: true, force: true });
      await rename(tmp, libs);
      return libs;
    }
    await rm(tmp, { recursive: true, force: true });
  }
  return libs;
}

interface BrokerState {
  java: string;
  argv: string[];
  logFile: string;
  pidFile: string;
  plaintext: string;
}

const PLAIN = { username: 'sluice', password: 'sluice-plain-secret' };
const SCRAM = { username: 'sluice', password: 'sluice-scram-secret' };

export async function startKafka(opts: KafkaOptions): Promise<KafkaFacts> {
  const version = opts.version ?? DEFAULT_KAFKA_VERSION;
  const java = requireTool('java', 'install a Java 17 runtime (scripts/install-system-deps.sh)');
  const libs = await ensureKafkaJars(version);
  const dir = opts.dir;
  await mkdir(join(dir, 'data'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  const log4j = join(dir, 'log4j.properties');
  await writeFile(
    log4j,
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.request.logger=WARN',
      'log4j.logger.state.change.logger=WARN',
      'log4j.logger.org.apache.kafka.clients=WARN',
      '',
    ].join('\n'),
  );
  const cp = `${libs}/*`;
  const logOpt = `-Dlog4j.configuration=file:${log4j}`;
  const tls = await makeTlsMaterial(join(dir, 'tls'));

  // Ports are picked free now; if another process grabs one before the JVM binds it, the
  // broker exits with "Address already in use" and we retry with fresh ports.
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [pPlain, pCtl, pGss, pUsers, pSsl, pProxied] = (await freeTcpPorts(6)) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const proxied = opts.proxiedAdvertisedPort;
    const jaasGss =
      `com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true ` +
      `keyTab="${opts.serviceKeytab}" principal="${opts.servicePrincipal}";`;
    const props = [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${pCtl}`,
      'controller.listener.names=CONTROLLER',
      `listeners=PLAINTEXT://127.0.0.1:${pPlain},CONTROLLER://127.0.0.1:${pCtl},SASL_GSSAPI://127.0.0.1:${pGss},SASL_USERS://127.0.0.1:${pUsers},SSL://127.0.0.1:${pSsl}` +
        (proxied ? `,PROXIED://127.0.0.1:${pProxied}` : ''),
      `advertised.listeners=PLAINTEXT://127.0.0.1:${pPlain},SASL_GSSAPI://localhost:${pGss},SASL_USERS://127.0.0.1:${pUsers},SSL://localhost:${pSsl}` +
        (proxied ? `,PROXIED://127.0.0.1:${proxied}` : ''),
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_GSSAPI:SASL_PLAINTEXT,SASL_USERS:SASL_PLAINTEXT,SSL:SSL' +
        (proxied ? ',PROXIED:PLAINTEXT' : ''),
      `listener.name.ssl.ssl.keystore.location=${tls.keystore}`,
      `listener.name.ssl.ssl.keystore.password=${tls.password}`,
      `listener.name.ssl.ssl.key.password=${tls.password}`,
      'listener.name.ssl.ssl.keystore.type=PKCS12',
      'inter.broker.listener.name=PLAINTEXT',
      'sasl.enabled.mechanisms=GSSAPI',
      'sasl.kerberos.service.name=kafka',
      'listener.name.sasl_gssapi.sasl.enabled.mechanisms=GSSAPI',
      `listener.name.sasl_gssapi.gssapi.sasl.jaas.config=${jaasGss}`,
      `listener.name.sasl_gssapi.gssapi.connections.max.reauth.ms=${opts.gssapiReauthMs ?? 0}`,
      'listener.name.sasl_users.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      `listener.name.sasl_users.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${PLAIN.username}="${PLAIN.password}";`,
      'listener.name.sasl_users.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.sasl_users.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=3',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=4',
      'auto.create.topics.enable=true',
      'log.segment.bytes=67108864',
      'log.retention.bytes=268435456',
      'log.retention.check.interval.ms=60000',
      '',
    ].join('\n');
    const serverProps = join(dir, 'server.properties');
    await writeFile(serverProps, props);
    await rm(join(dir, 'data'), { recursive: true, force: true });
    // A base64url id may start with '-', which kafka-storage's argument parser takes for an
    // option ("argument --cluster-id/-t: expected one argument"): draw again (1 in 64 starts).
    let clusterId = randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
    await run(
      java,
      [
        logOpt,
        '-cp',
        cp,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        serverProps,
        '--ignore-formatted',
        '--add-scram',
        `SCRAM-SHA-256=[name=${SCRAM.username},password=${SCRAM.password}]`,
        '--add-scram',
        `SCRAM-SHA-512=[name=${SCRAM.username},password=${SCRAM.password}]`,
      ],
      { timeoutMs: 120_000 },
    );
    const state: BrokerState = {
      java,
      argv: [
        `-Xms256m`,
        `-Xmx${opts.heap ?? '512m'}`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-Djava.awt.headless=true',
        logOpt,
        `-Dkafka.logs.dir=${join(dir, 'logs')}`,
        `-Djava.security.krb5.conf=${opts.krb5Conf}`,
        '-cp',
        cp,
        'kafka.Kafka',
        serverProps,
      ],
      logFile: join(dir, 'broker.log'),
      pidFile: join(dir, 'broker.pid'),
      plaintext: `127.0.0.1:${pPlain}`,
    };
    await writeFile(join(dir, 'state.json'), JSON.stringify(state, null, 2));
    try {
      const pid = await launch(state);
      return {
        version,
        dir,
        pid,
        plaintext: `127.0.0.1:${pPlain}`,
        gssapi: `localhost:${pGss}`,
        sasl: `127.0.0.1:${pUsers}`,
        ssl: `localhost:${pSsl}`,
        caFile: tls.caFile,
        plain: PLAIN,
        scram: SCRAM,
        logFile: state.logFile,
        ...(proxied ? { proxied: `127.0.0.1:${pProxied}` } : {}),
      };
    } catch (err) {
      lastErr = err;
      const log = await readFile(state.logFile, 'utf8').catch(() => '');
      if (!/Address already in use|BindException/.test(log)) throw err;
    }
  }
  throw lastErr;
}

/** A self-signed `localhost` certificate in a PKCS12 keystore + its PEM (JDK keytool). */
async function makeTlsMaterial(
  dir: string,
): Promise<{ keystore: string; password: string; caFile: string }> {
  const keytool = requireTool(
    'keytool',
    'install a Java 17 runtime (scripts/install-system-deps.sh)',
  );
  await mkdir(dir, { recursive: true });
  const keystore = join(dir, 'broker.p12');
  const caFile = join(dir, 'ca.pem');
  const password = randomBytes(12).toString('hex');
  await rm(keystore, { force: true });
  await run(keytool, [
    '-genkeypair',
    '-alias',
    'broker',
    '-keyalg',
    'RSA',
    '-keysize',
    '2048',
    '-validity',
    '7',
    '-dname',
    'CN=localhost',
    '-ext',
    'SAN=dns:localhost,ip:127.0.0.1',
    '-keystore',
    keystore,
    '-storetype',
    'PKCS12',
    '-storepass',
    password,
    '-keypass',
    password,
  ]);
  await run(keytool, [
    '-exportcert',
    '-rfc',
    '-alias',
    'broker',
    '-keystore',
    keystore,
    '-storepass',
    password,
    '-file',
    caFile,
  ]);
  return { keystore, password, caFile };
}

/** Start the JVM described by `state` and wait until it answers metadata requests. */
async function launch(state: BrokerState, timeoutMs = 120_000): Promise<number> {
  const proc = spawnGroup(state.java, state.argv, { logFile: state.logFile });
  await writeFile(state.pidFile, String(proc.pid));
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (!groupAlive(proc.pid)) {
      const log = await readFile(state.logFile, 'utf8').catch(() => '');
      throw new Error(`Kafka broker exited during start-up; last log lines:\n${tail(log, 30)}`);
    }
    try {
      await probe(state.plaintext);
      return proc.pid;
    } catch (err) {
      lastErr = err;
      await delay(500);
    }
  }
  await stopGroup(proc.pid);
  const log = await readFile(state.logFile, 'utf8').catch(() => '');
  throw new Error(
    `Kafka broker not ready after ${timeoutMs} ms (${String(lastErr)}); log:\n${tail(log, 30)}`,
  );
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function probe(bootstrap: string): Promise<void> {
  const admin = new Kafka({
    clientId: 'sluice-services-probe',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.controller === null || cluster.controller < 0 || cluster.brokers.length === 0) {
      throw new Error('no controller yet');
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function currentPid(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, 'broker.pid'), 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Stop the broker of `dir` (SIGTERM to its process group; SIGKILL after the grace time). */
export async function stopKafka(dir: string, graceMs = 20_000): Promise<void> {
  const pid = await currentPid(dir);
  if (pid !== undefined) await stopGroup(pid, graceMs);
}

/** Start the (stopped) broker of `dir` again with the same ports and data; returns its pid. */
export async function restartKafka(dir: string): Promise<number> {
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as BrokerState;
  const pid = await currentPid(dir);
  if (pid !== undefined && groupAlive(pid)) throw new Error('broker is still running');
  return launch(state);
}
