/**
 * The calendar engine behind the date functions (see datetime.ts for the rules): units,
 * offsets, civil-date arithmetic (proleptic Gregorian, any year), `format_date` rendering,
 * positional `date_to_unix_ts` parsing and RFC 3339. Epochs are bigints in their unit.
 */
import type { Value } from '../../core/index.js';
import type { FunctionServices } from './registry.js';
import { badArg } from './registry.js';
import { show } from './util.js';

export const UNITS = {
  second: 1n,
  millisecond: 1000n,
  microsecond: 1_000_000n,
  nanosecond: 1_000_000_000n,
};
export type Unit = keyof typeof UNITS;

export function timeUnit(v: Value): Unit {
  const s = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : undefined;
  if (s !== undefined && Object.hasOwn(UNITS, s)) return s as Unit;
  return badArg(
    `invalid time unit ${show(v)}: expected second, millisecond, microsecond or nanosecond`,
  );
}

/** Floor division for bigints. */
export function fdiv(a: bigint, b: bigint): bigint {
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

export function localOffset(services: FunctionServices, ms: number): number {
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
export type FmtPart = string | { readonly d: Directive };

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

export const NO_SERVICES: FunctionServices = {
  now: () => 0,
  kvStore: new Map(),
  getenv: () => undefined,
  node: '',
};
