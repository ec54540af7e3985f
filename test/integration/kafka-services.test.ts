/**
 * The test services themselves (scripts/services): the broker answers on every listener with
 * the right authentication, and the KDC-backed GSSAPI listener works for an independent client
 * (Debian's kcat/librdkafka + Cyrus SASL GSSAPI).
 */
import { describe, it, expect, inject } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';

const services = inject('services');

function kcat(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('kcat', args, { env, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

async function brokersVia(bootstrap: string, sasl?: SASLOptions): Promise<number> {
  const admin = new Kafka({
    clientId: 'services-test',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    ...(sasl ? { sasl } : {}),
  }).admin();
  await admin.connect();
  try {
    return (await admin.describeCluster()).brokers.length;
  } finally {
    await admin.disconnect();
  }
}

describe('test services', () => {
  const k = services.kafka;

  it('serves PLAINTEXT on an ephemeral 127.0.0.1 port', async () => {
    expect(k.plaintext).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await brokersVia(k.plaintext)).toBe(1);
  });

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'] as const)(
    'accepts %s on the SASL listener',
    async (mechanism) => {
      const cred = mechanism === 'plain' ? k.plain : k.scram;
      expect(
        await brokersVia(k.sasl, {
          mechanism,
          username: cred.username,
          password: cred.password,
        } as SASLOptions),
      ).toBe(1);
    },
  );

  it('rejects a wrong SCRAM password', async () => {
    await expect(
      brokersVia(k.sasl, { mechanism: 'scram-sha-256', username: 'sluice', password: 'nope' }),
    ).rejects.toThrow(/authentication failed|SASL/i);
  });

  it('accepts GSSAPI from kcat (librdkafka + Cyrus SASL) with a keytab', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'kcat-'));
    try {
      const client = services.kdc.clients['kcat'];
      expect(client).toBeDefined();
      const out = await kcat(
        [
          '-b',
          k.gssapi,
          '-L',
          '-J',
          '-X',
          'security.protocol=SASL_PLAINTEXT',
          '-X',
          'sasl.mechanisms=GSSAPI',
          '-X',
          'sasl.kerberos.service.name=kafka',
          '-X',
          `sasl.kerberos.keytab=${client!.keytab}`,
          '-X',
          `sasl.kerberos.principal=${client!.principal}`,
        ],
        {
          ...process.env,
          KRB5_CONFIG: services.kdc.krb5Conf,
          KRB5CCNAME: `FILE:${join(tmp, 'cc')}`,
        },
      );
      const meta = JSON.parse(out) as { brokers: { name: string }[] };
      expect(meta.brokers.map((b) => b.name)).toEqual([k.gssapi]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
