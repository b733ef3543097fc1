// The CQL query classifier: the one pass the proxy makes over every QUERY and PREPARE string
// (docs/cql-proxy-compat.md §4.1–§4.7). It decides three things:
//   - `USE ks`: the proxy switches the client to a keyspace session instead of forwarding;
//   - SELECT from system.local / peers / peers_v2 / legacy schema tables: answered by the proxy,
//     so drivers see a one-node cluster whose only node is the proxy (read by
//     cql-system-select.ts);
//   - everything else is forwarded, tagged with its statement kind and whether a retry on another
//     node is safe (idempotency, §4.7; the analysis lives in cql-idempotency.ts).
// A query that does not lex is forwarded: the server answers its syntax error.
//
// Speed: the classifier drives CqlScanner directly (cql-scanner.ts: integer kinds, no token
// objects, no substrings on the forward path) and stops as soon as the answer is known: a SELECT
// of a user table is decided at its table name.

import * as characters from './cql-characters.js';
import { modificationIsIdempotent } from './cql-idempotency.js';
import * as scanner from './cql-scanner.js';
import type { CqlScanner } from './cql-scanner.js';
import * as systemSelect from './cql-system-select.js';
import type { InvalidQuery, SystemSelect, SystemTable } from './cql-system-select.js';

// Locals rather than imports, read once: vitest's module runner (bench/cql-lexer.bench.ts) turns
// every use of an imported binding into a getter call, and these are used per token.
const { DOT, STAR, wordAt } = characters;
const { ScanKind, atStatementEnd, nameIs } = scanner;
const { parseSystemSelect, systemTableAt } = systemSelect;

export type ForwardStatement =
  'select' | 'insert' | 'update' | 'delete' | 'batch' | 'ddl' | 'use' | 'other';

export type QueryClass =
  /** `USE ks`: answered by the proxy; `keyspace` normalised (unquoted → lower-case). */
  | { kind: 'use'; keyspace: string }
  | SystemSelect
  | InvalidQuery
  /** Everything else: send it on. `idempotent`: safe to retry on another node (§4.7). */
  | { kind: 'forward'; statement: ForwardStatement; idempotent: boolean };

export type ForwardClass = Extract<QueryClass, { kind: 'forward' }>;

function forwardClass(statement: ForwardStatement, idempotent: boolean): ForwardClass {
  return Object.freeze({ kind: 'forward', statement, idempotent });
}

// Shared, frozen results: the forward path allocates nothing per query.
const FORWARD_SELECT = forwardClass('select', true);
const FORWARD_USE = forwardClass('use', false);
const FORWARD_DDL = forwardClass('ddl', false);
const FORWARD_OTHER = forwardClass('other', false);
const FORWARD_DML: Record<'insert' | 'update' | 'delete' | 'batch' | 'other', ForwardClass[]> = {
  insert: [forwardClass('insert', false), forwardClass('insert', true)],
  update: [forwardClass('update', false), forwardClass('update', true)],
  delete: [forwardClass('delete', false), forwardClass('delete', true)],
  batch: [forwardClass('batch', false), forwardClass('batch', true)],
  other: [FORWARD_OTHER, FORWARD_OTHER],
};

function dml(statement: 'insert' | 'update' | 'delete' | 'batch' | 'other', idempotent: boolean) {
  const pair = FORWARD_DML[statement];
  return (idempotent ? pair[1] : pair[0]) ?? FORWARD_OTHER;
}

// The classifier runs synchronously to completion, so one scanner can serve every call.
const SCANNER = new scanner.CqlScanner();

/**
 * Classifies one CQL statement (a QUERY or PREPARE string). `currentKeyspace` is the client's
 * keyspace as normalised by a previous `use` result (so only exactly `system` makes a bare
 * `local` mean `system.local`). Never throws.
 */
