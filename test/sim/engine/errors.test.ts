import { describe, expect, it } from 'vitest';
import { BatchType, Consistency, ErrorCode } from '../../../src/protocol/constants.js';
import { createEngine } from '../../../sim/engine/index.js';
import type { Engine } from '../../../sim/engine/contract.js';
import { contextFor, errorOf, int, opts, q, rowsOf } from './engine-helpers.js';

function setup(options: { guardrails?: boolean } = {}): Engine {
  const e = createEngine(options);
  q(
    e,
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
  );
  q(e, 'CREATE TABLE ks.t (p int, c int, v int, PRIMARY KEY (p, c))');
  q(e, 'CREATE TABLE ks.t2 (a int, b int, c1 int, c2 int, PRIMARY KEY ((a, b), c1, c2))');
  return e;
}

const e = setup();

/** [statement, expected code, expected message]; statements run with no connection keyspace. */
const CASES: readonly (readonly [string, number, string])[] = [
  ['SELECT * FROM nope.t', ErrorCode.INVALID, "Keyspace 'nope' does not exist"],
  ['SELECT * FROM ks.nope', ErrorCode.INVALID, 'unconfigured table nope'],
  ['SELECT * FROM system.peers_v2', ErrorCode.INVALID, 'unconfigured table peers_v2'],
  [
    'SELECT * FROM t',
    ErrorCode.INVALID,
    'No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename',
  ],
  [
    'INSERT INTO t (p) VALUES (1)',
    ErrorCode.INVALID,
    'No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename',
  ],
  ['USE nope', ErrorCode.INVALID, "Keyspace 'nope' does not exist"],
  [
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    ErrorCode.ALREADY_EXISTS,
    'Cannot add existing keyspace "ks"',
  ],
  [
    'CREATE TABLE ks.t (k int PRIMARY KEY)',
    ErrorCode.ALREADY_EXISTS,
    'Cannot add already existing table "t" to keyspace "ks"',
  ],
  ['DROP KEYSPACE nope', ErrorCode.INVALID, "Keyspace 'nope' doesn't exist"],
  ['DROP TABLE ks.nope', ErrorCode.INVALID, "Table 'ks.nope' doesn't exist"],
  ['CREATE TABLE nope.t (k int PRIMARY KEY)', ErrorCode.INVALID, "Keyspace 'nope' doesn't exist"],
  [
    "CREATE KEYSPACE k2 WITH replication = {'class': 'Nope'}",
    ErrorCode.CONFIG_ERROR,
    "Unable to find replication strategy class 'Nope'",
  ],
  [
    "CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy'}",
    ErrorCode.CONFIG_ERROR,
    'SimpleStrategy requires a replication_factor strategy option.',
  ],
  [
    'CREATE KEYSPACE k2 WITH durable_writes = true',
    ErrorCode.INVALID,
    "Missing mandatory option 'replication'",
  ],
  ["CREATE KEYSPACE k2 WITH foo = 'bar'", ErrorCode.SYNTAX_ERROR, "Unknown property 'foo'"],
  [
    'CREATE TABLE ks.x (k int PRIMARY KEY) WITH foo = 1',
    ErrorCode.SYNTAX_ERROR,
    "Unknown property 'foo'",
  ],
  [
    'CREATE TABLE ks.x (k int, v int)',
    ErrorCode.INVALID,
    "No PRIMARY KEY specifed for table 'x' (exactly one required)",
  ],
  [
    'CREATE TABLE ks.x (k int PRIMARY KEY, v int, PRIMARY KEY (v))',
    ErrorCode.INVALID,
    'Multiple PRIMARY KEYs specified (exactly one required)',
  ],
  [
    'CREATE TABLE ks.x (k int, PRIMARY KEY (z))',
    ErrorCode.INVALID,
    "Unknown column 'z' referenced in PRIMARY KEY for table 'ks.x'",
  ],
  [
    'CREATE TABLE ks.x (k int PRIMARY KEY, k text)',
    ErrorCode.INVALID,
    "Duplicate column 'k' declaration for table ks.x",
  ],
  [
    'CREATE TABLE ks.x (k list<int> PRIMARY KEY)',
    ErrorCode.INVALID,
    "Invalid non-frozen collection type list<int> for PRIMARY KEY column 'k'",
  ],
  [
    'CREATE TABLE ks.x (k int PRIMARY KEY, c counter, v int)',
    ErrorCode.INVALID,
    'Cannot mix counter and non counter columns in the same table',
  ],
  [
    'CREATE TABLE ks.x (k int PRIMARY KEY, v list<list<int>>)',
    ErrorCode.INVALID,
    'Non-frozen collections are not allowed inside collections: list<list<int>>',
  ],
  [
    'CREATE TABLE ks.x (k int PRIMARY KEY, v frozen<int>)',
    ErrorCode.INVALID,
    'frozen<> is only allowed on collections, tuples, and user-defined types',
  ],
  ['CREATE TABLE ks.x (k int PRIMARY KEY, v mytype)', ErrorCode.INVALID, 'Unknown type ks.mytype'],
  [
    'CREATE TABLE ks.x (k int PRIMARY KEY, s int static)',
    ErrorCode.INVALID,
    'Static columns are only useful (and thus allowed) if the table has at least one clustering column',
  ],
  [
    'CREATE TABLE ks.x (k int, c int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (k DESC)',
    ErrorCode.INVALID,
    "Only clustering key columns can be defined in CLUSTERING ORDER directive, but 'k' is not a clustering column of table ks.x",
  ],
  [
    'CREATE TABLE ks.x (k int PRIMARY KEY) WITH COMPACT STORAGE',
    ErrorCode.INVALID,
    'COMPACT STORAGE tables are not allowed starting with version 4.0',
  ],
  [
    'CREATE TABLE ks."a-b" (k int PRIMARY KEY)',
    ErrorCode.INVALID,
    'Table name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got "a-b")',
  ],
  [
    'INSERT INTO ks.t (p, v) VALUES (1, 1)',
    ErrorCode.INVALID,
    'Some clustering keys are missing: c',
  ],
  [
    'INSERT INTO ks.t (c, v) VALUES (1, 1)',
    ErrorCode.INVALID,
    'Some partition key parts are missing: p',
  ],
  ['INSERT INTO ks.t (p, c, x) VALUES (1, 1, 1)', ErrorCode.INVALID, 'Undefined column name x'],
  [
    'INSERT INTO ks.t (p, c, v, v) VALUES (1, 1, 1, 1)',
    ErrorCode.INVALID,
    'Multiple definitions found for column v',
  ],
  ['INSERT INTO ks.t (p, c) VALUES (1)', ErrorCode.INVALID, 'Unmatched column names/values'],
  [
    'INSERT INTO ks.t (p, c) VALUES (null, 1)',
    ErrorCode.INVALID,
    'Invalid null value in condition for column p',
  ],
  [
    'UPDATE ks.t SET v = 1 WHERE c = 1',
    ErrorCode.INVALID,
    'Some partition key parts are missing: p',
  ],
  ['UPDATE ks.t SET v = 1 WHERE p = 1', ErrorCode.INVALID, 'Some clustering keys are missing: c'],
  [
    'UPDATE ks.t SET p = 1 WHERE p = 1 AND c = 1',
    ErrorCode.INVALID,
    'PRIMARY KEY part p found in SET part',
  ],
  [
    'UPDATE ks.t SET v = 1 WHERE p = 1 AND c > 1',
    ErrorCode.INVALID,
    'Slice restrictions are not supported on the clustering columns in UPDATE statements',
  ],
  [
    'UPDATE ks.t SET v = v + 1 WHERE p = 1 AND c = 1',
    ErrorCode.INVALID,
    'Invalid operation (v = v + ?) for non counter column v',
  ],
  [
    'UPDATE ks.t SET v = 1 WHERE p = 1 AND c = 1 AND v = 2',
    ErrorCode.INVALID,
    'Non PRIMARY KEY columns found in where clause: v',
  ],
  [
    'DELETE p FROM ks.t WHERE p = 1',
    ErrorCode.INVALID,
    'Invalid identifier p for deletion (should not be a PRIMARY KEY part)',
  ],
  [
    'DELETE v FROM ks.t WHERE p = 1 AND c > 1',
    ErrorCode.INVALID,
    'Range deletions are not supported for specific columns',
  ],
  [
    'SELECT * FROM ks.t WHERE c = 1',
    ErrorCode.INVALID,
    'Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING',
  ],
  [
    'SELECT * FROM ks.t WHERE p = 1 AND v = 1',
    ErrorCode.INVALID,
    'Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING',
  ],
  [
    'SELECT * FROM ks.t2 WHERE a = 1',
    ErrorCode.INVALID,
    'Partition key parts: b must be restricted as other parts are',
  ],
  [
    'SELECT * FROM ks.t2 WHERE a = 1 AND b = 1 AND c2 = 1',
    ErrorCode.INVALID,
    'PRIMARY KEY column "c2" cannot be restricted as preceding column "c1" is not restricted',
  ],
  [
    'SELECT * FROM ks.t2 WHERE a = 1 AND b = 1 AND c1 > 1 AND c2 = 1',
    ErrorCode.INVALID,
    'Clustering column "c2" cannot be restricted (preceding column "c1" is restricted by a non-EQ relation)',
  ],
  [
    'SELECT * FROM ks.t2 WHERE token(b, a) > 0',
    ErrorCode.INVALID,
    'The token function arguments must be in the partition key order: a, b',
  ],
  [
    'SELECT * FROM ks.t2 WHERE token(a) > 0',
    ErrorCode.INVALID,
    'The token() function must be applied to all partition key components or none of them',
  ],
  ['DELETE FROM ks.t2 WHERE a = 1', ErrorCode.INVALID, 'Some partition key parts are missing: b'],
  [
    'SELECT * FROM ks.t WHERE p > 1',
    ErrorCode.INVALID,
    'Only EQ and IN relation are supported on the partition key (unless you use the token() function)',
  ],
  [
    'SELECT * FROM ks.t WHERE p = 1 AND p = 2',
    ErrorCode.INVALID,
    'p cannot be restricted by more than one relation if it includes an Equal',
  ],
  [
    'SELECT * FROM ks.t WHERE p = 1 AND c > 1 AND c > 2',
    ErrorCode.INVALID,
    'More than one restriction was found for the start bound on c',
  ],
  ['SELECT x FROM ks.t', ErrorCode.INVALID, 'Undefined column name x'],
  ['SELECT * FROM ks.t WHERE x = 1', ErrorCode.INVALID, 'Undefined column name x'],
  [
    'SELECT * FROM ks.t ORDER BY c DESC',
    ErrorCode.INVALID,
    'ORDER BY is only supported when the partition key is restricted by an EQ or an IN.',
  ],
  [
    'SELECT * FROM ks.t WHERE p = 1 ORDER BY v DESC',
    ErrorCode.INVALID,
    'Order by is currently only supported on the clustered columns of the PRIMARY KEY, got v',
  ],
  [
    'SELECT DISTINCT c FROM ks.t',
    ErrorCode.INVALID,
    'SELECT DISTINCT queries must only request partition key columns and/or static columns (not c)',
  ],
  [
    'SELECT writetime(p) FROM ks.t',
    ErrorCode.INVALID,
    'Cannot use selection function writeTime on PRIMARY KEY part p',
  ],
  ['SELECT max(v) FROM ks.t', ErrorCode.INVALID, "Unknown function 'max'"],
  ['SELECT * FROM ks.t WHERE p != 1', ErrorCode.INVALID, 'Unsupported "!=" relation: p != ...'],
  [
    "INSERT INTO system.local (key) VALUES ('x')",
    ErrorCode.UNAUTHORIZED,
    'system keyspace is not user-modifiable.',
  ],
  [
    'DROP TABLE system_schema.tables',
    ErrorCode.UNAUTHORIZED,
    'system_schema keyspace is not user-modifiable.',
  ],
  ['DROP KEYSPACE system', ErrorCode.UNAUTHORIZED, 'system keyspace is not user-modifiable.'],
  ['TRUNCATE system.peers', ErrorCode.UNAUTHORIZED, 'system keyspace is not user-modifiable.'],
];

