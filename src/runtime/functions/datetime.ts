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
import { badArg } from './registry.js';
import { fromBigInt, needBigInt, needText, show } from './util.js';

const FAMILY = 'date';

const UNITS = {
  second: 1n,
  millisecond: 1000n,
  microsecond: 1_000_000n,
  nanosecond: 1_000_000_000n,
};
type Unit = keyof typeof UNITS;

export function timeUnit(v: Value): Unit {
  const s = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : undefined;
  if (s !== undefined && Object.hasOwn(UNITS, s)) return s as Unit;
  return badArg(
    `invalid time unit ${show(v)}: expected second, millisecond, microsecond or nanosecond`,
  );
}

/** Floor division for bigints. */
function fdiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}
function fmod(a: bigint, b: bigint): bigint {
  return a - fdiv(a, b) * b;
}

/** The process time zone's offset at `ms` (fallback when services do not say). */
function processOffset(ms: number): number {
  return -new Date(ms).getTimezoneOffset() * 60;
}

function localOffset(services: FunctionServices, ms: number): number {
  return services.localOffsetSeconds ? services.localOffsetSeconds(ms) : processOffset(ms);
}

/** Offset text → seconds; `local` needs the instant (ms) it applies to. */
export function offsetSeconds(v: Value, services: FunctionServices, atMs: number): number {
  if (v === undefined) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  const s = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : undefined;
  if (s === undefined) return badArg(`bad time offset ${show(v)}`);
  if (s === 'local') return localOffset(services, atMs);
  if (s === 'Z' || s === 'z') return 0;
  const m = /^([+-])(?:(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?|(\d{2})(\d{2}))$/.exec(s);
  if (!m)
    return badArg(
      `bad time offset ${show(s)}: expected Z, ±HH:MM, ±HH:MM:SS, ±HHMM, local or seconds`,
    );
  const h = Number(m[2] ?? m[5]);
  const mi = Number(m[3] ?? m[6]);
  const se = Number(m[4] ?? 0);
  if (h > 23 || mi > 59 || se > 59) return badArg(`bad time offset ${show(s)}: out of range`);
  return (m[1] === '-' ? -1 : 1) * (h * 3600 + mi * 60 + se);
}

/** Days since 1970-01-01 → civil date (proleptic Gregorian). */
function civil(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

/** Civil date → days since 1970-01-01. */
function daysFromCivil(y0: number, m: number, d: number): number {
  const y = m <= 2 ? y0 - 1 : y0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

const pad = (n: number | bigint, w: number): string => String(n).padStart(w, '0');

function zoneText(offset: number, colons: 0 | 1 | 2): string {
  const sign = offset >= 0 ? '+' : '-';
  const a = Math.abs(offset);
  const h = pad(Math.floor(a / 3600), 2);
  const m = pad(Math.floor((a % 3600) / 60), 2);
  const s = pad(a % 60, 2);
  return colons === 0
    ? `${sign}${h}${m}`
    : colons === 1
      ? `${sign}${h}:${m}`
      : `${sign}${h}:${m}:${s}`;
}

type Directive = 'Y' | 'm' | 'd' | 'H' | 'M' | 'S' | 'N' | '3N' | '6N' | 'z' | ':z' | '::z';
type FmtPart = string | { readonly d: Directive };

const DIRECTIVES: readonly Directive[] = [
  '::z',
  ':z',
  '3N',
  '6N',
  'Y',
  'm',
  'd',
  'H',
  'M',
  'S',
  'N',
  'z',
];

/** Parse a date format once; unknown `%x` sequences stay literal text (as in EMQX). */
export function parseDateFormat(fmt: string): FmtPart[] {
  const out: FmtPart[] = [];
  let lit = '';
  for (let i = 0; i < fmt.length;) {
    if (fmt[i] === '%') {
      const d = DIRECTIVES.find((x) => fmt.startsWith(x, i + 1));
      if (d) {
        if (lit) out.push(lit);
        lit = '';
        out.push({ d });
        i += 1 + d.length;
        continue;
      }
    }
    lit += fmt[i];
    i++;
  }
  if (lit) out.push(lit);
  return out;
}

/** Render an epoch (in `unit`) with a fixed offset in seconds. */
export function formatDate(
  epoch: bigint,
  unit: Unit,
  offset: number,
  parts: readonly FmtPart[],
): string {
  const factor = UNITS[unit];
  const secs = fdiv(epoch, factor) + BigInt(offset);
  const frac = fmod(epoch, factor); // sub-second part in `unit`
  const nanos = (frac * 1_000_000_000n) / factor;
  const days = Number(fdiv(secs, 86400n));
  const sod = Number(fmod(secs, 86400n));
  const { y, m, d } = civil(days);
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    switch (p.d) {
      case 'Y':
        out += y < 0 ? '-' + pad(-y, 4) : pad(y, 4);
        break;
      case 'm':
        out += pad(m, 2);
        break;
      case 'd':
        out += pad(d, 2);
        break;
      case 'H':
        out += pad(Math.floor(sod / 3600), 2);
        break;
      case 'M':
        out += pad(Math.floor((sod % 3600) / 60), 2);
        break;
      case 'S':
        out += pad(sod % 60, 2);
        break;
      case 'N':
        out += pad(nanos, 9);
        break;
      case '3N':
        out += pad(nanos / 1_000_000n, 3);
        break;
      case '6N':
        out += pad(nanos / 1000n, 6);
        break;
      case 'z':
        out += zoneText(offset, 0);
        break;
      case ':z':
        out += zoneText(offset, 1);
        break;
      case '::z':
        out += zoneText(offset, 2);
        break;
    }
  }
  return out;
}

const WIDTH: Record<Directive, number> = {
  Y: 4,
  m: 2,
  d: 2,
  H: 2,
  M: 2,
  S: 2,
  N: 9,
  '3N': 3,
  '6N': 6,
  z: 5,
  ':z': 6,
  '::z': 9,
};

/** Parse `text` with a parsed format (positional, see the module comment) → epoch in `unit`. */
export function parseDate(
  text: string,
  parts: readonly FmtPart[],
  unit: Unit,
  services: FunctionServices,
): bigint {
  const f: Partial<Record<Directive, number>> = {};
  let zone = 0;
  let i = 0;
  for (const p of parts) {
    if (i >= text.length) break;
    if (typeof p === 'string') {
      i += p.length;
      continue;
    }
    const w = WIDTH[p.d];
    const piece = text.slice(i, i + w);
    if (piece.length < w)
      return badArg(`date_to_unix_ts: ${show(text)} is too short for the format`);
    i += w;
    if (p.d === 'z' || p.d === ':z' || p.d === '::z') {
      zone = offsetSeconds(piece, services, 0);
      continue;
    }
    if (!/^[+-]?\d+$/.test(piece))
      return badArg(`date_to_unix_ts: ${show(piece)} is not a number in ${show(text)}`);
    f[p.d] = Number(piece);
  }
  const y = f.Y;
  const mo = f.m;
  if (y === undefined || mo === undefined)
    return badArg(`date_to_unix_ts: year and month are required in ${show(text)}`);
  const d = f.d ?? 1;
  const h = f.H ?? 0;
  const mi = f.M ?? 0;
  const s = f.S ?? 0;
  if (
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > daysInMonth(y, mo) ||
    h > 23 ||
    mi > 59 ||
    s > 59 ||
    h < 0 ||
    mi < 0 ||
    s < 0
  )
    return badArg(`date_to_unix_ts: invalid date ${show(text)}`);
  const secs = BigInt(daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - zone);
  let nanos = 0n;
  if (f.N !== undefined) nanos += BigInt(f.N);
  if (f['6N'] !== undefined) nanos += BigInt(f['6N']) * 1000n;
  if (f['3N'] !== undefined) nanos += BigInt(f['3N']) * 1_000_000n;
  return fdiv(secs * 1_000_000_000n + nanos, 1_000_000_000n / UNITS[unit]);
}

/** RFC 3339 text of an epoch in `unit` at a fixed offset (fraction digits per unit). */
export function toRfc3339(epoch: bigint, unit: Unit, offset: number): string {
  const frac =
    unit === 'second'
      ? ''
      : unit === 'millisecond'
        ? '.%3N'
        : unit === 'microsecond'
          ? '.%6N'
          : '.%N';
  return formatDate(epoch, unit, offset, parseDateFormat(`%Y-%m-%dT%H:%M:%S${frac}%:z`));
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

export function fromRfc3339(text: string, unit: Unit): bigint {
  const m = RFC3339.exec(text);
  if (!m) return badArg(`rfc3339_to_unix_ts: not an RFC 3339 date-time: ${show(text)}`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 60)
    return badArg(`rfc3339_to_unix_ts: invalid date-time ${show(text)}`);
  const zone = m[8] === 'Z' || m[8] === 'z' ? 0 : offsetSeconds(m[8] as string, NO_SERVICES, 0);
  const secs = BigInt(daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - zone);
  const fracDigits = (m[7] ?? '').slice(0, 9).padEnd(9, '0');
  const nanos = BigInt(fracDigits);
  return fdiv(secs * 1_000_000_000n + nanos, 1_000_000_000n / UNITS[unit]);
}

const NO_SERVICES: FunctionServices = {
  now: () => 0,
  kvStore: new Map(),
  getenv: () => undefined,
  node: '',
};

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
