import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataType } from '../../../src/protocol/constants.js';
import {
  type ColumnType,
  MAX_TYPE_DEPTH,
  columnTypeToCql,
  isNativeType,
  nativeType,
  quoteIdentifier,
  readColumnType,
  writeColumnType,
} from '../../../src/protocol/messages/column-type.js';
import { vectorType } from '../../../src/protocol/messages/marshal-class.js';
import { CqlReader } from '../../../src/protocol/reader.js';
import { CqlWriter } from '../../../src/protocol/writer.js';
import { hex } from '../../helpers/chunking.js';
import { columnType } from './response-arbitraries.js';
import {
  embedded,
  expectEveryTruncationThrows,
  expectProtocolError,
  expectTrailingByteThrows,
} from './response-hostile-input.js';

function decode(buf: Buffer): ColumnType {
  const reader = new CqlReader(buf);
  const type = readColumnType(reader);
  reader.expectEnd('column type');
  return type;
}

function encode(type: ColumnType): Buffer {
  const writer = new CqlWriter(16);
  writeColumnType(writer, type);
  return writer.finish();
}

const list = (element: ColumnType): ColumnType => ({ id: DataType.LIST, element });
const INT: ColumnType = { id: DataType.INT };
const TEXT: ColumnType = { id: DataType.VARCHAR };

// Spec v5 §4.2.5.2: native option ids, and the CQL name system_schema shows for each.
const NATIVES: [number, string, string][] = [
  [DataType.ASCII, '0001', 'ascii'],
  [DataType.BIGINT, '0002', 'bigint'],
  [DataType.BLOB, '0003', 'blob'],
  [DataType.BOOLEAN, '0004', 'boolean'],
  [DataType.COUNTER, '0005', 'counter'],
  [DataType.DECIMAL, '0006', 'decimal'],
  [DataType.DOUBLE, '0007', 'double'],
  [DataType.FLOAT, '0008', 'float'],
  [DataType.INT, '0009', 'int'],
  [DataType.TIMESTAMP, '000b', 'timestamp'],
  [DataType.UUID, '000c', 'uuid'],
  [DataType.VARCHAR, '000d', 'text'],
  [DataType.VARINT, '000e', 'varint'],
  [DataType.TIMEUUID, '000f', 'timeuuid'],
  [DataType.INET, '0010', 'inet'],
  [DataType.DATE, '0011', 'date'],
  [DataType.TIME, '0012', 'time'],
  [DataType.SMALLINT, '0013', 'smallint'],
  [DataType.TINYINT, '0014', 'tinyint'],
  [DataType.DURATION, '0015', 'duration'],
];

interface Golden {
  name: string;
  type: ColumnType;
  bytes: Buffer;
  cql: string;
}

