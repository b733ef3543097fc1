// Type-aware ordering of serialized values, as Cassandra's AbstractType comparators order them.
// Used for clustering order, set elements and map keys, and range restrictions.
//
// Choices, following Cassandra 4.0:
// - An empty value sorts before every other value of its type.
// - int, bigint, smallint, tinyint, counter, timestamp, time: signed numbers; varint and decimal
//   by numeric value; float and double as Java's Float/Double.compare (-0 < 0, NaN last).
// - date: the unsigned day number (epoch at 2^31), i.e. chronological.
// - text, ascii, blob, inet, duration, boolean: unsigned byte order (UTF-8 byte order for text).
// - timeuuid (TimeUUIDType): by the 60-bit timestamp, then the clock sequence and node bytes
//   compared as *signed* bytes.
// - uuid (UUIDType): by version first; version 1 uuids then by timestamp, others by their first
//   8 bytes unsigned; then the last 8 bytes unsigned.
// - frozen list/set: element by element, then the shorter first; map: key, value, key...;
//   tuple: component by component with null first, then the shorter first.

import { decodeVarint } from './numbers.js';
import type { SimType } from './types.js';

type Compare = (a: Buffer, b: Buffer) => number;

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Signed big-endian integers of equal length. */
function compareSignedFixed(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) return sign(a.length - b.length);
  const d = (((a[0] ?? 0) << 24) >> 24) - (((b[0] ?? 0) << 24) >> 24);
  return d !== 0 ? sign(d) : Buffer.compare(a.subarray(1), b.subarray(1));
}

/** Java's Float.compare / Double.compare: -0.0 < 0.0 and NaN above everything. */
function compareJavaFloat(x: number, y: number): number {
  if (x < y) return -1;
  if (x > y) return 1;
  const xNaN = Number.isNaN(x);
  const yNaN = Number.isNaN(y);
  if (xNaN || yNaN) return xNaN === yNaN ? 0 : xNaN ? 1 : -1;
  const xNeg = Object.is(x, -0);
  const yNeg = Object.is(y, -0);
  return xNeg === yNeg ? 0 : xNeg ? -1 : 1;
}

function compareDecimal(a: Buffer, b: Buffer): number {
  const scaleA = a.readInt32BE(0);
  const scaleB = b.readInt32BE(0);
  let ua = decodeVarint(a.subarray(4));
  let ub = decodeVarint(b.subarray(4));
  const diff = scaleA - scaleB;
  // Bring both to the larger scale; an absurd difference is decided by sign alone.
  if (Math.abs(diff) > 10_000) {
    const sa = compareBigint(ua, 0n);
    const sb = compareBigint(ub, 0n);
    if (sa !== sb) return sign(sa - sb);
    if (sa === 0) return 0;
    return diff > 0 ? -sa : sa;
  }
  if (diff > 0) ub *= 10n ** BigInt(diff);
  else if (diff < 0) ua *= 10n ** BigInt(-diff);
  return compareBigint(ua, ub);
}

/** TimeUUIDType.reorderTimestampBytes: time_hi, time_mid, time_low, most significant first. */
function timeuuidTimestamp(b: Buffer): bigint {
  const msb = b.readBigUInt64BE(0);
  return BigInt.asIntN(
    64,
    ((msb << 48n) | ((msb << 16n) & 0xffff00000000n) | (msb >> 32n)) & 0xffffffffffffffffn,
  );
}

function compareTimeuuid(a: Buffer, b: Buffer): number {
  const c = compareBigint(timeuuidTimestamp(a), timeuuidTimestamp(b));
  if (c !== 0) return c;
  for (let i = 8; i < 16; i++) {
    const d = (((a[i] ?? 0) << 24) >> 24) - (((b[i] ?? 0) << 24) >> 24);
    if (d !== 0) return sign(d);
  }
  return 0;
}

