import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/protocol/constants.js';
import { CqlRequestError } from '../../../sim/engine/contract.js';
import { parseStatement } from '../../../sim/engine/parser.js';
import type { Statement } from '../../../sim/engine/ast.js';
import { errorOf } from './engine-helpers.js';

function parse(query: string): Statement {
  return parseStatement(query).statement;
}

function syntaxMessage(query: string): string {
  const e = errorOf(() => parseStatement(query));
  expect(e.error.code).toBe(ErrorCode.SYNTAX_ERROR);
  return e.message;
}

describe('parser: schema statements', () => {
  it('CREATE KEYSPACE with options', () => {
    expect(
      parse(
        "CREATE KEYSPACE IF NOT EXISTS Ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} AND durable_writes = false;",
      ),
    ).toMatchObject({
      kind: 'createKeyspace',
      name: 'ks',
      ifNotExists: true,
      properties: [
        {
          name: 'replication',
          value: {
            kind: 'map',
            entries: [
              [
                { kind: 'string', value: 'class', text: "'class'" },
                { kind: 'string', value: 'SimpleStrategy' },
              ],
              [
                { kind: 'string', value: 'replication_factor' },
                { kind: 'integer', text: '1' },
              ],
            ],
          },
        },
        { name: 'durable_writes', value: { kind: 'boolean', value: false, text: 'false' } },
      ],
    });
  });

  it('CREATE SCHEMA is CREATE KEYSPACE; quoted names keep their case', () => {
    const s = parse(`CREATE SCHEMA "MyKs" WITH replication = {'class': 'SimpleStrategy'}`);
    expect(s).toMatchObject({ kind: 'createKeyspace', name: 'MyKs', ifNotExists: false });
  });

  it('DROP KEYSPACE [IF EXISTS]', () => {
    expect(parse('DROP KEYSPACE ks')).toEqual({
      kind: 'dropKeyspace',
      name: 'ks',
      ifExists: false,
    });
    expect(parse('drop keyspace if exists KS')).toEqual({
      kind: 'dropKeyspace',
      name: 'ks',
      ifExists: true,
    });
  });

  it('CREATE TABLE with a compound key, clustering order and options', () => {
    const s = parse(
      `CREATE TABLE IF NOT EXISTS ks.t (a int, b text, c timeuuid, d list<frozen<map<int, text>>>, s int static,
         PRIMARY KEY ((a, b), c)) WITH CLUSTERING ORDER BY (c DESC) AND comment = 'x' AND default_time_to_live = 10`,
    );
    expect(s).toMatchObject({
      kind: 'createTable',
      table: { keyspace: 'ks', name: 't' },
      ifNotExists: true,
      partitionKey: ['a', 'b'],
      clustering: ['c'],
      clusteringOrder: [{ column: 'c', desc: true }],
      compactStorage: false,
    });
    if (s.kind !== 'createTable') throw new Error('kind');
    expect(s.columns.map((c) => [c.name, c.isStatic])).toEqual([
      ['a', false],
      ['b', false],
      ['c', false],
      ['d', false],
      ['s', true],
    ]);
    expect(s.columns[3]?.type).toEqual({
      kind: 'list',
      element: {
        kind: 'frozen',
        inner: {
          kind: 'map',
          key: { kind: 'native', name: 'int' },
          value: { kind: 'native', name: 'text' },
        },
      },
    });
    expect(s.properties.map((p) => p.name)).toEqual(['comment', 'default_time_to_live']);
  });

  it('CREATE TABLE with `col type PRIMARY KEY`, COLUMNFAMILY, tuples', () => {
    const s = parse('CREATE COLUMNFAMILY t (k text PRIMARY KEY, v tuple<int, text>)');
    expect(s).toMatchObject({
      kind: 'createTable',
      table: { keyspace: undefined, name: 't' },
      partitionKey: ['k'],
      clustering: [],
    });
  });

  it('DROP TABLE, TRUNCATE, USE', () => {
    expect(parse('DROP TABLE IF EXISTS ks.t')).toEqual({
      kind: 'dropTable',
      table: { keyspace: 'ks', name: 't' },
      ifExists: true,
    });
    expect(parse('TRUNCATE TABLE t')).toEqual({
      kind: 'truncate',
      table: { keyspace: undefined, name: 't' },
    });
    expect(parse('TRUNCATE ks.t')).toEqual({
      kind: 'truncate',
      table: { keyspace: 'ks', name: 't' },
    });
    expect(parse('USE "Ks"')).toEqual({ kind: 'use', keyspace: 'Ks' });
    expect(parse('use ks;')).toEqual({ kind: 'use', keyspace: 'ks' });
  });
});