const GOLDEN: Golden[] = [
  {
    name: 'custom',
    type: { id: DataType.CUSTOM, className: 'org.Foo' },
    bytes: hex(`
      0000                     // id: Custom
      0007 6f72672e466f6f      // [string] "org.Foo"
    `),
    cql: "'org.Foo'",
  },
  {
    name: 'list<int>',
    type: list(INT),
    bytes: hex(`
      0020  // id: List
      0009  // element: Int
    `),
    cql: 'list<int>',
  },
  {
    name: 'set<text>',
    type: { id: DataType.SET, element: TEXT },
    bytes: hex(`
      0022  // id: Set
      000d  // element: Varchar
    `),
    cql: 'set<text>',
  },
  {
    name: 'map<text, list<int>>',
    type: { id: DataType.MAP, key: TEXT, value: list(INT) },
    bytes: hex(`
      0021       // id: Map
      000d       // key: Varchar
      0020 0009  // value: List of Int
    `),
    cql: 'map<text, list<int>>',
  },
  {
    name: 'udt',
    type: {
      id: DataType.UDT,
      keyspace: 'ks',
      name: 'addr',
      fields: [
        { name: 'street', type: TEXT },
        { name: 'zip', type: INT },
      ],
    },
    bytes: hex(`
      0030                   // id: UDT
      0002 6b73              // <ks> "ks"
      0004 61646472          // <udt_name> "addr"
      0002                   // <n> 2 fields
      0006 737472656574 000d // "street" Varchar
      0003 7a6970       0009 // "zip" Int
    `),
    cql: 'addr',
  },
  {
    name: 'udt with a mixed-case name and no fields',
    type: { id: DataType.UDT, keyspace: 'ks', name: 'Addr', fields: [] },
    bytes: hex(`
      0030           // id: UDT
      0002 6b73      // <ks> "ks"
      0004 41646472  // <udt_name> "Addr"
      0000           // <n> 0 fields
    `),
    cql: '"Addr"',
  },
  {
    name: 'tuple<int, text>',
    type: { id: DataType.TUPLE, elements: [INT, TEXT] },
    bytes: hex(`
      0031       // id: Tuple
      0002       // <n> 2
      0009 000d  // Int, Varchar
    `),
    cql: 'tuple<int, text>',
  },
  {
    name: 'vector<float, 3> (a custom type on the wire, spec v5 §5.25)',
    type: {
      id: DataType.CUSTOM,
      className:
        'org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType,3)',
    },
    bytes: Buffer.concat([
      hex('0000 0057'), // id: Custom, [string] of 87 bytes:
      Buffer.from(
        'org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType,3)',
      ),
    ]),
    cql: 'vector<float, 3>',
  },
];

