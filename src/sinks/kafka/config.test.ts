import { describe, it, expect } from 'vitest';
import { validate, SluiceError, silentLogger } from '../../core/index.js';
import { kafkaSpec } from './config.js';
import type { KafkaSinkConfig } from './config.js';
import { checkKafkaConfig, createKafkaSink } from './sink.js';
import { parseBootstrapHosts } from './client-options.js';

const cfg = (input: Record<string, unknown>): KafkaSinkConfig => {
  const v = validate<KafkaSinkConfig>(kafkaSpec, { bootstrap_hosts: 'h', topic: 't', ...input });
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.value;
};
const invalid = (input: Record<string, unknown>): SluiceError => {
  try {
    checkKafkaConfig(cfg(input));
  } catch (err) {
    return err as SluiceError;
  }
  throw new Error('expected kafka_config_invalid');
};

describe('Kafka sink config', () => {
  it('applies EMQX-like defaults', () => {
    const c = cfg({});
    expect(c).toMatchObject({
      message: { key: '${clientid}', value: '${.}', timestamp: '${timestamp}' },
      partition_strategy: 'random',
      acks: 'all',
      compression: 'none',
      authentication: { mechanism: 'none', kerberos_service_name: 'kafka' },
      ssl: { enable: false, verify: true },
    });
  });

  it('rejects unknown fields and bad enums with the field path', () => {
    const v = validate(kafkaSpec, { bootstrap_hosts: 'h', topic: 't', acks: 'some', bogus: 1 });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.issues.map((i) => i.path).sort()).toEqual(['acks', 'bogus']);
  });

  it('bootstrap hosts: default port 9092, commas and spaces', () => {
    expect(parseBootstrapHosts(' a:1, b ,c:9093')).toEqual(['a:1', 'b:9092', 'c:9093']);
    expect(invalid({ bootstrap_hosts: ' , ' }).code).toBe('kafka_config_invalid');
  });

  it('cross-field checks', () => {
    expect(
      invalid({ authentication: { mechanism: 'scram_sha_256', username: 'u' } }).message,
    ).toMatch(/needs username and password/);
    expect(
      invalid({ authentication: { mechanism: 'gssapi', kerberos_principal: 'p@R' } }).message,
    ).toMatch(/go together/);
    expect(
      invalid({ partition_strategy: 'key_dispatch', message: { key: 'const' } }).message,
    ).toMatch(/key_dispatch/);
    expect(invalid({ ssl: { enable: true, ca_file: '/nonexistent/ca.pem' } }).message).toMatch(
      /ca_file/,
    );
    expect(invalid({ kafka_headers: '${a}${b}' }).message).toMatch(
      /kafka_headers: must be a single/,
    );
    expect(invalid({ trace_context_headers: 'x${a}' }).message).toMatch(/trace_context_headers/);
    expect(() =>
      checkKafkaConfig(cfg({ kafka_headers: "${pub_props.'User-Property'}" })),
    ).not.toThrow();
  });

  it('gssapi without the kerberos package fails the start with an actionable message', async () => {
    const sink = createKafkaSink(
      {
        logger: silentLogger,
        now: Date.now,
        loadKerberos: () => {
          throw new SluiceError(
            'kafka_gssapi_unavailable',
            'install libkrb5-dev then npm rebuild kerberos',
          );
        },
      },
      cfg({ authentication: { mechanism: 'gssapi' } }),
      's',
    );
    await expect(sink.connect()).rejects.toMatchObject({ code: 'kafka_gssapi_unavailable' });
  });
});
