import { describe, expect, it } from 'vitest';
import { DataType, ErrorCode } from '../../../src/protocol/constants.js';
import { createEngine } from '../../../sim/engine/index.js';
import type { Engine } from '../../../sim/engine/contract.js';
import { errorOf, int, q, rowsOf } from './engine-helpers.js';

/**
 * [type, CQL literal, the bytes a driver binds for the same value (spec v4 §6)]. Hex written from
 * the spec by hand and checked against the Python driver's serializers
 * (cassandra.cqltypes.<Type>.serialize) where the arithmetic is not obvious.
 */
const GOLDEN: readonly (readonly [string, string, string])[] = [
  ['ascii', "'abc'", '616263'],
  ['bigint', '1099511627776', '0000010000000000'],
  ['bigint', '-1', 'ffffffffffffffff'],
  ['blob', '0xCAFE', 'cafe'],
  ['blob', '0x', ''],
  ['boolean', 'true', '01'],
  ['boolean', 'FALSE', '00'],
  // days since the epoch + 2^31: 2024-01-02 is day 19724 = 0x4d0c
  ['date', "'2024-01-02'", '80004d0c'],
  ['date', "'1969-12-31'", '7fffffff'],
  ['date', '2147483648', '80000000'],
  // <scale: int><unscaled: varint>
  ['decimal', '12.345', '000000033039'],
  ['decimal', '-1.5e3', 'fffffffef1'],
  ['decimal', '0.00', '0000000200'],
  ['decimal', '7', '0000000007'],
  ['double', '1.5', '3ff8000000000000'],
  ['double', '-Infinity', 'fff0000000000000'],
  ['double', 'NaN', '7ff8000000000000'],
  // vint months, days, nanoseconds (zig-zag)
  ['duration', '1h30m', '0000fc09d29229e000'],
  ['duration', '-1d', '000100'],
  ['duration', '1y2mo3w4d5h6m7s8ms9us10ns', '1c32fc2168cdf9d664'],
  ['duration', 'P1Y2M25DT5H6M7S', '1c32fc2168cd056c00'],
  ['duration', 'P2W', '001c00'],
  ['float', '2.5', '40200000'],
  ['float', '3', '40400000'],
  ['inet', "'10.0.0.1'", '0a000001'],
  ['inet', "'::1'", '00000000000000000000000000000001'],
  ['int', '42', '0000002a'],
  ['int', '-2147483648', '80000000'],
  ['smallint', '-2', 'fffe'],
  ['text', "'héllo'", '68c3a96c6c6f'],
  ['text', "'it''s'", '69742773'],
  ['varchar', '$$dollar$$', '646f6c6c6172'],
  ['time', "'10:00:00.123456789'", '000020bdee920d15'],
  ['time', '1', '0000000000000001'],
  ['timestamp', "'2024-01-02 03:04:05.678+0000'", '0000018cc820db2e'],
  ['timestamp', "'2024-01-02T03:04:05.678Z'", '0000018cc820db2e'],
  ['timestamp', "'2024-01-02T05:04:05.678+02:00'", '0000018cc820db2e'],
  ['timestamp', "'2024-01-02'", '0000018cc7785000'],
  ['timestamp', '1704153600000', '0000018cc7785000'],
  ['timeuuid', '74431200-eac1-11f1-80ce-02fc00000001', '74431200eac111f180ce02fc00000001'],
  ['tinyint', '-128', '80'],
  ['uuid', '123E4567-E89B-12D3-A456-426614174000', '123e4567e89b12d3a456426614174000'],
  ['varint', '1000000000000000000000000000000', '0c9f2c9cd04674edea40000000'],
  ['varint', '-1', 'ff'],
  ['varint', '128', '0080'],
  ['varint', '-129', 'ff7f'],
  // [int] n, then n [bytes]
  [
    'list<int>',
    '[3, 1, 2]',
    '00000003' + '0000000400000003' + '0000000400000001' + '0000000400000002',
  ],
  // sets sorted and unique, as Cassandra stores them
  ['set<text>', "{'b', 'a', 'b'}", '00000002' + '0000000161' + '0000000162'],
  ['set<int>', '{}', ''],
  ['frozen<set<int>>', '{}', '00000000'],
  // maps sorted by key
  [
    'map<text, int>',
    "{'z': 1, 'a': 2}",
    '00000002' + '000000016100000004' + '00000002' + '000000017a00000004' + '00000001',
  ],
  ['frozen<list<int>>', '[9, 8]', '00000002' + '0000000400000009' + '0000000400000008'],
  // tuples: the [bytes] of each component, a missing one null
  ['tuple<int, text>', "(1, 'x')", '0000000400000001' + '0000000178'],
  ['tuple<int, text>', '(1, null)', '0000000400000001' + 'ffffffff'],
  [
    'map<int, frozen<list<text>>>',
    "{1: ['a']}",
    '00000001' + '0000000400000001' + '00000009' + '00000001' + '0000000161',
  ],
];

