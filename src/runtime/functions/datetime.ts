/**
 * Date and time, spec §8.10 (EMQX `emqx_rule_funcs` date functions and `emqx_utils_calendar`).
 *
 * - Units: `second` (default), `millisecond`, `microsecond`, `nanosecond`; anything else fails.
 * - Offsets: `Z`/`z`, `±HH:MM`, `±HH:MM:SS`, `±HHMM`, `local` (the server zone at that
 *   instant, from `services.localOffsetSeconds`), an integer number of seconds, or undefined
 *   (= 0). Offset math is plain addition of seconds: no DST rules apply to fixed offsets.
 * - `format_date` directives: `%Y %m %d %H %M %S %N %3N %6N %z %:z %::z`; other text is copied.
 * - `date_to_unix_ts` parses positionally as EMQX does: each directive reads a fixed width
 *   (`%Y` 4, `%m %d %H %M %S` 2, `%3N` 3, `%6N` 6, `%N` 9, `%z` 5, `%:z` 6, `%::z` 9) and each
 *   literal character of the format skips one character of the input without comparing it
 *   (so `-` and `:` are interchangeable). Year and month are required; day defaults to 1 and
 *   the time to 00:00:00. Invalid dates (Feb 30, month 13, hour 24) are errors.
 * Epoch arithmetic is done in bigint so nanosecond values stay exact.
 */
import type { Value } from '../../core/index.js';
import type {
  CallContext,
  FunctionDef,
  FunctionImpl,
  FunctionServices,
  MaybeConstant,
} from './registry.js';
import {
  NO_SERVICES,
  UNITS,
  fdiv,
  formatDate,
  fromRfc3339,
  localOffset,
  offsetSeconds,
  parseDate,
  parseDateFormat,
  timeUnit,
  toRfc3339,
} from './calendar.js';
import type { FmtPart, Unit } from './calendar.js';
import { fromBigInt, needBigInt, needText } from './util.js';

const FAMILY = 'date';

/** A literal offset resolved at rule creation; undefined when it must be read per call. */
function literalOffset(v: MaybeConstant | undefined): number | undefined {
  if (v === undefined || typeof v === 'symbol') return undefined;
  if (v === 'local' || (Buffer.isBuffer(v) && v.toString() === 'local')) return undefined;
  return offsetSeconds(v, NO_SERVICES, 0);
}

function literalUnit(v: MaybeConstant | undefined): Unit | undefined {
  return v === undefined || typeof v === 'symbol' ? undefined : timeUnit(v);
}

/** Current time in `unit` (the clock has millisecond resolution). */
function nowIn(services: FunctionServices, unit: Unit): bigint {
  return (BigInt(Math.trunc(services.now())) * UNITS[unit]) / 1000n;
}

function epochToMs(epoch: bigint, unit: Unit): number {
  return Number(fdiv(epoch * 1000n, UNITS[unit]));
}

function unitArg(args: readonly Value[], i: number): Unit {
  return i < args.length ? timeUnit(args[i]) : 'second';
}

