import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  CqlScanner,
  Op,
  ScanKind,
  classifyQuery,
  tokenize,
  type ForwardStatement,
  type QueryClass,
  type Selector,
  type SystemTable,
  type Token,
} from '../../src/protocol/cql-lexer.js';

/** [kind, text, value] triples: the golden form of a token list. */
function triples(query: string): [string, string, string][] {
  return tokenize(query).map((t) => [t.kind, t.text, t.value]);
}

describe('tokenize: golden token lists', () => {
  it('identifiers: unquoted keep raw text and lower-case value; quoted keep exact value', () => {
    expect(triples('SeLeCt foo_1 x "Quoted ""x""" "a b"')).toEqual([
      ['identifier', 'SeLeCt', 'select'],
      ['identifier', 'foo_1', 'foo_1'],
      ['identifier', 'x', 'x'],
      ['quotedIdentifier', '"Quoted ""x"""', 'Quoted "x"'],
      ['quotedIdentifier', '"a b"', 'a b'],
    ]);
  });

  it('string literals: quote doubling, empty strings, $$ strings taken as they are', () => {
    expect(triples(`'it''s' '' '''' $$a'b"c$d$$ $$$$ 'é😀'`)).toEqual([
      ['string', `'it''s'`, `it's`],
      ['string', `''`, ''],
      ['string', `''''`, `'`],
      ['string', `$$a'b"c$d$$`, `a'b"c$d`],
      ['string', '$$$$', ''],
      ['string', `'é😀'`, 'é😀'],
    ]);
  });

  it('numbers: integers, negative numbers, floats, exponents; NaN and Infinity are identifiers', () => {
    expect(triples('0 42 -7 1.5 1. 1e10 1E-3 -2.5e+3 NaN Infinity - Infinity')).toEqual([
      ['integer', '0', '0'],
      ['integer', '42', '42'],
      ['integer', '-7', '-7'],
      ['float', '1.5', '1.5'],
      ['float', '1.', '1.'],
      ['float', '1e10', '1e10'],
      ['float', '1E-3', '1E-3'],
      ['float', '-2.5e+3', '-2.5e+3'],
      ['identifier', 'NaN', 'nan'],
      ['identifier', 'Infinity', 'infinity'],
      ['punct', '-', '-'],
      ['identifier', 'Infinity', 'infinity'],
    ]);
  });

  it('hex blobs, lower-cased value', () => {
    expect(triples('0x 0xDEADbeef 0X00')).toEqual([
      ['blob', '0x', '0x'],
      ['blob', '0xDEADbeef', '0xdeadbeef'],
      ['blob', '0X00', '0x00'],
    ]);
  });

  it('uuids are one token whether they start like a number or a name', () => {
    expect(
      triples(
        '123e4567-e89b-12d3-a456-426614174000 DEADBEEF-0000-4000-8000-00000000000A ' +
          'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      ),
    ).toEqual([
      ['uuid', '123e4567-e89b-12d3-a456-426614174000', '123e4567-e89b-12d3-a456-426614174000'],
      ['uuid', 'DEADBEEF-0000-4000-8000-00000000000A', 'deadbeef-0000-4000-8000-00000000000a'],
      ['uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
    ]);
  });

  it('an almost-uuid is not a uuid', () => {
    // One hex digit short in the last group: a name, a minus, numbers...
    expect(tokenize('deadbeef-0000-4000-8000-00000000000')[0]).toMatchObject({
      kind: 'identifier',
      text: 'deadbeef',
    });
    // Glued to more name characters: not a uuid either.
    expect(tokenize('deadbeef-0000-4000-8000-00000000000Ax')[0]?.kind).not.toBe('uuid');
  });

  it('durations in unit form are one token; ISO forms are identifiers', () => {
    expect(triples('1h30m 12mo 3µs -5d 1ns 2MS 1y2w P1D')).toEqual([
      ['duration', '1h30m', '1h30m'],
      ['duration', '12mo', '12mo'],
      ['duration', '3µs', '3µs'],
      ['duration', '-5d', '-5d'],
      ['duration', '1ns', '1ns'],
      ['duration', '2MS', '2MS'],
      ['duration', '1y2w', '1y2w'],
      ['identifier', 'P1D', 'p1d'],
    ]);
  });

  it('malformed numbers, durations and blobs are single error tokens', () => {
    expect(triples('12abc 1h30 0xZZ 1.5x')).toEqual([
      ['error', '12abc', 'malformed duration'],
      ['error', '1h30', 'malformed duration'],
      ['error', '0xZZ', 'malformed blob literal'],
      ['error', '1.5x', 'malformed number'],
    ]);
  });

  it('punctuation and operators, longest match first', () => {
    const all = '( ) , ; . * = < > <= >= != + - [ ] { } : ? += -= / %';
    expect(tokenize(all).map((t) => [t.kind, t.text])).toEqual(
      all.split(' ').map((p) => ['punct', p]),
    );
    expect(triples('a<=b')).toEqual([
      ['identifier', 'a', 'a'],
      ['punct', '<=', '<='],
      ['identifier', 'b', 'b'],
    ]);
  });

  it('minus: operator, compound assignment, negative number, comment', () => {
    expect(triples('c - 1 c -= 1 c -1 c --1\nx')).toEqual([
      ['identifier', 'c', 'c'],
      ['punct', '-', '-'],
      ['integer', '1', '1'],
      ['identifier', 'c', 'c'],
      ['punct', '-=', '-='],
      ['integer', '1', '1'],
      ['identifier', 'c', 'c'],
      ['integer', '-1', '-1'],
      ['identifier', 'c', 'c'],
      ['identifier', 'x', 'x'],
    ]);
  });

  it('bind markers: ?, :name (lower-cased), :"Name" (exact)', () => {
    expect(triples('a = ? AND b = :Name AND c IN :"My ids" LIMIT :lim')).toEqual([
      ['identifier', 'a', 'a'],
      ['punct', '=', '='],
      ['punct', '?', '?'],
      ['identifier', 'AND', 'and'],
      ['identifier', 'b', 'b'],
      ['punct', '=', '='],
      ['bindMarker', ':Name', 'name'],
      ['identifier', 'AND', 'and'],
      ['identifier', 'c', 'c'],
      ['identifier', 'IN', 'in'],
      ['bindMarker', ':"My ids"', 'My ids'],
      ['identifier', 'LIMIT', 'limit'],
      ['bindMarker', ':lim', 'lim'],
    ]);
  });

  it('a colon after a map key or UDT field name is a separator, not a bind marker', () => {
    expect(triples(`{'a':true, 1:x, k:v, f: :p, "Q":w}`)).toEqual([
      ['punct', '{', '{'],
      ['string', `'a'`, 'a'],
      ['punct', ':', ':'],
      ['identifier', 'true', 'true'],
      ['punct', ',', ','],
      ['integer', '1', '1'],
      ['punct', ':', ':'],
      ['identifier', 'x', 'x'],
      ['punct', ',', ','],
      ['identifier', 'k', 'k'],
      ['punct', ':', ':'],
      ['identifier', 'v', 'v'],
      ['punct', ',', ','],
      ['identifier', 'f', 'f'],
      ['punct', ':', ':'],
      ['bindMarker', ':p', 'p'],
      ['punct', ',', ','],
      ['quotedIdentifier', '"Q"', 'Q'],
      ['punct', ':', ':'],
      ['identifier', 'w', 'w'],
      ['punct', '}', '}'],
    ]);
    // Outside braces, after a keyword: a bind marker; after `]`: a separator.
    expect(triples('m[:k] = {[1]:y}').map((t) => t[0])).toEqual([
      'identifier',
      'punct',
      'bindMarker',
      'punct',
      'punct',
      'punct',
      'punct',
      'integer',
      'punct',
      'punct',
      'identifier',
      'punct',
    ]);
  });

  it('comments are skipped: --, // to end of line, /* */ without nesting', () => {
    expect(triples('a -- one\nb // two\r\nc /* three * / **/ d /* /* */ e */ f --last')).toEqual([
      ['identifier', 'a', 'a'],
      ['identifier', 'b', 'b'],
      ['identifier', 'c', 'c'],
      ['identifier', 'd', 'd'],
      ['identifier', 'e', 'e'],
      ['punct', '*', '*'],
      ['punct', '/', '/'],
      ['identifier', 'f', 'f'],
    ]);
  });

  it('offsets: start/end are UTF-16 indexes and text is the slice', () => {
    const q = "  SELECT 'é' , x--c\n;";
    const tokens = tokenize(q);
    expect(tokens.map((t) => [t.start, t.end])).toEqual([
      [2, 8],
      [9, 12],
      [13, 14],
      [15, 16],
      [20, 21],
    ]);
    for (const t of tokens) expect(q.slice(t.start, t.end)).toBe(t.text);
  });

  it('unterminated string, $$ string, quoted identifier, comment: one error token to the end', () => {
    expect(triples("a 'abc")).toEqual([
      ['identifier', 'a', 'a'],
      ['error', "'abc", 'unterminated string literal'],
    ]);
    expect(triples("'it''s")).toEqual([['error', "'it''s", 'unterminated string literal']]);
    expect(triples('$$abc$')).toEqual([['error', '$$abc$', 'unterminated $$ string literal']]);
    expect(triples('"Abc')).toEqual([['error', '"Abc', 'unterminated quoted identifier']]);
    expect(triples('x /* never closed')).toEqual([
      ['identifier', 'x', 'x'],
      ['error', '/* never closed', 'unterminated block comment'],
    ]);
    expect(triples('= :"abc')).toEqual([
      ['punct', '=', '='],
      ['error', ':"abc', 'unterminated quoted identifier'],
    ]);
  });

  it('empty quoted names and unknown characters are error tokens, and lexing goes on', () => {
    expect(triples('"" x')).toEqual([
      ['error', '""', 'empty quoted identifier'],
      ['identifier', 'x', 'x'],
    ]);
    expect(triples('= :"" x')).toEqual([
      ['punct', '=', '='],
      ['error', ':""', 'empty quoted identifier'],
      ['identifier', 'x', 'x'],
    ]);
    expect(triples('a @ é 😀 $ ! _x b')).toEqual([
      ['identifier', 'a', 'a'],
      ['error', '@', "unexpected character '@'"],
      ['error', 'é', "unexpected character 'é'"],
      ['error', '😀', "unexpected character '😀'"],
      ['error', '$', "unexpected character '$'"],
      ['error', '!', "unexpected character '!'"],
      ['error', '_', "unexpected character '_'"],
      ['identifier', 'x', 'x'],
      ['identifier', 'b', 'b'],
    ]);
  });

  it('empty input, whitespace and comments only: no tokens', () => {
    expect(tokenize('')).toEqual([]);
    expect(tokenize(' \t\r\n\f')).toEqual([]);
    expect(tokenize('-- x\n/* y */ // z')).toEqual([]);
  });
});

describe('CqlScanner', () => {
  it('exposes integer kinds and operator codes without building tokens', () => {
    const s = new CqlScanner('c += 1');
    expect(s.next()).toBe(ScanKind.IDENTIFIER);
    expect(s.next()).toBe(ScanKind.PUNCT);
    expect(s.op).toBe(Op.PLUS_EQ);
    expect(s.next()).toBe(ScanKind.INTEGER);
    expect(s.next()).toBe(ScanKind.EOF);
    expect(s.next()).toBe(ScanKind.EOF);
  });

  it('mark/rewind gives one token of lookahead', () => {
    const s = new CqlScanner('a b c');
    s.next();
    s.mark();
    s.next();
    s.next();
    expect(s.text()).toBe('c');
    s.rewind();
    expect(s.text()).toBe('a');
    s.next();
    expect(s.text()).toBe('b');
  });

  it('isNameOf compares as CQL does: unquoted case-insensitively, quoted exactly', () => {
    const s = new CqlScanner('SYSTEM "system" "System"');
    s.next();
    expect(s.isNameOf('system')).toBe(true);
    s.next();
    expect(s.isNameOf('system')).toBe(true);
    s.next();
    expect(s.isNameOf('system')).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------

type Case = [query: string, keyspace: string | undefined, expected: QueryClass];

const fwd = (statement: ForwardStatement, idempotent: boolean): QueryClass => ({
  kind: 'forward',
  statement,
  idempotent,
});
const FWD_SELECT = fwd('select', true);
const sys = (
  table: SystemTable,
  selectors: '*' | Selector[] = '*',
  whereLocal = false,
): QueryClass => ({
  kind: 'system',
  table,
  selectors,
  whereLocal,
});
const col = (name: string, alias?: string): Selector =>
  alias === undefined ? { kind: 'column', name } : { kind: 'column', name, alias };

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

  it.each(SYSTEM_CASES)('system %j (keyspace %s)', (query, keyspace, expected) => {
    expect(classifyQuery(query, keyspace)).toEqual(expected);
  });

  it.each(INVALID_CASES)('invalid %j', (query, message) => {
    const c = classifyQuery(query, undefined);
    expect(Object.keys(c).sort()).toEqual(['kind', 'message']);
    expect(c.kind).toBe('invalid');
    expect((c as { message: string }).message).toMatch(message);
  });

  it.each(FORWARD_CASES)('forward %j (keyspace %s)', (query, keyspace, expected) => {
    expect(classifyQuery(query, keyspace)).toEqual(expected);
  });

  it.each(USE_CASES)('use %j (keyspace %s)', (query, keyspace, expected) => {
    expect(classifyQuery(query, keyspace)).toEqual(expected);
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

const FRAGMENTS = [
  'SELECT',
  'select',
  '*',
  'FROM',
  'from',
  'system',
  '"system"',
  '"System"',
  '.',
  'local',
  'peers',
  'peers_v2',
  'schema_keyspaces',
  'WHERE',
  'key',
  '=',
  "'local'",
  "'",
  "''",
  '"',
  '""',
  '$$',
  '$',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  ';',
  ':',
  ':x',
  '?',
  '+',
  '-',
  '+=',
  '-=',
  '<=',
  '!',
  '--',
  '//',
  '/*',
  '*/',
  '\n',
  '\r',
  '\t',
  'count',
  'now',
  'uuid',
  'toTimestamp',
  'AS',
  'JSON',
  'DISTINCT',
  'LIMIT',
  'ALLOW',
  'FILTERING',
  'INSERT',
  'INTO',
  'VALUES',
  'UPDATE',
  'SET',
  'DELETE',
  'IF',
  'NOT',
  'EXISTS',
  'BEGIN',
  'UNLOGGED',
  'COUNTER',
  'BATCH',
  'APPLY',
  'USE',
  'ks',
  'CREATE',
  '1',
  '-1',
  '1.5e3',
  '0x',
  '0xff',
  '1h',
  'NaN',
  '123e4567-e89b-12d3-a456-426614174000',
  'é',
  '😀',
  '\u0000',
  '\ud800',
  'µ',
  '_',
];
const cqlish = fc
  .array(fc.tuple(fc.constantFrom(...FRAGMENTS), fc.constantFrom('', ' ', '\n')), { maxLength: 30 })
  .map((parts) => parts.map(([f, sep]) => f + sep).join(''));
const keyspaces = fc.constantFrom(undefined, 'system', 'ks', 'System');
const anyText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  cqlish,
);

function checkTokens(query: string, tokens: Token[]): void {
  let last = 0;
  for (const t of tokens) {
    expect(t.start).toBeGreaterThanOrEqual(last);
    expect(t.end).toBeGreaterThan(t.start);
    expect(t.end).toBeLessThanOrEqual(query.length);
    expect(query.slice(t.start, t.end)).toBe(t.text);
    last = t.end;
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

  it('tokenize never throws; tokens are ordered, non-empty slices of the input', () => {
    fc.assert(
      fc.property(anyText, (query) => {
        checkTokens(query, tokenize(query));
      }),
      { numRuns: 500 },
    );
  });

  // Generated tokens with known values, joined by whitespace, lex back to exactly themselves.
  // Names have no `-`, so none can grow into a uuid.
  const unreserved = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,8}$/);
  const known = fc.oneof(
    unreserved.map((s) => ({ kind: 'identifier', text: s, value: s.toLowerCase() })),
    fc
      .string({ minLength: 1, maxLength: 8 })
      .map((s) => ({ kind: 'quotedIdentifier', text: `"${s.replaceAll('"', '""')}"`, value: s })),
    fc
      .string({ maxLength: 8 })
      .map((s) => ({ kind: 'string', text: `'${s.replaceAll("'", "''")}'`, value: s })),
    fc.integer().map((n) => ({ kind: 'integer', text: String(n), value: String(n) })),
    fc
      .constantFrom('(', ')', ',', ';', '.', '*', '=', '<=', '>=', '!=', '+=', '[', ']', '?', '/')
      .map((p) => ({ kind: 'punct', text: p, value: p })),
  );
  it('round trip: known tokens joined by whitespace or comments lex back unchanged', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(known, fc.constantFrom(' ', '\n', ' /* c */ ', ' -- c\n')), {
          maxLength: 20,
        }),
        (parts) => {
          const query = parts.map(([t, sep]) => t.text + sep).join('');
          const got = tokenize(query).map((t) => ({ kind: t.kind, text: t.text, value: t.value }));
          expect(got).toEqual(parts.map(([t]) => t));
        },
      ),
      { numRuns: 300 },
    );
  });

  // Comments and whitespace between tokens never change a classification.
  const lexable = [...DRIVER_QUERIES, ...SYSTEM_CASES, ...USE_CASES, ...FORWARD_CASES].filter(
    ([q]) => !tokenize(q).some((t) => t.kind === 'error'),
  );
  it('classification ignores comments and spacing between tokens', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...lexable),
        fc.array(fc.constantFrom(' ', '\n\t', ' /* FROM system.local */ ', ' -- x\n'), {
          minLength: 1,
          maxLength: 8,
        }),
        ([query, keyspace], seps) => {
          const spaced = tokenize(query)
            .map((t, i) => t.text + (seps[i % seps.length] ?? ' '))
            .join('');
          expect(classifyQuery(spaced, keyspace)).toEqual(classifyQuery(query, keyspace));
        },
      ),
      { numRuns: 300 },
    );
  });
});
