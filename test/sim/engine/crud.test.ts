import { describe, expect, it } from 'vitest';
import { createEngine } from '../../../sim/engine/index.js';
import type { Engine } from '../../../sim/engine/contract.js';
import { UNSET } from '../../../src/protocol/reader.js';
import {
  bigint,
  columnNames,
  contextFor,
  errorOf,
  int,
  opts,
  q,
  readBigint,
  readInt,
  readText,
  rowsOf,
  text,
} from './engine-helpers.js';

function setup(now?: () => number): Engine {
  const e = createEngine(now === undefined ? {} : { now });
  q(e, "CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}");
  return e;
}

/** Rows as arrays of ints (null kept). */
function ints(e: Engine, query: string, values: Buffer[] = []): (number | null)[][] {
  return rowsOf(q(e, query, values, 'ks')).map((r) => r.map(readInt));
}

describe('insert, update, select', () => {
  it('upserts merge columns; null deletes a column', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY, a int, b int, c int)');
    q(e, 'INSERT INTO ks.t (k, a, b) VALUES (1, 10, 20)');
    q(e, 'UPDATE ks.t SET c = 30 WHERE k = 1');
    q(e, 'INSERT INTO ks.t (k, a) VALUES (1, 11)');
    expect(ints(e, 'SELECT * FROM t')).toEqual([[1, 11, 20, 30]]);
    q(e, 'UPDATE ks.t SET b = null WHERE k = 1');
    expect(ints(e, 'SELECT k, b FROM t WHERE k = 1')).toEqual([[1, null]]);
  });

  it('a row written by INSERT survives with all columns null; one written by UPDATE does not', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY, a int)');
    q(e, 'INSERT INTO ks.t (k) VALUES (1)');
    q(e, 'UPDATE ks.t SET a = 5 WHERE k = 2');
    q(e, 'UPDATE ks.t SET a = null WHERE k = 2');
    expect(ints(e, 'SELECT * FROM t')).toEqual([[1, null]]);
  });

  it('unset values leave columns untouched', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY, a int, b int)');
    q(e, 'INSERT INTO ks.t (k, a, b) VALUES (1, 1, 1)');
    q(e, 'INSERT INTO ks.t (k, a, b) VALUES (?, ?, ?)', [int(1), UNSET, int(2)]);
    expect(ints(e, 'SELECT a, b FROM t')).toEqual([[1, 2]]);
  });

  it('projections with aliases, writetime() and ttl()', () => {
    let now = 1_700_000_000_000;
    const e = setup(() => now);
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY, a int)');
    q(e, 'INSERT INTO ks.t (k, a) VALUES (1, 2) USING TTL 100 AND TIMESTAMP 12345');
    now += 10_500;
    const r = q(e, 'SELECT a AS x, k, writetime(a), ttl(a) FROM ks.t');
    expect(columnNames(r)).toEqual(['x', 'k', 'writetime(a)', 'ttl(a)']);
    const [row] = rowsOf(r);
    expect([readInt(row?.[0]), readInt(row?.[1]), readBigint(row?.[2]), readInt(row?.[3])]).toEqual(
      [2, 1, 12345n, 90],
    );
  });

  it('TTL expires data; default_time_to_live applies', () => {
    let now = 1_700_000_000_000;
    const e = setup(() => now);
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY, a int) WITH default_time_to_live = 5');
    q(e, 'INSERT INTO ks.t (k, a) VALUES (1, 1)');
    q(e, 'INSERT INTO ks.t (k, a) VALUES (2, 2) USING TTL 0');
    q(e, 'INSERT INTO ks.t (k, a) VALUES (3, 3) USING TTL 60');
    now += 6000;
    expect(
      ints(e, 'SELECT k FROM t')
        .map((r) => r[0])
        .sort(),
    ).toEqual([2, 3]);
    now += 60_000;
    expect(ints(e, 'SELECT k FROM t')).toEqual([[2]]);
  });

  it('last write wins by timestamp', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY, a int)');
    q(e, 'INSERT INTO ks.t (k, a) VALUES (1, 1) USING TIMESTAMP 100');
    q(e, 'INSERT INTO ks.t (k, a) VALUES (1, 2) USING TIMESTAMP 50');
    expect(ints(e, 'SELECT a FROM t')).toEqual([[1]]);
    q(e, 'UPDATE ks.t USING TIMESTAMP 200 SET a = 3 WHERE k = 1');
    expect(ints(e, 'SELECT a FROM t')).toEqual([[3]]);
    // The client's default timestamp (spec v4 §4.1.4 flag 0x20) is used when none is written.
    q(e, 'INSERT INTO ks.t (k, a) VALUES (1, 4)', [], undefined, { timestamp: 150n });
    expect(ints(e, 'SELECT a FROM t')).toEqual([[3]]);
  });

  it('USE sets the keyspace unqualified names resolve to', () => {
    const e = setup();
    expect(q(e, 'USE ks')).toEqual({ kind: 'set_keyspace', keyspace: 'ks' });
    q(e, 'CREATE TABLE t (k int PRIMARY KEY)', [], 'ks');
    q(e, 'INSERT INTO t (k) VALUES (1)', [], 'ks');
    expect(ints(e, 'SELECT * FROM ks.t')).toEqual([[1]]);
    // v5 per-query keyspace overrides the connection's.
    expect(
      rowsOf(e.execute('SELECT * FROM t', opts([], { keyspace: 'ks' }), contextFor('other'))),
    ).toHaveLength(1);
  });

  it('named values are matched to markers by name', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY, a text)');
    e.execute(
      'INSERT INTO ks.t (k, a) VALUES (:k, :a)',
      opts([text('x'), int(7)], { names: ['a', 'k'] }),
      contextFor(),
    );
    // `?` markers are named after their column.
    e.execute(
      'UPDATE ks.t SET a = ? WHERE k = ?',
      opts([int(7), text('y')], { names: ['k', 'a'] }),
      contextFor(),
    );
    expect(
      rowsOf(q(e, 'SELECT k, a FROM ks.t')).map((r) => [readInt(r[0]), readText(r[1])]),
    ).toEqual([[7, 'y']]);
  });
});