function setup(): Engine {
  const e = createEngine();
  q(
    e,
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
  );
  return e;
}

describe('literals and bind values', () => {
  const e = setup();
  GOLDEN.forEach(([type, literal, hex], i) => {
    it(`${type} ${literal}`, () => {
      q(e, `CREATE TABLE ks.t${i} (k int PRIMARY KEY, v ${type})`);
      q(e, `INSERT INTO ks.t${i} (k, v) VALUES (1, ${literal})`);
      q(e, `INSERT INTO ks.t${i} (k, v) VALUES (?, ?)`, [int(2), Buffer.from(hex, 'hex')]);
      const rows = rowsOf(q(e, `SELECT k, v FROM ks.t${i} WHERE k IN (1, 2)`));
      const expected = hex === '' && type.startsWith('set<') ? null : hex;
      expect(rows.map((r) => r[1]?.toString('hex') ?? null)).toEqual([expected, expected]);
    });
  });

  it('result metadata carries the column types', () => {
    q(
      e,
      'CREATE TABLE ks.meta (k int PRIMARY KEY, l list<frozen<map<int, text>>>, t tuple<int, uuid>)',
    );
    const r = q(e, 'SELECT * FROM ks.meta');
    if (r.kind !== 'rows') throw new Error('rows');
    // Cassandra's SELECT * order: keys, then simple columns, then multi-cell collections.
    expect(r.columns.map((c) => c.name)).toEqual(['k', 't', 'l']);
    expect(r.columns.map((c) => c.type)).toEqual([
      { id: DataType.INT },
      { id: DataType.TUPLE, elements: [{ id: DataType.INT }, { id: DataType.UUID }] },
      {
        id: DataType.LIST,
        element: { id: DataType.MAP, key: { id: DataType.INT }, value: { id: DataType.VARCHAR } },
      },
    ]);
  });
});

describe('bound values are validated like Cassandra does', () => {
  const e = setup();
  const cases: readonly (readonly [string, string, string])[] = [
    ['int', '000001', 'Expected 4 or 0 byte int (3)'],
    ['bigint', '00000001', 'Expected 8 or 0 byte long (4)'],
    ['smallint', '000000', 'Expected 2 bytes for a smallint (3)'],
    ['tinyint', '0000', 'Expected 1 byte for a tinyint (2)'],
    ['boolean', '0000', 'Expected 1 or 0 byte value (2)'],
    ['float', '00', 'Expected 4 or 0 byte value for a float (1)'],
    ['double', '00', 'Expected 8 or 0 byte value for a double (1)'],
    ['uuid', '00', 'UUID should be 16 or 0 bytes (1)'],
    ['timeuuid', '123e4567e89b42d3a456426614174000', 'Invalid version for TimeUUID type.'],
    ['timestamp', '0001', 'Expected 8 or 0 byte long for date (2)'],
    ['date', '01', 'Expected 4 byte long for date (1)'],
    ['time', '01', 'Expected 8 byte long for a time (1)'],
    ['inet', '010203', 'Expected 4 or 16 byte inetaddress; got 010203'],
    ['text', 'c328', "String didn't validate."],
    ['ascii', '41c3', 'Invalid byte for ascii: -61'],
    ['decimal', '0001', 'Expected 0 or at least 4 bytes (2)'],
    ['duration', '00', 'Expected at least 3 bytes for a duration (1)'],
    [
      'duration',
      '020100',
      'The duration months, days and nanoseconds must be all of the same sign (1, -1, 0)',
    ],
    ['list<int>', '00000001', 'Not enough bytes to read a list'],
    ['list<int>', '0000000100000004000000', 'Not enough bytes to read a list'],
    ['list<int>', '00000001ffffffff', 'null is not supported inside collections'],
    ['list<int>', '00000001' + '00000003' + '000001', 'Expected 4 or 0 byte int (3)'],
    ['set<int>', '0000000000', 'Unexpected extraneous bytes after set value'],
    ['map<int, int>', '000000010000000400000001', 'Not enough bytes to read a map'],
  ];
  cases.forEach(([type, hex, message], i) => {
    it(`${type} 0x${hex}`, () => {
      q(e, `CREATE TABLE ks.v${i} (k int PRIMARY KEY, v ${type})`);
      const err = errorOf(() =>
        q(e, `INSERT INTO ks.v${i} (k, v) VALUES (1, ?)`, [Buffer.from(hex, 'hex')]),
      );
      expect(err.error.code).toBe(ErrorCode.INVALID);
      expect(err.message).toBe(message);
    });
  });

  it('empty values are accepted where Cassandra accepts them', () => {
    q(e, 'CREATE TABLE ks.empty (k int PRIMARY KEY, a int, b uuid, c text)');
    q(e, 'INSERT INTO ks.empty (k, a, b, c) VALUES (1, ?, ?, ?)', [
      Buffer.alloc(0),
      Buffer.alloc(0),
      Buffer.alloc(0),
    ]);
    expect(rowsOf(q(e, 'SELECT a, b, c FROM ks.empty'))).toEqual([
      [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)],
    ]);
  });

  it('bound sets and maps are stored sorted and unique', () => {
    q(e, 'CREATE TABLE ks.norm (k int PRIMARY KEY, s set<int>, m map<int, text>)');
    const set = Buffer.from(
      '00000003' + '0000000400000002' + '0000000400000001' + '0000000400000002',
      'hex',
    );
    const map = Buffer.from(
      '00000002' + '0000000400000009' + '0000000162' + '0000000400000001' + '0000000161',
      'hex',
    );
    q(e, 'INSERT INTO ks.norm (k, s, m) VALUES (1, ?, ?)', [set, map]);
    const [row] = rowsOf(q(e, 'SELECT s, m FROM ks.norm'));
    expect(row?.[0]?.toString('hex')).toBe('00000002' + '0000000400000001' + '0000000400000002');
    expect(row?.[1]?.toString('hex')).toBe(
      '00000002' + '0000000400000001' + '0000000161' + '0000000400000009' + '0000000162',
    );
  });
});