describe('parser: data statements', () => {
  it('INSERT with IF NOT EXISTS and USING TTL AND TIMESTAMP', () => {
    const p = parseStatement(
      'INSERT INTO ks.t (a, b) VALUES (?, :named) IF NOT EXISTS USING TTL 10 AND TIMESTAMP 123',
    );
    expect(p.markers).toEqual([undefined, 'named']);
    expect(p.statement).toMatchObject({
      kind: 'insert',
      columns: ['a', 'b'],
      ifNotExists: true,
      values: [
        { kind: 'bind', index: 0, name: undefined },
        { kind: 'bind', index: 1, name: 'named' },
      ],
      using: { ttl: { kind: 'integer', text: '10' }, timestamp: { kind: 'integer', text: '123' } },
    });
  });

  it('every literal kind', () => {
    const s = parse(
      `INSERT INTO t (a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p) VALUES ('s', 1, -2.5, true, 123e4567-e89b-12d3-a456-426614174000,
        0xCAFE, 1h30m, null, [1, 2], {1, 2}, {'k': 1}, (1, 'x'), {}, NaN, -Infinity, now())`,
    );
    if (s.kind !== 'insert') throw new Error('kind');
    expect(s.values.map((v) => v.kind)).toEqual([
      'string',
      'integer',
      'float',
      'boolean',
      'uuid',
      'blob',
      'duration',
      'null',
      'list',
      'set',
      'map',
      'tuple',
      'map',
      'float',
      'float',
      'function',
    ]);
    expect(s.values[5]).toMatchObject({ hex: 'cafe' });
    expect(s.values[14]).toMatchObject({ text: '-Infinity' });
  });

  it('UPDATE with every assignment form, WHERE and IF', () => {
    const s = parse(
      "UPDATE t USING TTL 5 SET a = 1, c = c + 1, l = [0] + l, s = s - {'x'}, m['k'] = 'v', n += 2 WHERE k = 1 AND ck IN (1, 2) IF a = 3 AND b IN (1, 2)",
    );
    if (s.kind !== 'update') throw new Error('kind');
    expect(s.assignments.map((a) => [a.kind, a.column])).toEqual([
      ['set', 'a'],
      ['add', 'c'],
      ['prepend', 'l'],
      ['subtract', 's'],
      ['setElement', 'm'],
      ['add', 'n'],
    ]);
    expect(s.where.map((r) => r.kind)).toEqual(['compare', 'in']);
    expect(s.conditions).toMatchObject({
      kind: 'columns',
      conditions: [
        { column: 'a', op: '=' },
        { column: 'b', op: 'in' },
      ],
    });
  });

  it('UPDATE c = c -1 (the lexer folds the minus into the number)', () => {
    const s = parse('UPDATE t SET c = c -1 WHERE k = 1');
    expect(s).toMatchObject({
      assignments: [{ kind: 'subtract', column: 'c', value: { kind: 'integer', text: '1' } }],
    });
  });

  it('DELETE of columns and elements, with USING TIMESTAMP and IF EXISTS', () => {
    const s = parse("DELETE a, m['k'] FROM ks.t USING TIMESTAMP 5 WHERE k = 1 IF EXISTS");
    expect(s).toMatchObject({
      kind: 'delete',
      columns: [
        { column: 'a', element: undefined },
        { column: 'm', element: { kind: 'string', value: 'k' } },
      ],
      using: { timestamp: { text: '5' } },
      conditions: { kind: 'exists' },
    });
    expect(parse('DELETE FROM t WHERE k = 1 AND c >= 2')).toMatchObject({
      kind: 'delete',
      columns: [],
    });
  });

  it('SELECT with every clause', () => {
    const p = parseStatement(
      'SELECT DISTINCT a AS x, count(*), writetime(b), ttl(b), token(a) FROM ks.t WHERE token(a) > ? AND a IN ? AND b >= 1 AND c CONTAINS KEY 2 ORDER BY b DESC PER PARTITION LIMIT 2 LIMIT ? ALLOW FILTERING',
    );
    expect(p.markers).toEqual([undefined, undefined, undefined]);
    expect(p.statement).toMatchObject({
      kind: 'select',
      distinct: true,
      selectors: [
        { kind: 'column', name: 'a', alias: 'x' },
        { kind: 'count', column: undefined },
        { kind: 'writetime', column: 'b' },
        { kind: 'ttl', column: 'b' },
        { kind: 'token', columns: ['a'] },
      ],
      where: [
        { kind: 'token', columns: ['a'], op: '>' },
        { kind: 'in', column: 'a', values: { kind: 'bind' } },
        { kind: 'compare', column: 'b', op: '>=' },
        { kind: 'contains', column: 'c', key: true },
      ],
      orderBy: [{ column: 'b', desc: true }],
      perPartitionLimit: { kind: 'integer', text: '2' },
      limit: { kind: 'bind', index: 2 },
      allowFiltering: true,
    });
  });

  it('SELECT * and count(1); comments are ignored', () => {
    expect(parse('SELECT * FROM t -- trailing\n')).toMatchObject({ selectors: undefined });
    expect(parse('/* c */ SELECT count(1) FROM t')).toMatchObject({
      selectors: [{ kind: 'count', column: undefined }],
    });
    expect(parse('SELECT distinct FROM t')).toMatchObject({
      distinct: false,
      selectors: [{ name: 'distinct' }],
    });
  });

  it('text batches number markers across statements', () => {
    const p = parseStatement(
      'BEGIN UNLOGGED BATCH USING TIMESTAMP 1 INSERT INTO t (a) VALUES (?); UPDATE t SET b = ? WHERE a = :k; DELETE FROM t WHERE a = 3 APPLY BATCH',
    );
    expect(p.markers).toEqual([undefined, undefined, 'k']);
    expect(p.statement).toMatchObject({
      kind: 'batch',
      batchType: 'unlogged',
      statements: [{ kind: 'insert' }, { kind: 'update' }, { kind: 'delete' }],
    });
    expect(
      parse('BEGIN COUNTER BATCH UPDATE t SET c = c + 1 WHERE k = 1 APPLY BATCH'),
    ).toMatchObject({ batchType: 'counter' });
    expect(parse('BEGIN BATCH APPLY BATCH')).toMatchObject({ batchType: 'logged', statements: [] });
  });
});