describe('clustering order and restrictions', () => {
  function clustered(): Engine {
    const e = setup();
    q(
      e,
      'CREATE TABLE ks.c (p int, c1 int, c2 text, v int, PRIMARY KEY (p, c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC)',
    );
    for (const c1 of [-5, 0, 3, 10, -100]) {
      for (const c2 of ['b', 'a', 'c']) {
        q(e, 'INSERT INTO ks.c (p, c1, c2, v) VALUES (1, ?, ?, ?)', [
          int(c1),
          text(c2),
          int(c1 * 10),
        ]);
      }
    }
    return e;
  }
  const pairs = (e: Engine, query: string, values: Buffer[] = []): string[] =>
    rowsOf(q(e, query, values, 'ks')).map((r) => `${readInt(r[0])}${readText(r[1])}`);

  it('rows come back in CLUSTERING ORDER (signed ints DESC, text ASC)', () => {
    expect(pairs(clustered(), 'SELECT c1, c2 FROM c WHERE p = 1')).toEqual([
      '10a',
      '10b',
      '10c',
      '3a',
      '3b',
      '3c',
      '0a',
      '0b',
      '0c',
      '-5a',
      '-5b',
      '-5c',
      '-100a',
      '-100b',
      '-100c',
    ]);
  });

  it('ORDER BY reverses the whole order', () => {
    expect(
      pairs(clustered(), 'SELECT c1, c2 FROM c WHERE p = 1 ORDER BY c1 ASC, c2 DESC LIMIT 4'),
    ).toEqual(['-100c', '-100b', '-100a', '-5c']);
  });

  it('ranges, equalities and IN on clustering columns', () => {
    const e = clustered();
    expect(pairs(e, 'SELECT c1, c2 FROM c WHERE p = 1 AND c1 > -5 AND c1 <= 3')).toEqual([
      '3a',
      '3b',
      '3c',
      '0a',
      '0b',
      '0c',
    ]);
    expect(
      pairs(e, 'SELECT c1, c2 FROM c WHERE p = 1 AND c1 = 3 AND c2 >= ?', [text('b')]),
    ).toEqual(['3b', '3c']);
    expect(
      pairs(e, 'SELECT c1, c2 FROM c WHERE p = 1 AND c1 IN (0, 10, 0) AND c2 = ?', [text('c')]),
    ).toEqual(['10c', '0c']);
    expect(
      pairs(e, 'SELECT c1, c2 FROM c WHERE p = 1 AND c1 = 0 AND c2 IN ?', [
        Buffer.from('00000002' + '0000000163' + '0000000161', 'hex'),
      ]),
    ).toEqual(['0a', '0c']);
    expect(pairs(e, 'SELECT c1, c2 FROM c WHERE p = 1 AND c1 = 0 AND c2 < ?', [text('a')])).toEqual(
      [],
    );
  });

  it('LIMIT, PER PARTITION LIMIT and count(*)', () => {
    const e = clustered();
    q(e, "INSERT INTO ks.c (p, c1, c2) VALUES (2, 1, 'x')");
    q(e, "INSERT INTO ks.c (p, c1, c2) VALUES (2, 2, 'x')");
    expect(pairs(e, 'SELECT c1, c2 FROM c WHERE p = 1 LIMIT ?', [int(2)])).toEqual(['10a', '10b']);
    expect(pairs(e, 'SELECT c1, c2 FROM c PER PARTITION LIMIT 1')).toEqual(['10a', '2x']);
    const r = q(e, 'SELECT count(*) FROM c', [], 'ks');
    expect(columnNames(r)).toEqual(['count']);
    expect(rowsOf(r).map((row) => readBigint(row[0]))).toEqual([17n]);
    expect(
      rowsOf(q(e, 'SELECT count(1) AS n, count(v) FROM ks.c WHERE p = 2')).map((row) =>
        row.map(readBigint),
      ),
    ).toEqual([[2n, 0n]]);
    expect(
      rowsOf(q(e, 'SELECT count(*) FROM ks.c WHERE p = 9')).map((row) => readBigint(row[0])),
    ).toEqual([0n]);
    const err = errorOf(() => q(e, 'SELECT * FROM ks.c LIMIT 0'));
    expect(err.message).toBe('LIMIT must be strictly positive');
  });

  it('partition key IN returns partitions in clause order, each once', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY, v int)');
    for (let k = 0; k < 10; k++) q(e, 'INSERT INTO ks.t (k, v) VALUES (?, ?)', [int(k), int(k)]);
    expect(ints(e, 'SELECT k FROM t WHERE k IN (7, 3, 99, 3, 5)')).toEqual([[7], [3], [5]]);
  });

  it('composite partition keys, IN on each column', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (a int, b text, v int, PRIMARY KEY ((a, b)))');
    q(e, "INSERT INTO ks.t (a, b, v) VALUES (1, 'x', 1)");
    q(e, "INSERT INTO ks.t (a, b, v) VALUES (1, 'y', 2)");
    q(e, "INSERT INTO ks.t (a, b, v) VALUES (2, 'x', 3)");
    expect(ints(e, "SELECT v FROM t WHERE a IN (1, 2) AND b = 'x'")).toEqual([[1], [3]]);
    expect(ints(e, "SELECT v FROM t WHERE a = 1 AND b IN ('y', 'x')")).toEqual([[2], [1]]);
  });

  it('a full scan returns partitions in Murmur3 token order, with token()', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY)');
    for (const k of [1, 2, 3, 4, 5]) q(e, 'INSERT INTO ks.t (k) VALUES (?)', [int(k)]);
    const rows = rowsOf(q(e, 'SELECT k, token(k) FROM ks.t'));
    const tokens = rows.map((r) => readBigint(r[1]) ?? 0n);
    expect([...tokens].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(tokens);
    expect(rows.find((r) => readInt(r[0]) === 1)?.[1]?.readBigInt64BE(0)).toBe(
      -4069959284402364209n,
    );
    // token ranges select partitions by token
    const some = rowsOf(
      q(e, 'SELECT k FROM ks.t WHERE token(k) > ? AND token(k) <= ?', [
        bigint(tokens[0] ?? 0n),
        bigint(tokens[2] ?? 0n),
      ]),
    );
    expect(some.map((r) => readInt(r[0]))).toEqual(rows.slice(1, 3).map((r) => readInt(r[0])));
  });

  it('ALLOW FILTERING filters on any column', () => {
    const e = clustered();
    expect(pairs(e, "SELECT c1, c2 FROM c WHERE c2 = 'b' AND v > 0 ALLOW FILTERING")).toEqual([
      '10b',
      '3b',
    ]);
    expect(
      pairs(e, 'SELECT c1, c2 FROM c WHERE p = 1 AND c2 = ? ALLOW FILTERING', [text('a')]),
    ).toEqual(['10a', '3a', '0a', '-5a', '-100a']);
  });

  it('SELECT DISTINCT returns each partition key once', () => {
    const e = clustered();
    q(e, "INSERT INTO ks.c (p, c1, c2) VALUES (2, 1, 'x')");
    expect(
      ints(e, 'SELECT DISTINCT p FROM c')
        .map((r) => r[0])
        .sort(),
    ).toEqual([1, 2]);
  });
});

