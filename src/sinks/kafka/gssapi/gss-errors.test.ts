import { describe, it, expect } from 'vitest';
import { mapGssError } from './gss-errors.js';

const ctx = {
  sink: 's',
  principal: 'app@EX.TEST',
  service: 'kafka/10.0.0.5',
  host: '10.0.0.5:9092',
};

describe('GSS failure text → error codes (MIT krb5 messages)', () => {
  it.each([
    [
      "Miscellaneous failure (see text): Cannot contact any KDC for realm 'EX.TEST'",
      'kafka_gssapi_kdc_unreachable',
    ],
    ['Miscellaneous failure (see text): Clock skew too great', 'kafka_gssapi_clock_skew'],
    [
      'Miscellaneous failure (see text): Server kafka/10.0.0.5@EX.TEST not found in Kerberos database',
      'kafka_gssapi_unknown_service',
    ],
    [
      "Miscellaneous failure (see text): Client 'ghost@EX.TEST' not found in Kerberos database",
      'kafka_gssapi_unknown_principal',
    ],
    ['Miscellaneous failure (see text): Preauthentication failed', 'kafka_gssapi_bad_keytab'],
    [
      "No credentials were supplied, or the credentials were unavailable or inaccessible: Can't find client principal app@EX.TEST in cache collection",
      'kafka_gssapi_bad_keytab',
    ],
    ['Unspecified GSS failure.  Minor code may provide more information', 'kafka_gssapi_failed'],
  ])('%s → %s', (text, code) => {
    const e = mapGssError(new Error(text), ctx);
    expect(e.code).toBe(code);
    expect(e.message).toContain(text);
    expect(e.context).toMatchObject({ sink: 's', principal: 'app@EX.TEST' });
  });

  it('explains the host mapping for an unknown service principal', () => {
    const e = mapGssError(
      new Error('Server kafka/10.0.0.5@EX.TEST not found in Kerberos database'),
      ctx,
    );
    expect(e.message).toContain('kerberos_service_host');
    expect(e.message).toContain('10.0.0.5:9092');
  });
});