export function classifyQuery(query: string, currentKeyspace: string | undefined): QueryClass {
  const s = SCANNER.reset(query);
  s.next();
  if (s.kind !== ScanKind.IDENTIFIER) return FORWARD_OTHER;
  const src = s.src;
  const a = s.start;
  switch (s.end - a) {
    case 3:
      if (wordAt(src, a, s.end, 'use')) return classifyUse(s);
      break;
    case 4:
      if (wordAt(src, a, s.end, 'drop')) return FORWARD_DDL;
      break;
    case 5:
      if (wordAt(src, a, s.end, 'alter')) return FORWARD_DDL;
      if (wordAt(src, a, s.end, 'begin')) {
        return dml(beginsBatch(s) ? 'batch' : 'other', modificationIsIdempotent(s));
      }
      break;
    case 6:
      if (wordAt(src, a, s.end, 'select')) return classifySelect(s, currentKeyspace);
      if (wordAt(src, a, s.end, 'insert')) return dml('insert', modificationIsIdempotent(s));
      if (wordAt(src, a, s.end, 'update')) return dml('update', modificationIsIdempotent(s));
      if (wordAt(src, a, s.end, 'delete')) return dml('delete', modificationIsIdempotent(s));
      if (wordAt(src, a, s.end, 'create')) return FORWARD_DDL;
      break;
  }
  return FORWARD_OTHER;
}

/** At BEGIN: is it `BEGIN [UNLOGGED | LOGGED | COUNTER] BATCH` (and not, say, a transaction)? */
function beginsBatch(s: CqlScanner): boolean {
  s.mark();
  s.next();
  if (s.isWord('unlogged') || s.isWord('logged') || s.isWord('counter')) s.next();
  const batch = s.isWord('batch');
  s.rewind();
  return batch;
}

// USE <keyspace> (docs/cql-proxy-compat.md §4.5: the name normalised as Identifier.ID()).
function classifyUse(s: CqlScanner): QueryClass {
  s.next();
  if (!s.isName()) return FORWARD_USE;
  const keyspace = s.value();
  s.next();
  return atStatementEnd(s) ? { kind: 'use', keyspace } : FORWARD_USE;
}

/** After SELECT JSON / DISTINCT: does a selection follow (so the word was the keyword)? */
function startsSelection(s: CqlScanner): boolean {
  if (s.isPunct(STAR) || s.kind === ScanKind.QUOTED_IDENTIFIER) return true;
  return s.kind === ScanKind.IDENTIFIER && !s.isWord('from') && !s.isWord('as');
}

// selectStatement: SELECT JSON? DISTINCT? selectors FROM (ks '.')? table whereClause? ...
// Only the table decides whether the proxy answers; a user table is forwarded at that point.
function classifySelect(s: CqlScanner, currentKeyspace: string | undefined): QueryClass {
  s.next();
  let json = false;
  let distinct = false;
  // JSON and DISTINCT are not reserved: `SELECT json FROM t` selects a column named json.
  for (let i = 0; i < 2 && (s.isWord('json') || s.isWord('distinct')); i++) {
    const isJson = s.isWord('json');
    s.mark();
    s.next();
    if (!startsSelection(s)) {
      s.rewind();
      break;
    }
    if (isJson) json = true;
    else distinct = true;
  }
  const selection = s.start;
  // FROM is reserved, so the first unquoted `from` ends the selectors.
  while (!s.isWord('from')) {
    if (s.isEof() || s.isError()) return FORWARD_SELECT;
    s.next();
  }
  s.next();
  if (!s.isName()) return FORWARD_SELECT;
  const src = s.src;
  const k1 = s.kind;
  const a1 = s.start;
  const b1 = s.end;
  s.next();
  let table: SystemTable | undefined;
  if (s.isPunct(DOT)) {
    if (!nameIs(src, k1, a1, b1, 'system')) return FORWARD_SELECT;
    s.next();
    if (!s.isName()) return FORWARD_SELECT;
    table = systemTableAt(src, s.kind, s.start, s.end);
    s.next();
  } else {
    if (currentKeyspace !== 'system') return FORWARD_SELECT;
    table = systemTableAt(src, k1, a1, b1);
  }
  if (table === undefined) return FORWARD_SELECT;
  return parseSystemSelect(s, table, selection, json, distinct) ?? FORWARD_SELECT;
}