describe('type-aware clustering order', () => {
  it('orders uuids, timeuuids, varints, decimals, doubles and blobs as Cassandra does', () => {
    const e = setup();
    const order = (type: string, literals: string[]): string[] => {
      const table = `o_${type.replace(/\W/g, '')}`;
      q(e, `CREATE TABLE ks.${table} (p int, c ${type}, PRIMARY KEY (p, c))`);
      for (const l of literals) q(e, `INSERT INTO ks.${table} (p, c) VALUES (0, ${l})`);
      return rowsOf(q(e, `SELECT c FROM ks.${table}`)).map((r) => r[0]?.toString('hex') ?? '');
    };
    expect(order('varint', ['100', '-100', '0', '99999999999999999999', '-1'])).toEqual([
      '9c',
      'ff',
      '00',
      '64',
      '056bc75e2d630fffff',
    ]);
    expect(order('decimal', ['1.5', '-2', '1.49', '100'])).toEqual([
      '00000000fe',
      '000000020095',
      '000000010f',
      '0000000064',
    ]);
    expect(order('double', ['1.5', '-0.0', '0.0', 'NaN', '-Infinity'])).toEqual([
      'fff0000000000000',
      '8000000000000000',
      '0000000000000000',
      '3ff8000000000000',
      '7ff8000000000000',
    ]);
    expect(order('blob', ['0xff', '0x00', '0x0001', '0x'])).toEqual(['', '00', '0001', 'ff']);
    // timeuuids by their timestamp, not their bytes: 2nd is earlier though its first byte is larger
    expect(
      order('timeuuid', [
        '00000000-0000-1001-8000-000000000000',
        'ffffffff-0000-1000-8000-000000000000',
      ]),
    ).toEqual(['ffffffff000010008000000000000000', '00000000000010018000000000000000']);
    // uuids by version first, then bytes
    expect(
      order('uuid', [
        'ffffffff-ffff-4fff-8fff-ffffffffffff',
        '00000000-0000-1000-8000-000000000001',
        '00000000-0000-4000-8000-000000000000',
      ]),
    ).toEqual([
      '00000000000010008000000000000001',
      '00000000000040008000000000000000',
      'ffffffffffff4fff8fffffffffffffff',
    ]);
  });
});