export const dateFunctions: readonly FunctionDef[] = [
  {
    name: 'now_timestamp',
    effects: true,
    family: FAMILY,
    arity: { min: 0, max: 1 },
    signature: 'now_timestamp([Unit])',
    description: 'The current Unix time in Unit (default second).',
    examples: [
      { sql: 'now_timestamp()', result: '1700000000' },
      { sql: "now_timestamp('millisecond')", result: '1700000000123' },
    ],
    impl: (args, ctx) => fromBigInt(nowIn(ctx.services, unitArg(args, 0))),
  },
  {
    name: 'now_rfc3339',
    effects: true,
    family: FAMILY,
    arity: { min: 0, max: 1 },
    signature: 'now_rfc3339([Unit])',
    description:
      "The current time as RFC 3339 text in the server's local offset; Unit (default second) sets the fraction digits.",
    examples: [
      { sql: 'now_rfc3339()', result: '"2023-11-14T22:13:20+00:00"' },
      { sql: "now_rfc3339('millisecond')", result: '"2023-11-14T22:13:20.123+00:00"' },
    ],
    impl: (args, ctx) => {
      const unit = unitArg(args, 0);
      const ms = ctx.services.now();
      return toRfc3339(nowIn(ctx.services, unit), unit, localOffset(ctx.services, ms));
    },
  },
  {
    name: 'unix_ts_to_rfc3339',
    family: FAMILY,
    arity: { min: 1, max: 2 },
    signature: 'unix_ts_to_rfc3339(Epoch[, Unit])',
    description:
      "RFC 3339 text of an integer Unix time in Unit (default second), in the server's local offset.",
    examples: [
      { sql: 'unix_ts_to_rfc3339(0)', result: '"1970-01-01T00:00:00+00:00"' },
      {
        sql: "unix_ts_to_rfc3339(1700000000123, 'millisecond')",
        result: '"2023-11-14T22:13:20.123+00:00"',
      },
    ],
    impl: (args, ctx) => {
      const unit = unitArg(args, 1);
      const epoch = needBigInt(args[0], 'Epoch');
      return toRfc3339(epoch, unit, localOffset(ctx.services, epochToMs(epoch, unit)));
    },
  },
  {
    name: 'rfc3339_to_unix_ts',
    family: FAMILY,
    arity: { min: 1, max: 2 },
    signature: 'rfc3339_to_unix_ts(Text[, Unit])',
    description:
      'Unix time in Unit (default second) of RFC 3339 text (offset required; fraction truncated to Unit).',
    examples: [
      { sql: "rfc3339_to_unix_ts('2022-01-01T08:00:00+08:00')", result: '1640995200' },
      { sql: "rfc3339_to_unix_ts('1970-01-01T00:00:01.5Z', 'millisecond')", result: '1500' },
    ],
    impl: (args) => fromBigInt(fromRfc3339(needText(args[0], 'Text'), unitArg(args, 1))),
    pure: true,
  },
  {
    name: 'format_date',
    family: FAMILY,
    arity: { min: 3, max: 4 },
    signature: 'format_date(Unit, Offset, Format[, Epoch])',
    description:
      'Format Epoch (in Unit; default now) at Offset with the directives `%Y %m %d %H %M %S`, `%N` (nanoseconds, 9 digits), `%3N`, `%6N`, `%z` (+hhmm), `%:z` (+hh:mm), `%::z` (+hh:mm:ss); other text is copied.',
    examples: [
      {
        sql: "format_date('second', '+08:00', '%Y-%m-%d %H:%M:%S%:z', 0)",
        result: '"1970-01-01 08:00:00+08:00"',
      },
      {
        sql: "format_date('millisecond', -3600, '%Y%m%dT%H%M%S.%3N%z', 1700000000123)",
        result: '"20231114T211320.123-0100"',
      },
      {
        sql: "format_date('nanosecond', 'Z', '%6N|%N|%::z', 1500000001)",
        result: '"500000|500000001|+00:00:00"',
      },
    ],
    impl: (args, ctx) =>
      formatDateCall(parseDateFormat(needText(args[2], 'Format')), undefined, undefined, args, ctx),
    specialize: ([unit, offset, fmt]) => {
      if (typeof fmt === 'symbol') return undefined;
      const parts = parseDateFormat(needText(fmt, 'Format'));
      return formatDateCall.bind(null, parts, literalUnit(unit), literalOffset(offset));
    },
  },
  {
    name: 'date_to_unix_ts',
    family: FAMILY,
    arity: { min: 3, max: 4 },
    signature: 'date_to_unix_ts(Unit, [Offset, ]Format, Text)',
    description:
      'Parse Text with Format (directives as in `format_date`, read positionally; `-` and `:` interchangeable) into Unix time in Unit. Without an offset directive the text is UTC; the 4-argument form also subtracts Offset.',
    examples: [
      {
        sql: "date_to_unix_ts('second', '%Y-%m-%d %H:%M:%S', '2022-05-26 10:40:12')",
        result: '1653561612',
      },
      {
        sql: "date_to_unix_ts('second', '%Y-%m-%d %H-%M-%S', '2022-05-26 10:40:12')",
        result: '1653561612',
      },
      {
        sql: "date_to_unix_ts('millisecond', '+08:00', '%Y-%m-%d %H:%M:%S.%3N', '2022-05-26 18:40:12.345')",
        result: '1653561612345',
      },
      {
        sql: "date_to_unix_ts('second', '%Y-%m-%dT%H:%M:%S%:z', '2022-05-26T18:40:12+08:00')",
        result: '1653561612',
      },
    ],
    impl: (args, ctx) => {
      const four = args.length === 4;
      const parts = parseDateFormat(needText(args[four ? 2 : 1], 'Format'));
      return dateToUnix(parts, undefined, undefined, args, ctx);
    },
    specialize: (args): FunctionImpl | undefined => {
      const four = args.length === 4;
      const fmt = args[four ? 2 : 1];
      if (fmt === undefined || typeof fmt === 'symbol') return undefined;
      const parts = parseDateFormat(needText(fmt, 'Format'));
      const offset = four ? literalOffset(args[1]) : 0;
      return dateToUnix.bind(null, parts, literalUnit(args[0]), offset);
    },
  },
  {
    name: 'timezone_to_offset_seconds',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'timezone_to_offset_seconds(Offset)',
    description:
      "Seconds east of UTC of an offset (`'Z'`, `'+HH:MM'`, `'+HH:MM:SS'`, `'+HHMM'`, `'local'`, integer seconds).",
    examples: [
      { sql: "timezone_to_offset_seconds('+05:30')", result: '19800' },
      { sql: "timezone_to_offset_seconds('-0800')", result: '-28800' },
      { sql: "timezone_to_offset_seconds('Z')", result: '0' },
    ],
    impl: (args, ctx) => offsetSeconds(args[0], ctx.services, ctx.services.now()),
    specialize: ([offset]) => {
      const fixed = literalOffset(offset);
      return fixed === undefined ? undefined : () => fixed;
    },
  },
  {
    name: 'timezone_to_second',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'timezone_to_second(Offset)',
    description: 'The 4.x name of `timezone_to_offset_seconds`.',
    examples: [{ sql: "timezone_to_second('+01:00:30')", result: '3630' }],
    impl: (args, ctx) => offsetSeconds(args[0], ctx.services, ctx.services.now()),
    specialize: ([offset]) => {
      const fixed = literalOffset(offset);
      return fixed === undefined ? undefined : () => fixed;
    },
  },
  {
    name: 'mongo_date',
    family: FAMILY,
    arity: { min: 0, max: 2 },
    signature: 'mongo_date([Ms]) | mongo_date(Ts, Unit)',
    description:
      'A MongoDB date for the given time (default now) — rendered as `ISODate(<RFC 3339 UTC, milliseconds>)` text, as EMQX shows it outside a MongoDB action.',
    examples: [
      { sql: 'mongo_date(0)', result: '"ISODate(1970-01-01T00:00:00.000Z)"' },
      { sql: "mongo_date(1700000000, 'second')", result: '"ISODate(2023-11-14T22:13:20.000Z)"' },
    ],
    impl: (args, ctx) => {
      let ms: bigint;
      if (args.length === 0) ms = BigInt(Math.trunc(ctx.services.now()));
      else if (args.length === 1) ms = needBigInt(args[0], 'Ms');
      else {
        const unit = timeUnit(args[1]);
        ms = fdiv(needBigInt(args[0], 'Ts') * 1000n, UNITS[unit]);
      }
      const text = formatDate(ms, 'millisecond', 0, parseDateFormat('%Y-%m-%dT%H:%M:%S.%3N'));
      return `ISODate(${text}Z)`;
    },
  },
];

function formatDateCall(
  parts: readonly FmtPart[],
  fixedUnit: Unit | undefined,
  fixedOffset: number | undefined,
  args: readonly Value[],
  ctx: CallContext,
): Value {
  const unit = fixedUnit ?? timeUnit(args[0]);
  const epoch = args.length > 3 ? needBigInt(args[3], 'Epoch') : nowIn(ctx.services, unit);
  const offset = fixedOffset ?? offsetSeconds(args[1], ctx.services, epochToMs(epoch, unit));
  return formatDate(epoch, unit, offset, parts);
}

function dateToUnix(
  parts: readonly FmtPart[],
  fixedUnit: Unit | undefined,
  fixedOffset: number | undefined,
  args: readonly Value[],
  ctx: CallContext,
): Value {
  const unit = fixedUnit ?? timeUnit(args[0]);
  const four = args.length === 4;
  const text = needText(args[four ? 3 : 2], 'Text');
  let epoch = parseDate(text, parts, unit, ctx.services);
  if (four) {
    const off = fixedOffset ?? offsetSeconds(args[1], ctx.services, epochToMs(epoch, unit));
    epoch -= BigInt(off) * UNITS[unit];
  }
  return fromBigInt(epoch);
}
