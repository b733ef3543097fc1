// The syntax of option values: durations, sizes, booleans, integers, host:port. Used by the
// command-line parser (parse.ts) and re-exported by schema.ts.

import { isIP } from 'node:net';

// Each reader returns the value or throws ValueError with the reason only; the
// caller adds which option and which source (flag, environment variable, file) it came from.

export class ValueError extends Error {
  override name = 'ValueError';
}

const DURATION_UNITS_NS: ReadonlyMap<string, number> = new Map([
  ['ns', 1],
  ['us', 1e3],
  ['\u00b5s', 1e3], // µs (micro sign)
  ['\u03bcs', 1e3], // μs (Greek mu), both accepted by Go
  ['ms', 1e6],
  ['s', 1e9],
  ['m', 60e9],
  ['h', 3600e9],
]);
const DURATION_PART = /^(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/;
/** setTimeout clamps anything longer to 1 ms, so longer durations would silently misfire. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * A Go duration string (time.ParseDuration, what cql-proxy accepts): an optional sign, then one
 * or more decimal numbers each with a unit ns, us, µs, ms, s, m, h, e.g. `10s`, `1m30s`, `1.5h`.
 * A bare number is refused (Go accepts only `0`): `60` could mean seconds or milliseconds, and a
 * guess would be wrong for someone. Returns nanoseconds (a float: 596h fits well within 2^53).
 */
export function parseDurationNs(text: string): number {
  let rest = text.trim();
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new ValueError('expected a duration such as 500ms, 10s, 1m30s or 1h');
  if (/^\d+(\.\d*)?$/.test(rest)) {
    throw new ValueError(`a duration needs a unit, e.g. ${rest}s or ${rest}ms`);
  }
  let ns = 0;
  let parts = 0;
  while (rest.length > 0) {
    const m = DURATION_PART.exec(rest);
    const whole = m?.[1] ?? '';
    const frac = m?.[2] ?? '';
    if (m === null || (whole === '' && frac === '')) {
      throw new ValueError('expected a duration such as 500ms, 10s, 1m30s or 1h');
    }
    const unit = DURATION_UNITS_NS.get(m[3] ?? '') ?? 0;
    ns += Number(`${whole === '' ? '0' : whole}.${frac === '' ? '0' : frac}`) * unit;
    rest = rest.slice(m[0].length);
    parts += 1;
  }
  if (parts === 0) throw new ValueError('expected a duration such as 500ms, 10s, 1m30s or 1h');
  return sign * ns;
}

/** Shows a millisecond count back the way a user writes it (for messages). */
export function formatDurationMs(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const SIZE_UNITS: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['b', 1],
  ['kib', 1024],
  ['mib', 1024 ** 2],
  ['gib', 1024 ** 3],
]);

/** A byte count: a whole number of bytes, or with a binary unit B, KiB, MiB, GiB (any case), as Cassandra writes them. */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = SIZE_UNITS.get((m?.[2] ?? '').toLowerCase());
  if (m === null || unit === undefined) {
    throw new ValueError('expected a size such as 256MiB, 512KiB or a number of bytes');
  }
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) throw new ValueError('too large');
  return bytes;
}

export function formatSize(bytes: number): string {
  for (const [unit, factor] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}`;
}

/** Go's strconv.ParseBool (what cql-proxy's environment variables accept), plus yes/no/on/off, any case. */
export function parseBoolean(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (['1', 't', 'true', 'yes', 'y', 'on'].includes(t)) return true;
  if (['0', 'f', 'false', 'no', 'n', 'off'].includes(t)) return false;
  throw new ValueError('expected true or false');
}

export function parseInteger(text: string, min: number, max: number): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) {
    throw new ValueError(
      max === Number.MAX_SAFE_INTEGER
        ? `expected an integer of at least ${min}`
        : `expected an integer from ${min} to ${max}`,
    );
  }
  const n = Number(t);
  if (n < min || n > max) {
    throw new ValueError(
      max === Number.MAX_SAFE_INTEGER ? `must be at least ${min}` : `must be from ${min} to ${max}`,
    );
  }
  return n;
}

/** A DNS name as it may appear in an address (letters, digits, `-`, `_`, dots). */
function isHostname(text: string): boolean {
  return (
    text.length <= 253 &&
    /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(
      text,
    ) &&
    !/^\d+$/.test(text)
  );
}

export function isHost(text: string): boolean {
  return isIP(text) !== 0 || isHostname(text);
}

export interface HostPort {
  host: string;
  port: number;
}

/**
 * `host:port`, `[ipv6]:port`, or a host alone (gets `defaultPort`: cql-proxy's maybeAddPort does
 * this for IPs; host names get it too). `:port` means every interface when `emptyHost` is given
 * (Go's listen semantics, which cql-proxy inherits), and is refused otherwise.
 */
export function parseHostPort(
  text: string,
  defaultPort: number,
  options: { emptyHost?: string; minPort: number },
): HostPort {
  const t = text.trim();
  const expected = options.emptyHost === undefined ? 'host[:port]' : 'host:port, :port or an IP';
  const port = (p: string): number => {
    if (!/^\d{1,5}$/.test(p) || Number(p) < options.minPort || Number(p) > 65535) {
      throw new ValueError(`port must be from ${options.minPort} to 65535`);
    }
    return Number(p);
  };
  if (t.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(t);
    if (m === null || isIP(m[1] ?? '') !== 6) {
      throw new ValueError(`expected ${expected} (IPv6 as [addr]:port)`);
    }
    return { host: m[1] ?? '', port: m[2] === undefined ? defaultPort : port(m[2]) };
  }
  if (isIP(t) !== 0) return { host: t, port: defaultPort };
  if (/^\d+$/.test(t)) {
    throw new ValueError(
      options.emptyHost === undefined
        ? `expected ${expected}`
        : `expected ${expected} (did you mean ':${t}'?)`,
    );
  }
  const colon = t.lastIndexOf(':');
  if (colon === -1) {
    if (!isHostname(t)) throw new ValueError(`expected ${expected}`);
    return { host: t, port: defaultPort };
  }
  const host = t.slice(0, colon);
  if (host.includes(':'))
    throw new ValueError('an IPv6 address with a port needs brackets: [addr]:port');
  if (host === '') {
    if (options.emptyHost === undefined) throw new ValueError(`expected ${expected}`);
    return { host: options.emptyHost, port: port(t.slice(colon + 1)) };
  }
  if (!isHost(host)) throw new ValueError(`expected ${expected}`);
  return { host, port: port(t.slice(colon + 1)) };
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
