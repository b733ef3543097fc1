import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataType, ProtocolVersion, ResultKind } from '../../../src/protocol/constants.js';
import type { ColumnType } from '../../../src/protocol/messages/column-type.js';
import {
  type ColumnSpec,
  MAX_EMPTY_ROWS,
  type PreparedMetadata,
  type ResultMessage,
  type RowsMetadata,
  decodeResult,
  encodeResult,
  encodeRows,
  peekResultKind,
  resultFrame,
  rowsFrame,
} from '../../../src/protocol/messages/result.js';
import { encodeInt, encodeText } from '../../../src/protocol/values.js';
import { hex } from '../../helpers/chunking.js';
import { bytes, cell, columnSpec, sameTableColumns } from './response-arbitraries.js';
import {
  embedded,
  expectEveryTruncationThrows,
  expectProtocolError,
  expectTrailingByteThrows,
} from './response-hostile-input.js';
import { SCHEMA_CHANGE_GOLDEN } from './schema-change-goldens.js';

const { V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;
const ALL_VERSIONS = [V3, V4, V5, DSE_V1, DSE_V2];

const VARCHAR: ColumnType = { id: DataType.VARCHAR };
const INT: ColumnType = { id: DataType.INT };
const col = (keyspace: string, table: string, name: string, type: ColumnType): ColumnSpec => ({
  keyspace,
  table,
  name,
  type,
});

interface Golden {
  name: string;
  versions: number[];
  result: ResultMessage;
  bytes: Buffer;
}

const PREPARED_V4_TAIL = `
  00000001          // <metadata> flags: Global_tables_spec
  00000002          //   <columns_count> 2 bind markers
  00000001          //   <pk_count> 1
  0000              //   <pk_index_1> 0
  0002 6b73 0001 74 //   <global_table_spec> ks.t
  0001 6b 000d      //   "k" varchar
  0001 76 0009      //   "v" int
  00000001          // <result_metadata> flags: Global_tables_spec
  00000001          //   <columns_count> 1
  0002 6b73 0001 74 //   ks.t
  0001 76 0009      //   "v" int
`;

const PREPARED_METADATA: PreparedMetadata = {
  columns: [col('ks', 't', 'k', VARCHAR), col('ks', 't', 'v', INT)],
  pkIndexes: [0],
  globalTableSpec: true,
};

const PREPARED_RESULT_METADATA: RowsMetadata = {
  columnCount: 1,
  columns: [col('ks', 't', 'v', INT)],
  globalTableSpec: true,
};

const GOLDEN: Golden[] = [
  {
    name: 'Void',
    versions: ALL_VERSIONS,
    result: { kind: ResultKind.VOID },
    bytes: hex('00000001 // <kind> Void'),
  },
  {
    name: 'Set_keyspace',
    versions: ALL_VERSIONS,
    result: { kind: ResultKind.SET_KEYSPACE, keyspace: 'ks' },
    bytes: hex(`
      00000003   // <kind> Set_keyspace
      0002 6b73  // <keyspace> "ks"
    `),
  },
  {
    name: 'Rows with a global table spec, a null and an empty cell',
    versions: ALL_VERSIONS,
    result: {
      kind: ResultKind.ROWS,
      metadata: {
        columnCount: 2,
        columns: [col('system', 'local', 'key', VARCHAR), col('system', 'local', 'port', INT)],
        globalTableSpec: true,
      },
      rows: [
        [hex('6c6f63616c'), hex('00002352')],
        [Buffer.alloc(0), null],
      ],
    },
    bytes: hex(`
      00000002              // <kind> Rows
      00000001              // <flags> Global_tables_spec
      00000002              // <columns_count> 2
      0006 73797374656d     // <global_table_spec> keyspace "system"
      0005 6c6f63616c       //                     table "local"
      0003 6b6579   000d    // <col_spec_1> "key" varchar
      0004 706f7274 0009    // <col_spec_2> "port" int
      00000002              // <rows_count> 2
      00000005 6c6f63616c   // row 1: "local"
      00000004 00002352     //        9042
      00000000              // row 2: empty
      ffffffff              //        null
    `),
  },
  {
    name: 'Rows with per-column table specs and a paging state',
    versions: ALL_VERSIONS,
    result: {
      kind: ResultKind.ROWS,
      metadata: {
        columnCount: 2,
        pagingState: hex('010203'),
        columns: [
          col('ks', 'a', 'x', INT),
          col('ks', 'b', 'y', { id: DataType.LIST, element: VARCHAR }),
        ],
        globalTableSpec: false,
      },
      rows: [],
    },
    bytes: hex(`
      00000002                    // <kind> Rows
      00000002                    // <flags> Has_more_pages
      00000002                    // <columns_count> 2
      00000003 010203             // <paging_state> [bytes]
      0002 6b73 0001 61 0001 78 0009       // ks.a "x" int
      0002 6b73 0001 62 0001 79 0020 000d  // ks.b "y" list<varchar>
      00000000                    // <rows_count> 0
    `),
  },
  {
    name: 'Rows with No_metadata',
    versions: ALL_VERSIONS,
    result: {
      kind: ResultKind.ROWS,
      metadata: { columnCount: 1 },
      rows: [[hex('2a')]],
    },
    bytes: hex(`
      00000002     // <kind> Rows
      00000004     // <flags> No_metadata
      00000001     // <columns_count> 1
      00000001     // <rows_count> 1
      00000001 2a  // row 1
    `),
  },
  {
    name: 'Rows with Metadata_changed (v5, DSE v2)',
    versions: [V5, DSE_V2],
    result: {
      kind: ResultKind.ROWS,
      metadata: {
        columnCount: 1,
        newMetadataId: hex('abcd'),
        columns: [col('ks', 't', 'c', INT)],
        globalTableSpec: true,
      },
      rows: [],
    },
    bytes: hex(`
      00000002           // <kind> Rows
      00000009           // <flags> Global_tables_spec | Metadata_changed
      00000001           // <columns_count> 1
      0002 abcd          // <new_metadata_id> [short bytes]
      0002 6b73 0001 74  // <global_table_spec> ks.t
      0001 63 0009       // "c" int
      00000000           // <rows_count> 0
    `),
  },
  {
    name: 'Prepared in v3: no pk indexes, no result metadata id',
    versions: [V3],
    result: {
      kind: ResultKind.PREPARED,
      id: hex('0102'),
      metadata: { columns: [col('ks', 't', 'c', INT)], pkIndexes: [], globalTableSpec: true },
      resultMetadata: { columnCount: 0 },
    },
    bytes: hex(`
      00000004           // <kind> Prepared
      0002 0102          // <id>
      00000001           // <metadata> flags: Global_tables_spec
      00000001           //   <columns_count> 1
      0002 6b73 0001 74  //   ks.t
      0001 63 0009       //   "c" int
      00000004           // <result_metadata> flags: No_metadata
      00000000           //   <columns_count> 0
    `),
  },
  {
    name: 'Prepared in v4 and DSE v1: pk indexes',
    versions: [V4, DSE_V1],
    result: {
      kind: ResultKind.PREPARED,
      id: hex('0102'),
      metadata: PREPARED_METADATA,
      resultMetadata: PREPARED_RESULT_METADATA,
    },
    bytes: hex(`
      00000004    // <kind> Prepared
      0002 0102   // <id>
      ${PREPARED_V4_TAIL}
    `),
  },
  {
    name: 'Prepared in v5 and DSE v2: result metadata id',
    versions: [V5, DSE_V2],
    result: {
      kind: ResultKind.PREPARED,
      id: hex('0102'),
      resultMetadataId: hex('eeff'),
      metadata: PREPARED_METADATA,
      resultMetadata: PREPARED_RESULT_METADATA,
    },
    bytes: hex(`
      00000004    // <kind> Prepared
      0002 0102   // <id>
      0002 eeff   // <result_metadata_id>
      ${PREPARED_V4_TAIL}
    `),
  },
  ...SCHEMA_CHANGE_GOLDEN.map((g): Golden => ({
    name: `Schema_change ${g.name}`,
    versions: g.inV3 ? ALL_VERSIONS : [V4, V5, DSE_V1, DSE_V2],
    result: { kind: ResultKind.SCHEMA_CHANGE, change: g.change },
    bytes: Buffer.concat([hex('00000005 // <kind> Schema_change'), g.bytes]),
  })),
];

const CASES = GOLDEN.flatMap((g) => g.versions.map((version) => ({ ...g, version })));

describe('RESULT (spec v5 §4.2.5)', () => {
  describe.each(CASES)('$name, version $version', ({ result, bytes, version }) => {
    it('decodes the golden bytes', () => {
      expect(decodeResult(bytes, version)).toEqual(result);
    });
    it('encodes to the golden bytes', () => {
      expect(encodeResult(version, result)).toEqual(bytes);
    });
    it('decodes the same from a view inside a larger buffer', () => {
      expect(decodeResult(embedded(bytes), version)).toEqual(result);
    });
    it('peeks the kind', () => {
      expect(peekResultKind(bytes)).toBe(result.kind);
    });
    it('throws ProtocolError when truncated at any length or padded', () => {
      expectEveryTruncationThrows(bytes, (b) => decodeResult(b, version));
      expectTrailingByteThrows(bytes, (b) => decodeResult(b, version));
    });
    it('frames it byte for byte', () => {
      const frame = resultFrame(version, 0x1234, result);
      const header = Buffer.alloc(9);
      header.writeUInt8(0x80 | version, 0);
      header.writeInt16BE(0x1234, 2);
      header.writeUInt8(0x08, 4);
      header.writeInt32BE(bytes.length, 5);
      expect(frame).toEqual(Buffer.concat([header, bytes]));
    });
  });

  it('returns cells and ids as views into the body', () => {
    const rows = GOLDEN[2]!;
    const body = embedded(rows.bytes);
    const decoded = decodeResult(body, V4);
    if (decoded.kind !== ResultKind.ROWS) throw new Error('expected rows');
    expect(decoded.rows[0]?.[0]?.buffer).toBe(body.buffer);
    const prepared = GOLDEN.find((g) => g.name.startsWith('Prepared in v5'))!;
    const pbody = embedded(prepared.bytes);
    const p = decodeResult(pbody, V5);
    if (p.kind !== ResultKind.PREPARED) throw new Error('expected prepared');
    expect(p.id.buffer).toBe(pbody.buffer);
  });

  describe('synthetic rows (encodeRows / rowsFrame)', () => {
    const LOCAL = [col('system', 'local', 'key', VARCHAR)];

    it('rowsFrame writes a system.local row byte for byte', () => {
      expect(rowsFrame(V4, 7, { columns: LOCAL, rows: [[encodeText('local')]] })).toEqual(
        hex(`
          84 00 0007 08 0000002f    // v4 response, stream 7, RESULT, 47 bytes
          00000002                  // <kind> Rows
          00000001                  // <flags> Global_tables_spec
          00000001                  // <columns_count> 1
          0006 73797374656d         // "system"
          0005 6c6f63616c           // "local"
          0003 6b6579 000d          // "key" varchar
          00000001                  // <rows_count> 1
          00000005 6c6f63616c       // "local"
        `),
      );
    });

    it('writes table specs per column when the columns span tables, and a paging state', () => {
      const body = encodeRows(V4, {
        columns: [col('ks', 'a', 'x', INT), col('ks', 'b', 'y', INT)],
        rows: [[encodeInt(1), null]],
        pagingState: hex('ff'),
      });
      expect(body).toEqual(
        hex(`
          00000002 00000002 00000002   // Rows, Has_more_pages, 2 columns
          00000001 ff                  // <paging_state>
          0002 6b73 0001 61 0001 78 0009
          0002 6b73 0001 62 0001 79 0009
          00000001                     // 1 row
          00000004 00000001 ffffffff
        `),
      );
    });

    it('writes an empty result with no columns', () => {
      expect(encodeRows(V5, { columns: [], rows: [] })).toEqual(
        hex('00000002 00000000 00000000 00000000'),
      );
    });

    it('refuses a row whose width is not the column count', () => {
      expectProtocolError(() => encodeRows(V4, { columns: LOCAL, rows: [[null, null]] }));
      expectProtocolError(() => rowsFrame(V4, 0, { columns: LOCAL, rows: [[]] }));
      expectProtocolError(() => rowsFrame(V4, 0x8000, { columns: LOCAL, rows: [] }));
    });
  });

  describe('hostile input', () => {
    const decode4 = (b: Buffer): ResultMessage => decodeResult(b, V4);

    it('refuses unknown kinds and an empty body', () => {
      expectProtocolError(() => decode4(hex('00000006')));
      expectProtocolError(() => decode4(hex('ffffffff')));
      expectProtocolError(() => decode4(Buffer.alloc(0)));
      expectProtocolError(() => peekResultKind(hex('000000')));
    });

    it('refuses negative counts', () => {
      expectProtocolError(() => decode4(hex('00000002 00000004 ffffffff 00000000')));
      expectProtocolError(() => decode4(hex('00000002 00000004 00000001 ffffffff')));
      expectProtocolError(() =>
        decode4(hex('00000004 0000 00000000 00000000 ffffffff 00000004 00000000')),
      );
    });

    it('refuses row counts the body cannot hold, before allocating', () => {
      expectProtocolError(() => decode4(hex('00000002 00000004 00000001 7fffffff 00000001 2a')));
      expectProtocolError(() => decode4(hex('00000002 00000004 7fffffff 7fffffff 00000001 2a')));
      // No columns: rows cost no bytes, so the count itself is capped.
      expectProtocolError(() => decode4(hex('00000002 00000004 00000000 7fffffff')));
      const capped = Buffer.alloc(16);
      capped.writeInt32BE(2, 0);
      capped.writeInt32BE(4, 4);
      capped.writeInt32BE(MAX_EMPTY_ROWS, 12);
      const r = decode4(capped);
      expect(r.kind === ResultKind.ROWS && r.rows.length).toBe(MAX_EMPTY_ROWS);
    });

    it('refuses a huge column count at the end of the bytes present (a truncation, no array of that size)', () => {
      // The decoder reads column specs while bytes last: it stops where the body ends rather
      // than allocating or looping for 2^31 columns.
      expectProtocolError(() => decode4(hex('00000002 00000001 7fffffff 0001 61 0001 62')));
      expect(() => decode4(hex('00000002 00000001 7fffffff 0001 61 0001 62'))).toThrow(
        'truncated [short]: need 2 bytes at offset 18, 0 left',
      );
      expect(() => decode4(hex('00000002 00000000 7fffffff'))).toThrow(
        'truncated [short]: need 2 bytes at offset 12, 0 left',
      );
    });

    it('refuses a cell longer than the body', () => {
      expectProtocolError(() => decode4(hex('00000002 00000004 00000001 00000001 00000005 2a')));
    });

    it('refuses a null paging state and contradictory flags', () => {
      expectProtocolError(() => decode4(hex('00000002 00000006 00000000 ffffffff 00000000')));
      // Metadata_changed before v5, and with No_metadata in v5.
      expectProtocolError(() => decode4(hex('00000002 00000008 00000000 0000 00000000')));
      expectProtocolError(() => decodeResult(hex('00000002 0000000c 00000000 0000 00000000'), V5));
    });

    it('refuses paging or missing specs in prepared bind metadata', () => {
      const tail = '00000004 00000000';
      expectProtocolError(() => decode4(hex(`00000004 0000 00000004 00000000 00000000 ${tail}`)));
      expectProtocolError(() => decode4(hex(`00000004 0000 00000002 00000000 00000000 ${tail}`)));
      expect(decode4(hex(`00000004 0000 00000000 00000000 00000000 ${tail}`))).toEqual({
        kind: ResultKind.PREPARED,
        id: Buffer.alloc(0),
        metadata: { columns: [], pkIndexes: [], globalTableSpec: false },
        resultMetadata: { columnCount: 0 },
      });
    });

    it('refuses a pk count larger than the body', () => {
      expectProtocolError(() => decode4(hex('00000004 0000 00000000 00000000 7fffffff 0000')));
    });

    it('refuses invalid UTF-8 in names and an unknown column type', () => {
      expectProtocolError(() => decode4(hex('00000003 0001 ff')));
      expectProtocolError(() =>
        decode4(hex('00000002 00000001 00000001 0001 61 0001 62 0001 63 0099 00000000')),
      );
    });

    it('throws only ProtocolError on random bytes (property)', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(1, 2, 3, 4, 5),
          fc.uint8Array({ maxLength: 64 }),
          fc.constantFrom(...ALL_VERSIONS),
          (kind, rest, version) => {
            const body = Buffer.concat([hex(`0000000${kind}`), Buffer.from(rest)]);
            try {
              decodeResult(body, version);
            } catch (e) {
              expect((e as Error).name).toBe('ProtocolError');
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe('encoder checks', () => {
    const prepared = (version: number, extra: Partial<ResultMessage> = {}): ResultMessage =>
      ({
        kind: ResultKind.PREPARED,
        id: hex('01'),
        metadata: { columns: [], pkIndexes: [] },
        resultMetadata: { columnCount: 0 },
        ...(version === V5 ? { resultMetadataId: hex('02') } : {}),
        ...extra,
      }) as ResultMessage;

    it('requires the result metadata id exactly where the version has it', () => {
      expect(() => encodeResult(V5, prepared(V5))).not.toThrow();
      expectProtocolError(() => encodeResult(V4, prepared(V5)));
      expectProtocolError(() => encodeResult(V5, prepared(V4)));
    });

    it('refuses pk indexes in v3 and out-of-range indexes', () => {
      const metadata = { columns: [], pkIndexes: [1] };
      expectProtocolError(() => encodeResult(V3, prepared(V3, { metadata })));
      const big = { columns: [], pkIndexes: [0x10000] };
      expectProtocolError(() => encodeResult(V4, prepared(V4, { metadata: big })));
    });

    it('refuses metadata that cannot be written as given', () => {
      const rows = (metadata: RowsMetadata): ResultMessage => ({
        kind: ResultKind.ROWS,
        metadata,
        rows: [],
      });
      const mixed = [col('k', 'a', 'x', INT), col('k', 'b', 'y', INT)];
      expectProtocolError(() =>
        encodeResult(V4, rows({ columnCount: 2, columns: mixed, globalTableSpec: true })),
      );
      expectProtocolError(() =>
        encodeResult(V4, rows({ columnCount: 0, columns: [], globalTableSpec: true })),
      );
      expectProtocolError(() => encodeResult(V4, rows({ columnCount: 1, columns: mixed })));
      expectProtocolError(() => encodeResult(V4, rows({ columnCount: -1 })));
      expectProtocolError(() =>
        encodeResult(V4, rows({ columnCount: 1, columns: [mixed[0]!], newMetadataId: hex('01') })),
      );
      expectProtocolError(() =>
        encodeResult(V5, rows({ columnCount: 1, newMetadataId: hex('01') })),
      );
      expectProtocolError(() => encodeResult(V4, { kind: 9 } as unknown as ResultMessage));
    });

    it('writes per-column specs when told to, even for one table', () => {
      const columns = [col('k', 't', 'x', INT)];
      const body = encodeResult(V4, {
        kind: ResultKind.ROWS,
        metadata: { columnCount: 1, columns, globalTableSpec: false },
        rows: [],
      });
      expect(body).toEqual(hex('00000002 00000000 00000001 0001 6b 0001 74 0001 78 0009 00000000'));
    });
  });

  it('round-trips random results in every version (property)', () => {
    const rowsMetadata = (version: number): fc.Arbitrary<RowsMetadata> => {
      const v5 = version === V5 || version === DSE_V2;
      const withSpecs = fc
        .oneof(fc.array(columnSpec, { maxLength: 4 }), sameTableColumns)
        .chain((columns) => {
          const shared =
            columns.length > 0 &&
            columns.every(
              (c) => c.keyspace === columns[0]!.keyspace && c.table === columns[0]!.table,
            );
          return fc.record(
            {
              columnCount: fc.constant(columns.length),
              columns: fc.constant(columns),
              globalTableSpec: shared ? fc.boolean() : fc.constant(false),
              pagingState: bytes(8),
              ...(v5 ? { newMetadataId: bytes(8) } : {}),
            },
            { requiredKeys: ['columnCount', 'columns', 'globalTableSpec'] },
          );
        });
      const noSpecs = fc.record(
        { columnCount: fc.nat({ max: 5 }), pagingState: bytes(8) },
        { requiredKeys: ['columnCount'] },
      );
      return fc.oneof(withSpecs, noSpecs);
    };
    const result = (version: number): fc.Arbitrary<ResultMessage> => {
      const v5 = version === V5 || version === DSE_V2;
      const rows: fc.Arbitrary<ResultMessage> = rowsMetadata(version).chain((metadata) =>
        fc
          .array(
            fc.array(cell, { minLength: metadata.columnCount, maxLength: metadata.columnCount }),
            {
              maxLength: 5,
            },
          )
          .map((r): ResultMessage => ({ kind: ResultKind.ROWS, metadata, rows: r })),
      );
      const preparedMetadata: fc.Arbitrary<PreparedMetadata> = fc
        .oneof(fc.array(columnSpec, { maxLength: 3 }), sameTableColumns)
        .chain((columns) =>
          fc.record({
            columns: fc.constant(columns),
            pkIndexes:
              version === V3
                ? fc.constant([])
                : fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 3 }),
            globalTableSpec: fc.constant(
              columns.length > 0 &&
                columns.every(
                  (c) => c.keyspace === columns[0]!.keyspace && c.table === columns[0]!.table,
                ),
            ),
          }),
        );
      const prepared: fc.Arbitrary<ResultMessage> = fc
        .record({
          id: bytes(16),
          resultMetadataId: bytes(16),
          metadata: preparedMetadata,
          resultMetadata: rowsMetadata(version).filter((m) => m.pagingState === undefined),
        })
        .map(({ resultMetadataId, ...p }) => ({
          kind: ResultKind.PREPARED,
          ...p,
          ...(v5 ? { resultMetadataId } : {}),
        }));
      return fc.oneof(
        fc.constant<ResultMessage>({ kind: ResultKind.VOID }),
        fc
          .string({ unit: 'grapheme', maxLength: 10 })
          .map((keyspace): ResultMessage => ({ kind: ResultKind.SET_KEYSPACE, keyspace })),
        rows,
        prepared,
      );
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_VERSIONS).chain((v) => fc.tuple(fc.constant(v), result(v))),
        ([version, r]) => {
          const body = encodeResult(version, r);
          expect(decodeResult(body, version)).toEqual(r);
          expect(decodeResult(embedded(body), version)).toEqual(r);
          expect(peekResultKind(body)).toBe(r.kind);
        },
      ),
      { numRuns: 300 },
    );
  });
});