describe('literal errors', () => {
  const e = setup();
  q(
    e,
    'CREATE TABLE ks.lit (k int PRIMARY KEY, i int, t text, s set<int>, u uuid, ts timestamp, ti tinyint, b blob, tu timeuuid)',
  );
  const cases: readonly (readonly [string, string])[] = [
    ["i = 'abc'", 'Invalid STRING constant (abc) for "i" of type int'],
    ['t = 1', 'Invalid INTEGER constant (1) for "t" of type text'],
    ['i = 1.5', 'Invalid FLOAT constant (1.5) for "i" of type int'],
    ['i = true', 'Invalid BOOLEAN constant (true) for "i" of type int'],
    ['i = 0xab', 'Invalid HEX constant (0xab) for "i" of type int'],
    ["u = 'x'", 'Invalid STRING constant (x) for "u" of type uuid'],
    ['i = 2147483648', "Unable to make int from '2147483648'"],
    ['ti = 128', "Unable to make byte from '128'"],
    ["ts = 'yesterday'", "Unable to coerce 'yesterday' to a formatted date (long)"],
    ['s = [1]', 'Invalid list literal for s of type set<int>'],
    ['i = [1]', 'Invalid list literal for i of type int'],
    ["s = {1: 'a'}", 'Invalid map literal for s of type set<int>'],
    ['i = (1, 2)', 'Invalid tuple literal for i of type int'],
    ['b = 0xabc', 'An hex string representing bytes must have an even length'],
    [
      'tu = 123e4567-e89b-42d3-a456-426614174000',
      'Unsupported UUID version for timeuuid: 123e4567-e89b-42d3-a456-426614174000',
    ],
    ['i = foo()', "Unknown function 'foo'"],
    [
      'u = currenttimestamp()',
      'Type error: cannot assign result of function system.currenttimestamp (type timestamp) to a value of type uuid',
    ],
  ];
  it.each(cases)('%s', (assignment, message) => {
    const err = errorOf(() => q(e, `UPDATE ks.lit SET ${assignment} WHERE k = 1`));
    expect(err.error.code).toBe(ErrorCode.INVALID);
    expect(err.message).toBe(message);
  });

  it('now(), uuid() and toTimestamp(now()) produce values of their type', () => {
    q(e, 'UPDATE ks.lit SET tu = now(), u = uuid(), ts = toTimestamp(now()) WHERE k = 2');
    const [row] = rowsOf(q(e, 'SELECT tu, u, ts FROM ks.lit WHERE k = 2'));
    expect((row?.[0]?.[6] ?? 0) >> 4).toBe(1);
    expect((row?.[1]?.[6] ?? 0) >> 4).toBe(4);
    const ms = Number(row?.[2]?.readBigInt64BE(0));
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
  });
});
