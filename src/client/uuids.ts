// The UUIDs the synthetic system tables hand out: name-based ids for the proxy nodes (stable across
// restarts, different per address) and time-based ids for now().

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { formatUuid } from '../protocol/reader.js';

/**
 * RFC 4122 §4.3 style name-based UUID, version 3: the MD5 of the name with the version and variant
 * bits set. Like cql-proxy, the name is hashed alone, with no namespace UUID in front.
 */
export function nameBasedUuid(name: string): string {
  const bytes = createHash('md5').update(name, 'utf8').digest();
  bytes.writeUInt8((bytes.readUInt8(6) & 0x0f) | 0x30, 6);
  bytes.writeUInt8((bytes.readUInt8(8) & 0x3f) | 0x80, 8);
  return formatUuid(bytes);
}

/** 100-ns intervals between the Gregorian reform (1582-10-15) and the Unix epoch. */
const GREGORIAN_OFFSET_MS = 12_219_292_800_000n;
const TICKS_PER_MS = 10_000n;

// One clock sequence and node id per process, random (RFC 4122 §4.5: multicast bit set on a
// random node id so it cannot clash with a real MAC address).
const NODE = randomBytes(6);
NODE.writeUInt8(NODE.readUInt8(0) | 0x01, 0);
const CLOCK_SEQUENCE = randomBytes(2).readUInt16BE(0) & 0x3fff;

let lastMs = -1;
let ticksInMs = 0;

/**
 * A version 1 (time-based) UUID for `ms`. Calls within one millisecond use successive 100-ns ticks,
 * so ids made by this process never repeat while fewer than 10,000 are made per millisecond.
 */
export function timeUuid(ms: number = Date.now()): string {
  if (ms === lastMs) {
    ticksInMs = Math.min(ticksInMs + 1, 9_999);
  } else {
    lastMs = ms;
    ticksInMs = 0;
  }
  const ticks = (BigInt(ms) + GREGORIAN_OFFSET_MS) * TICKS_PER_MS + BigInt(ticksInMs);
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUInt32BE(Number(ticks & 0xffffffffn), 0);
  bytes.writeUInt16BE(Number((ticks >> 32n) & 0xffffn), 4);
  bytes.writeUInt16BE(Number((ticks >> 48n) & 0x0fffn) | 0x1000, 6);
  bytes.writeUInt16BE(CLOCK_SEQUENCE | 0x8000, 8);
  NODE.copy(bytes, 10);
  return formatUuid(bytes);
}

/** The millisecond timestamp a version 1 UUID carries. */
export function timeUuidMs(uuid: string): number {
  const hex = uuid.replace(/-/g, '');
  const timeLow = BigInt(`0x${hex.slice(0, 8)}`);
  const timeMid = BigInt(`0x${hex.slice(8, 12)}`);
  const timeHigh = BigInt(`0x${hex.slice(12, 16)}`) & 0x0fffn;
  const ticks = (timeHigh << 48n) | (timeMid << 32n) | timeLow;
  return Number(ticks / TICKS_PER_MS - GREGORIAN_OFFSET_MS);
}

export function randomUuid(): string {
  return randomUUID();
}
