// Checks a serialized value against its column type, as Cassandra's TypeSerializer.validate does
// for every bound value, with the same messages (an InvalidRequest carries the MarshalException
// text), and normalizes collections the way Cassandra stores them: set elements sorted and unique,
// map entries sorted by key with one entry per key. Everything else is kept byte for byte.

import { isUtf8 } from 'node:buffer';
import { compareValues } from './compare.js';
import { invalid } from './errors.js';
import { readSignedVint } from './numbers.js';
import type { SimType } from './types.js';

const MAX_DEPTH = 32;

function fixed(value: Buffer, sizes: readonly number[], message: string): void {
  if (!sizes.includes(value.length)) throw invalid(message.replace('%d', String(value.length)));
}

function validateDuration(value: Buffer): void {
  if (value.length < 3) {
    throw invalid(`Expected at least 3 bytes for a duration (${value.length})`);
  }
  const months = readSignedVint(value, 0);
  const days = months && readSignedVint(value, months.next);
  const nanos = days && readSignedVint(value, days.next);
  if (nanos === undefined || nanos.next !== value.length) {
    throw invalid('Invalid duration value: wrong number of bytes');
  }
  const signs = [months?.value ?? 0n, days?.value ?? 0n, nanos.value];
  if (signs.some((v) => v < 0n) && signs.some((v) => v > 0n)) {
    throw invalid(
      `The duration months, days and nanoseconds must be all of the same sign (${signs.join(', ')})`,
    );
  }
}

function validateNative(name: string, value: Buffer): void {
  switch (name) {
    case 'int':
      return fixed(value, [0, 4], 'Expected 4 or 0 byte int (%d)');
    case 'bigint':
    case 'counter':
      return fixed(value, [0, 8], 'Expected 8 or 0 byte long (%d)');
    case 'smallint':
      return fixed(value, [2], 'Expected 2 bytes for a smallint (%d)');
    case 'tinyint':
      return fixed(value, [1], 'Expected 1 byte for a tinyint (%d)');
    case 'boolean':
      return fixed(value, [0, 1], 'Expected 1 or 0 byte value (%d)');
    case 'float':
      return fixed(value, [0, 4], 'Expected 4 or 0 byte value for a float (%d)');
    case 'double':
      return fixed(value, [0, 8], 'Expected 8 or 0 byte value for a double (%d)');
    case 'uuid':
      return fixed(value, [0, 16], 'UUID should be 16 or 0 bytes (%d)');
    case 'timeuuid':
      fixed(value, [0, 16], 'UUID should be 16 or 0 bytes (%d)');
      if (value.length === 16 && (value[6] ?? 0) >> 4 !== 1) {
        throw invalid('Invalid version for TimeUUID type.');
      }
      return;
    case 'timestamp':
      return fixed(value, [0, 8], 'Expected 8 or 0 byte long for date (%d)');
    case 'date':
      return fixed(value, [4], 'Expected 4 byte long for date (%d)');
    case 'time':
      fixed(value, [8], 'Expected 8 byte long for a time (%d)');
      if (value.readBigInt64BE(0) < 0n || value.readBigInt64BE(0) >= 86_400_000_000_000n) {
        throw invalid('Time value outside of the range of a day');
      }
      return;
    case 'inet':
      if (value.length !== 0 && value.length !== 4 && value.length !== 16) {
        throw invalid(`Expected 4 or 16 byte inetaddress; got ${value.toString('hex')}`);
      }
      return;
    case 'decimal':
      if (value.length !== 0 && value.length < 4) {
        throw invalid(`Expected 0 or at least 4 bytes (${value.length})`);
      }
      return;
    case 'text':
      if (!isUtf8(value)) throw invalid("String didn't validate.");
      return;
    case 'ascii': {
      const bad = value.findIndex((b) => b > 0x7f);
      if (bad >= 0) throw invalid(`Invalid byte for ascii: ${(value[bad] ?? 0) - 0x100}`);
      return;
    }
    case 'duration':
      return validateDuration(value);
    default:
      // blob, varint: any bytes.
      return;
  }
}

interface Items {
  items: Buffer[];
}

