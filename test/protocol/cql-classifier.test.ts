import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { classifyQuery, type QueryClass } from '../../src/protocol/cql-classifier.js';
import type { SystemTable } from '../../src/protocol/cql-system-select.js';
import { cqlish, anyText, keyspaces } from './cql-arbitraries.js';
import {
  FWD_SELECT,
  col,
  expectSpacingIgnored,
  fwd,
  sys,
  type Case,
} from './cql-classify-support.js';

// The drivers' own queries, verbatim from docs/drivers.md §1.6 (Node.js), §2.4 (Python) and
// §3 (Java 4, cql-proxy's own control connection).
const DRIVER_QUERIES: Case[] = [
  ["SELECT * FROM system.local WHERE key='local'", undefined, sys('local', '*', true)],
  ['SELECT * FROM system.peers', undefined, sys('peers')],
  ['SELECT * FROM system.peers_v2', undefined, sys('peers_v2')],
  ['SELECT * FROM system.local', undefined, sys('local')],
  ['SELECT schema_version FROM system.local', undefined, sys('local', [col('schema_version')])],
  ['SELECT schema_version FROM system.peers', undefined, sys('peers', [col('schema_version')])],
  [
    "SELECT schema_version FROM system.local WHERE key='local'",
    undefined,
    sys('local', [col('schema_version')], true),
  ],
  [
    'SELECT peer, host_id, rpc_address, schema_version FROM system.peers',
    undefined,
    sys('peers', [col('peer'), col('host_id'), col('rpc_address'), col('schema_version')]),
  ],
  [
    'SELECT peer, host_id, native_transport_address, schema_version FROM system.peers',
    undefined,
    sys('peers', [
      col('peer'),
      col('host_id'),
      col('native_transport_address'),
      col('schema_version'),
    ]),
  ],
  [
    'SELECT host_id, peer, data_center, rack, rpc_address, rpc_address, release_version, schema_version FROM system.peers',
    undefined,
    sys(
      'peers',
      [
        'host_id',
        'peer',
        'data_center',
        'rack',
        'rpc_address',
        'rpc_address',
        'release_version',
        'schema_version',
      ].map((n) => col(n)),
    ),
  ],
  ['SELECT * FROM system.schema_keyspaces', undefined, sys('schema_keyspaces')],
  ['SELECT * FROM system.schema_columnfamilies', undefined, sys('schema_columnfamilies')],
  ['SELECT * FROM system.schema_columns', undefined, sys('schema_columns')],
  ['SELECT * FROM system.schema_usertypes', undefined, sys('schema_usertypes')],
  ['SELECT * FROM system_schema.keyspaces', undefined, FWD_SELECT],
  ['SELECT * FROM system_virtual_schema.keyspaces', undefined, FWD_SELECT],
  ['SELECT * from system_virtual_schema.tables', undefined, FWD_SELECT],
  ['SELECT * from system_virtual_schema.columns', undefined, FWD_SELECT],
  ...[
    'tables',
    'columns',
    'indexes',
    'views',
    'types',
    'functions',
    'aggregates',
    'triggers',
    'vertices',
    'edges',
  ].map((t): Case => [`SELECT * FROM system_schema.${t}`, undefined, FWD_SELECT]),
  [
    "SELECT * FROM system_schema.tables WHERE keyspace_name='ks1' AND table_name='videos'",
    undefined,
    FWD_SELECT,
  ],
  [
    "SELECT * FROM system_schema.columns WHERE keyspace_name='ks1' AND table_name='videos'",
    undefined,
    FWD_SELECT,
  ],
  [
    'SELECT * FROM system_traces.sessions WHERE session_id=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    undefined,
    FWD_SELECT,
  ],
  [
    'SELECT * FROM system_traces.events WHERE session_id=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    undefined,
    FWD_SELECT,
  ],
  ['USE "killrvideo"', undefined, { kind: 'use', keyspace: 'killrvideo' }],
  ['USE "KillrVideo"', undefined, { kind: 'use', keyspace: 'KillrVideo' }],
  ['CALL InsightsRpc.reportInsight(?)', undefined, fwd('other', false)],
];

