// Column types: the [option] <type> of a column spec in RESULT metadata (native_protocol_v5.spec
// §4.2.5.2, the same ids in v3/v4 minus the newer natives). Decoded into a discriminated union on
// `id`, written back byte for byte, and rendered as CQL text for system_schema.
//
// Vector (spec v5 §5.25) has no option id: Cassandra 5 sends it as CUSTOM with the class name
// `org.apache.cassandra.db.marshal.VectorType(<element class>,<dimensions>)`. It stays a CUSTOM
// type here so bytes round-trip exactly; vectorType()/parseVectorType() in marshal-class.ts build and
// read that class name, and columnTypeToCql() renders it as `vector<float, 3>`.

import { DataType } from '../constants.js';
import { malformed } from '../errors.js';
import type { CqlReader } from '../reader.js';
import type { CqlWriter } from '../writer.js';
import { parseVectorType } from './marshal-class.js';
import { checkCount } from './field-checks.js';

/**
 * Deepest nesting accepted, counting the outer type as 1. Types nest only through collections,
 * UDTs and tuples; Cassandra itself never gets near this, and the bound keeps a hostile
 * `list<list<list<...>>>` from overflowing the stack of a recursive reader.
 */
export const MAX_TYPE_DEPTH = 32;

export type NativeTypeId =
  | typeof DataType.ASCII
  | typeof DataType.BIGINT
  | typeof DataType.BLOB
  | typeof DataType.BOOLEAN
  | typeof DataType.COUNTER
  | typeof DataType.DECIMAL
  | typeof DataType.DOUBLE
  | typeof DataType.FLOAT
  | typeof DataType.INT
  | typeof DataType.TIMESTAMP
  | typeof DataType.UUID
  | typeof DataType.VARCHAR
  | typeof DataType.VARINT
  | typeof DataType.TIMEUUID
  | typeof DataType.INET
  | typeof DataType.DATE
  | typeof DataType.TIME
  | typeof DataType.SMALLINT
  | typeof DataType.TINYINT
  | typeof DataType.DURATION;

/** A native type: the option has no value. */
export interface NativeType {
  readonly id: NativeTypeId;
}

/** 0x0000 Custom: the value is the [string] fully qualified class name. */
export interface CustomType {
  readonly id: typeof DataType.CUSTOM;
  readonly className: string;
}

/** 0x0020 List / 0x0022 Set: the value is the element [option]. */
export interface ListType {
  readonly id: typeof DataType.LIST;
  readonly element: ColumnType;
}

export interface SetType {
  readonly id: typeof DataType.SET;
  readonly element: ColumnType;
}

/** 0x0021 Map: the value is two [option], key then value. */
export interface MapType {
  readonly id: typeof DataType.MAP;
  readonly key: ColumnType;
  readonly value: ColumnType;
}

export interface UdtField {
  readonly name: string;
  readonly type: ColumnType;
}

/** 0x0030 UDT: <ks><udt_name><n: [short]><name_1><type_1>...<name_n><type_n>. */
export interface UdtType {
  readonly id: typeof DataType.UDT;
  readonly keyspace: string;
  readonly name: string;
  readonly fields: readonly UdtField[];
}

/** 0x0031 Tuple: <n: [short]><type_1>...<type_n>. */
export interface TupleType {
  readonly id: typeof DataType.TUPLE;
  readonly elements: readonly ColumnType[];
}

export type ColumnType =
  NativeType | CustomType | ListType | SetType | MapType | UdtType | TupleType;

/** CQL names of the native types, as system_schema writes them (varchar is shown as text). */
const NATIVE_CQL = new Map<number, string>([
  [DataType.ASCII, 'ascii'],
  [DataType.BIGINT, 'bigint'],
  [DataType.BLOB, 'blob'],
  [DataType.BOOLEAN, 'boolean'],
  [DataType.COUNTER, 'counter'],
  [DataType.DECIMAL, 'decimal'],
  [DataType.DOUBLE, 'double'],
  [DataType.FLOAT, 'float'],
  [DataType.INT, 'int'],
  [DataType.TIMESTAMP, 'timestamp'],
  [DataType.UUID, 'uuid'],
  [DataType.VARCHAR, 'text'],
  [DataType.VARINT, 'varint'],
  [DataType.TIMEUUID, 'timeuuid'],
  [DataType.INET, 'inet'],
  [DataType.DATE, 'date'],
  [DataType.TIME, 'time'],
  [DataType.SMALLINT, 'smallint'],
  [DataType.TINYINT, 'tinyint'],
  [DataType.DURATION, 'duration'],
]);

// One shared frozen object per native type: rows metadata repeats them for every column, and the
// decoder then allocates nothing for them.
const NATIVE_TYPES = new Map<number, NativeType>(
  [...NATIVE_CQL.keys()].map((id) => [id, Object.freeze({ id: id as NativeTypeId })]),
);

export function isNativeTypeId(id: number): id is NativeTypeId {
  return NATIVE_TYPES.has(id);
}

export function isNativeType(type: ColumnType): type is NativeType {
  return NATIVE_TYPES.has(type.id);
}

/** The shared NativeType object for an id. */
export function nativeType(id: NativeTypeId): NativeType {
  const t = NATIVE_TYPES.get(id);
  if (t === undefined) throw malformed(`not a native type id: 0x${hex4(id)}`);
  return t;
}

