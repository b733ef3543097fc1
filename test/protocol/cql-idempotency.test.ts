// The idempotency rules of docs/cql-proxy-compat.md §4.7, checked through classifyQuery (the only
// caller of the analysis): [query, statement, idempotent].
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { CqlScanner } from '../../src/protocol/cql-scanner.js';
import { classifyQuery } from '../../src/protocol/cql-classifier.js';
import { modificationIsIdempotent } from '../../src/protocol/cql-idempotency.js';

type Row = [query: string, idempotent: boolean];

const UUID = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';

const INSERTS: Row[] = [
  ["INSERT INTO ks.t (a, b) VALUES (1, 'x')", true],
  ['INSERT INTO t (a, b, c) VALUES (?, :b, :"C")', true],
  ['INSERT INTO t (a) VALUES (?) USING TTL 10 AND TIMESTAMP 123', true],
  ['insert into t (a) values (1);', true],
  ['INSERT INTO t (a) VALUES (1) ; ;', true],
  ["INSERT INTO t (l, s, m) VALUES ([1, 2], {1}, {'k': 1})", true], // whole values: overwrite
  [`INSERT INTO t (id, u, f, b, d, n) VALUES (${UUID}, 1.5e3, -NaN, 0xff, 1h30m, null)`, true],
  ["INSERT INTO t (a, b) VALUES (textAsBlob('x'), ks.myfn(1, 2))", true],
  ['INSERT INTO t (a) VALUES ((int) ?)', true],
  ['INSERT INTO t JSON \'{"id": "now()", "x": "IF NOT EXISTS"}\'', true],
  ['INSERT INTO t JSON ? DEFAULT UNSET', true],
  ["INSERT INTO t (a) VALUES ('IF NOT EXISTS')", true],
  ["INSERT INTO t (a) VALUES ('now()')", true],
  ['INSERT INTO t (a) VALUES (1) /* IF NOT EXISTS */', true],
  ['INSERT INTO t (a) VALUES (1) -- now()', true],
  ['INSERT INTO now (a) VALUES (1)', true], // a table named now is not a call
  ['INSERT INTO ks.uuid (a) VALUES (1)', true],
  ['INSERT INTO t (now, uuid) VALUES (1, 2)', true], // nor are columns
  ["INSERT INTO t (m) VALUES ({'a': :v, 'b': ?})", true],
  // LWT.
  ['INSERT INTO t (a) VALUES (1) IF NOT EXISTS', false],
  ['insert into t (a) values (1) if not exists', false],
  ['INSERT INTO t (a) VALUES (1) IF NOT EXISTS USING TTL 1', false],
  // Non-deterministic functions, anywhere, nested, any case or qualifier.
  ['INSERT INTO t (id, v) VALUES (now(), 1)', false],
  ['INSERT INTO t (id, v) VALUES (NOW(), 1)', false],
  ['INSERT INTO t (id) VALUES (uuid())', false],
  ['INSERT INTO t (id) VALUES (system.now())', false],
  ['INSERT INTO t (id) VALUES ("now"())', false],
  ['INSERT INTO t (ts) VALUES (toTimestamp(now()))', false],
  ['INSERT INTO t (ts) VALUES (currentTimestamp())', false],
  ['INSERT INTO t (ts) VALUES (currentDate())', false],
  ['INSERT INTO t (ts) VALUES (currentTime())', false],
  ['INSERT INTO t (ts) VALUES (currentTimeUUID())', false],
  ['INSERT INTO t (ts) VALUES (current_timestamp())', false],
  ['INSERT INTO t (ts) VALUES (current_timeuuid())', false],
  ['INSERT INTO t (l) VALUES ([1, now()])', false],
  ["INSERT INTO t (m) VALUES ({'k': uuid()})", false],
  ['INSERT INTO t (a) VALUES (1) USING TIMESTAMP toUnixTimestamp(now())', false],
  // Not a single well-formed statement: conservative.
  ['INSERT INTO t (a) VALUES (1); INSERT INTO t (a) VALUES (2)', false],
  ['INSERT t (a) VALUES (1)', false],
  ['INSERT INTO', false],
  ['INSERT INTO 1', false],
  ['INSERT INTO ks. (a) VALUES (1)', false],
  ["INSERT INTO t (a) VALUES ('x", false],
  ['INSERT INTO t (a) VALUES (1) @', false],
];

