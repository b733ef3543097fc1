// Text forms of the time types, converted to the values their wire encodings carry:
//   timestamp: ms since the epoch (spec v4 §6.20), from ISO 8601-ish text as Cassandra's
//     TimestampSerializer accepts it ('2024-01-02', '2024-01-02 03:04:05.678+0000', 'T', 'Z'),
//     or digits (ms); text without a zone is UTC (the simulator's default time zone).
//   date: days since the epoch with the epoch at 2^31, as an unsigned int (spec v4 §6.5),
//     from 'yyyy-mm-dd' or digits (the raw unsigned value).
//   time: ns since midnight (spec v4 §6.19) from 'hh:mm:ss[.fffffffff]' or digits.
//   duration: months, days, ns (spec v4 §6.5) from `1y2mo3w4d5h6m7s8ms9us10ns` or ISO 8601
//     `P1Y2M3DT4H5M6S` / `P2W`, with an optional leading minus.

const MS_PER_DAY = 86_400_000;
const EPOCH_DAY_OFFSET = 2 ** 31;
const NS_PER_DAY = 86_400_000_000_000n;

const TIMESTAMP =
  /^(-?\d{4,})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(z|Z|[+-]\d{2}(?::?\d{2})?)?$/;

function validDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return day <= d.getUTCDate();
}

/** ms since the epoch of a UTC calendar date and time, years below 100 included. */
function utcMillis(year: number, month: number, day: number, ms: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  return d.getTime() + ms;
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'z' || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 60 + minutes) * 60_000;
}

/** ms since the epoch, or undefined when the text is not a timestamp. */
export function parseTimestamp(text: string): bigint | undefined {
  const s = text.trim();
  if (/^-?\d+$/.test(s)) return BigInt(s);
  const m = TIMESTAMP.exec(s);
  if (m === null) return undefined;
  const [, y = '', mo = '', d = '', h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(sec);
  if (!validDay(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const time = ((hour * 60 + minute) * 60 + second) * 1000 + ms;
  return BigInt(utcMillis(year, month, day, time) - zoneOffsetMs(zone));
}

/** The unsigned day number (epoch at 2^31), or undefined. */
export function parseDate(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n <= 0xffffffff ? n : undefined;
  }
  const m = /^(-?\d{4,})-(\d{1,2})-(\d{1,2})$/.exec(s);
  if (m === null) return undefined;
  const [, y = '', mo = '', d = ''] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (!validDay(year, month, day)) return undefined;
  const days = Math.floor(utcMillis(year, month, day, 0) / MS_PER_DAY) + EPOCH_DAY_OFFSET;
  return days >= 0 && days <= 0xffffffff ? days : undefined;
}

/** ns since midnight, or undefined. */
export function parseTime(text: string): bigint | undefined {
  const s = text.trim();
  if (/^\d+$/.test(s)) {
    const n = BigInt(s);
    return n < NS_PER_DAY ? n : undefined;
  }
  const m = /^(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/.exec(s);
  if (m === null) return undefined;
  const [, h = '', mi = '', sec = '', frac = ''] = m;
  const hour = BigInt(h);
  const minute = BigInt(mi);
  const second = BigInt(sec);
  if (hour > 23n || minute > 59n || second > 59n) return undefined;
  const nanos = BigInt(frac.padEnd(9, '0'));
  return ((hour * 60n + minute) * 60n + second) * 1_000_000_000n + nanos;
}

export interface Duration {
  months: bigint;
  days: bigint;
  nanoseconds: bigint;
}

const NS_HOUR = 3_600_000_000_000n;
const NS_MINUTE = 60_000_000_000n;
const NS_SECOND = 1_000_000_000n;

const UNIT_NS: Readonly<Record<string, bigint>> = {
  h: NS_HOUR,
  m: NS_MINUTE,
  s: NS_SECOND,
  ms: 1_000_000n,
  us: 1_000n,
  µs: 1_000n,
  ns: 1n,
};

function unitDuration(body: string): Duration | undefined {
  const d: Duration = { months: 0n, days: 0n, nanoseconds: 0n };
  const re = /(\d+)(mo|ms|us|µs|ns|y|w|d|h|m|s)/giy;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (m === null) return undefined;
    const n = BigInt(m[1] ?? '0');
    const unit = (m[2] ?? '').toLowerCase();
    if (unit === 'y') d.months += n * 12n;
    else if (unit === 'mo') d.months += n;
    else if (unit === 'w') d.days += n * 7n;
    else if (unit === 'd') d.days += n;
    else d.nanoseconds += n * (UNIT_NS[unit] ?? 0n);
    pos = re.lastIndex;
  }
  return pos > 0 ? d : undefined;
}

const ISO = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i;

function isoDuration(body: string): Duration | undefined {
  const week = /^P(\d+)W$/i.exec(body);
  if (week !== null) return { months: 0n, days: BigInt(week[1] ?? '0') * 7n, nanoseconds: 0n };
  const m = ISO.exec(body);
  if (m === null || body.length < 2 || /T$/i.test(body)) return undefined;
  const n = (i: number): bigint => BigInt(m[i] ?? '0');
  return {
    months: n(1) * 12n + n(2),
    days: n(3),
    nanoseconds: n(4) * NS_HOUR + n(5) * NS_MINUTE + n(6) * NS_SECOND,
  };
}

const LONG_MAX = (1n << 63n) - 1n;
const INT_MAX = 0x7fffffffn;

export function parseDuration(text: string): Duration | undefined {
  const negative = text.startsWith('-');
  const body = negative ? text.slice(1) : text;
  const d = /^P/i.test(body) ? isoDuration(body) : unitDuration(body);
  if (d === undefined) return undefined;
  if (d.months > INT_MAX || d.days > INT_MAX || d.nanoseconds > LONG_MAX) return undefined;
  if (!negative) return d;
  return { months: -d.months, days: -d.days, nanoseconds: -d.nanoseconds };
}