/** `[int] n` then n `[bytes]` (spec v4 §6.10-6.12); `perItem` 2 for maps. */
function readItems(value: Buffer, perItem: number, what: string): Items {
  if (value.length < 4) throw invalid(`Not enough bytes to read a ${what}`);
  const n = value.readInt32BE(0);
  if (n < 0) throw invalid(`Not enough bytes to read a ${what}`);
  const items: Buffer[] = [];
  let pos = 4;
  for (let i = 0; i < n * perItem; i++) {
    if (pos + 4 > value.length) throw invalid(`Not enough bytes to read a ${what}`);
    const len = value.readInt32BE(pos);
    pos += 4;
    if (len < 0) throw invalid('null is not supported inside collections');
    if (pos + len > value.length) throw invalid(`Not enough bytes to read a ${what}`);
    items.push(value.subarray(pos, pos + len));
    pos += len;
  }
  if (pos !== value.length) throw invalid(`Unexpected extraneous bytes after ${what} value`);
  return { items };
}

function writeItems(count: number, items: readonly (Buffer | null)[]): Buffer {
  let size = 4;
  for (const it of items) size += 4 + (it?.length ?? 0);
  const out = Buffer.alloc(size);
  out.writeInt32BE(count, 0);
  let pos = 4;
  for (const it of items) {
    if (it === null) {
      out.writeInt32BE(-1, pos);
      pos += 4;
      continue;
    }
    out.writeInt32BE(it.length, pos);
    it.copy(out, pos + 4);
    pos += 4 + it.length;
  }
  return out;
}

/** A set cell from elements: sorted by the element type and without duplicates. */
export function encodeSet(element: SimType, elements: readonly Buffer[]): Buffer {
  const sorted = [...elements].sort((a, b) => compareValues(element, a, b));
  const unique = sorted.filter(
    (e, i) => i === 0 || compareValues(element, sorted[i - 1] ?? e, e) !== 0,
  );
  return writeItems(unique.length, unique);
}

/** A map cell from entries: sorted by key, the last value kept for a repeated key. */
export function encodeMap(key: SimType, entries: readonly (readonly [Buffer, Buffer])[]): Buffer {
  const sorted = entries
    .map((e, i) => ({ e, i }))
    .sort((x, y) => compareValues(key, x.e[0], y.e[0]) || x.i - y.i);
  const kept: (readonly [Buffer, Buffer])[] = [];
  for (const { e } of sorted) {
    const last = kept[kept.length - 1];
    if (last !== undefined && compareValues(key, last[0], e[0]) === 0) kept[kept.length - 1] = e;
    else kept.push(e);
  }
  return writeItems(kept.length, kept.flat());
}

export function encodeList(elements: readonly Buffer[]): Buffer {
  return writeItems(elements.length, elements);
}

export function encodeTuple(items: readonly (Buffer | null)[]): Buffer {
  return writeItems(0, items).subarray(4);
}

function validateTuple(type: SimType & { kind: 'tuple' }, value: Buffer, depth: number): Buffer {
  const out: (Buffer | null)[] = [];
  let pos = 0;
  let i = 0;
  while (pos < value.length) {
    const element = type.elements[i];
    if (element === undefined) throw invalid('Invalid tuple literal: too many elements');
    if (pos + 4 > value.length) throw invalid(`Not enough bytes to read ${i}th component`);
    const len = value.readInt32BE(pos);
    pos += 4;
    if (len < 0) {
      out.push(null);
    } else {
      if (pos + len > value.length) throw invalid(`Not enough bytes to read ${i}th component`);
      out.push(check(element, value.subarray(pos, pos + len), depth + 1));
      pos += len;
    }
    i++;
  }
  return encodeTuple(out);
}

function check(type: SimType, value: Buffer, depth: number): Buffer {
  if (depth > MAX_DEPTH) throw invalid('Value nested too deeply');
  switch (type.kind) {
    case 'native':
      validateNative(type.name, value);
      return value;
    case 'list': {
      if (value.length === 0) return value;
      const { items } = readItems(value, 1, 'list');
      return encodeList(items.map((e) => check(type.element, e, depth + 1)));
    }
    case 'set': {
      if (value.length === 0) return value;
      const { items } = readItems(value, 1, 'set');
      return encodeSet(
        type.element,
        items.map((e) => check(type.element, e, depth + 1)),
      );
    }
    case 'map': {
      if (value.length === 0) return value;
      const { items } = readItems(value, 2, 'map');
      const entries: [Buffer, Buffer][] = [];
      for (let i = 0; i + 1 < items.length; i += 2) {
        entries.push([
          check(type.key, items[i] ?? Buffer.alloc(0), depth + 1),
          check(type.value, items[i + 1] ?? Buffer.alloc(0), depth + 1),
        ]);
      }
      return encodeMap(type.key, entries);
    }
    case 'tuple':
      return value.length === 0 ? value : validateTuple(type, value, depth);
  }
}

/** Validates `value` for `type`; returns it, or its normalized form for collections. */
export function validateValue(type: SimType, value: Buffer): Buffer {
  return check(type, value, 0);
}
