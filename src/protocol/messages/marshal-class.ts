// Cassandra marshal class names, the text a CUSTOM column type carries (native_protocol_v5.spec
// §4.2.5.2 "the fully qualified class name of the type represented"). The one custom type the
// proxy and the simulator care about is vector (spec v5 §5.25), which has no option id of its own:
// Cassandra 5 sends `org.apache.cassandra.db.marshal.VectorType(<element class>,<dimensions>)`.
//
// Grammar, as Cassandra's TypeParser reads it:
//   type   := name [ '(' param { ',' param } ')' ]
//   param  := type | hexname ':' type (UserType fields) | number (VectorType dimensions)
// Parsing never throws: text that does not parse is simply an opaque custom type.

import { isUtf8 } from 'node:buffer';
import { DataType } from '../constants.js';
import { malformed } from '../errors.js';
import type { ColumnType, CustomType, NativeType, NativeTypeId, UdtField } from './column-type.js';

export const MARSHAL_PACKAGE = 'org.apache.cassandra.db.marshal.';

// Same bound as column-type.ts MAX_TYPE_DEPTH; not imported, column-type.ts imports this module.
const MAX_DEPTH = 32;
const MAX_DIMENSIONS = 0x7fffffff;

const NATIVE_CLASSES: ReadonlyArray<readonly [string, NativeTypeId]> = [
  ['AsciiType', DataType.ASCII],
  ['LongType', DataType.BIGINT],
  ['BytesType', DataType.BLOB],
  ['BooleanType', DataType.BOOLEAN],
  ['CounterColumnType', DataType.COUNTER],
  ['DecimalType', DataType.DECIMAL],
  ['DoubleType', DataType.DOUBLE],
  ['FloatType', DataType.FLOAT],
  ['Int32Type', DataType.INT],
  ['TimestampType', DataType.TIMESTAMP],
  ['UUIDType', DataType.UUID],
  ['UTF8Type', DataType.VARCHAR],
  ['IntegerType', DataType.VARINT],
  ['TimeUUIDType', DataType.TIMEUUID],
  ['InetAddressType', DataType.INET],
  ['SimpleDateType', DataType.DATE],
  ['TimeType', DataType.TIME],
  ['ShortType', DataType.SMALLINT],
  ['ByteType', DataType.TINYINT],
  ['DurationType', DataType.DURATION],
];

const CLASS_TO_NATIVE = new Map<string, NativeTypeId>([
  ...NATIVE_CLASSES,
  // The pre-2.0 timestamp class, still accepted by Cassandra's TypeParser.
  ['DateType', DataType.TIMESTAMP],
]);
const NATIVE_TO_CLASS = new Map<number, string>(NATIVE_CLASSES.map(([c, id]) => [id, c]));

function isNative(type: ColumnType): type is NativeType {
  return NATIVE_TO_CLASS.has(type.id);
}

interface Node {
  name: string;
  params: Node[] | undefined;
  /** Span of the whole node in the source text, kept so an unknown class stays verbatim. */
  start: number;
  end: number;
}

class Unparsable extends Error {}

function fail(): never {
  throw new Unparsable();
}

function parseClassName(text: string): Node | undefined {
  let pos = 0;
  const parseNode = (depth: number): Node => {
    if (depth > MAX_DEPTH) fail();
    const start = pos;
    while (pos < text.length && !'(),'.includes(text.charAt(pos))) pos++;
    // Cassandra writes these names without blanks; a blank makes the name unknown, not an error.
    const name = text.slice(start, pos);
    if (name === '') fail();
    if (text.charAt(pos) !== '(') return { name, params: undefined, start, end: pos };
    pos++;
    const params: Node[] = [];
    if (text.charAt(pos) === ')') {
      pos++;
      return { name, params, start, end: pos };
    }
    for (;;) {
      params.push(parseNode(depth + 1));
      const c = text.charAt(pos++);
      if (c === ')') break;
      if (c !== ',') fail();
    }
    return { name, params, start, end: pos };
  };
  try {
    const root = parseNode(1);
    return pos === text.length ? root : undefined;
  } catch (e) {
    if (e instanceof Unparsable) return undefined;
    throw e;
  }
}

function shortName(name: string): string {
  return name.startsWith(MARSHAL_PACKAGE) ? name.slice(MARSHAL_PACKAGE.length) : name;
}

function hexToUtf8(hex: string): string {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) fail();
  const bytes = Buffer.from(hex, 'hex');
  if (!isUtf8(bytes)) fail();
  return bytes.toString('utf8');
}