describe('parser: syntax errors as Cassandra words them', () => {
  it('an unknown first word', () => {
    expect(syntaxMessage('SELEC * FROM t')).toBe(
      "line 1:0 no viable alternative at input 'SELEC' ([SELEC]...)",
    );
  });

  it('a missing keyword', () => {
    expect(syntaxMessage('SELECT * FROMM t')).toBe(
      "line 1:9 mismatched input 'FROMM' expecting K_FROM (SELECT * [FROMM]...)",
    );
  });

  it('the end of the input', () => {
    expect(syntaxMessage('SELECT * FROM')).toBe(
      "line 1:13 no viable alternative at input '<EOF>' (* FROM)",
    );
  });

  it('a reserved word used as a name', () => {
    expect(syntaxMessage('SELECT * FROM select')).toMatch(
      /^line 1:14 no viable alternative at input 'select'/,
    );
  });

  it('a character CQL does not know, with its line and column', () => {
    expect(syntaxMessage('SELECT *\nFROM t WHERE a = @')).toBe(
      "line 2:17 no viable alternative at character '@'",
    );
  });

  it('trailing garbage', () => {
    expect(syntaxMessage('USE ks ks')).toMatch(/^line 1:7 no viable alternative at input 'ks'/);
  });

  it('statements outside the subset', () => {
    for (const q of [
      'ALTER TABLE t ADD c int',
      'CREATE INDEX ON t (v)',
      'SELECT JSON * FROM t',
      'GRANT ALL ON t TO x',
      "INSERT INTO t JSON '{}'",
      '',
      ';',
    ]) {
      expect(() => parseStatement(q), q).toThrow(CqlRequestError);
      expect(errorOf(() => parseStatement(q)).error.code, q).toBe(ErrorCode.SYNTAX_ERROR);
    }
  });
});

const WORDS = [
  'SELECT',
  'INSERT',
  'INTO',
  'UPDATE',
  'DELETE',
  'FROM',
  'WHERE',
  'AND',
  'SET',
  'VALUES',
  'IF',
  'NOT',
  'EXISTS',
  'IN',
  'CREATE',
  'TABLE',
  'KEYSPACE',
  'DROP',
  'USE',
  'BEGIN',
  'BATCH',
  'APPLY',
  'LIMIT',
  'ORDER',
  'BY',
  'PRIMARY',
  'KEY',
  'WITH',
  'USING',
  'TTL',
  'TIMESTAMP',
  'count',
  'token',
  'frozen',
  'list',
  'map',
  'int',
  'text',
  'a',
  'b',
  'ks',
  't',
  '*',
  ',',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ':',
  '=',
  '<',
  '>=',
  '?',
  ':x',
  "'s'",
  '1',
  '-2.5',
  '0xab',
  'true',
  'null',
  '.',
  ';',
  '+',
  '-',
  '@',
  '1h',
  'NaN',
  'Infinity',
  '"Q"',
  '$$d$$',
  '/*',
  '--',
];

describe('parser: hostile input', () => {
  it('never throws anything but a CQL Syntax or Invalid error (random token soup)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...WORDS), { maxLength: 30 }), (words) => {
        const query = words.join(' ');
        try {
          parseStatement(query);
        } catch (e) {
          if (!(e instanceof CqlRequestError)) throw e;
          expect([ErrorCode.SYNTAX_ERROR, ErrorCode.INVALID]).toContain(e.error.code);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but a CQL error (random strings)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (query) => {
        try {
          parseStatement(query);
        } catch (e) {
          if (!(e instanceof CqlRequestError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('deeply nested literals end in a syntax error, not a stack overflow', () => {
    const deep = `INSERT INTO t (a) VALUES (${'['.repeat(5000)}${']'.repeat(5000)})`;
    expect(errorOf(() => parseStatement(deep)).error.code).toBe(ErrorCode.SYNTAX_ERROR);
    const deepType = `CREATE TABLE t (a ${'list<'.repeat(2000)}int${'>'.repeat(2000)} PRIMARY KEY)`;
    expect(errorOf(() => parseStatement(deepType)).error.code).toBe(ErrorCode.SYNTAX_ERROR);
  });
});
