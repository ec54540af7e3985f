import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { badArg, both, call, callSpecialized, makeCtx } from './test-helpers.js';

const NOW = Date.UTC(2024, 1, 29, 23, 59, 58, 765); // 2024-02-29T23:59:58.765Z (leap day)
const ctx = (offsetSeconds = 0) =>
  makeCtx({ services: { now: () => NOW, localOffsetSeconds: () => offsetSeconds } });

describe('units and offsets', () => {
  it('rejects unknown units everywhere', () => {
    badArg('now_timestamp', ['minute'], 'invalid time unit');
    badArg('format_date', ['hour', 'Z', '%Y'], 'invalid time unit');
    badArg('rfc3339_to_unix_ts', ['1970-01-01T00:00:00Z', 'sec']);
    badArg('date_to_unix_ts', [1, '%Y', '2020']);
  });
  it('timezone_to_offset_seconds understands every offset form', () => {
    const c = ctx(7200);
    const table: [unknown, number][] = [
      ['Z', 0],
      ['z', 0],
      ['+00:00', 0],
      ['+08:00', 28800],
      ['-03:30', -12600],
      ['+01:00:30', 3630],
      ['-0530', -19800],
      ['+8:00', 28800],
      [3600, 3600],
      [-60, -60],
      [undefined, 0],
      ['local', 7200],
    ];
    for (const [v, want] of table) {
      expect(call('timezone_to_offset_seconds', [v as never], c), String(v)).toBe(want);
      expect(call('timezone_to_second', [v as never], c)).toBe(want);
    }
  });
  it('rejects malformed or out-of-range offsets', () => {
    for (const v of ['+24:00', '+01:60', '+01:00:60', '08:00', '+0800x', 'UTC', '+8', null, 1.5])
      badArg('timezone_to_offset_seconds', [v as never], /offset/);
  });
});

describe('now_* functions use the injected clock and local offset', () => {
  it('now_timestamp in every unit', () => {
    expect(call('now_timestamp', [], ctx())).toBe(Math.floor(NOW / 1000));
    expect(call('now_timestamp', ['millisecond'], ctx())).toBe(NOW);
    expect(call('now_timestamp', ['microsecond'], ctx())).toBe(NOW * 1000);
    expect(call('now_timestamp', ['nanosecond'], ctx())).toBe(BigInt(NOW) * 1_000_000n);
  });
  it('now_rfc3339 with fraction digits per unit, in the local offset', () => {
    expect(call('now_rfc3339', [], ctx())).toBe('2024-02-29T23:59:58+00:00');
    expect(call('now_rfc3339', ['millisecond'], ctx(3600))).toBe('2024-03-01T00:59:58.765+01:00');
    expect(call('now_rfc3339', ['microsecond'], ctx(-36000))).toBe(
      '2024-02-29T13:59:58.765000-10:00',
    );
    expect(call('now_rfc3339', ['nanosecond'], ctx(19800))).toBe(
      '2024-03-01T05:29:58.765000000+05:30',
    );
  });
});

describe('unix_ts_to_rfc3339 / rfc3339_to_unix_ts', () => {
  it('converts in both directions', () => {
    expect(call('unix_ts_to_rfc3339', [1709251198], ctx())).toBe('2024-02-29T23:59:58+00:00');
    expect(call('unix_ts_to_rfc3339', [-1], ctx())).toBe('1969-12-31T23:59:59+00:00');
    expect(call('unix_ts_to_rfc3339', [1500, 'millisecond'], ctx(-3600))).toBe(
      '1969-12-31T23:00:01.500-01:00',
    );
    expect(call('rfc3339_to_unix_ts', ['2024-02-29T23:59:58.765+00:00', 'millisecond'])).toBe(NOW);
    expect(call('rfc3339_to_unix_ts', ['2024-03-01T05:29:58+05:30'])).toBe(Math.floor(NOW / 1000));
    expect(call('rfc3339_to_unix_ts', ['1970-01-01t00:00:00.123456789z', 'nanosecond'])).toBe(
      123456789,
    );
    expect(call('rfc3339_to_unix_ts', ['1970-01-01 00:00:00.9Z'])).toBe(0);
    expect(call('rfc3339_to_unix_ts', ['1969-12-31T23:59:59.5Z', 'millisecond'])).toBe(-500);
  });
  it('rejects invalid input', () => {
    badArg('unix_ts_to_rfc3339', [1.5]);
    badArg('unix_ts_to_rfc3339', ['0']);
    badArg('rfc3339_to_unix_ts', ['2024-02-30T00:00:00Z'], 'invalid');
    badArg('rfc3339_to_unix_ts', ['2024-01-01T00:00:00'], 'RFC 3339');
    badArg('rfc3339_to_unix_ts', ['2024-13-01T00:00:00Z']);
    badArg('rfc3339_to_unix_ts', [undefined]);
  });
});