/** A parsed class-name node as a ColumnType; anything unknown stays a CUSTOM type, verbatim. */
function nodeToType(node: Node, text: string, depth: number): ColumnType {
  if (depth > MAX_DEPTH) fail();
  const name = shortName(node.name);
  const params = node.params;
  const custom = (): CustomType => ({
    id: DataType.CUSTOM,
    className: text.slice(node.start, node.end),
  });
  if (params === undefined) {
    const id = CLASS_TO_NATIVE.get(name);
    return id === undefined ? custom() : { id };
  }
  const sub = (n: Node): ColumnType => nodeToType(n, text, depth + 1);
  const [first, second] = params;
  switch (name) {
    case 'ListType':
      return params.length === 1 && first ? { id: DataType.LIST, element: sub(first) } : fail();
    case 'SetType':
      return params.length === 1 && first ? { id: DataType.SET, element: sub(first) } : fail();
    case 'MapType':
      return params.length === 2 && first && second
        ? { id: DataType.MAP, key: sub(first), value: sub(second) }
        : fail();
    // Frozen-ness is not part of a ColumnType (it is not on the wire either).
    case 'FrozenType':
    case 'ReversedType':
      return params.length === 1 && first ? sub(first) : fail();
    case 'TupleType':
      return { id: DataType.TUPLE, elements: params.map(sub) };
    case 'UserType': {
      if (!first || !second || first.params || second.params) fail();
      const fields: UdtField[] = params.slice(2).map((p) => {
        const colon = p.name.indexOf(':');
        if (colon < 0) fail();
        const fieldName = hexToUtf8(p.name.slice(0, colon));
        const typeNode: Node = { ...p, name: p.name.slice(colon + 1), start: p.start + colon + 1 };
        return { name: fieldName, type: sub(typeNode) };
      });
      return { id: DataType.UDT, keyspace: first.name, name: hexToUtf8(second.name), fields };
    }
    default:
      return custom();
  }
}

export interface VectorInfo {
  element: ColumnType;
  dimensions: number;
}

/** The element type and dimensions of a vector column, or undefined for any other type. */
export function parseVectorType(type: ColumnType): VectorInfo | undefined {
  if (type.id !== DataType.CUSTOM || !type.className.includes('VectorType')) return undefined;
  const text = type.className;
  const root = parseClassName(text);
  if (root === undefined || shortName(root.name) !== 'VectorType') return undefined;
  const [elementNode, dimsNode] = root.params ?? [];
  if (root.params?.length !== 2 || !elementNode || !dimsNode || dimsNode.params) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(dimsNode.name)) return undefined;
  const dimensions = Number(dimsNode.name);
  if (dimensions > MAX_DIMENSIONS) return undefined;
  try {
    return { element: nodeToType(elementNode, text, 2), dimensions };
  } catch (e) {
    if (e instanceof Unparsable) return undefined;
    throw e;
  }
}

/** A marshal type as a ColumnType (natives, collections, tuples, UDTs), or undefined if unparsable. */
export function classNameToColumnType(className: string): ColumnType | undefined {
  const root = parseClassName(className);
  if (root === undefined) return undefined;
  try {
    return nodeToType(root, className, 1);
  } catch (e) {
    if (e instanceof Unparsable) return undefined;
    throw e;
  }
}

function utf8ToHex(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex');
}

/**
 * The marshal class name of a ColumnType. Collections and UDTs nested inside another type are
 * wrapped in FrozenType, as CQL requires them to be frozen there.
 */
export function columnTypeToClassName(type: ColumnType): string {
  return className(type, false, 1);
}

function className(type: ColumnType, nested: boolean, depth: number): string {
  if (depth > MAX_DEPTH) throw malformed(`column type nested deeper than ${MAX_DEPTH} levels`);
  const inner = (t: ColumnType): string => className(t, true, depth + 1);
  const frozen = (s: string): string => (nested ? `${MARSHAL_PACKAGE}FrozenType(${s})` : s);
  if (isNative(type)) return `${MARSHAL_PACKAGE}${NATIVE_TO_CLASS.get(type.id) ?? ''}`;
  switch (type.id) {
    case DataType.CUSTOM:
      return type.className;
    case DataType.LIST:
      return frozen(`${MARSHAL_PACKAGE}ListType(${inner(type.element)})`);
    case DataType.SET:
      return frozen(`${MARSHAL_PACKAGE}SetType(${inner(type.element)})`);
    case DataType.MAP:
      return frozen(`${MARSHAL_PACKAGE}MapType(${inner(type.key)},${inner(type.value)})`);
    case DataType.TUPLE:
      return `${MARSHAL_PACKAGE}TupleType(${type.elements.map(inner).join(',')})`;
    case DataType.UDT: {
      const fields = type.fields.map((f) => `,${utf8ToHex(f.name)}:${inner(f.type)}`).join('');
      return frozen(
        `${MARSHAL_PACKAGE}UserType(${type.keyspace},${utf8ToHex(type.name)}${fields})`,
      );
    }
    default:
      throw malformed(`unknown column type id ${String((type as { id: unknown }).id)}`);
  }
}

/** A vector column type, as Cassandra 5 puts it on the wire: CUSTOM with the VectorType class. */
export function vectorType(element: ColumnType, dimensions: number): CustomType {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    throw malformed(`vector dimensions must be a positive 32-bit integer, got ${dimensions}`);
  }
  return {
    id: DataType.CUSTOM,
    className: `${MARSHAL_PACKAGE}VectorType(${className(element, true, 2)},${dimensions})`,
  };
}
