import { describe, expect, it } from 'vitest';
import { BatchType, Consistency, ErrorCode } from '../../../src/protocol/constants.js';
import { createEngine } from '../../../sim/engine/index.js';
import type { Engine, EngineResult } from '../../../sim/engine/contract.js';
import {
  columnNames,
  contextFor,
  errorOf,
  int,
  opts,
  q,
  readInt,
  readText,
  rowsOf,
  text,
} from './engine-helpers.js';

function setup(): Engine {
  const e = createEngine();
  q(
    e,
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
  );
  q(e, 'CREATE TABLE ks.t (p int, c int, a text, b int, PRIMARY KEY (p, c))');
  return e;
}

function applied(r: EngineResult): boolean {
  const row = rowsOf(r)[0];
  return row?.[0]?.[0] === 1;
}

describe('lightweight transactions', () => {
  it('INSERT IF NOT EXISTS: [applied] true, then false with the existing row', () => {
    const e = setup();
    const first = q(e, "INSERT INTO ks.t (p, c, a, b) VALUES (1, 1, 'x', 5) IF NOT EXISTS");
    expect(columnNames(first)).toEqual(['[applied]']);
    expect(first.kind === 'rows' && first.columns[0]).toMatchObject({
      keyspace: 'ks',
      table: 't',
      type: { id: 4 },
    });
    expect(applied(first)).toBe(true);
    const second = q(e, "INSERT INTO ks.t (p, c, a, b) VALUES (1, 1, 'y', 6) IF NOT EXISTS");
    expect(columnNames(second)).toEqual(['[applied]', 'p', 'c', 'a', 'b']);
    const [row] = rowsOf(second);
    expect([
      row?.[0]?.[0],
      readInt(row?.[1]),
      readInt(row?.[2]),
      readText(row?.[3]),
      readInt(row?.[4]),
    ]).toEqual([0, 1, 1, 'x', 5]);
    expect(rowsOf(q(e, 'SELECT a FROM ks.t')).map((r) => readText(r[0]))).toEqual(['x']);
  });

  it('UPDATE/DELETE IF EXISTS apply only to an existing row; a miss is [applied] false alone', () => {
    const e = setup();
    const miss = q(e, "UPDATE ks.t SET a = 'z' WHERE p = 1 AND c = 1 IF EXISTS");
    expect(columnNames(miss)).toEqual(['[applied]']);
    expect(applied(miss)).toBe(false);
    expect(rowsOf(q(e, 'SELECT * FROM ks.t'))).toEqual([]);
    q(e, "INSERT INTO ks.t (p, c, a) VALUES (1, 1, 'x')");
    expect(applied(q(e, "UPDATE ks.t SET a = 'z' WHERE p = 1 AND c = 1 IF EXISTS"))).toBe(true);
    expect(applied(q(e, 'DELETE FROM ks.t WHERE p = 1 AND c = 1 IF EXISTS'))).toBe(true);
    expect(applied(q(e, 'DELETE FROM ks.t WHERE p = 1 AND c = 1 IF EXISTS'))).toBe(false);
  });

  it('IF column conditions; a failure reports the conditioned columns', () => {
    const e = setup();
    q(e, "INSERT INTO ks.t (p, c, a, b) VALUES (1, 1, 'x', 5)");
    expect(applied(q(e, "UPDATE ks.t SET b = 6 WHERE p = 1 AND c = 1 IF a = 'x' AND b < 6"))).toBe(
      true,
    );
    const fail = q(e, 'UPDATE ks.t SET b = 7 WHERE p = 1 AND c = 1 IF b IN (1, 2) AND a != ?', [
      text('q'),
    ]);
    expect(columnNames(fail)).toEqual(['[applied]', 'b', 'a']);
    expect(
      rowsOf(fail)[0]?.map((v, i) => (i === 1 ? readInt(v) : i === 2 ? readText(v) : v?.[0])),
    ).toEqual([0, 6, 'x']);
    expect(applied(q(e, 'UPDATE ks.t SET b = 8 WHERE p = 1 AND c = 1 IF a = null'))).toBe(false);
    expect(applied(q(e, 'UPDATE ks.t SET b = 8 WHERE p = 1 AND c = 1 IF a != null'))).toBe(true);
  });

  it('refuses what Cassandra refuses', () => {
    const e = setup();
    const cases: [string, Buffer[], string][] = [
      [
        'UPDATE ks.t SET a = ? WHERE p IN (1, 2) AND c = 1 IF EXISTS',
        [text('x')],
        'IN on the partition key is not supported with conditional updates',
      ],
      [
        'INSERT INTO ks.t (p, c) VALUES (1, 1) IF NOT EXISTS USING TIMESTAMP 5',
        [],
        'Cannot provide custom timestamp for conditional updates',
      ],
      [
        'UPDATE ks.t SET a = null WHERE p = 1 AND c = 1 IF p = 1',
        [],
        "PRIMARY KEY column 'p' cannot have IF conditions",
      ],
      [
        'DELETE FROM ks.t WHERE p = 1 IF EXISTS',
        [],
        'DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions',
      ],
    ];
    for (const [query, values, message] of cases) {
      expect(errorOf(() => q(e, query, values)).message, query).toBe(message);
    }
    const serial = errorOf(() =>
      e.execute(
        'INSERT INTO ks.t (p, c) VALUES (1, 1)',
        opts([], { consistency: Consistency.SERIAL }),
        contextFor(),
      ),
    );
    expect(serial.message).toBe('You must use conditional updates for serializable writes');
  });
});

