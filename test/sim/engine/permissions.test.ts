// The engine's permission check (sim/engine/permissions.ts): which permission each statement needs
// and Cassandra 4.0's refusal text, for a role limited to keyspace ks1, a superuser-like role and
// no role at all (no authentication). Wire and driver tests are in test/sim/users-e2e.test.ts.

import { describe, expect, it } from 'vitest';
import { BatchType, ErrorCode } from '../../../src/protocol/constants.js';
import type { CqlErrorMessage } from '../../../src/protocol/messages/error.js';
import type { ExecutionContext, Role } from '../../../sim/engine/contract.js';
import { createEngine } from '../../../sim/engine/index.js';
import { contextFor, errorOf, int, opts, q, rowsOf } from './engine-helpers.js';

const BOB: Role = { name: 'bob', keyspaces: new Set(['ks1']) };
const ROOT: Role = { name: 'root', keyspaces: undefined };
const NOBODY: Role = { name: 'nobody', keyspaces: new Set() };

/** The ERROR a statement gets. */
function failure(fn: () => unknown): CqlErrorMessage {
  return errorOf(fn).error;
}

function as(role: Role, keyspace?: string): ExecutionContext {
  return { ...contextFor(keyspace), role };
}

function setup() {
  const e = createEngine();
  for (const ks of ['ks1', 'ks2']) {
    q(
      e,
      `CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
    );
    q(e, `CREATE TABLE ${ks}.t (k int PRIMARY KEY, v int)`);
    q(e, `INSERT INTO ${ks}.t (k, v) VALUES (1, 10)`);
  }
  return e;
}

const refused = (permission: string, resource: string) => ({
  code: ErrorCode.UNAUTHORIZED,
  message: `User bob has no ${permission} permission on ${resource} or any of its parents`,
});

describe('a role limited to ks1', () => {
  const e = setup();
  const run = (query: string, keyspace?: string) => () =>
    e.execute(query, opts(), as(BOB, keyspace));

  it('reads and writes ks1, creates and drops tables there', () => {
    expect(rowsOf(run('SELECT v FROM ks1.t WHERE k = 1')())).toEqual([[int(10)]]);
    expect(run('INSERT INTO ks1.t (k, v) VALUES (2, 20)')().kind).toBe('void');
    expect(run('UPDATE t SET v = 21 WHERE k = 2', 'ks1')().kind).toBe('void');
    expect(run('DELETE FROM ks1.t WHERE k = 2')().kind).toBe('void');
    expect(run('CREATE TABLE ks1.mine (k int PRIMARY KEY)')().kind).toBe('schema_change');
    expect(run('TRUNCATE ks1.mine')().kind).toBe('void');
    expect(run('DROP TABLE ks1.mine')().kind).toBe('schema_change');
  });

  it('reads every system keyspace, as every Cassandra role may', () => {
    for (const table of [
      'system.local',
      'system.peers',
      'system_schema.keyspaces',
      'system_schema.tables',
      'system_virtual_schema.keyspaces',
    ]) {
      expect(run(`SELECT * FROM ${table}`)().kind, table).toBe('rows');
    }
  });

  it('may USE a keyspace it cannot read (Cassandra checks on access), then is refused there', () => {
    const use = run('USE ks2')();
    expect(use).toEqual({ kind: 'set_keyspace', keyspace: 'ks2' });
    expect(failure(run('SELECT * FROM t', 'ks2'))).toEqual(refused('SELECT', '<table ks2.t>'));
  });

  const CASES: readonly (readonly [string, string, string])[] = [
    ['SELECT * FROM ks2.t', 'SELECT', '<table ks2.t>'],
    ['SELECT v FROM ks2.t WHERE k = 1', 'SELECT', '<table ks2.t>'],
    ['INSERT INTO ks2.t (k, v) VALUES (5, 5)', 'MODIFY', '<table ks2.t>'],
    ['INSERT INTO ks2.t (k, v) VALUES (5, 5) IF NOT EXISTS', 'MODIFY', '<table ks2.t>'],
    ['UPDATE ks2.t SET v = 1 WHERE k = 1', 'MODIFY', '<table ks2.t>'],
    ['DELETE FROM ks2.t WHERE k = 1', 'MODIFY', '<table ks2.t>'],
    ['TRUNCATE ks2.t', 'MODIFY', '<table ks2.t>'],
    ['CREATE TABLE ks2.x (k int PRIMARY KEY)', 'CREATE', '<keyspace ks2>'],
    ['DROP TABLE ks2.t', 'DROP', '<table ks2.t>'],
    ['DROP KEYSPACE ks2', 'DROP', '<keyspace ks2>'],
    // Only a superuser holds CREATE on <all keyspaces>, even for a name in its own list.
    [
      "CREATE KEYSPACE ks3 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
      'CREATE',
      '<all keyspaces>',
    ],
    [
      'BEGIN BATCH INSERT INTO ks1.t (k, v) VALUES (7, 7); INSERT INTO ks2.t (k, v) VALUES (7, 7); APPLY BATCH',
      'MODIFY',
      '<table ks2.t>',
    ],
  ];
  for (const [query, permission, resource] of CASES) {
    it(`refuses ${query.slice(0, 60)} with no ${permission} permission on ${resource}`, () => {
      expect(failure(run(query))).toEqual(refused(permission, resource));
    });
  }

  it('changed nothing while refusing: ks2 and the ks1 half of the batch are as they were', () => {
    expect(rowsOf(q(e, 'SELECT k, v FROM ks2.t'))).toEqual([[int(1), int(10)]]);
    expect(rowsOf(q(e, 'SELECT k FROM ks1.t WHERE k = 7'))).toEqual([]);
    expect(
      rowsOf(q(e, "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = 'ks3'")),
    ).toEqual([]);
  });

  it('is refused at PREPARE with the statement’s own permission, and nothing is prepared', () => {
    expect(failure(() => e.prepare('SELECT * FROM ks2.t WHERE k = ?', as(BOB)))).toEqual(
      refused('SELECT', '<table ks2.t>'),
    );
    expect(failure(() => e.prepare('UPDATE ks2.t SET v = ? WHERE k = ?', as(BOB)))).toEqual(
      refused('MODIFY', '<table ks2.t>'),
    );
    expect(e.prepare('SELECT * FROM ks1.t WHERE k = ?', as(BOB)).variables).toHaveLength(1);
  });

  it('is refused at EXECUTE of a statement someone else prepared', () => {
    const info = e.prepare('SELECT v FROM ks2.t WHERE k = ?', as(ROOT));
    expect(failure(() => e.executePrepared(info.id, opts([int(1)]), as(BOB)))).toEqual(
      refused('SELECT', '<table ks2.t>'),
    );
    expect(rowsOf(e.executePrepared(info.id, opts([int(1)]), as(ROOT)))).toEqual([[int(10)]]);
  });

  it('is refused at BATCH for the first child it may not run, prepared or not', () => {
    const other = e.prepare('INSERT INTO ks2.t (k, v) VALUES (?, ?)', as(ROOT));
    const children = [
      { kind: 'query' as const, query: 'INSERT INTO ks1.t (k, v) VALUES (8, 8)', values: [] },
      { kind: 'prepared' as const, id: other.id, values: [int(8), int(8)] },
    ];
    expect(failure(() => e.batch(BatchType.LOGGED, children, opts(), as(BOB)))).toEqual(
      refused('MODIFY', '<table ks2.t>'),
    );
    expect(rowsOf(q(e, 'SELECT k FROM ks1.t WHERE k = 8'))).toEqual([]);
    expect(e.batch(BatchType.LOGGED, children.slice(0, 1), opts(), as(BOB)).kind).toBe('void');
  });

  it('keeps the engine’s own refusals for system keyspaces, which bind every role', () => {
    expect(failure(run("INSERT INTO system.local (key) VALUES ('x')"))).toEqual({
      code: ErrorCode.UNAUTHORIZED,
      message: 'system keyspace is not user-modifiable.',
    });
    expect(failure(run('DROP TABLE system_schema.tables'))).toEqual({
      code: ErrorCode.UNAUTHORIZED,
      message: 'system_schema keyspace is not user-modifiable.',
    });
  });

  it('fails as Cassandra does before authorizing: unknown tables, no keyspace', () => {
    expect(failure(run('SELECT * FROM ks2.nope')).message).toBe('unconfigured table nope');
    expect(failure(run('CREATE TABLE x (k int PRIMARY KEY)')).message).toBe(
      'No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename',
    );
  });
});

describe('roles without limits', () => {
  it('a superuser-like role and no role at all (no authentication) run everything', () => {
    const e = setup();
    for (const context of [as(ROOT), contextFor()]) {
      expect(e.execute('SELECT * FROM ks2.t', opts(), context).kind).toBe('rows');
      expect(e.execute('TRUNCATE ks2.t', opts(), context).kind).toBe('void');
    }
    const created = e.execute(
      "CREATE KEYSPACE ks3 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
      opts(),
      as(ROOT),
    );
    expect(created.kind).toBe('schema_change');
  });

  it('a role with no keyspace reads only the system keyspaces', () => {
    const e = setup();
    const ctx = { ...contextFor(), role: NOBODY };
    expect(e.execute('SELECT * FROM system.local', opts(), ctx).kind).toBe('rows');
    expect(failure(() => e.execute('SELECT * FROM ks1.t', opts(), ctx)).message).toBe(
      'User nobody has no SELECT permission on <table ks1.t> or any of its parents',
    );
  });
});