describe('errors worded as Cassandra 4.0 words them', () => {
  it.each(CASES)('%s', (query, code, message) => {
    const err = errorOf(() => q(e, query));
    expect(err.message).toBe(message);
    expect(err.error.code).toBe(code);
  });

  it('AlreadyExists carries the keyspace and table', () => {
    expect(errorOf(() => q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY)')).error).toEqual({
      code: ErrorCode.ALREADY_EXISTS,
      message: 'Cannot add already existing table "t" to keyspace "ks"',
      keyspace: 'ks',
      table: 't',
    });
    expect(
      errorOf(() =>
        q(
          e,
          "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        ),
      ).error,
    ).toMatchObject({
      keyspace: 'ks',
      table: '',
    });
  });

  it('IF [NOT] EXISTS on DDL that changes nothing is a Void result', () => {
    expect(
      q(
        e,
        "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
      ),
    ).toEqual({ kind: 'void' });
    expect(q(e, 'CREATE TABLE IF NOT EXISTS ks.t (k int PRIMARY KEY)')).toEqual({ kind: 'void' });
    expect(q(e, 'DROP TABLE IF EXISTS ks.nope')).toEqual({ kind: 'void' });
    expect(q(e, 'DROP KEYSPACE IF EXISTS nope')).toEqual({ kind: 'void' });
  });

  it('bad bound values', () => {
    expect(errorOf(() => q(e, 'SELECT * FROM ks.t WHERE p = ?', [])).message).toBe(
      'Invalid amount of bind variables: expected 1, got 0',
    );
    expect(errorOf(() => q(e, 'SELECT * FROM ks.t WHERE p = ?', [null])).message).toBe(
      'Invalid null value in condition for column p',
    );
    expect(
      errorOf(() => q(e, 'INSERT INTO ks.t (p, c, v) VALUES (1, 1, 1) USING TTL ?', [int(-1)]))
        .message,
    ).toBe('A TTL must be greater or equal to 0, but was -1');
    expect(
      errorOf(() => q(e, 'INSERT INTO ks.t (p, c, v) VALUES (1, 1, 1) USING TTL 630720001'))
        .message,
    ).toBe('ttl is too large. requested (630720001) maximum (630720000)');
  });
});

