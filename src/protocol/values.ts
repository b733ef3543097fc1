// Cell values (native_protocol_v5.spec §5), only the types the proxy reads from system.local and
// system.peers and writes into its synthetic rows of them: text, int, bigint, uuid, timeuuid, inet,
// boolean, timestamp and the text collections. A cell is the content of a [bytes]; its length is
// not part of the value (spec §5: "the serialization formats described here will not include a
// length component").
//
// Decoders take the cell as RESULT rows hold it (a view, or null) and return null for null. For
// non-string types an empty cell is also null: spec §5 "most non-string types support 'empty'
// values", which drivers surface as null.

import { isUtf8 } from 'node:buffer';
import { malformed } from './errors.js';
import { CqlReader, formatInetAddr, formatUuid } from './reader.js';
import { CqlWriter, parseInetAddr, parseUuid } from './writer.js';

const INT_MIN = -0x80000000;
const INT_MAX = 0x7fffffff;
const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;
/** ECMAScript Date range: ±8.64e15 ms around the epoch. */
const DATE_LIMIT_MS = 8.64e15;

// --- encoders ---------------------------------------------------------------------------------

// native_protocol_v5.spec §5.16 text / §5.23 varchar: UTF-8 bytes. A lone UTF-16 surrogate
// becomes U+FFFD, as Buffer.from does.
export function encodeText(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

// native_protocol_v5.spec §5.11 int: a 4 byte two's complement integer.
export function encodeInt(value: number): Buffer {
  if (!Number.isInteger(value) || value < INT_MIN || value > INT_MAX) {
    throw malformed(`int value must be a signed 32-bit integer, got ${value}`);
  }
  const out = Buffer.allocUnsafe(4);
  out.writeInt32BE(value, 0);
  return out;
}

// native_protocol_v5.spec §5.2 bigint: an eight-byte two's complement integer.
export function encodeBigint(value: bigint | number): Buffer {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw malformed(`bigint value must be a safe integer or a bigint, got ${value}`);
  }
  const v = BigInt(value);
  if (v < LONG_MIN || v > LONG_MAX) {
    throw malformed(`bigint value must be a signed 64-bit integer, got ${v}`);
  }
  const out = Buffer.allocUnsafe(8);
  out.writeBigInt64BE(v, 0);
  return out;
}

// native_protocol_v5.spec §5.22 uuid: 16 bytes.
export function encodeUuid(value: string): Buffer {
  return parseUuid(value);
}

// native_protocol_v5.spec §5.19 timeuuid: "a version 1 UUID as defined by RFC 4122".
export function encodeTimeuuid(value: string): Buffer {
  const bytes = parseUuid(value);
  if (bytes.readUInt8(6) >> 4 !== 1) throw malformed(`not a version 1 (time) uuid: ${value}`);
  return bytes;
}

// native_protocol_v5.spec §5.10 inet: 4 or 16 bytes, IPv4 or IPv6.
export function encodeInet(address: string): Buffer {
  return parseInetAddr(address);
}

// native_protocol_v5.spec §5.4 boolean: one byte, 0 false, 1 recommended for true.
export function encodeBoolean(value: boolean): Buffer {
  return Buffer.from([value ? 1 : 0]);
}

// native_protocol_v5.spec §5.18 timestamp: an 8 byte two's complement count of milliseconds
// since the unix epoch. A number is taken as milliseconds.
export function encodeTimestamp(value: Date | bigint | number): Buffer {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw malformed('invalid Date for a timestamp value');
    return encodeBigint(ms);
  }
  return encodeBigint(value);
}

// native_protocol_v5.spec §5.12 list / §5.14 set: [int] n, then n elements as [bytes].
export function encodeCollection(elements: readonly (Uint8Array | null)[]): Buffer {
  const w = new CqlWriter(4 + elements.length * 16);
  w.writeInt(elements.length);
  for (const e of elements) w.writeBytes(e);
  return w.finish();
}

// native_protocol_v5.spec §5.13 map: [int] n, then n pairs of [bytes] key, [bytes] value.
export function encodeMapEntries(
  entries: readonly (readonly [Uint8Array, Uint8Array | null])[],
): Buffer {
  const w = new CqlWriter(4 + entries.length * 32);
  w.writeInt(entries.length);
  for (const [k, v] of entries) w.writeBytes(k).writeBytes(v);
  return w.finish();
}

/** A list<text>, in the given order. */
export function encodeStringList(values: Iterable<string>): Buffer {
  return encodeCollection(Array.from(values, encodeText));
}

/**
 * A set<text>. Cassandra keeps set elements unique and sorted by the element type's order, which
 * for text is the byte order of the UTF-8 form; the same is done here so a synthetic row looks like
 * one read from a node.
 */
export function encodeStringSet(values: Iterable<string>): Buffer {
  return encodeCollection(sortedUniqueUtf8(values));
}

/** A map<text, text>, keys sorted by UTF-8 byte order like Cassandra's. */
export function encodeStringMap(
  map: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
): Buffer {
  const entries: [string, string][] =
    map instanceof Map
      ? [...(map as ReadonlyMap<string, string>).entries()]
      : Object.entries(map as Readonly<Record<string, string>>);
  const encoded = entries.map(([k, v]) => [encodeText(k), encodeText(v)] as const);
  encoded.sort((a, b) => Buffer.compare(a[0], b[0]));
  for (let i = 1; i < encoded.length; i++) {
    const prev = encoded[i - 1];
    const cur = encoded[i];
    if (prev && cur && prev[0].equals(cur[0])) throw malformed('duplicate key in map<text, text>');
  }
  return encodeMapEntries(encoded);
}