describe('format_date', () => {
  it('renders every directive', () => {
    const epoch = 1709251198765432n * 1000n + 109n; // ns
    expect(
      both('format_date', [
        'nanosecond',
        '+05:30',
        '%Y/%m/%d %H:%M:%S.%3N.%6N.%N %z %:z %::z',
        epoch,
      ]),
    ).toBe('2024/03/01 05:29:58.765.765432.765432109 +0530 +05:30 +05:30:00');
  });
  it('keeps unknown directives and other text literally', () => {
    expect(both('format_date', ['second', 'Z', '%Y %Q %% 100%', 0])).toBe('1970 %Q %% 100%');
  });
  it('applies negative and second-precision offsets by plain arithmetic (no DST)', () => {
    expect(both('format_date', ['second', '-00:00:30', '%H:%M:%S%::z', 0])).toBe(
      '23:59:30-00:00:30',
    );
    // A fixed offset never jumps: the same offset on a US DST-change night.
    expect(both('format_date', ['second', '-05:00', '%Y-%m-%d %H:%M%:z', 1710054000])).toBe(
      '2024-03-10 02:00-05:00',
    );
    expect(both('format_date', ['second', 'local', '%H%z', 0], ctx(-7200))).toBe('22-0200');
  });
  it('pads years and handles dates before 1970', () => {
    expect(both('format_date', ['second', 'Z', '%Y-%m-%d', -62135596800])).toBe('0001-01-01');
    expect(both('format_date', ['millisecond', 'Z', '%Y-%m-%dT%H:%M:%S.%3N', -1])).toBe(
      '1969-12-31T23:59:59.999',
    );
  });
  it('defaults to now when no epoch is given', () => {
    expect(call('format_date', ['millisecond', 'Z', '%Y-%m-%d %3N'], ctx())).toBe('2024-02-29 765');
  });
  it('rejects bad offsets and epochs', () => {
    badArg('format_date', ['second', '+25:00', '%Y', 0], 'offset');
    badArg('format_date', ['second', 'Z', '%Y', 1.5]);
    badArg('format_date', ['second', 'Z', undefined, 0]);
  });
});

describe('date_to_unix_ts', () => {
  it('parses positionally, separators interchangeable', () => {
    expect(both('date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2024-02-29 23:59:58'])).toBe(
      1709251198,
    );
    expect(both('date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2024/02/29T23.59.58'])).toBe(
      1709251198,
    );
    expect(both('date_to_unix_ts', ['second', '%Y%m%d%H%M%S', '20240229235958'])).toBe(1709251198);
  });
  it('fractions set the precision and are converted to the unit', () => {
    expect(
      both('date_to_unix_ts', ['millisecond', '%Y-%m-%d %H:%M:%S.%3N', '2024-02-29 23:59:58.765']),
    ).toBe(NOW);
    expect(
      both('date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S.%3N', '2024-02-29 23:59:58.999']),
    ).toBe(1709251198);
    expect(
      both('date_to_unix_ts', [
        'nanosecond',
        '%Y-%m-%d %H:%M:%S.%6N',
        '1970-01-01 00:00:00.000001',
      ]),
    ).toBe(1000);
    expect(
      both('date_to_unix_ts', [
        'microsecond',
        '%Y-%m-%d %H:%M:%S.%N',
        '1970-01-01 00:00:01.000000999',
      ]),
    ).toBe(1000000);
  });
  it('honours offset directives and the 4-argument offset', () => {
    for (const [fmt, text] of [
      ['%Y-%m-%d %H:%M:%S%z', '2024-03-01 05:29:58+0530'],
      ['%Y-%m-%d %H:%M:%S%:z', '2024-03-01 05:29:58+05:30'],
      ['%Y-%m-%d %H:%M:%S%::z', '2024-03-01 05:29:58+05:30:00'],
    ])
      expect(both('date_to_unix_ts', ['second', fmt, text]), fmt).toBe(1709251198);
    expect(
      both('date_to_unix_ts', ['second', '+05:30', '%Y-%m-%d %H:%M:%S', '2024-03-01 05:29:58']),
    ).toBe(1709251198);
    expect(
      both('date_to_unix_ts', ['second', -3600, '%Y-%m-%d %H:%M:%S', '2024-02-29 22:59:58']),
    ).toBe(1709251198);
    expect(
      both(
        'date_to_unix_ts',
        ['second', 'local', '%Y-%m-%d %H:%M:%S', '2024-02-29 23:59:58'],
        ctx(0),
      ),
    ).toBe(1709251198);
  });
  it('date-only formats default the time to midnight', () => {
    expect(both('date_to_unix_ts', ['second', '%Y-%m-%d', '2024-02-29'])).toBe(1709164800);
  });
  it('rejects invalid dates, missing year/month, short or non-numeric text', () => {
    badArg('date_to_unix_ts', ['second', '%Y-%m-%d', '2023-02-29'], 'invalid date');
    badArg('date_to_unix_ts', ['second', '%Y-%m-%d', '2024-13-01'], 'invalid date');
    badArg('date_to_unix_ts', ['second', '%Y-%m-%d %H', '2024-01-01 24'], 'invalid date');
    badArg('date_to_unix_ts', ['second', '%d/%H', '01/02'], 'year and month');
    badArg('date_to_unix_ts', ['second', '%Y-%m-%d', '2024-1-1'], /too short|not a number/);
    badArg('date_to_unix_ts', ['second', '%Y-%m', '20x4-01'], 'not a number');
    badArg('date_to_unix_ts', ['second', '%Y-%m-%d', undefined]);
  });
  it('format_date and date_to_unix_ts are inverse for any instant and offset', () => {
    const fmt = '%Y-%m-%dT%H:%M:%S.%N%::z';
    fc.assert(
      fc.property(
        // Keep the local date within years 1970..9999 (4-digit %Y) for any offset.
        fc.bigInt({
          min: 86_400n * 1_000_000_000n,
          max: (253402300799n - 86_400n) * 1_000_000_000n,
        }),
        fc.integer({ min: -86399, max: 86399 }),
        (ns, offset) => {
          const text = call('format_date', ['nanosecond', offset, fmt, ns]) as string;
          const back = callSpecialized('date_to_unix_ts', ['nanosecond', fmt, text], [0, 1]);
          expect(BigInt(back as number | bigint)).toBe(ns);
        },
      ),
    );
  });
});