describe('collections', () => {
  it('append, prepend, add, remove, put, and element deletion', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY, l list<int>, s set<int>, m map<text, int>)');
    q(e, "INSERT INTO ks.t (k, l, s, m) VALUES (1, [2], {5, 1}, {'a': 1})");
    q(e, "UPDATE ks.t SET l = l + [3], s = s + {3}, m = m + {'b': 2} WHERE k = 1");
    q(e, "UPDATE ks.t SET l = [1] + l, s = s - {5}, m['c'] = 3 WHERE k = 1");
    q(e, "DELETE m['a'] FROM ks.t WHERE k = 1");
    q(e, "UPDATE ks.t SET m = m - {'b'} WHERE k = 1");
    const [row] = rowsOf(q(e, 'SELECT l, s, m FROM ks.t'));
    expect(row?.[0]?.toString('hex')).toBe(
      '00000003' + '0000000400000001' + '0000000400000002' + '0000000400000003',
    );
    expect(row?.[1]?.toString('hex')).toBe('00000002' + '0000000400000001' + '0000000400000003');
    expect(row?.[2]?.toString('hex')).toBe('00000001' + '0000000163' + '0000000400000003');
    // Emptying a non-frozen collection leaves no value.
    q(e, 'UPDATE ks.t SET s = s - {1, 3} WHERE k = 1');
    expect(rowsOf(q(e, 'SELECT s FROM ks.t'))).toEqual([[null]]);
  });

  it('counters increment and decrement', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.c (k int PRIMARY KEY, n counter)');
    q(e, 'UPDATE ks.c SET n = n + 5 WHERE k = 1');
    q(e, 'UPDATE ks.c SET n = n - 2 WHERE k = 1');
    q(e, 'UPDATE ks.c SET n = n -1 WHERE k = 1');
    q(e, 'UPDATE ks.c SET n += ? WHERE k = 1', [bigint(10)]);
    expect(rowsOf(q(e, 'SELECT n FROM ks.c')).map((r) => readBigint(r[0]))).toEqual([12n]);
  });

  it('CONTAINS and CONTAINS KEY filter with ALLOW FILTERING', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY, s set<int>, m map<text, int>)');
    q(e, "INSERT INTO ks.t (k, s, m) VALUES (1, {1, 2}, {'a': 10})");
    q(e, "INSERT INTO ks.t (k, s, m) VALUES (2, {3}, {'b': 20})");
    expect(ints(e, 'SELECT k FROM t WHERE s CONTAINS 2 ALLOW FILTERING')).toEqual([[1]]);
    expect(ints(e, "SELECT k FROM t WHERE m CONTAINS KEY 'b' ALLOW FILTERING")).toEqual([[2]]);
    expect(ints(e, 'SELECT k FROM t WHERE m CONTAINS 10 ALLOW FILTERING')).toEqual([[1]]);
  });
});