function sortedUniqueUtf8(values: Iterable<string>): Buffer[] {
  const encoded = Array.from(values, encodeText).sort((a, b) => Buffer.compare(a, b));
  return encoded.filter((b, i) => i === 0 || !b.equals(encoded[i - 1] ?? Buffer.alloc(0)));
}

// --- decoders ---------------------------------------------------------------------------------

function fixedLength(cell: Buffer, n: number, what: string): void {
  if (cell.length !== n) throw malformed(`${what} value must be ${n} bytes, got ${cell.length}`);
}

// native_protocol_v5.spec §5.16 text: UTF-8; invalid sequences are refused, not replaced.
export function decodeText(cell: Buffer | null): string | null {
  if (cell === null) return null;
  if (!isUtf8(cell)) throw malformed('invalid UTF-8 in a text value');
  return cell.toString('utf8');
}

// native_protocol_v5.spec §5.11 int
export function decodeInt(cell: Buffer | null): number | null {
  if (cell === null || cell.length === 0) return null;
  fixedLength(cell, 4, 'int');
  return cell.readInt32BE(0);
}

// native_protocol_v5.spec §5.2 bigint
export function decodeBigint(cell: Buffer | null): bigint | null {
  if (cell === null || cell.length === 0) return null;
  fixedLength(cell, 8, 'bigint');
  return cell.readBigInt64BE(0);
}

// native_protocol_v5.spec §5.22 uuid / §5.19 timeuuid: the dashed lower-case text form.
export function decodeUuid(cell: Buffer | null): string | null {
  if (cell === null || cell.length === 0) return null;
  fixedLength(cell, 16, 'uuid');
  return formatUuid(cell);
}

/** A timeuuid reads like any uuid; the version is not checked on the way in. */
export const decodeTimeuuid = decodeUuid;

// native_protocol_v5.spec §5.10 inet: 4 or 16 bytes, returned as address text.
export function decodeInet(cell: Buffer | null): string | null {
  if (cell === null || cell.length === 0) return null;
  if (cell.length !== 4 && cell.length !== 16) {
    throw malformed(`inet value must be 4 or 16 bytes, got ${cell.length}`);
  }
  return formatInetAddr(cell);
}

// native_protocol_v5.spec §5.4 boolean: "0 denotes false; any other value denotes true".
export function decodeBoolean(cell: Buffer | null): boolean | null {
  if (cell === null || cell.length === 0) return null;
  fixedLength(cell, 1, 'boolean');
  return cell.readUInt8(0) !== 0;
}

// native_protocol_v5.spec §5.18 timestamp: milliseconds since the epoch, as a Date.
export function decodeTimestamp(cell: Buffer | null): Date | null {
  const ms = decodeBigint(cell);
  if (ms === null) return null;
  if (ms < -DATE_LIMIT_MS || ms > DATE_LIMIT_MS) {
    throw malformed(`timestamp ${ms} ms is outside the range of a Date`);
  }
  return new Date(Number(ms));
}

function readCount(reader: CqlReader, perItem: number, what: string): number {
  const n = reader.readInt();
  if (n < 0) throw malformed(`negative ${what} element count ${n}`);
  // Each element takes at least one [int] length: refuse a count the cell cannot hold before
  // allocating anything for it.
  if (n > reader.remaining / perItem) {
    throw malformed(`${what} element count ${n} exceeds the ${reader.remaining} bytes left`);
  }
  return n;
}

// native_protocol_v5.spec §5.12 list / §5.14 set: [int] n, then n [bytes]. Elements are views.
export function decodeCollection(cell: Buffer | null): (Buffer | null)[] | null {
  if (cell === null || cell.length === 0) return null;
  const reader = new CqlReader(cell);
  const n = readCount(reader, 4, 'collection');
  const out: (Buffer | null)[] = [];
  for (let i = 0; i < n; i++) out.push(reader.readBytes());
  reader.expectEnd('collection value');
  return out;
}

// native_protocol_v5.spec §5.13 map: [int] n, then n pairs of [bytes]. Keys and values are views.
export function decodeMapEntries(cell: Buffer | null): [Buffer, Buffer | null][] | null {
  if (cell === null || cell.length === 0) return null;
  const reader = new CqlReader(cell);
  const n = readCount(reader, 8, 'map');
  const out: [Buffer, Buffer | null][] = [];
  for (let i = 0; i < n; i++) {
    const key = reader.readBytes();
    if (key === null) throw malformed('null key in a map value');
    out.push([key, reader.readBytes()]);
  }
  reader.expectEnd('map value');
  return out;
}

function textElement(b: Buffer | null, what: string): string {
  if (b === null) throw malformed(`null element in a ${what} value`);
  const s = decodeText(b);
  return s ?? '';
}

/** A list<text>, in wire order. */
export function decodeStringList(cell: Buffer | null): string[] | null {
  const elements = decodeCollection(cell);
  return elements === null ? null : elements.map((e) => textElement(e, 'list<text>'));
}

/** A set<text>, as an array in wire order (Cassandra sends sets sorted). */
export function decodeStringSet(cell: Buffer | null): string[] | null {
  const elements = decodeCollection(cell);
  return elements === null ? null : elements.map((e) => textElement(e, 'set<text>'));
}

/** A map<text, text>. */
export function decodeStringMap(cell: Buffer | null): Map<string, string> | null {
  const entries = decodeMapEntries(cell);
  if (entries === null) return null;
  const out = new Map<string, string>();
  for (const [k, v] of entries) {
    out.set(textElement(k, 'map<text, text>'), textElement(v, 'map<text, text>'));
  }
  return out;
}
