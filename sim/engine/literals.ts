// CQL constants encoded to the bytes a driver would bind for the same value (spec v4 §6), so a
// row written with literals reads back exactly like one written with bind markers. Which
// constant fits which type follows Cassandra's Constants.Literal.testAssignment; a misfit is
// `Invalid STRING constant (abc) for "id" of type int`, out-of-range numbers are Cassandra's
// MarshalException texts (`Unable to make int from '9999999999'`).

import { parseInetAddr } from '../../src/protocol/writer.js';
import type { Term } from './ast.js';
import { invalid } from './errors.js';
import { encodeDecimal, encodeSignedVint, encodeVarint } from './numbers.js';
import { parseDate, parseDuration, parseTime, parseTimestamp } from './temporal.js';
import { type NativeName, type NativeSimType, typeToCql } from './types.js';

export type ConstantTerm = Term & {
  kind: 'string' | 'integer' | 'float' | 'boolean' | 'uuid' | 'blob' | 'duration';
};

const KIND_NAMES: Readonly<Record<ConstantTerm['kind'], string>> = {
  string: 'STRING',
  integer: 'INTEGER',
  float: 'FLOAT',
  boolean: 'BOOLEAN',
  uuid: 'UUID',
  blob: 'HEX',
  duration: 'DURATION',
};

/** Which native types each kind of constant may be assigned to. */
const ASSIGNABLE: Readonly<Record<ConstantTerm['kind'], ReadonlySet<NativeName>>> = {
  string: new Set(['ascii', 'text', 'inet', 'date', 'time', 'timestamp']),
  integer: new Set([
    'bigint',
    'counter',
    'date',
    'decimal',
    'double',
    'float',
    'int',
    'smallint',
    'time',
    'timestamp',
    'tinyint',
    'varint',
  ]),
  float: new Set(['decimal', 'double', 'float']),
  boolean: new Set(['boolean']),
  uuid: new Set(['uuid', 'timeuuid']),
  blob: new Set(['blob']),
  duration: new Set(['duration']),
};

function constantText(term: ConstantTerm): string {
  return term.kind === 'string' ? term.value : term.text;
}

function intOfSize(text: string, bytes: number, javaName: string): Buffer {
  const bits = BigInt(bytes * 8);
  let v: bigint;
  try {
    v = BigInt(text);
  } catch {
    throw invalid(`Unable to make ${javaName} from '${text}'`);
  }
  if (v < -(1n << (bits - 1n)) || v >= 1n << (bits - 1n)) {
    throw invalid(`Unable to make ${javaName} from '${text}'`);
  }
  const out = Buffer.alloc(bytes);
  if (bytes === 8) out.writeBigInt64BE(v, 0);
  else out.writeIntBE(Number(v), 0, bytes);
  return out;
}

function long(v: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigInt64BE(v, 0);
  return out;
}

function floatBytes(text: string, size: 4 | 8): Buffer {
  const v = Number(text);
  if (Number.isNaN(v) && text !== 'NaN') throw invalid(`Unable to make float from '${text}'`);
  const out = Buffer.alloc(size);
  if (size === 4) out.writeFloatBE(v, 0);
  else out.writeDoubleBE(v, 0);
  return out;
}

function encodeAscii(text: string): Buffer {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f)
      throw invalid(`Invalid ASCII character in string literal ${text}`);
  }
  return Buffer.from(text, 'latin1');
}

function encodeTemporal(name: 'date' | 'time' | 'timestamp', text: string): Buffer {
  if (name === 'timestamp') {
    const ms = parseTimestamp(text);
    if (ms === undefined || ms < -(1n << 63n) || ms >= 1n << 63n) {
      throw invalid(`Unable to coerce '${text}' to a formatted date (long)`);
    }
    return long(ms);
  }
  if (name === 'date') {
    const days = parseDate(text);
    if (days === undefined) throw invalid(`Unable to coerce '${text}' to a formatted date (long)`);
    const out = Buffer.alloc(4);
    out.writeUInt32BE(days, 0);
    return out;
  }
  const nanos = parseTime(text);
  if (nanos === undefined) throw invalid(`Unable to coerce '${text}' to a formatted time (long)`);
  return long(nanos);
}

function encodeDurationText(text: string): Buffer {
  const d = parseDuration(text);
  if (d === undefined) throw invalid(`Unable to convert '${text}' to a duration`);
  return Buffer.concat([
    encodeSignedVint(d.months),
    encodeSignedVint(d.days),
    encodeSignedVint(d.nanoseconds),
  ]);
}

function encodeForType(term: ConstantTerm, name: NativeName): Buffer {
  const text = constantText(term);
  switch (name) {
    case 'ascii':
      return encodeAscii(text);
    case 'text':
      return Buffer.from(text, 'utf8');
    case 'int':
      return intOfSize(text, 4, 'int');
    case 'bigint':
    case 'counter':
      return intOfSize(text, 8, 'long');
    case 'smallint':
      return intOfSize(text, 2, 'short');
    case 'tinyint':
      return intOfSize(text, 1, 'byte');
    case 'varint':
      return encodeVarint(BigInt(text));
    case 'decimal': {
      const d = encodeDecimal(text);
      if (d === undefined)
        throw invalid(`Value '${text}' is not a valid representation of a decimal value`);
      return d;
    }
    case 'float':
      return floatBytes(text, 4);
    case 'double':
      return floatBytes(text, 8);
    case 'boolean':
      return Buffer.from([term.kind === 'boolean' && term.value ? 1 : 0]);
    case 'uuid':
    case 'timeuuid': {
      const bytes = Buffer.from(text.replace(/-/g, ''), 'hex');
      if (name === 'timeuuid' && (bytes[6] ?? 0) >> 4 !== 1) {
        throw invalid(`Unsupported UUID version for timeuuid: ${text}`);
      }
      return bytes;
    }
    case 'blob': {
      const hex = term.kind === 'blob' ? term.hex : '';
      if (hex.length % 2 !== 0) {
        throw invalid('An hex string representing bytes must have an even length');
      }
      return Buffer.from(hex, 'hex');
    }
    case 'inet':
      try {
        return parseInetAddr(text);
      } catch {
        throw invalid(`Unable to make inet address from '${text}'`);
      }
    case 'date':
    case 'time':
    case 'timestamp':
      return encodeTemporal(name, text);
    case 'duration':
      return encodeDurationText(text);
  }
}

/** Encodes a constant for a native column type, checking that the constant fits it. */
export function encodeConstant(term: ConstantTerm, type: NativeSimType, receiver: string): Buffer {
  if (!ASSIGNABLE[term.kind].has(type.name)) {
    throw invalid(
      `Invalid ${KIND_NAMES[term.kind]} constant (${term.kind === 'string' ? term.value : term.text}) for "${receiver}" of type ${typeToCql(type)}`,
    );
  }
  return encodeForType(term, type.name);
}
