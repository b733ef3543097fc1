import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DataType, ErrorCode } from '../../../src/protocol/constants.js';
import { createEngine } from '../../../sim/engine/index.js';
import type { Engine } from '../../../sim/engine/contract.js';
import {
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
  q(e, 'CREATE TABLE ks.t (a int, b text, c int, v list<int>, PRIMARY KEY ((a, b), c))');
  return e;
}

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

describe('prepared statements', () => {
  it('ids are MD5(keyspace + query), as Cassandra computes them', () => {
    const e = setup();
    const query = 'SELECT * FROM t WHERE a = ? AND b = ?';
    expect(e.prepare(query, contextFor('ks')).id.toString('hex')).toBe(md5(`ks${query}`));
    const qualified = 'SELECT * FROM ks.t';
    expect(e.prepare(qualified, contextFor()).id.toString('hex')).toBe(md5(qualified));
  });

  it('variables carry names, types and the partition key indexes in key order', () => {
    const e = setup();
    const info = e.prepare(
      'UPDATE ks.t SET v = ? WHERE c = ? AND b = :bee AND a = ?',
      contextFor(),
    );
    expect(info.variables).toEqual([
      {
        keyspace: 'ks',
        table: 't',
        name: 'v',
        type: { id: DataType.LIST, element: { id: DataType.INT } },
      },
      { keyspace: 'ks', table: 't', name: 'c', type: { id: DataType.INT } },
      { keyspace: 'ks', table: 't', name: 'bee', type: { id: DataType.VARCHAR } },
      { keyspace: 'ks', table: 't', name: 'a', type: { id: DataType.INT } },
    ]);
    expect(info.pkIndexes).toEqual([3, 2]);
    expect(info.resultColumns).toEqual([]);
  });

  it('special markers: IN lists, LIMIT, TTL, TIMESTAMP, collection elements', () => {
    const e = setup();
    const select = e.prepare(
      'SELECT c FROM ks.t WHERE a = 1 AND b = ? AND c IN ? LIMIT ?',
      contextFor(),
    );
    expect(select.variables.map((v) => [v.name, v.type])).toEqual([
      ['b', { id: DataType.VARCHAR }],
      ['in(c)', { id: DataType.LIST, element: { id: DataType.INT } }],
      ['[limit]', { id: DataType.INT }],
    ]);
    expect(select.pkIndexes).toEqual([]);
    expect(select.resultColumns.map((c) => [c.name, c.type])).toEqual([
      ['c', { id: DataType.INT }],
    ]);
    const insert = e.prepare(
      'INSERT INTO ks.t (a, b, c, v) VALUES (?, ?, ?, [?]) USING TTL ? AND TIMESTAMP ?',
      contextFor(),
    );
    expect(insert.variables.map((v) => [v.name, v.type.id])).toEqual([
      ['a', DataType.INT],
      ['b', DataType.VARCHAR],
      ['c', DataType.INT],
      ['value(v)', DataType.INT],
      ['[ttl]', DataType.INT],
      ['[timestamp]', DataType.BIGINT],
    ]);
    expect(insert.pkIndexes).toEqual([0, 1]);
  });

  it('executes with positional and named values', () => {
    const e = setup();
    const ctx = contextFor('ks');
    const ins = e.prepare('INSERT INTO t (a, b, c, v) VALUES (?, ?, ?, ?)', ctx);
    e.executePrepared(
      ins.id,
      opts([int(1), text('x'), int(2), Buffer.from('000000010000000400000009', 'hex')]),
      ctx,
    );
    const sel = e.prepare('SELECT c, v FROM t WHERE a = :a AND b = :b', ctx);
    const r = e.executePrepared(sel.id, opts([text('x'), int(1)], { names: ['b', 'a'] }), ctx);
    expect(rowsOf(r).map((row) => [readInt(row[0]), row[1]?.toString('hex')])).toEqual([
      [2, '000000010000000400000009'],
    ]);
    expect(e.preparedInfo(sel.id)).toEqual(sel);
  });

  it('an unknown id is UNPREPARED, carrying the id', () => {
    const e = setup();
    const id = Buffer.from(md5('never prepared'), 'hex');
    const err = errorOf(() => e.executePrepared(id, opts(), contextFor()));
    expect(err.error).toMatchObject({ code: ErrorCode.UNPREPARED, id });
    expect(e.preparedInfo(id)).toBeUndefined();
  });

  it('dropping a table forgets the statements on it, as Cassandra does', () => {
    const e = setup();
    q(e, 'CREATE TABLE ks.other (k int PRIMARY KEY)');
    const onT = e.prepare('SELECT * FROM ks.t', contextFor());
    const onOther = e.prepare('SELECT * FROM ks.other', contextFor());
    q(e, 'DROP TABLE ks.t');
    expect(errorOf(() => e.executePrepared(onT.id, opts(), contextFor())).error.code).toBe(
      ErrorCode.UNPREPARED,
    );
    expect(rowsOf(e.executePrepared(onOther.id, opts(), contextFor()))).toEqual([]);
    q(e, 'DROP KEYSPACE ks');
    expect(errorOf(() => e.executePrepared(onOther.id, opts(), contextFor())).error.code).toBe(
      ErrorCode.UNPREPARED,
    );
  });

  it('the result metadata id changes with the result columns', () => {
    const e = setup();
    const a = e.prepare('SELECT a FROM ks.t', contextFor());
    const b = e.prepare('SELECT b FROM ks.t', contextFor());
    const a2 = e.prepare('SELECT a FROM ks.t ', contextFor());
    expect(a.resultMetadataId).toHaveLength(16);
    expect(a.resultMetadataId.equals(b.resultMetadataId)).toBe(false);
    expect(a.resultMetadataId.equals(a2.resultMetadataId)).toBe(true);
  });

  it('preparing checks the statement like executing it would', () => {
    const e = setup();
    expect(errorOf(() => e.prepare('SELECT * FROM ks.nope', contextFor())).message).toBe(
      'unconfigured table nope',
    );
    expect(errorOf(() => e.prepare('SELEC', contextFor())).error.code).toBe(ErrorCode.SYNTAX_ERROR);
  });

  it('a prepared statement keeps the keyspace it was prepared in', () => {
    const e = setup();
    q(
      e,
      "CREATE KEYSPACE other WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    q(e, 'CREATE TABLE other.t (a int, b text, c int, v list<int>, PRIMARY KEY ((a, b), c))');
    q(e, "INSERT INTO ks.t (a, b, c) VALUES (1, 'in ks', 1)");
    const p = e.prepare('SELECT b FROM t', contextFor('ks'));
    expect(
      rowsOf(e.executePrepared(p.id, opts(), contextFor('other'))).map((r) => readText(r[0])),
    ).toEqual(['in ks']);
  });
});