const FORWARD_CASES: Case[] = [
  // Never fooled by strings or comments.
  ["SELECT * FROM users WHERE name = 'system.local'", undefined, FWD_SELECT],
  ['/* system.local */ SELECT * FROM t', undefined, FWD_SELECT],
  ['SELECT * FROM t -- FROM system.local', undefined, FWD_SELECT],
  ['SELECT * FROM t /* FROM system.local */', undefined, FWD_SELECT],
  ['SELECT "system.local" FROM t', undefined, FWD_SELECT],
  ['SELECT * FROM "system.local"', undefined, FWD_SELECT],
  ['SELECT $$ FROM system.local $$ FROM t', undefined, FWD_SELECT],
  // Ordinary reads.
  ['SELECT a, b FROM ks.users WHERE id = ? LIMIT 10', undefined, FWD_SELECT],
  ['SELECT now() FROM t', undefined, FWD_SELECT],
  ['SELECT JSON * FROM ks.t', undefined, FWD_SELECT],
  ['SELECT', undefined, FWD_SELECT],
  ['SELECT * FROM', undefined, FWD_SELECT],
  ['SELECT * FROM 1', undefined, FWD_SELECT],
  ['SELECT * FROM system.', undefined, FWD_SELECT],
  // Does not lex: forwarded, the server answers the syntax error.
  ["SELECT * FROM system.local WHERE key = 'local", undefined, FWD_SELECT],
  ['SELECT * FROM system.local /* oops', undefined, FWD_SELECT],
  ['SELECT * FROM system.local @', undefined, FWD_SELECT],
  ['SELECT count(*) FROM system.local WHERE key = "', undefined, FWD_SELECT],
  ['SELECT @ FROM system.local', undefined, FWD_SELECT],
  ['SELECT JSON * FROM system.local WHERE x = $$', undefined, FWD_SELECT],
  ["'unterminated", undefined, fwd('other', false)],
  ['/* unterminated', undefined, fwd('other', false)],
  ['@ SELECT * FROM system.local', undefined, fwd('other', false)],
  // Nothing to classify.
  ['', undefined, fwd('other', false)],
  ['   \n\t', undefined, fwd('other', false)],
  ['-- only a comment', undefined, fwd('other', false)],
  [';', undefined, fwd('other', false)],
  ['"select" * FROM system.local', undefined, fwd('other', false)],
  // DDL and the rest: never idempotent.
  ['CREATE TABLE ks.t (k int PRIMARY KEY, v text)', undefined, fwd('ddl', false)],
  [
    "create keyspace ks with replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    undefined,
    fwd('ddl', false),
  ],
  ['ALTER TABLE t ADD c int', undefined, fwd('ddl', false)],
  ['DROP TABLE IF EXISTS t', undefined, fwd('ddl', false)],
  ['TRUNCATE t', undefined, fwd('other', false)],
  ['GRANT SELECT ON KEYSPACE ks TO r', undefined, fwd('other', false)],
  ['LIST ROLES', undefined, fwd('other', false)],
  ['BEGIN TRANSACTION SELECT * FROM t; COMMIT TRANSACTION', undefined, fwd('other', false)],
  ['EXPLAIN SELECT * FROM t', undefined, fwd('other', false)],
  ['42', undefined, fwd('other', false)],
];

const USE_CASES: Case[] = [
  ['USE ks', undefined, { kind: 'use', keyspace: 'ks' }],
  ['USE Ks;', undefined, { kind: 'use', keyspace: 'ks' }],
  ['use  KS ;  ', undefined, { kind: 'use', keyspace: 'ks' }],
  ['USE "Ks"', undefined, { kind: 'use', keyspace: 'Ks' }],
  ['USE "My""Ks"', undefined, { kind: 'use', keyspace: 'My"Ks' }],
  ['USE "ks" -- comment', undefined, { kind: 'use', keyspace: 'ks' }],
  ['/* x */ USE system', 'ks', { kind: 'use', keyspace: 'system' }],
  ['USE', undefined, fwd('use', false)],
  ['USE ks extra', undefined, fwd('use', false)],
  ['USE ks.t', undefined, fwd('use', false)],
  ["USE 'ks'", undefined, fwd('use', false)],
  ['USE "ks', undefined, fwd('use', false)],
  ['USE ks; USE other', undefined, fwd('use', false)],
];

