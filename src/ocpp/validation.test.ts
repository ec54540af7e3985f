import { describe, expect, it } from 'vitest';

import { createPayloadValidator } from './validation.js';

describe('createPayloadValidator (official 1.6 schemas)', () => {
  const v = createPayloadValidator('detailed');
  const boot = { chargePointVendor: 'ACME', chargePointModel: 'W22' };
  it('accepts valid payloads, including security whitepaper actions', () => {
    expect(v.call('BootNotification', boot)).toBeNull();
    expect(v.call('SignCertificate', { csr: 'x' })).toBeNull();
    expect(
      v.result('BootNotification', {
        status: 'Accepted',
        currentTime: '2024-05-14T08:00:00Z',
        interval: 300,
      }),
    ).toBeNull();
    // 600 characters: over the OCA 500 limit, within typed-ocpp's pragmatic 2,048 for certificates.
    expect(v.call('ChangeConfiguration', { key: 'Cert', value: 'x'.repeat(600) })).toBeNull();
  });
  it.each([
    ['BootNotification', { chargePointVendor: 'ACME' }, 'OccurenceConstraintViolation'],
    [
      'BootNotification',
      { ...boot, chargePointVendor: 'x'.repeat(21) },
      'PropertyConstraintViolation',
    ],
    [
      'StatusNotification',
      { connectorId: '1', errorCode: 'NoError', status: 'Available' },
      'TypeConstraintViolation',
    ],
    [
      'StatusNotification',
      { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: 'yesterday' },
      'PropertyConstraintViolation',
    ],
    ['BootNotification', { ...boot, extra: true }, 'FormationViolation'],
    ['NoSuchAction', {}, 'NotImplemented'],
  ])('%s %j → %s', (action, payload, code) => {
    expect(v.call(action, payload)?.code).toBe(code);
  });
  it('formation_violation mode answers every schema failure with FormationViolation', () => {
    const f = createPayloadValidator('formation_violation');
    expect(f.call('BootNotification', { chargePointVendor: 'ACME' })?.code).toBe(
      'FormationViolation',
    );
    expect(f.call('NoSuchAction', {})?.code).toBe('NotImplemented');
  });
  it('a result for an action without a schema is not checked', () => {
    expect(v.result('NoSuchAction', { anything: 1 })).toBeNull();
  });
  it('date-time needs a zone unless accept_date_time_without_zone', () => {
    const status = {
      connectorId: 1,
      errorCode: 'NoError',
      status: 'Available',
      timestamp: '2024-05-14T08:10:05',
    };
    expect(v.call('StatusNotification', status)?.code).toBe('PropertyConstraintViolation');
    const lenient = createPayloadValidator('detailed', { acceptDateTimeWithoutZone: true });
    expect(lenient.call('StatusNotification', status)).toBeNull();
    expect(
      lenient.call('StatusNotification', { ...status, timestamp: '2024-05-14T08:10:05+10:00' }),
    ).toBeNull();
    expect(
      lenient.call('StatusNotification', { ...status, timestamp: '2024-05-14 08:10' })?.code,
    ).toBe('PropertyConstraintViolation');
  });
});