function compareUuid(a: Buffer, b: Buffer): number {
  const va = (a[6] ?? 0) >> 4;
  const vb = (b[6] ?? 0) >> 4;
  if (va !== vb) return sign(va - vb);
  if (va === 1) {
    const c = compareBigint(timeuuidTimestamp(a), timeuuidTimestamp(b));
    if (c !== 0) return c;
  } else {
    const c = Buffer.compare(a.subarray(0, 8), b.subarray(0, 8));
    if (c !== 0) return c;
  }
  return Buffer.compare(a.subarray(8), b.subarray(8));
}

/** Reads `[int] n` then n `[bytes]` (a collection cell, spec v4 §6.10-6.12). */
export function readCollectionItems(value: Buffer): (Buffer | null)[] {
  const n = value.readInt32BE(0);
  const out: (Buffer | null)[] = [];
  let pos = 4;
  for (let i = 0; i < n; i++) {
    const len = value.readInt32BE(pos);
    pos += 4;
    if (len < 0) {
      out.push(null);
      continue;
    }
    out.push(value.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

/** Reads the `[bytes]` components of a tuple value (spec v4 §6.23). */
function readTupleItems(value: Buffer): (Buffer | null)[] {
  const out: (Buffer | null)[] = [];
  let pos = 0;
  while (pos < value.length) {
    const len = value.readInt32BE(pos);
    pos += 4;
    if (len < 0) {
      out.push(null);
      continue;
    }
    out.push(value.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

function compareItems(
  xs: readonly (Buffer | null)[],
  ys: readonly (Buffer | null)[],
  typeAt: (i: number) => SimType | undefined,
): number {
  const n = Math.min(xs.length, ys.length);
  for (let i = 0; i < n; i++) {
    const x = xs[i] ?? null;
    const y = ys[i] ?? null;
    if (x === null || y === null) {
      if (x === y) continue;
      return x === null ? -1 : 1;
    }
    const type = typeAt(i);
    const c = type === undefined ? Buffer.compare(x, y) : compareValues(type, x, y);
    if (c !== 0) return c;
  }
  return sign(xs.length - ys.length);
}

function nativeComparator(name: string): Compare {
  switch (name) {
    case 'int':
    case 'bigint':
    case 'smallint':
    case 'tinyint':
    case 'counter':
    case 'timestamp':
    case 'time':
      return compareSignedFixed;
    case 'varint':
      return (a, b) => compareBigint(decodeVarint(a), decodeVarint(b));
    case 'decimal':
      return compareDecimal;
    case 'float':
      return (a, b) => compareJavaFloat(a.readFloatBE(0), b.readFloatBE(0));
    case 'double':
      return (a, b) => compareJavaFloat(a.readDoubleBE(0), b.readDoubleBE(0));
    case 'timeuuid':
      return compareTimeuuid;
    case 'uuid':
      return compareUuid;
    default:
      return (a, b) => Buffer.compare(a, b);
  }
}

/** Orders two non-null serialized values of `type`. */
export function compareValues(type: SimType, a: Buffer, b: Buffer): number {
  if (a.length === 0 || b.length === 0) return sign(a.length - b.length);
  switch (type.kind) {
    case 'native':
      return nativeComparator(type.name)(a, b);
    case 'list':
    case 'set':
      return compareItems(readCollectionItems(a), readCollectionItems(b), () => type.element);
    case 'map':
      return compareItems(readCollectionMapItems(a), readCollectionMapItems(b), (i) =>
        i % 2 === 0 ? type.key : type.value,
      );
    case 'tuple':
      return compareItems(readTupleItems(a), readTupleItems(b), (i) => type.elements[i]);
  }
}

/** A map cell as its flat key, value, key, value... items. */
export function readCollectionMapItems(value: Buffer): (Buffer | null)[] {
  const n = value.readInt32BE(0);
  const flat = Buffer.alloc(4);
  flat.writeInt32BE(n * 2, 0);
  return readCollectionItems(Buffer.concat([flat, value.subarray(4)]));
}
