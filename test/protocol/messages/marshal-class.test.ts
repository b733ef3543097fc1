import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataType } from '../../../src/protocol/constants.js';
import type { ColumnType } from '../../../src/protocol/messages/column-type.js';
import {
  MARSHAL_PACKAGE as P,
  classNameToColumnType,
  columnTypeToClassName,
  parseVectorType,
  vectorType,
} from '../../../src/protocol/messages/marshal-class.js';
import { columnType } from './response-arbitraries.js';
import { expectProtocolError } from './response-hostile-input.js';

const INT: ColumnType = { id: DataType.INT };
const FLOAT: ColumnType = { id: DataType.FLOAT };
const TEXT: ColumnType = { id: DataType.VARCHAR };
const custom = (className: string): ColumnType => ({ id: DataType.CUSTOM, className });

describe('marshal class names (the text of CUSTOM column types)', () => {
  it('builds the VectorType class Cassandra 5 sends for vector<float, 3>', () => {
    expect(vectorType(FLOAT, 3)).toEqual(custom(`${P}VectorType(${P}FloatType,3)`));
  });

  it('reads element type and dimensions back from a vector class', () => {
    expect(parseVectorType(custom(`${P}VectorType(${P}FloatType,1536)`))).toEqual({
      element: FLOAT,
      dimensions: 1536,
    });
    // Cassandra's TypeParser accepts short names too.
    expect(parseVectorType(custom('VectorType(Int32Type,2)'))).toEqual({
      element: INT,
      dimensions: 2,
    });
  });

  it('wraps nested collections and UDTs in FrozenType and reads them back without it', () => {
    const udt: ColumnType = {
      id: DataType.UDT,
      keyspace: 'ks',
      name: 'pt',
      fields: [{ name: 'x', type: INT }],
    };
    const v = vectorType({ id: DataType.MAP, key: TEXT, value: udt }, 2);
    expect(v).toEqual(
      custom(
        `${P}VectorType(${P}FrozenType(${P}MapType(${P}UTF8Type,` +
          `${P}FrozenType(${P}UserType(ks,7074,78:${P}Int32Type)))),2)`,
      ),
    );
    expect(parseVectorType(v)).toEqual({
      element: { id: DataType.MAP, key: TEXT, value: udt },
      dimensions: 2,
    });
  });

  it('keeps an unknown element class verbatim as a custom type', () => {
    const v = custom(`${P}VectorType(com.example.Point(a,b),2)`);
    expect(parseVectorType(v)).toEqual({
      element: custom('com.example.Point(a,b)'),
      dimensions: 2,
    });
  });

  it.each([
    ['not a vector', `${P}ListType(${P}Int32Type)`],
    ['zero dimensions', 'VectorType(FloatType,0)'],
    ['leading zero', 'VectorType(FloatType,03)'],
    ['too many dimensions', 'VectorType(FloatType,2147483648)'],
    ['no dimensions', 'VectorType(FloatType)'],
    ['unclosed', 'VectorType(FloatType,3'],
    ['trailing text', 'VectorType(FloatType,3)x'],
    ['empty element', 'VectorType(,3)'],
    ['bad list arity', 'VectorType(ListType(FloatType,FloatType),3)'],
    ['bad UDT name hex', 'VectorType(UserType(ks,7,78:Int32Type),3)'],
    ['UDT field without a colon', 'VectorType(UserType(ks,7074,Int32Type),3)'],
    ['UDT name not UTF-8', 'VectorType(UserType(ks,ff),3)'],
  ])('is not a vector: %s', (_, className) => {
    expect(parseVectorType(custom(className))).toBeUndefined();
  });

  it('is not a vector for non-custom types', () => {
    expect(parseVectorType(INT)).toBeUndefined();
  });

  it('gives up on class names nested beyond the depth bound instead of overflowing', () => {
    const deep = `VectorType(${'ListType('.repeat(10_000)}Int32Type${')'.repeat(10_000)},2)`;
    expect(parseVectorType(custom(deep))).toBeUndefined();
    expect(classNameToColumnType(deep)).toBeUndefined();
  });

  it('maps old and reversed classes to what they stand for', () => {
    expect(classNameToColumnType(`${P}DateType`)).toEqual({ id: DataType.TIMESTAMP });
    expect(classNameToColumnType(`${P}ReversedType(${P}LongType)`)).toEqual({
      id: DataType.BIGINT,
    });
  });

  it('refuses bad vector dimensions when building one', () => {
    expectProtocolError(() => vectorType(FLOAT, 0));
    expectProtocolError(() => vectorType(FLOAT, 1.5));
    expectProtocolError(() => vectorType(FLOAT, 2 ** 31));
  });

  it('round-trips random types without custom leaves through their class name (property)', () => {
    fc.assert(
      fc.property(columnType(3, false), fc.integer({ min: 1, max: 4096 }), (type, dims) => {
        expect(classNameToColumnType(columnTypeToClassName(type))).toEqual(type);
        expect(parseVectorType(vectorType(type, dims))).toEqual({
          element: type,
          dimensions: dims,
        });
      }),
      { numRuns: 300 },
    );
  });
});
