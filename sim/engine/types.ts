// Column types as the engine keeps them: the wire ColumnType (what result and prepared metadata
// carry) plus what the wire does not say but CQL does: whether a collection is frozen, which
// decides how system_schema.columns shows the type and whether an empty collection is a value.

import { DataType } from '../../src/protocol/constants.js';
import {
  type ColumnType,
  type NativeTypeId,
  nativeType,
} from '../../src/protocol/messages/column-type.js';

export type NativeName =
  | 'ascii'
  | 'bigint'
  | 'blob'
  | 'boolean'
  | 'counter'
  | 'date'
  | 'decimal'
  | 'double'
  | 'duration'
  | 'float'
  | 'inet'
  | 'int'
  | 'smallint'
  | 'text'
  | 'time'
  | 'timestamp'
  | 'timeuuid'
  | 'tinyint'
  | 'uuid'
  | 'varint';

export interface NativeSimType {
  readonly kind: 'native';
  readonly name: NativeName;
  readonly ct: ColumnType;
}

export interface ListSimType {
  readonly kind: 'list' | 'set';
  readonly element: SimType;
  readonly frozen: boolean;
  readonly ct: ColumnType;
}

export interface MapSimType {
  readonly kind: 'map';
  readonly key: SimType;
  readonly value: SimType;
  readonly frozen: boolean;
  readonly ct: ColumnType;
}

/** Tuples are always frozen in CQL. */
export interface TupleSimType {
  readonly kind: 'tuple';
  readonly elements: readonly SimType[];
  readonly ct: ColumnType;
}

export type SimType = NativeSimType | ListSimType | MapSimType | TupleSimType;
export type CollectionSimType = ListSimType | MapSimType;

const NATIVE_IDS: Readonly<Record<NativeName, NativeTypeId>> = {
  ascii: DataType.ASCII,
  bigint: DataType.BIGINT,
  blob: DataType.BLOB,
  boolean: DataType.BOOLEAN,
  counter: DataType.COUNTER,
  date: DataType.DATE,
  decimal: DataType.DECIMAL,
  double: DataType.DOUBLE,
  duration: DataType.DURATION,
  float: DataType.FLOAT,
  inet: DataType.INET,
  int: DataType.INT,
  smallint: DataType.SMALLINT,
  text: DataType.VARCHAR,
  time: DataType.TIME,
  timestamp: DataType.TIMESTAMP,
  timeuuid: DataType.TIMEUUID,
  tinyint: DataType.TINYINT,
  uuid: DataType.UUID,
  varint: DataType.VARINT,
};

/** CQL type names, varchar being an alias of text. */
export function nativeByName(name: string): NativeSimType | undefined {
  const canonical = name === 'varchar' ? 'text' : name;
  if (!Object.hasOwn(NATIVE_IDS, canonical)) return undefined;
  const n = canonical as NativeName;
  return NATIVE[n];
}

const NATIVE = Object.fromEntries(
  Object.entries(NATIVE_IDS).map(([name, id]) => [
    name,
    Object.freeze({ kind: 'native', name, ct: nativeType(id) }),
  ]),
) as Readonly<Record<NativeName, NativeSimType>>;

export function native(name: NativeName): NativeSimType {
  return NATIVE[name];
}

export function listOf(element: SimType, frozen: boolean): ListSimType {
  return { kind: 'list', element, frozen, ct: { id: DataType.LIST, element: element.ct } };
}

export function setOf(element: SimType, frozen: boolean): ListSimType {
  return { kind: 'set', element, frozen, ct: { id: DataType.SET, element: element.ct } };
}

export function mapOf(key: SimType, value: SimType, frozen: boolean): MapSimType {
  return {
    kind: 'map',
    key,
    value,
    frozen,
    ct: { id: DataType.MAP, key: key.ct, value: value.ct },
  };
}

export function tupleOf(elements: readonly SimType[]): TupleSimType {
  return {
    kind: 'tuple',
    elements,
    ct: { id: DataType.TUPLE, elements: elements.map((e) => e.ct) },
  };
}

export function isCollection(type: SimType): type is CollectionSimType {
  return type.kind === 'list' || type.kind === 'set' || type.kind === 'map';
}

/** A non-frozen collection: stored cell by cell in Cassandra, so an empty one is no value. */
export function isMultiCell(type: SimType): boolean {
  return isCollection(type) && !type.frozen;
}

/**
 * The type as system_schema.columns.type shows it (Cassandra's CQL3Type.toString):
 * `frozen<list<int>>`, `map<text, frozen<set<int>>>`, tuples always as `frozen<tuple<...>>`.
 */
export function typeToCql(type: SimType): string {
  switch (type.kind) {
    case 'native':
      return type.name;
    case 'list':
    case 'set': {
      const s = `${type.kind}<${typeToCql(type.element)}>`;
      return type.frozen ? `frozen<${s}>` : s;
    }
    case 'map': {
      const s = `map<${typeToCql(type.key)}, ${typeToCql(type.value)}>`;
      return type.frozen ? `frozen<${s}>` : s;
    }
    case 'tuple':
      return `frozen<tuple<${type.elements.map(typeToCql).join(', ')}>>`;
  }
}

/** Whether a type contains a counter or duration anywhere (both refused in keys). */
export function containsNative(type: SimType, name: NativeName): boolean {
  switch (type.kind) {
    case 'native':
      return type.name === name;
    case 'list':
    case 'set':
      return containsNative(type.element, name);
    case 'map':
      return containsNative(type.key, name) || containsNative(type.value, name);
    case 'tuple':
      return type.elements.some((e) => containsNative(e, name));
  }
}
