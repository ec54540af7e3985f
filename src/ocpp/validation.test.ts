import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as SCHEMAS from 'typed-ocpp/dist/ocpp16/schemas.js';
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

describe('json_schema_dir (draft-04 files, EMQX layout)', () => {
  /** Official-style files: draft-04 `$schema`, `id` = prefix + name, EMQX file names. */
  function writeDir(files: Record<string, object>): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'ocpp-schemas-'));
    for (const [file, schema] of Object.entries(files))
      writeFileSync(path.join(dir, file), JSON.stringify(schema));
    return dir;
  }
  const draft04 = (name: keyof typeof SCHEMAS, id = true) => ({
    $schema: 'http://json-schema.org/draft-04/schema#',
    ...(id ? { id: `urn:OCPP:1.6:2019:12:${name}` } : {}),
    ...(SCHEMAS[name] as object),
  });

  it('checks against the files found, by id or file name; other actions are NotImplemented', () => {
    const dir = writeDir({
      'BootNotification.json': draft04('BootNotificationRequest'),
      'BootNotificationResponse.json': draft04('BootNotificationResponse'),
      'StatusNotification.json': draft04('StatusNotificationRequest', false),
    });
    try {
      const v = createPayloadValidator('detailed', { schemaDir: dir });
      expect(
        v.call('BootNotification', { chargePointVendor: 'A', chargePointModel: 'B' }),
      ).toBeNull();
      expect(v.call('BootNotification', { chargePointVendor: 'A' })?.code).toBe(
        'OccurenceConstraintViolation',
      );
      expect(
        v.result('BootNotification', {
          status: 'Maybe',
          currentTime: '2024-05-14T08:00:00Z',
          interval: 1,
        })?.code,
      ).toBe('PropertyConstraintViolation');
      expect(
        v.call('StatusNotification', {
          connectorId: '1',
          errorCode: 'NoError',
          status: 'Available',
        })?.code,
      ).toBe('TypeConstraintViolation');
      expect(v.call('Heartbeat', {})?.code).toBe('NotImplemented');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a broken file fails at construction with ocpp_schema_invalid', () => {
    const dir = writeDir({
      'Heartbeat.json': { type: 'object', properties: { a: { type: 'nonsense' } } },
    });
    try {
      expect(() => createPayloadValidator('detailed', { schemaDir: dir })).toThrow(
        expect.objectContaining({ code: 'ocpp_schema_invalid' }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