describe('write consistency guardrail (docs/astra.md §6.3)', () => {
  const writes = [
    'INSERT INTO ks.t (p, c) VALUES (1, 1)',
    'UPDATE ks.t SET v = 1 WHERE p = 1 AND c = 1',
    'DELETE FROM ks.t WHERE p = 1',
    'BEGIN BATCH INSERT INTO ks.t (p, c) VALUES (1, 1) APPLY BATCH',
  ];
  for (const [name, level] of [
    ['ANY', Consistency.ANY],
    ['ONE', Consistency.ONE],
    ['LOCAL_ONE', Consistency.LOCAL_ONE],
  ] as const) {
    it(`refuses writes at ${name}`, () => {
      for (const w of writes) {
        const err = errorOf(() => e.execute(w, opts([], { consistency: level }), contextFor()));
        expect(err.error.code).toBe(ErrorCode.INVALID);
        expect(err.message).toBe(
          `Provided value ${name} is not allowed for Write Consistency Level (disallowed values are: [ANY, ONE, LOCAL_ONE])`,
        );
      }
      const batch = errorOf(() =>
        e.batch(
          BatchType.LOGGED,
          [{ kind: 'query', query: writes[0] ?? '', values: [] }],
          opts([], { consistency: level }),
          contextFor(),
        ),
      );
      expect(batch.error.code).toBe(ErrorCode.INVALID);
    });
  }

  it('allows reads and DDL at ONE, and writes at QUORUM, LOCAL_QUORUM, ALL, EACH_QUORUM', () => {
    expect(
      rowsOf(
        e.execute('SELECT * FROM ks.t', opts([], { consistency: Consistency.ONE }), contextFor()),
      ),
    ).toBeDefined();
    e.execute(
      'CREATE TABLE IF NOT EXISTS ks.g (k int PRIMARY KEY)',
      opts([], { consistency: Consistency.ONE }),
      contextFor(),
    );
    for (const level of [
      Consistency.QUORUM,
      Consistency.LOCAL_QUORUM,
      Consistency.ALL,
      Consistency.EACH_QUORUM,
      Consistency.TWO,
    ]) {
      e.execute(writes[0] ?? '', opts([], { consistency: level }), contextFor());
    }
  });

  it('can be turned off', () => {
    const open = setup({ guardrails: false });
    open.execute(writes[0] ?? '', opts([], { consistency: Consistency.ONE }), contextFor());
    expect(rowsOf(q(open, 'SELECT * FROM ks.t'))).toHaveLength(1);
  });
});