describe('static columns', () => {
  it('are shared by the rows of a partition and returned alone when it has no rows', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (p int, c int, s text static, v int, PRIMARY KEY (p, c))');
    q(e, "INSERT INTO ks.t (p, c, s, v) VALUES (1, 1, 'shared', 10)");
    q(e, 'INSERT INTO ks.t (p, c, v) VALUES (1, 2, 20)');
    q(e, "UPDATE ks.t SET s = 'alone' WHERE p = 2");
    const rows = rowsOf(q(e, 'SELECT p, c, s, v FROM ks.t WHERE p IN (1, 2)'));
    expect(rows.map((r) => [readInt(r[0]), readInt(r[1]), readText(r[2]), readInt(r[3])])).toEqual([
      [1, 1, 'shared', 10],
      [1, 2, 'shared', 20],
      [2, null, 'alone', null],
    ]);
    expect(
      rowsOf(q(e, 'SELECT DISTINCT p, s FROM ks.t WHERE p = 2')).map((r) => readText(r[1])),
    ).toEqual(['alone']);
  });
});

describe('delete and truncate', () => {
  function filled(): Engine {
    const e = setup();
    q(e, 'CREATE TABLE ks.t (p int, c int, a int, b int, PRIMARY KEY (p, c))');
    for (const p of [1, 2])
      for (const c of [1, 2, 3, 4])
        q(e, 'INSERT INTO ks.t (p, c, a, b) VALUES (?, ?, 1, 1)', [int(p), int(c)]);
    return e;
  }

  it('deletes columns, rows, ranges and partitions', () => {
    const e = filled();
    q(e, 'DELETE a FROM ks.t WHERE p = 1 AND c = 1');
    expect(ints(e, 'SELECT c, a, b FROM t WHERE p = 1 AND c = 1')).toEqual([[1, null, 1]]);
    q(e, 'DELETE FROM ks.t WHERE p = 1 AND c = 2');
    q(e, 'DELETE FROM ks.t WHERE p = 1 AND c >= 4');
    expect(ints(e, 'SELECT c FROM t WHERE p = 1')).toEqual([[1], [3]]);
    q(e, 'DELETE FROM ks.t WHERE p IN (1, 2)');
    expect(ints(e, 'SELECT * FROM t')).toEqual([]);
  });

  it('a delete at an older timestamp does not remove newer data', () => {
    const e = filled();
    q(e, 'DELETE FROM ks.t USING TIMESTAMP 1 WHERE p = 1');
    expect(
      rowsOf(q(e, 'SELECT count(*) FROM ks.t WHERE p = 1')).map((r) => readBigint(r[0])),
    ).toEqual([4n]);
  });

  it('TRUNCATE empties the table', () => {
    const e = filled();
    expect(q(e, 'TRUNCATE ks.t')).toEqual({ kind: 'void' });
    expect(ints(e, 'SELECT * FROM t')).toEqual([]);
  });
});