describe('batches', () => {
  it('a text batch applies every statement, with markers numbered across them', () => {
    const e = setup();
    const r = q(
      e,
      "BEGIN BATCH INSERT INTO ks.t (p, c, a) VALUES (?, 1, 'one'); INSERT INTO ks.t (p, c, a) VALUES (1, ?, 'two'); UPDATE ks.t SET b = ? WHERE p = 1 AND c = 1; APPLY BATCH",
      [int(1), int(2), int(9)],
    );
    expect(r).toEqual({ kind: 'void' });
    expect(
      rowsOf(q(e, 'SELECT c, a, b FROM ks.t WHERE p = 1')).map((row) => [
        readInt(row[0]),
        readText(row[1]),
        readInt(row[2]),
      ]),
    ).toEqual([
      [1, 'one', 9],
      [2, 'two', null],
    ]);
  });

  it('BATCH messages mix query strings and prepared statements, each with its values', () => {
    const e = setup();
    const ctx = contextFor('ks');
    const prepared = e.prepare('INSERT INTO t (p, c, a) VALUES (?, ?, ?)', ctx);
    e.batch(
      BatchType.UNLOGGED,
      [
        { kind: 'prepared', id: prepared.id, values: [int(2), int(1), text('p')] },
        { kind: 'query', query: "INSERT INTO t (p, c, a) VALUES (2, 2, 'q')", values: [] },
        {
          kind: 'query',
          query: 'DELETE FROM t WHERE p = :p AND c = :c',
          values: [int(3), int(2)],
          names: ['c', 'p'],
        },
      ],
      opts(),
      ctx,
    );
    expect(rowsOf(q(e, 'SELECT a FROM ks.t WHERE p = 2')).map((row) => readText(row[0]))).toEqual([
      'p',
      'q',
    ]);
  });

  it('one bad statement leaves the store untouched', () => {
    const e = setup();
    const err = errorOf(() =>
      q(
        e,
        "BEGIN BATCH INSERT INTO ks.t (p, c, a) VALUES (1, 1, 'ok'); INSERT INTO ks.t (p, c, b) VALUES (1, 2, ?); APPLY BATCH",
        [Buffer.from('01', 'hex')],
      ),
    );
    expect(err.message).toBe('Expected 4 or 0 byte int (1)');
    expect(rowsOf(q(e, 'SELECT * FROM ks.t'))).toEqual([]);
  });

  it('USING TIMESTAMP on the batch applies to every statement', () => {
    const e = setup();
    q(
      e,
      "BEGIN UNLOGGED BATCH USING TIMESTAMP 42 INSERT INTO ks.t (p, c, a) VALUES (1, 1, 'x') APPLY BATCH",
    );
    expect(
      rowsOf(q(e, 'SELECT writetime(a) FROM ks.t')).map((row) => row[0]?.readBigInt64BE(0)),
    ).toEqual([42n]);
  });

  it('conditional batches apply all or nothing', () => {
    const e = setup();
    const batch =
      "BEGIN BATCH INSERT INTO ks.t (p, c, a) VALUES (1, 1, 'x') IF NOT EXISTS; INSERT INTO ks.t (p, c, a) VALUES (1, 2, 'y') APPLY BATCH";
    expect(applied(q(e, batch))).toBe(true);
    const again = q(e, batch);
    expect(applied(again)).toBe(false);
    expect(columnNames(again)).toEqual(['[applied]', 'p', 'c', 'a', 'b']);
    expect(
      errorOf(() =>
        q(
          e,
          'BEGIN BATCH INSERT INTO ks.t (p, c) VALUES (1, 1) IF NOT EXISTS; INSERT INTO ks.t (p, c) VALUES (2, 1) APPLY BATCH',
        ),
      ).message,
    ).toBe('Batch with conditions cannot span multiple partitions');
  });

  it('refuses SELECTs and counter mixing', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.n (k int PRIMARY KEY, n counter)');
    const ctx = contextFor('ks');
    const select = errorOf(() =>
      e.batch(
        BatchType.LOGGED,
        [{ kind: 'query', query: 'SELECT * FROM t', values: [] }],
        opts(),
        ctx,
      ),
    );
    expect(select.message).toBe(
      'Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.',
    );
    expect(
      errorOf(() => q(e, 'BEGIN BATCH UPDATE ks.n SET n = n + 1 WHERE k = 1 APPLY BATCH')).message,
    ).toBe('Cannot include a counter statement in a logged batch');
    expect(
      errorOf(() => q(e, 'BEGIN COUNTER BATCH INSERT INTO ks.t (p, c) VALUES (1, 1) APPLY BATCH'))
        .message,
    ).toBe('Cannot include non-counter statement in a counter batch');
    q(
      e,
      'BEGIN COUNTER BATCH UPDATE ks.n SET n = n + 1 WHERE k = 1; UPDATE ks.n SET n = n + 2 WHERE k = 1 APPLY BATCH',
    );
    expect(rowsOf(q(e, 'SELECT n FROM ks.n')).map((r) => r[0]?.readBigInt64BE(0))).toEqual([3n]);
  });

  it('an unknown prepared id in a batch is UNPREPARED', () => {
    const e = setup();
    const id = Buffer.alloc(16, 7);
    const err = errorOf(() =>
      e.batch(BatchType.LOGGED, [{ kind: 'prepared', id, values: [] }], opts(), contextFor()),
    );
    expect(err.error).toMatchObject({ code: ErrorCode.UNPREPARED, id });
  });
});