describe('IN and table guardrails (docs/astra.md §6.3)', () => {
  it('refuses more than 20 partition keys and IN products above 25', () => {
    const keys = Array.from({ length: 21 }, (_, i) => i).join(', ');
    expect(errorOf(() => q(e, `SELECT * FROM ks.t WHERE p IN (${keys})`)).message).toBe(
      'SELECT query cannot be completed because it selects 21 partitions keys - more than the maximum allowed 20',
    );
    const six = '1, 2, 3, 4, 5, 6';
    expect(
      errorOf(() => q(e, `SELECT * FROM ks.t WHERE p IN (${six}) AND c IN (${six})`)).message,
    ).toBe(
      'The query cannot be completed because cartesian product of all values in IN conditions is greater than 25',
    );
    expect(
      rowsOf(
        q(
          e,
          `SELECT * FROM ks.t WHERE p IN (${Array.from({ length: 20 }, (_, i) => i).join(', ')})`,
        ),
      ),
    ).toBeDefined();
  });

  it('refuses tables of more than 50 columns', () => {
    const cols = Array.from({ length: 50 }, (_, i) => `c${i} int`).join(', ');
    expect(errorOf(() => q(e, `CREATE TABLE ks.wide (k int PRIMARY KEY, ${cols})`)).message).toBe(
      'Tables cannot have more than 50 columns, but 51 provided for table wide',
    );
  });
});