const UPDATES: Row[] = [
  ['UPDATE t SET a = 1 WHERE k = 1', true],
  ['UPDATE ks.t USING TTL 5 AND TIMESTAMP 7 SET a = ?, b = :b WHERE k = ? AND c IN (1, 2)', true],
  ["UPDATE t SET a = 'c = c + 1' WHERE k = 1", true],
  ['UPDATE t SET a = 1 WHERE k = 1;', true],
  // Plain sets of every kind of term are overwrites.
  ['UPDATE t SET l = [1, 2] WHERE k = 1', true],
  ['UPDATE t SET s = {1, 2}, m = {}, u = {f: 1, g: :x} WHERE k = 1', true],
  ["UPDATE t SET tu = (1, 'a'), c = (int) ?, f = (frozen<list<int>>) ? WHERE k = 1", true],
  ['UPDATE t SET a = true, b = null, c = -NaN, d = -Infinity, e = -1 WHERE k = 1', true],
  ["UPDATE t SET a = textAsBlob('x'), b = ks.fn(1) WHERE k = 1", true],
  // Element and field sets: setting l[i] or m[k] twice ends the same.
  ['UPDATE t SET l[0] = 1 WHERE k = 1', true],
  ["UPDATE t SET m['k'] = 'v' WHERE k = 1", true],
  ['UPDATE t SET m[?] = ? WHERE k = 1', true],
  ['UPDATE t SET u.f = 1, "U"."F" = 2 WHERE k = 1', true],
  // Set and map additions/removals with a {...} literal are idempotent.
  ['UPDATE t SET s = s + {1, 2} WHERE k = 1', true],
  ['UPDATE t SET s = s - {1} WHERE k = 1', true],
  ['UPDATE t SET s = {1} + s WHERE k = 1', true],
  ["UPDATE t SET s += {'a'} WHERE k = 1", true],
  ["UPDATE t SET m = m + {'k': 1} WHERE k = 1", true],
  ["UPDATE t SET m -= {'k'} WHERE k = 1", true],
  ['UPDATE t SET s = s + {?} WHERE k = 1', true],
  // Counters.
  ['UPDATE t SET c = c + 1 WHERE k = 1', false],
  ['UPDATE t SET c = c - 1 WHERE k = 1', false],
  ['UPDATE t SET c = c + ? WHERE k = 1', false],
  ['UPDATE t SET c = c + :delta WHERE k = 1', false],
  ['UPDATE t SET c += 1 WHERE k = 1', false],
  ['UPDATE t SET c -= 1 WHERE k = 1', false],
  ['UPDATE t SET c = 1 + c WHERE k = 1', false],
  ['UPDATE t SET c = ? + c WHERE k = 1', false],
  ['UPDATE t SET c = c -1 WHERE k = 1', false], // Cassandra lexes -1 as one number: conservative
  ['UPDATE t SET a = 1, c = c + 1 WHERE k = 1', false],
  ['UPDATE t SET c = c + 1, a = 1 WHERE k = 1', false],
  // Lists.
  ['UPDATE t SET l = l + [1] WHERE k = 1', false],
  ['UPDATE t SET l = [1] + l WHERE k = 1', false],
  ['UPDATE t SET l += [1] WHERE k = 1', false],
  ['UPDATE t SET l = l - [1] WHERE k = 1', false], // conservative
  ['UPDATE t SET x = x + (int) ? WHERE k = 1', false],
  ['UPDATE t SET x = x + fn(1) WHERE k = 1', false],
  ['UPDATE t SET x = x + (1, 2) WHERE k = 1', false],
  // Non-deterministic calls, anywhere.
  ['UPDATE t SET s = s + {now()} WHERE k = 1', false],
  ["UPDATE t SET m = m + {'k': uuid()} WHERE k = 1", false],
  ['UPDATE t SET m[now()] = 1 WHERE k = 1', false],
  ['UPDATE t SET a = 1 WHERE k = now()', false],
  ['UPDATE t USING TIMESTAMP toUnixTimestamp(now()) SET a = 1 WHERE k = 1', false],
  // LWT.
  ['UPDATE t SET a = 1 WHERE k = 1 IF EXISTS', false],
  ['UPDATE t SET a = 1 WHERE k = 1 IF a = 2 AND b > 3', false],
  ['UPDATE t SET s = s + {1} WHERE k = 1 if exists', false],
  // Malformed: conservative.
  ['UPDATE t SET a = 1 2 WHERE k = 1', false],
  ['UPDATE t SET a = b WHERE k = 1', false],
  ['UPDATE t SET a WHERE k = 1', false],
  ['UPDATE t SET = 1 WHERE k = 1', false],
  ['UPDATE t SET l[0 = 1 WHERE k = 1', false],
  ['UPDATE t SET l[0] 1 WHERE k = 1', false],
  ['UPDATE t SET u. = 1 WHERE k = 1', false],
  ['UPDATE t SET a = [1, 2 WHERE k = 1', false],
  ['UPDATE t SET a = ks. WHERE k = 1', false],
  ['UPDATE t SET a = ks.fn WHERE k = 1', false],
  ['UPDATE t SET a = (int WHERE k = 1', false],
  ['UPDATE t SET a = (frozen<int WHERE k = 1', false],
  ['UPDATE t SET a = - 1 WHERE k = 1', false],
  ['UPDATE t SET s = {1} + WHERE k = 1', false],
  ['UPDATE t SET s = {1} + 2 WHERE k = 1', false],
  ['UPDATE t SET', false],
  ['UPDATE t WHERE k = 1', false],
  ['UPDATE t SET a = 1 WHERE k = 1; DROP TABLE t', false],
  ["UPDATE t SET a = 'x WHERE k = 1", false],
];