describe('column types (spec v5 §4.2.5.2 [option])', () => {
  it.each(NATIVES)('native 0x%s reads, writes and renders (%s)', (id, wire, cql) => {
    const bytes = hex(wire);
    const type = decode(bytes);
    expect(type).toEqual({ id });
    expect(isNativeType(type)).toBe(true);
    expect(encode(type)).toEqual(bytes);
    expect(columnTypeToCql(type)).toBe(cql);
  });

  it('decodes every native id to one shared object', () => {
    expect(decode(hex('0009'))).toBe(decode(hex('0009')));
    expect(decode(hex('0009'))).toBe(nativeType(DataType.INT));
  });

  describe.each(GOLDEN)('$name', ({ type, bytes, cql }) => {
    it('decodes the golden bytes', () => {
      expect(decode(bytes)).toEqual(type);
    });
    it('encodes to the golden bytes', () => {
      expect(encode(type)).toEqual(bytes);
    });
    it('renders as CQL', () => {
      expect(columnTypeToCql(type)).toBe(cql);
    });
    it('decodes the same from a view inside a larger buffer', () => {
      expect(decode(embedded(bytes))).toEqual(type);
    });
    it('throws ProtocolError when truncated at any length', () => {
      expectEveryTruncationThrows(bytes, decode);
    });
    it('leaves trailing bytes to the caller', () => {
      expectTrailingByteThrows(bytes, decode);
    });
  });

  it('renders nested and quoted names', () => {
    const udt: ColumnType = { id: DataType.UDT, keyspace: 'ks', name: 'a"b', fields: [] };
    expect(columnTypeToCql({ id: DataType.MAP, key: TEXT, value: list(udt) })).toBe(
      'map<text, list<"a""b">>',
    );
    expect(columnTypeToCql({ id: DataType.CUSTOM, className: "it's" })).toBe("'it''s'");
    expect(columnTypeToCql({ id: DataType.TUPLE, elements: [] })).toBe('tuple<>');
    expect(quoteIdentifier('snake_case1')).toBe('snake_case1');
    expect(quoteIdentifier('1abc')).toBe('"1abc"');
    expect(quoteIdentifier('')).toBe('""');
  });

  it('renders vectors of any element type and leaves unparsable vector classes quoted', () => {
    expect(columnTypeToCql(vectorType(INT, 2))).toBe('vector<int, 2>');
    expect(columnTypeToCql(vectorType(list(INT), 4))).toBe('vector<list<int>, 4>');
    expect(columnTypeToCql(vectorType(vectorType(TEXT, 2), 5))).toBe('vector<vector<text, 2>, 5>');
    const badVector = 'org.apache.cassandra.db.marshal.VectorType(FloatType,0)';
    expect(columnTypeToCql({ id: DataType.CUSTOM, className: badVector })).toBe(`'${badVector}'`);
  });

  describe('hostile input', () => {
    it.each(['000a', '0016', '001f', '0023', '002f', '0032', '0040', 'ffff'])(
      'refuses unknown option id %s',
      (wire) => {
        expectProtocolError(() => decode(hex(wire)));
      },
    );

    it('refuses an unknown id nested in a collection', () => {
      expectProtocolError(() => decode(hex('0020 0021 000d 00ff')));
    });

    it(`accepts nesting down to ${MAX_TYPE_DEPTH} levels and refuses one more`, () => {
      let deepest: ColumnType = INT;
      for (let i = 1; i < MAX_TYPE_DEPTH; i++) deepest = list(deepest);
      const bytes = Buffer.concat([hex('0020'.repeat(MAX_TYPE_DEPTH - 1)), hex('0009')]);
      expect(decode(bytes)).toEqual(deepest);
      expect(encode(deepest)).toEqual(bytes);
      expect(columnTypeToCql(deepest)).toBe(`${'list<'.repeat(31)}int${'>'.repeat(31)}`);

      const tooDeep = list(deepest);
      expectProtocolError(() => decode(Buffer.concat([hex('0020'), bytes])));
      expectProtocolError(() => encode(tooDeep));
      expectProtocolError(() => columnTypeToCql(tooDeep));
    });

    it('refuses 100000 nested lists with a ProtocolError, not a stack overflow', () => {
      const bytes = Buffer.concat([hex('0020'.repeat(100_000)), hex('0009')]);
      expectProtocolError(() => decode(bytes));
      const mapBytes = Buffer.concat([hex('0021 000d'.repeat(50_000)), hex('0009')]);
      expectProtocolError(() => decode(mapBytes));
    });

    it('refuses a UDT or tuple whose field count overruns the body', () => {
      expectProtocolError(() => decode(hex('0030 0002 6b73 0001 61 ffff 0001 61 0009')));
      expectProtocolError(() => decode(hex('0031 ffff 0009 0009')));
    });

    it('refuses invalid UTF-8 in a custom class name or a UDT field name', () => {
      expectProtocolError(() => decode(hex('0000 0002 c328')));
      expectProtocolError(() => decode(hex('0030 0002 6b73 0001 61 0001 0001 ff 0009')));
    });

    it('refuses to write a made-up id or too many fields', () => {
      expectProtocolError(() => encode({ id: 0x0a } as unknown as ColumnType));
      expectProtocolError(() => columnTypeToCql({ id: 0x7777 } as unknown as ColumnType));
      const fields = Array.from({ length: 0x10000 }, () => ({ name: 'f', type: INT }));
      expectProtocolError(() => encode({ id: DataType.UDT, keyspace: 'k', name: 'n', fields }));
      const elements = Array.from({ length: 0x10000 }, () => INT);
      expectProtocolError(() => encode({ id: DataType.TUPLE, elements }));
    });
  });

  it('round-trips random column types (property)', () => {
    fc.assert(
      fc.property(columnType(4), (type) => {
        const bytes = encode(type);
        expect(decode(bytes)).toEqual(type);
        expect(decode(embedded(bytes))).toEqual(type);
        expect(typeof columnTypeToCql(type)).toBe('string');
      }),
      { numRuns: 300 },
    );
  });

  it('throws only ProtocolError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (a) => {
        try {
          decode(Buffer.from(a));
        } catch (e) {
          expect((e as Error).name).toBe('ProtocolError');
        }
      }),
      { numRuns: 500 },
    );
  });
});
