import { describe, it, expect } from 'vitest';
import { classifyQuery } from '../../src/protocol/cql-classifier.js';
import { FWD_SELECT, col, expectSpacingIgnored, sys, type Case } from './cql-classify-support.js';

// SELECTs on the system tables the proxy answers itself, read through classifyQuery (the only
// way in to cql-system-select.ts).

const SYSTEM_CASES: Case[] = [
  ["select * from SYSTEM.LOCAL where key = 'local'", undefined, sys('local', '*', true)],
  ['SELECT * FROM "system"."local"', undefined, sys('local')],
  ['SELECT * FROM system."peers"', undefined, sys('peers')],
  ['SELECT * FROM "System".local', undefined, FWD_SELECT],
  ['SELECT * FROM system."Local"', undefined, FWD_SELECT],
  ['SELECT * FROM System.Peers_V2', undefined, sys('peers_v2')],
  ['SELECT * FROM system . local', undefined, sys('local')],
  ['SELECT * FROM system.local;', undefined, sys('local')],
  ['SELECT * FROM system.local ; ;', undefined, sys('local')],
  ['-- comment\nSELECT * FROM system.local', undefined, sys('local')],
  ['// comment\nSELECT * FROM system.local', undefined, sys('local')],
  ['/* a */ SELECT /* b */ * FROM /* c */ system.local /* d */', undefined, sys('local')],
  [
    "SELECT * FROM system.local WHERE key = 'local' -- system.peers",
    undefined,
    sys('local', '*', true),
  ],
  // Current keyspace `system`: bare table names resolve there.
  ['SELECT * FROM local', 'system', sys('local')],
  ['SELECT * FROM peers', 'system', sys('peers')],
  ['SELECT * FROM "local"', 'system', sys('local')],
  ['SELECT * FROM local', 'ks', FWD_SELECT],
  ['SELECT * FROM local', undefined, FWD_SELECT],
  ['SELECT * FROM local', 'System', FWD_SELECT],
  ['SELECT * FROM ks.local', 'system', FWD_SELECT],
  ['SELECT * FROM system.local', 'ks', sys('local')],
  // Other system tables are forwarded.
  ['SELECT * FROM system.size_estimates', undefined, FWD_SELECT],
  ['SELECT * FROM system.schema_functions', undefined, FWD_SELECT],
  ['SELECT * FROM size_estimates', 'system', FWD_SELECT],
  // WHERE / LIMIT / ALLOW FILTERING.
  [
    "SELECT * FROM system.local WHERE key = 'local' LIMIT 1 ALLOW FILTERING",
    undefined,
    sys('local', '*', true),
  ],
  ['SELECT * FROM system.local LIMIT ?', undefined, sys('local')],
  ['SELECT * FROM system.local LIMIT :n', undefined, sys('local')],
  ['SELECT * FROM system.peers ALLOW FILTERING', undefined, sys('peers')],
  ["SELECT * FROM system.local WHERE key = 'other'", undefined, sys('local')],
  ["SELECT * FROM system.local WHERE key = 'LOCAL'", undefined, sys('local')],
  ["SELECT * FROM system.local WHERE key = 'loc''al'", undefined, sys('local')],
  ['SELECT * FROM system.local WHERE "key" = $$local$$', undefined, sys('local', '*', true)],
  ["SELECT * FROM system.local WHERE KEY='local'", undefined, sys('local', '*', true)],
  ['SELECT * FROM system.local WHERE "KEY" = \'local\'', undefined, sys('local')],
  [
    "SELECT * FROM system.local WHERE data_center = 'dc1' AND key = 'local'",
    undefined,
    sys('local', '*', true),
  ],
  ["SELECT * FROM system.local WHERE key IN ('local')", undefined, sys('local')],
  ["SELECT * FROM system.local WHERE token(key) = 'local'", undefined, sys('local')],
  ['SELECT * FROM system.local WHERE key = ?', undefined, sys('local')],
  ["SELECT * FROM system.peers WHERE peer = '10.0.0.1'", undefined, sys('peers')],
  // Selectors.
  [
    'SELECT key, rpc_address AS addr, "Quoted", Data_Center as "DC" FROM system.local',
    undefined,
    sys('local', [col('key'), col('rpc_address', 'addr'), col('Quoted'), col('data_center', 'DC')]),
  ],
  ['SELECT "from" FROM system.local', undefined, sys('local', [col('from')])],
  ['SELECT json FROM system.local', undefined, sys('local', [col('json')])],
  ['SELECT distinct AS d FROM system.local', undefined, sys('local', [col('distinct', 'd')])],
  ['SELECT count(*) FROM system.peers', undefined, sys('peers', [{ kind: 'count' }])],
  ['SELECT COUNT(1) FROM system.peers', undefined, sys('peers', [{ kind: 'count' }])],
  [
    'SELECT count(peer) AS n FROM system.peers',
    undefined,
    sys('peers', [{ kind: 'count', column: 'peer', alias: 'n' }]),
  ],
  [
    'SELECT count(*) AS c FROM system.local',
    undefined,
    sys('local', [{ kind: 'count', alias: 'c' }]),
  ],
  ['SELECT now() FROM system.local', undefined, sys('local', [{ kind: 'now' }])],
  ['SELECT NOW() AS t FROM system.local', undefined, sys('local', [{ kind: 'now', alias: 't' }])],
  ['SELECT system.now() FROM system.local', undefined, sys('local', [{ kind: 'now' }])],
  ['SELECT "now"() FROM system.local', undefined, sys('local', [{ kind: 'now' }])],
  ['SELECT uuid() FROM system.local', undefined, sys('local', [{ kind: 'uuid' }])],
  // cql-proxy issue #137: toTimestamp(now()) is supported here.
  [
    'SELECT toTimestamp(now()) FROM system.local',
    undefined,
    sys('local', [{ kind: 'toTimestamp', arg: 'now' }]),
  ],
  [
    'SELECT totimestamp(NOW()), ToTimestamp(system.now()) AS ts FROM system.local',
    undefined,
    sys('local', [
      { kind: 'toTimestamp', arg: 'now' },
      { kind: 'toTimestamp', arg: 'now', alias: 'ts' },
    ]),
  ],
  [
    'SELECT toUnixTimestamp(now()) FROM system.local',
    undefined,
    sys('local', [{ kind: 'toUnixTimestamp', arg: 'now' }]),
  ],
  [
    "SELECT key, count(*), now(), toTimestamp(now()) FROM local WHERE key = 'local'",
    'system',
    sys(
      'local',
      [col('key'), { kind: 'count' }, { kind: 'now' }, { kind: 'toTimestamp', arg: 'now' }],
      true,
    ),
  ],
];