const DELETES: Row[] = [
  ['DELETE FROM t WHERE k = 1', true],
  ['DELETE a, b FROM ks.t WHERE k = 1', true],
  ['DELETE FROM t USING TIMESTAMP 1 WHERE k IN (1, 2) AND c > 2', true],
  ['DELETE u.f FROM t WHERE k = 1', true],
  // Map elements by a key that cannot be a list index.
  ["DELETE m['k'] FROM t WHERE k = 1", true],
  [`DELETE m[${UUID}] FROM t WHERE k = 1`, true],
  ['DELETE m[1.5], m[true] FROM t WHERE k = 1', true],
  // List elements (or anything that may be one).
  ['DELETE l[1] FROM t WHERE k = 1', false],
  ['DELETE l[-1] FROM t WHERE k = 1', false],
  ['DELETE l[?] FROM t WHERE k = 1', false],
  ['DELETE l[:i] FROM t WHERE k = 1', false],
  ['DELETE l[(int) ?] FROM t WHERE k = 1', false],
  ['DELETE l[fn(1)] FROM t WHERE k = 1', false],
  ["DELETE m['k'], l[0] FROM t WHERE k = 1", false],
  ["DELETE m['k' FROM t WHERE k = 1", false],
  // LWT and non-deterministic calls; checked even after a map element (cql-proxy's parser
  // returns early at `m[...]` and would call these idempotent).
  ['DELETE FROM t WHERE k = 1 IF EXISTS', false],
  ['DELETE FROM t WHERE k = 1 IF a = 1', false],
  ["DELETE m['k'] FROM t WHERE k = 1 IF EXISTS", false],
  ["DELETE m['k'] FROM t WHERE k = now()", false],
  ['DELETE FROM t WHERE k = uuid()', false],
  // Malformed.
  ['DELETE a b', false],
  ['DELETE FROM t WHERE k = 1 extra; more', false],
];

const BATCHES: Row[] = [
  [
    'BEGIN BATCH INSERT INTO t (a) VALUES (1); UPDATE t SET a = 2 WHERE k = 1; DELETE FROM t WHERE k = 3; APPLY BATCH',
    true,
  ],
  ['BEGIN UNLOGGED BATCH INSERT INTO t (a) VALUES (?) APPLY BATCH;', true],
  ['BEGIN LOGGED BATCH USING TIMESTAMP 1 INSERT INTO t (a) VALUES (1) APPLY BATCH', true],
  [
    'begin batch insert into t (a) values (1) update t set s = s + {1} where k = 1 apply batch',
    true,
  ],
  ['BEGIN BATCH APPLY BATCH', true],
  [
    `BEGIN BATCH
       INSERT INTO ks.videos (id, name) VALUES (?, ?);
       INSERT INTO ks.videos_by_user (user, id) VALUES (?, ?);
     APPLY BATCH;`,
    true,
  ],
  // One non-idempotent child spoils the batch.
  ['BEGIN BATCH INSERT INTO t (a) VALUES (1) IF NOT EXISTS; APPLY BATCH', false],
  [
    'BEGIN BATCH INSERT INTO t (a) VALUES (1); UPDATE t SET c = c + 1 WHERE k = 1; APPLY BATCH',
    false,
  ],
  ['BEGIN BATCH INSERT INTO t (a) VALUES (now()); APPLY BATCH', false],
  ['BEGIN BATCH DELETE l[0] FROM t WHERE k = 1 APPLY BATCH', false],
  ['BEGIN UNLOGGED BATCH UPDATE t SET l = l + [1] WHERE k = 1; APPLY BATCH', false],
  // Counter batches never are.
  ['BEGIN COUNTER BATCH UPDATE t SET c = c + 1 WHERE k = 1; APPLY BATCH', false],
  ['BEGIN COUNTER BATCH APPLY BATCH', false],
  // Malformed.
  ['BEGIN BATCH INSERT INTO t (a) VALUES (1);', false],
  ['BEGIN BATCH INSERT INTO t (a) VALUES (1); APPLY', false],
  ['BEGIN BATCH SELECT * FROM t; APPLY BATCH', false],
  ['BEGIN BATCH INSERT INTO t (a) VALUES (1); APPLY BATCH; INSERT INTO t (a) VALUES (2)', false],
  ['BEGIN BATCH BEGIN BATCH APPLY BATCH APPLY BATCH', false],
  ["BEGIN BATCH INSERT INTO t (a) VALUES ('x); APPLY BATCH", false],
  ['BEGIN BATCH USING TIMESTAMP', false],
];

