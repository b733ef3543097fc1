// The syntax of values that belong to one option each (--protocol-version, --astra-api-url,
// --workers ...). Like values.ts, each reader returns the value or throws ValueError with the
// reason only; parse.ts adds which option and which source it came from.

import { availableParallelism } from 'node:os';
import { MIN_FRAME_LENGTH_LIMIT } from '../client/config.js';
import { Consistency, ProtocolVersion, parseConsistency } from '../protocol/constants.js';
import {
  LOG_LEVELS,
  ValueError,
  formatSize,
  isHost,
  parseInteger,
  parseSize,
  type LogLevel,
} from './schema.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseDatabaseId(text: string): string {
  if (!UUID.test(text))
    throw new ValueError('expected a UUID such as 3f1c2e6a-0d4b-4a8e-9d7e-5b8f0c1a2b3c');
  return text;
}

const VERSION_NAMES: ReadonlyMap<string, number> = new Map([
  ['3', ProtocolVersion.V3],
  ['v3', ProtocolVersion.V3],
  ['4', ProtocolVersion.V4],
  ['v4', ProtocolVersion.V4],
  ['5', ProtocolVersion.V5],
  ['v5', ProtocolVersion.V5],
  ['65', ProtocolVersion.DSE_V1],
  ['dsev1', ProtocolVersion.DSE_V1],
  // cql-proxy maps dsev2 to DSE v1 by mistake (§1 "Bugs"); this is DSE v2.
  ['66', ProtocolVersion.DSE_V2],
  ['dsev2', ProtocolVersion.DSE_V2],
]);

export function parseProtocolVersion(text: string): number {
  const version = VERSION_NAMES.get(text.toLowerCase());
  if (version === undefined)
    throw new ValueError('expected v3, v4, v5, dsev1 or dsev2 (or 3, 4, 5, 65, 66)');
  return version;
}

const CONSISTENCY_LIST = Object.keys(Consistency).join(', ');

export function parseConsistencyName(text: string): number {
  // Names only, as cql-proxy: parseConsistency would also take the text of a number's key.
  const level = /^[a-z_]+$/i.test(text) ? parseConsistency(text) : undefined;
  if (level === undefined)
    throw new ValueError(`unknown consistency level (expected one of ${CONSISTENCY_LIST})`);
  return level;
}

export function parseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValueError('expected an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ValueError('expected an http(s) URL');
  return text.replace(/\/+$/, '');
}

/**
 * The DevOps API gets the token as a Bearer header, so plain http is refused unless the address
 * is loopback (the simulator, a local test server), where nothing crosses a network.
 */
export function parseApiUrl(text: string): string {
  const value = parseUrl(text);
  const url = new URL(value);
  if (url.protocol === 'http:' && !isLoopbackUrlHost(url.hostname)) {
    throw new ValueError(
      'plain http would send the token unencrypted; use https (http only to 127.0.0.0/8, ::1 or localhost)',
    );
  }
  return value;
}

/** URL has already normalised the host: IPv4 as dotted decimal, IPv6 in brackets, lower case. */
function isLoopbackUrlHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

export function parseHostName(text: string): string {
  if (!isHost(text)) throw new ValueError('expected an IP address or a host name');
  return text;
}

/** Node's names for the versions a client may be held to (tls.createServer minVersion). */
export function parseTlsVersion(text: string): 'TLSv1.2' | 'TLSv1.3' {
  const t = text.trim().toLowerCase();
  if (t === 'tlsv1.2' || t === '1.2') return 'TLSv1.2';
  if (t === 'tlsv1.3' || t === '1.3') return 'TLSv1.3';
  throw new ValueError('expected TLSv1.2 or TLSv1.3');
}

/** Frame size limits: the client side's own minimum, and 2 GiB (an int32 length). */
const MAX_FRAME = 2 * 1024 ** 3;

export function parseFrameSize(text: string): number {
  const bytes = parseSize(text);
  if (bytes < MIN_FRAME_LENGTH_LIMIT || bytes > MAX_FRAME) {
    throw new ValueError(
      `must be from ${formatSize(MIN_FRAME_LENGTH_LIMIT)} to ${formatSize(MAX_FRAME)}`,
    );
  }
  return bytes;
}

export function parsePositiveSize(text: string): number {
  const bytes = parseSize(text);
  if (bytes < 1) throw new ValueError('must be at least 1 byte');
  return bytes;
}

export function parseLogLevel(text: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === text.toLowerCase());
  if (level === undefined) throw new ValueError(`expected one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/** --workers: a count, or auto for one per CPU the process may use. */
export function parseWorkers(text: string): number {
  if (text.trim().toLowerCase() === 'auto') return Math.max(1, availableParallelism());
  return parseInteger(text, 1, MAX_WORKERS);
}

/** More processes than this is a typo, not a deployment. */
const MAX_WORKERS = 256;
