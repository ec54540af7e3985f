/**
 * The GSSAPI provider's RFC 4752 exchange and kafkajs framing, against a scripted fake of the
 * `kerberos` module and a scripted broker (the real exchange runs in
 * test/integration/kafka-sink.test.ts against a real KDC and broker).
 */
import { describe, it, expect } from 'vitest';
import type { AuthenticationProviderArgs, SaslAuthenticateArgs } from 'kafkajs';
import type { SluiceError } from '../../../core/index.js';
import { silentLogger } from '../../../core/index.js';
import { createGssapiMechanism } from './provider.js';
import type { KerberosClient, KerberosModule } from './kerberos-module.js';

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');

interface Script {
  /** What the fake GSS client returns from step(): [token, completesContext]. */
  steps: [string, boolean][];
  offer: Buffer;
  failInit?: Error;
}

function fakeKerberos(script: Script, log: string[]): KerberosModule {
  return {
    GSS_MECH_OID_KRB5: 9,
    GSS_C_MUTUAL_FLAG: 2,
    GSS_C_SEQUENCE_FLAG: 8,
    initializeClient: async (service, options) => {
      log.push(`init ${service} ${options?.principal ?? '-'} mech=${options?.mechOID}`);
      if (script.failInit) throw script.failInit;
      let i = 0;
      const client: KerberosClient = {
        contextComplete: false,
        username: '',
        step: async (challenge) => {
          log.push(`step ${Buffer.from(challenge, 'base64').toString()}`);
          const [tok, done] = script.steps[i++] ?? ['', true];
          client.contextComplete = done;
          return tok ? b64(tok) : '';
        },
        unwrap: async (challenge) => {
          log.push(`unwrap ${Buffer.from(challenge, 'base64').toString()}`);
          return b64(script.offer);
        },
        wrap: async (challenge, opts) => {
          log.push(
            `wrap ${Buffer.from(challenge, 'base64').toString('hex')} user=${JSON.stringify(opts?.user)}`,
          );
          return b64('WRAPPED-REPLY');
        },
      };
      return client;
    },
  };
}

/** A broker answering SaslAuthenticate requests from a script; records what it received. */
function fakeBroker(answers: (string | Error)[], received: Buffer[]) {
  let i = 0;
  return async <T>({ request, response }: SaslAuthenticateArgs<T>): Promise<T | void> => {
    const body = (await request.encode()) as Buffer;
    // kafkajs writes encode() verbatim: our provider must have put the int32 length in front.
    expect(body.readInt32BE(0)).toBe(body.length - 4);
    received.push(body.subarray(4));
    const a = answers[i++] ?? '';
    if (a instanceof Error) throw a;
    const raw = Buffer.alloc(4 + a.length);
    raw.writeInt32BE(a.length, 0);
    raw.write(a, 4);
    if (!response) return;
    return response.parse(await response.decode(raw));
  };
}

function run(
  script: Script,
  answers: (string | Error)[],
  extra: Partial<Parameters<typeof createGssapiMechanism>[0]> = {},
) {
  const log: string[] = [];
  const received: Buffer[] = [];
  let auths = 0;
  const failures: SluiceError[] = [];
  const mech = createGssapiMechanism({
    kerberos: fakeKerberos(script, log),
    sink: 's',
    serviceName: 'kafka',
    principal: 'app@EX.TEST',
    logger: silentLogger,
    onAuthenticated: () => auths++,
    onFailure: (e) => failures.push(e),
    ...extra,
  });
  const args = {
    host: 'broker-1.ex.test',
    port: 9093,
    logger: {} as AuthenticationProviderArgs['logger'],
    saslAuthenticate: fakeBroker(
      answers,
      received,
    ) as AuthenticationProviderArgs['saslAuthenticate'],
  };
  return {
    log,
    received,
    failures,
    auths: () => auths,
    go: () => mech.authenticationProvider(args).authenticate(),
    mech,
    args,
  };
}

const OFFER = Buffer.from([0x01, 0x01, 0x00, 0x00]); // no security layer, max 65536

describe('GSSAPI provider (RFC 4752 over kafkajs SaslAuthenticate)', () => {
  it('mutual auth: AP-REQ, AP-REP, empty token, unwrap offer, wrap reply', async () => {
    const t = run(
      {
        steps: [
          ['AP-REQ', false],
          ['', true],
        ],
        offer: OFFER,
      },
      ['AP-REP', 'WRAPPED-OFFER', ''],
    );
    await t.go();
    expect(t.log).toEqual([
      'init kafka@broker-1.ex.test app@EX.TEST mech=9',
      'step ',
      'step AP-REP',
      'unwrap WRAPPED-OFFER',
      'wrap 01010000 user=""',
    ]);
    expect(t.received.map((b) => b.toString())).toEqual(['AP-REQ', '', 'WRAPPED-REPLY']);
    expect(t.auths()).toBe(1);
  });

  it('without mutual auth the broker answers the first token with the offer', async () => {
    const t = run({ steps: [['AP-REQ', true]], offer: OFFER }, ['WRAPPED-OFFER', '']);
    await t.go();
    expect(t.received.map((b) => b.toString())).toEqual(['AP-REQ', 'WRAPPED-REPLY']);
  });

  it('builds a fresh GSS context on every call (re-authentication, several connections)', async () => {
    const t = run({ steps: [['AP-REQ', true]], offer: OFFER }, [
      'WRAPPED-OFFER',
      '',
      'WRAPPED-OFFER',
      '',
    ]);
    await t.go();
    await t.mech.authenticationProvider(t.args).authenticate();
    expect(t.log.filter((l) => l.startsWith('init'))).toHaveLength(2);
    expect(t.auths()).toBe(2);
  });

  it('service host override and authorization id', async () => {
    const t = run({ steps: [['AP-REQ', true]], offer: OFFER }, ['WRAPPED-OFFER', ''], {
      serviceHost: 'kafka.lb.ex.test',
      serviceName: 'svc',
      authorizationId: 'app@EX.TEST',
    });
    await t.go();
    expect(t.log[0]).toBe('init svc@kafka.lb.ex.test app@EX.TEST mech=9');
    expect(t.log.at(-1)).toBe('wrap 01010000 user="app@EX.TEST"');
  });

  it('refuses an offer without "no security layer"', async () => {
    const t = run({ steps: [['AP-REQ', true]], offer: Buffer.from([0x04, 0, 0, 0]) }, [
      'WRAPPED-OFFER',
    ]);
    await expect(t.go()).rejects.toMatchObject({ code: 'kafka_gssapi_failed' });
    expect(t.log.some((l) => l.startsWith('wrap'))).toBe(false);
    expect(t.failures).toHaveLength(1);
  });

  it('a broker refusal becomes kafka_gssapi_rejected with the broker text', async () => {
    const t = run({ steps: [['AP-REQ', true]], offer: OFFER }, [
      new Error('SASL authentication failed: Checksum failed'),
    ]);
    const err = (await t.go().catch((e: unknown) => e)) as SluiceError;
    expect(err.code).toBe('kafka_gssapi_rejected');
    expect(err.message).toContain('Checksum failed');
    expect(err.message).toContain('broker-1.ex.test:9093');
  });

  it('GSS failures are classified (KDC unreachable)', async () => {
    const t = run(
      {
        steps: [],
        offer: OFFER,
        failInit: new Error(
          "Miscellaneous failure (see text): Cannot contact any KDC for realm 'EX.TEST'",
        ),
      },
      [],
    );
    await expect(t.go()).rejects.toMatchObject({
      code: 'kafka_gssapi_kdc_unreachable',
      retriable: true,
    });
  });
});