describe('idempotency (docs/cql-proxy-compat.md §4.7)', () => {
  const table: [string, string, boolean][] = [
    ...INSERTS.map(([q, i]): [string, string, boolean] => ['insert', q, i]),
    ...UPDATES.map(([q, i]): [string, string, boolean] => ['update', q, i]),
    ...DELETES.map(([q, i]): [string, string, boolean] => ['delete', q, i]),
    ...BATCHES.map(([q, i]): [string, string, boolean] => ['batch', q, i]),
  ];

  it.each(table)('%s %j → idempotent %s', (statement, query, idempotent) => {
    expect(classifyQuery(query, undefined)).toEqual({ kind: 'forward', statement, idempotent });
  });

  it('SELECT is always idempotent; DDL, TRUNCATE, GRANT, USE never are', () => {
    expect(classifyQuery('SELECT now() FROM t', undefined)).toEqual({
      kind: 'forward',
      statement: 'select',
      idempotent: true,
    });
    for (const q of [
      'CREATE TABLE t (k int PRIMARY KEY)',
      'DROP TABLE t',
      'ALTER TABLE t ADD c int',
    ]) {
      expect(classifyQuery(q, undefined)).toEqual({
        kind: 'forward',
        statement: 'ddl',
        idempotent: false,
      });
    }
    for (const q of ['TRUNCATE t', 'GRANT ALL ON KEYSPACE ks TO r', 'REVOKE ALL ON ks.t FROM r']) {
      expect(classifyQuery(q, undefined)).toEqual({
        kind: 'forward',
        statement: 'other',
        idempotent: false,
      });
    }
    // BEGIN without BATCH is not a batch (e.g. a Cassandra 5 transaction).
    for (const q of [
      'BEGIN UNLOGGED INSERT INTO t (a) VALUES (1) APPLY BATCH',
      'BEGIN TRANSACTION SELECT * FROM t; COMMIT TRANSACTION',
    ]) {
      expect(classifyQuery(q, undefined)).toEqual({
        kind: 'forward',
        statement: 'other',
        idempotent: false,
      });
    }
    expect(classifyQuery('USE ks extra', undefined)).toEqual({
      kind: 'forward',
      statement: 'use',
      idempotent: false,
    });
  });

  it('modificationIsIdempotent refuses a scanner that is not on INSERT/UPDATE/DELETE/BEGIN', () => {
    const s = new CqlScanner('SELECT * FROM t');
    s.next();
    expect(modificationIsIdempotent(s)).toBe(false);
  });

  // Metamorphic: adding an LWT condition or a now() call to any idempotent statement makes it
  // non-idempotent; commenting them out leaves it idempotent.
  const idempotentUpdates = [...UPDATES, ...DELETES]
    .filter(([q, i]) => i && !q.trimEnd().endsWith(';'))
    .map(([q]) => q);
  it('an IF clause always makes an UPDATE or DELETE non-idempotent', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...idempotentUpdates),
        fc.constantFrom(' IF EXISTS', ' if a = 1', ' IF a > 0 AND b = ?'),
        (query, condition) => {
          const c = classifyQuery(query + condition, undefined);
          expect(c).toMatchObject({ kind: 'forward', idempotent: false });
          const commented = classifyQuery(`${query} /*${condition} */`, undefined);
          expect(commented).toMatchObject({ kind: 'forward', idempotent: true });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a non-deterministic call in any INSERT value makes it non-idempotent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('1', "'x'", '?', ':v', '[1]', '{1}', 'fn(2)'), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.nat(),
        fc.constantFrom(
          'now()',
          'UUID()',
          'system.currentTimestamp()',
          'toDate(now())',
          'f([now()])',
        ),
        (values, at, call) => {
          const cols = values.map((_, i) => `c${i}`).join(', ');
          const safe = `INSERT INTO t (${cols}) VALUES (${values.join(', ')})`;
          expect(classifyQuery(safe, undefined)).toMatchObject({ idempotent: true });
          const i = at % values.length;
          const bad = values.map((v, j) => (j === i ? call : v));
          const unsafe = `INSERT INTO t (${cols}) VALUES (${bad.join(', ')})`;
          expect(classifyQuery(unsafe, undefined)).toMatchObject({ idempotent: false });
        },
      ),
      { numRuns: 200 },
    );
  });
});