function hex4(id: number): string {
  return id.toString(16).padStart(4, '0');
}

function tooDeep(): never {
  throw malformed(`column type nested deeper than ${MAX_TYPE_DEPTH} levels`);
}

// native_protocol_v5.spec §4.2.5.2 <type>: [option] = <id: [short]><value>, the value by id (above).
export function readColumnType(reader: CqlReader): ColumnType {
  return readType(reader, 1);
}

function readType(reader: CqlReader, depth: number): ColumnType {
  if (depth > MAX_TYPE_DEPTH) tooDeep();
  const id = reader.readShort();
  switch (id) {
    case DataType.CUSTOM:
      return { id, className: reader.readString() };
    case DataType.LIST:
    case DataType.SET:
      return { id, element: readType(reader, depth + 1) };
    case DataType.MAP: {
      const key = readType(reader, depth + 1);
      return { id, key, value: readType(reader, depth + 1) };
    }
    case DataType.UDT: {
      const keyspace = reader.readString();
      const name = reader.readString();
      const n = reader.readShort();
      const fields: UdtField[] = [];
      for (let i = 0; i < n; i++) {
        const fieldName = reader.readString();
        fields.push({ name: fieldName, type: readType(reader, depth + 1) });
      }
      return { id, keyspace, name, fields };
    }
    case DataType.TUPLE: {
      const n = reader.readShort();
      const elements: ColumnType[] = [];
      for (let i = 0; i < n; i++) elements.push(readType(reader, depth + 1));
      return { id, elements };
    }
    default: {
      const native = NATIVE_TYPES.get(id);
      // An unknown id has a value of unknown length: nothing after it can be read.
      if (native === undefined) throw malformed(`unknown column type id 0x${hex4(id)}`);
      return native;
    }
  }
}

// native_protocol_v5.spec §4.2.5.2 <type>: [option] = <id: [short]><value>
export function writeColumnType(writer: CqlWriter, type: ColumnType): void {
  writeType(writer, type, 1);
}

function writeType(writer: CqlWriter, type: ColumnType, depth: number): void {
  if (depth > MAX_TYPE_DEPTH) tooDeep();
  if (isNativeType(type)) {
    writer.writeShort(type.id);
    return;
  }
  switch (type.id) {
    case DataType.CUSTOM:
      writer.writeShort(type.id).writeString(type.className);
      return;
    case DataType.LIST:
    case DataType.SET:
      writer.writeShort(type.id);
      writeType(writer, type.element, depth + 1);
      return;
    case DataType.MAP:
      writer.writeShort(type.id);
      writeType(writer, type.key, depth + 1);
      writeType(writer, type.value, depth + 1);
      return;
    case DataType.UDT:
      checkCount(type.fields.length, 'UDT fields');
      writer.writeShort(type.id).writeString(type.keyspace).writeString(type.name);
      writer.writeShort(type.fields.length);
      for (const f of type.fields) {
        writer.writeString(f.name);
        writeType(writer, f.type, depth + 1);
      }
      return;
    case DataType.TUPLE:
      checkCount(type.elements.length, 'tuple elements');
      writer.writeShort(type.id).writeShort(type.elements.length);
      for (const e of type.elements) writeType(writer, e, depth + 1);
      return;
    default:
      // Reached only by an object built with a made-up id.
      throw malformed(`unknown column type id ${String((type as { id: unknown }).id)}`);
  }
}

/**
 * CQL text of a type, as system_schema.columns.type shows it: `list<int>`,
 * `map<text, list<int>>`, `tuple<int, text>`, a UDT by its (quoted if needed) name, a vector as
 * `vector<float, 3>`, any other custom type as its quoted class name. Frozen-ness is not on the
 * wire, so it is not shown.
 */
export function columnTypeToCql(type: ColumnType): string {
  return toCql(type, 1);
}

function toCql(type: ColumnType, depth: number): string {
  if (depth > MAX_TYPE_DEPTH) tooDeep();
  if (isNativeType(type)) return NATIVE_CQL.get(type.id) ?? '';
  switch (type.id) {
    case DataType.CUSTOM: {
      const vector = parseVectorType(type);
      if (vector !== undefined) {
        return `vector<${toCql(vector.element, depth + 1)}, ${vector.dimensions}>`;
      }
      return `'${type.className.replace(/'/g, "''")}'`;
    }
    case DataType.LIST:
      return `list<${toCql(type.element, depth + 1)}>`;
    case DataType.SET:
      return `set<${toCql(type.element, depth + 1)}>`;
    case DataType.MAP:
      return `map<${toCql(type.key, depth + 1)}, ${toCql(type.value, depth + 1)}>`;
    case DataType.UDT:
      return quoteIdentifier(type.name);
    case DataType.TUPLE:
      return `tuple<${type.elements.map((e) => toCql(e, depth + 1)).join(', ')}>`;
    default:
      throw malformed(`unknown column type id ${String((type as { id: unknown }).id)}`);
  }
}

const UNQUOTED_IDENTIFIER = /^[a-z][a-z0-9_]*$/;

/**
 * CQL identifiers that are not all lower case (or start with a digit, or hold other characters)
 * must be double-quoted, with inner quotes doubled. Reserved words (a type named "select") are not
 * detected and come out unquoted: that needs CQL's keyword list, which the lexer owns.
 */
export function quoteIdentifier(name: string): string {
  return UNQUOTED_IDENTIFIER.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