describe('mongo_date', () => {
  it('renders ISODate text for every form', () => {
    expect(call('mongo_date', [], ctx())).toBe('ISODate(2024-02-29T23:59:58.765Z)');
    expect(call('mongo_date', [NOW])).toBe('ISODate(2024-02-29T23:59:58.765Z)');
    expect(call('mongo_date', [1709251198765432, 'microsecond'])).toBe(
      'ISODate(2024-02-29T23:59:58.765Z)',
    );
    badArg('mongo_date', [1, 'week']);
    badArg('mongo_date', ['1']);
  });
});

describe('literal units, offsets and formats are resolved at rule creation', () => {
  it('bad literals fail in specialize, before any message', () => {
    expect(() => callSpecialized('format_date', ['second', '+99:00', '%Y', 0], [0, 1, 2])).toThrow(
      /offset/,
    );
    expect(() => callSpecialized('format_date', ['week', 'Z', '%Y', 0], [0, 1, 2])).toThrow(
      /time unit/,
    );
    expect(() =>
      callSpecialized('date_to_unix_ts', ['second', 'bogus', '%Y', '2020'], [0, 1, 2]),
    ).toThrow(/offset/);
    expect(() => callSpecialized('timezone_to_offset_seconds', ['+1'], [0])).toThrow(/offset/);
  });
  it("'local' is still read per call (the zone's offset can change)", () => {
    let offset = 3600;
    const c = makeCtx({ services: { now: () => NOW, localOffsetSeconds: () => offset } });
    expect(callSpecialized('format_date', ['second', 'local', '%H%z', 0], [0, 1, 2], c)).toBe(
      '01+0100',
    );
    expect(callSpecialized('timezone_to_offset_seconds', ['local'], [0], c)).toBe(3600);
    offset = -3600;
    expect(callSpecialized('format_date', ['second', 'local', '%H%z', 0], [0, 1, 2], c)).toBe(
      '23-0100',
    );
    expect(callSpecialized('timezone_to_offset_seconds', ['local'], [0], c)).toBe(-3600);
  });
  it('a non-literal offset or unit is read per call', () => {
    expect(callSpecialized('format_date', ['second', '+02:00', '%H', 0], [2])).toBe('02');
    expect(
      callSpecialized(
        'date_to_unix_ts',
        ['millisecond', 7200, '%Y-%m-%d %H', '1970-01-01 02'],
        [2],
      ),
    ).toBe(0);
  });
});
