// fast-check arbitraries shared by the response codec property tests.

import fc from 'fast-check';
import { DataType } from '../../../src/protocol/constants.js';
import type { ColumnType, NativeTypeId } from '../../../src/protocol/messages/column-type.js';
import type { ColumnSpec } from '../../../src/protocol/messages/result.js';
import { formatInetAddr } from '../../../src/protocol/reader.js';

export const NATIVE_IDS: readonly NativeTypeId[] = [
  DataType.ASCII,
  DataType.BIGINT,
  DataType.BLOB,
  DataType.BOOLEAN,
  DataType.COUNTER,
  DataType.DECIMAL,
  DataType.DOUBLE,
  DataType.FLOAT,
  DataType.INT,
  DataType.TIMESTAMP,
  DataType.UUID,
  DataType.VARCHAR,
  DataType.VARINT,
  DataType.TIMEUUID,
  DataType.INET,
  DataType.DATE,
  DataType.TIME,
  DataType.SMALLINT,
  DataType.TINYINT,
  DataType.DURATION,
];

/** Any valid Unicode text (whole grapheme clusters, so no lone surrogates). */
export const text = (maxLength = 12): fc.Arbitrary<string> =>
  fc.string({ unit: 'grapheme', maxLength });

/** Keyspace-like names: what Cassandra allows unquoted and in marshal class names. */
export const keyspaceName = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/);

export const bytes = (maxLength = 24): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

export const nativeType: fc.Arbitrary<ColumnType> = fc.constantFrom(...NATIVE_IDS).map((id) => ({
  id,
}));

export const customType: fc.Arbitrary<ColumnType> = text(40).map((className) => ({
  id: DataType.CUSTOM,
  className,
}));

/** Column types nested up to `depth` levels below the root. */
export function columnType(depth = 3, withCustom = true): fc.Arbitrary<ColumnType> {
  const leaf = withCustom ? fc.oneof({ weight: 4, arbitrary: nativeType }, customType) : nativeType;
  if (depth === 0) return leaf;
  const sub = columnType(depth - 1, withCustom);
  const name = withCustom ? text(8) : keyspaceName;
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    sub.map((element): ColumnType => ({ id: DataType.LIST, element })),
    sub.map((element): ColumnType => ({ id: DataType.SET, element })),
    fc.tuple(sub, sub).map(([key, value]): ColumnType => ({ id: DataType.MAP, key, value })),
    fc
      .record({
        keyspace: keyspaceName,
        name,
        fields: fc.array(fc.record({ name, type: sub }), { maxLength: 3 }),
      })
      .map((u): ColumnType => ({ id: DataType.UDT, ...u })),
    fc
      .array(sub, { maxLength: 3 })
      .map((elements): ColumnType => ({ id: DataType.TUPLE, elements })),
  );
}

/** An address in the canonical text form the reader produces, so round trips compare equal. */
export const inetAddress: fc.Arbitrary<string> = fc
  .oneof(
    fc.uint8Array({ minLength: 4, maxLength: 4 }),
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
  )
  .map((a) => formatInetAddr(Buffer.from(a)));

export const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
export const uint16 = fc.integer({ min: 0, max: 0xffff });

export const columnSpec: fc.Arbitrary<ColumnSpec> = fc.record({
  keyspace: text(8),
  table: text(8),
  name: text(8),
  type: columnType(2),
});

/** Columns that all share one keyspace and table. */
export const sameTableColumns: fc.Arbitrary<ColumnSpec[]> = fc
  .tuple(
    text(8),
    text(8),
    fc.array(fc.record({ name: text(8), type: columnType(2) }), { minLength: 1, maxLength: 4 }),
  )
  .map(([keyspace, table, cols]) => cols.map((c) => ({ keyspace, table, ...c })));

export const cell: fc.Arbitrary<Buffer | null> = fc.option(bytes(16), { nil: null, freq: 5 });