const INVALID_CASES: [string, RegExp][] = [
  ['SELECT JSON * FROM system.local', /^SELECT JSON is not supported on system\.local/],
  ['SELECT JSON key FROM system.local', /^SELECT JSON is not supported/],
  ['SELECT DISTINCT key FROM system.peers', /^SELECT DISTINCT is not supported on system\.peers/],
  ['SELECT JSON DISTINCT key FROM system.local', /^SELECT JSON is not supported/],
  ['SELECT foo(key) FROM system.local', /Unsupported function 'foo' in a query on system\.local/],
  ['SELECT dateOf(now()) FROM system.local', /Unsupported function 'dateOf'/],
  ['SELECT writetime(key) FROM system.local', /Unsupported function 'writetime'/],
  ['SELECT "toTimestamp"(now()) FROM system.local', /Unsupported function '"toTimestamp"'/],
  ['SELECT toTimestamp(key) FROM system.local', /only now\(\) is supported/],
  ['SELECT toTimestamp(now() FROM system.local', /Expected '\)' after toTimestamp\(/],
  ['SELECT toUnixTimestamp() FROM system.local', /only now\(\) is supported/],
  ['SELECT count(2) FROM system.peers', /^Only COUNT\(1\) is supported, got COUNT\(2\)$/],
  ["SELECT count('x') FROM system.peers", /Unsupported argument ''x'' to count/],
  ['SELECT count(*, 1) FROM system.peers', /Expected '\)' after count\(/],
  ['SELECT now(1) FROM system.local', /Expected '\)' after now\(/],
  ['SELECT ks.now() FROM system.local', /Unsupported selector 'ks\.'/],
  ['SELECT system.key FROM system.local', /Unsupported selector 'system\.key'/],
  ['SELECT system.* FROM system.local', /Unsupported selector 'system\.\*'/],
  ["SELECT 'literal' FROM system.local", /Unsupported selector ''literal''/],
  ['SELECT key[0] FROM system.local', /Unsupported selector '\['/],
  ['SELECT *, key FROM system.local', /Unsupported selector ',' after \*/],
  ['SELECT key AS FROM system.local', /Unsupported selector 'system'/],
  ['SELECT key AS 1 FROM system.local', /Expected an alias after AS/],
  ['SELECT FROM system.local', /Missing selectors before FROM/],
  ['SELECT * FROM system.local ORDER BY key', /Unsupported 'ORDER' in a query on system\.local/],
  ['SELECT * FROM system.local GROUP BY key', /Unsupported 'GROUP'/],
  ['SELECT * FROM system.local extra', /Unsupported 'extra'/],
  ['SELECT * FROM system.local; SELECT 1', /Unsupported 'SELECT'/],
  ['SELECT * FROM system.local WHERE', /Incomplete WHERE clause/],
  ['SELECT * FROM system.local WHERE LIMIT 1', /Incomplete WHERE clause/],
  ['SELECT * FROM system.local LIMIT x', /LIMIT needs a number or a bind marker/],
  ['SELECT * FROM system.local ALLOW', /Expected FILTERING after ALLOW/],
];

describe('SELECT on a system table', () => {
  it.each(SYSTEM_CASES)('system %j (keyspace %s)', (query, keyspace, expected) => {
    expect(classifyQuery(query, keyspace)).toEqual(expected);
  });

  it.each(INVALID_CASES)('invalid %j', (query, message) => {
    const c = classifyQuery(query, undefined);
    expect(Object.keys(c).sort()).toEqual(['kind', 'message']);
    expect(c.kind).toBe('invalid');
    expect((c as { message: string }).message).toMatch(message);
  });

  it('invalid messages name the table and what is supported', () => {
    const c = classifyQuery('SELECT bogus() FROM system.peers', undefined);
    expect(c).toEqual({
      kind: 'invalid',
      message:
        "Unsupported function 'bogus' in a query on system.peers; supported: columns, count(*), " +
        'count(1), count(col), now(), uuid(), toTimestamp(now()) and toUnixTimestamp(now())',
    });
  });

  it('comments and spacing between tokens change nothing', () => {
    expectSpacingIgnored(classifyQuery, SYSTEM_CASES);
  });
});