describe('classifyQuery', () => {
  it.each(DRIVER_QUERIES)('driver query %j (keyspace %s)', (query, keyspace, expected) => {
    expect(classifyQuery(query, keyspace)).toEqual(expected);
  });

  it.each(FORWARD_CASES)('forward %j (keyspace %s)', (query, keyspace, expected) => {
    expect(classifyQuery(query, keyspace)).toEqual(expected);
  });

  it.each(USE_CASES)('use %j (keyspace %s)', (query, keyspace, expected) => {
    expect(classifyQuery(query, keyspace)).toEqual(expected);
  });

  it('forward results are shared frozen objects (no allocation on the hot path)', () => {
    const a = classifyQuery('SELECT * FROM t', undefined);
    const b = classifyQuery('SELECT x FROM u', 'ks');
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('the reused scanner carries no state from one call to the next', () => {
    // An unterminated comment, then a colon-sensitive query, then a system query.
    expect(classifyQuery('SELECT * FROM t /*', undefined)).toEqual(FWD_SELECT);
    expect(classifyQuery('{ a', undefined)).toEqual(fwd('other', false));
    expect(classifyQuery(':x', undefined)).toEqual(fwd('other', false));
    expect(classifyQuery('SELECT * FROM system.local', undefined)).toEqual(sys('local'));
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const TABLES: SystemTable[] = [
  'local',
  'peers',
  'peers_v2',
  'schema_keyspaces',
  'schema_columnfamilies',
  'schema_columns',
  'schema_usertypes',
];
const STATEMENTS = ['select', 'insert', 'update', 'delete', 'batch', 'ddl', 'use', 'other'];
const SELECTOR_KINDS = ['column', 'count', 'now', 'uuid', 'toTimestamp', 'toUnixTimestamp'];

function checkValid(c: QueryClass): void {
  switch (c.kind) {
    case 'use':
      expect(typeof c.keyspace).toBe('string');
      expect(c.keyspace.length).toBeGreaterThan(0);
      break;
    case 'system':
      expect(TABLES).toContain(c.table);
      expect(typeof c.whereLocal).toBe('boolean');
      if (c.selectors !== '*') {
        expect(c.selectors.length).toBeGreaterThan(0);
        for (const s of c.selectors) expect(SELECTOR_KINDS).toContain(s.kind);
      }
      break;
    case 'invalid':
      expect(c.message.length).toBeGreaterThan(0);
      break;
    case 'forward':
      expect(STATEMENTS).toContain(c.statement);
      expect(typeof c.idempotent).toBe('boolean');
      if (c.statement === 'select') expect(c.idempotent).toBe(true);
      if (c.statement === 'ddl' || c.statement === 'use' || c.statement === 'other') {
        expect(c.idempotent).toBe(false);
      }
      break;
    default:
      throw new Error(`unknown kind in ${JSON.stringify(c)}`);
  }
}

describe('properties', () => {
  it('classifyQuery never throws and always returns a valid class', () => {
    fc.assert(
      fc.property(anyText, keyspaces, (query, keyspace) => {
        checkValid(classifyQuery(query, keyspace));
      }),
      { numRuns: 500 },
    );
  });

  it('classifyQuery is a pure function of its input (the shared scanner leaks nothing)', () => {
    fc.assert(
      fc.property(cqlish, cqlish, keyspaces, (a, b, keyspace) => {
        const first = classifyQuery(a, keyspace);
        classifyQuery(b, keyspace);
        expect(classifyQuery(a, keyspace)).toEqual(first);
      }),
      { numRuns: 200 },
    );
  });

  it('classification ignores comments and spacing between tokens', () => {
    expectSpacingIgnored(classifyQuery, [...DRIVER_QUERIES, ...USE_CASES, ...FORWARD_CASES]);
  });
});
