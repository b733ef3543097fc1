// A SELECT on one of the system tables the proxy answers itself (docs/cql-proxy-compat.md
// §4.2–§4.4): which table it names, and its selectors, WHERE, LIMIT and ALLOW FILTERING read into
// what src/client/system-tables needs to build the answer. Anything the proxy cannot answer
// becomes an INVALID message rather than a wrong answer. The classifier (cql-classifier.ts) calls
// this only once the table name has matched.

import * as characters from './cql-characters.js';
import * as scanner from './cql-scanner.js';
import type { CqlScanner } from './cql-scanner.js';

// Locals rather than imports, read once: vitest's module runner (bench/cql-lexer.bench.ts) turns
// every use of an imported binding into a getter call, and these are used per token.
const { COMMA, DOT, EQ, LPAREN, RPAREN, SEMI, STAR } = characters;
const { ScanKind, atStatementEnd, nameIs } = scanner;

export type SystemTable =
  | 'local'
  | 'peers'
  | 'peers_v2'
  | 'schema_keyspaces'
  | 'schema_columnfamilies'
  | 'schema_columns'
  | 'schema_usertypes';

const SYSTEM_TABLES: readonly SystemTable[] = [
  'local',
  'peers',
  'peers_v2',
  'schema_keyspaces',
  'schema_columnfamilies',
  'schema_columns',
  'schema_usertypes',
];

/**
 * One selector of a SELECT on a system table. Names and aliases are normalised as CQL does
 * (unquoted → lower-case, quoted → exact). `count` carries `column` only for `count(col)`
 * (Cassandra names that result column `system.count(col)`, and `count(*)`/`count(1)` `count`).
 */
export type Selector =
  | { kind: 'column'; name: string; alias?: string }
  | { kind: 'count'; column?: string; alias?: string }
  | { kind: 'now'; alias?: string }
  | { kind: 'uuid'; alias?: string }
  | { kind: 'toTimestamp'; arg: 'now'; alias?: string }
  | { kind: 'toUnixTimestamp'; arg: 'now'; alias?: string };

/** A SELECT the proxy answers itself. `whereLocal`: the WHERE clause has `key = 'local'`. */
export interface SystemSelect {
  kind: 'system';
  table: SystemTable;
  selectors: '*' | Selector[];
  whereLocal: boolean;
}

/** A query on a system table the proxy cannot answer: reply INVALID with `message`. */
export interface InvalidQuery {
  kind: 'invalid';
  message: string;
}

/** The system table the name token src[a, b) names, if any. */
export function systemTableAt(
  src: string,
  kind: scanner.ScanKind,
  a: number,
  b: number,
): SystemTable | undefined {
  for (const t of SYSTEM_TABLES) if (nameIs(src, kind, a, b, t)) return t;
  return undefined;
}

function lexesCleanly(query: string): boolean {
  const s = new scanner.CqlScanner(query);
  for (;;) {
    const k = s.next();
    if (k === ScanKind.EOF) return true;
    if (k === ScanKind.ERROR) return false;
  }
}

const SELECTOR_HELP =
  'columns, count(*), count(1), count(col), now(), uuid(), toTimestamp(now()) and toUnixTimestamp(now())';

function invalid(message: string): InvalidQuery {
  return { kind: 'invalid', message };
}

/**
 * Reads a SELECT on `table`. The scanner sits on the token after the table name; `selection` is
 * where the selectors start. Returns undefined for a query that does not lex: the server answers
 * its syntax error.
 */
export function parseSystemSelect(
  s: CqlScanner,
  table: SystemTable,
  selection: number,
  json: boolean,
  distinct: boolean,
): SystemSelect | InvalidQuery | undefined {
  if (!lexesCleanly(s.src)) return undefined;
  const where = `system.${table}`;
  const tail = parseSystemTail(s, where);
  if (json || distinct) {
    const word = json ? 'JSON' : 'DISTINCT';
    return invalid(
      `SELECT ${word} is not supported on ${where}: the proxy answers queries on this table itself`,
    );
  }
  const selectors = parseSelectors(s.reset(s.src, selection), where);
  if (selectors !== '*' && !Array.isArray(selectors)) return selectors;
  if (typeof tail === 'string') return invalid(tail);
  return { kind: 'system', table, selectors, whereLocal: tail };
}

/**
 * [WHERE relations] [LIMIT n] [ALLOW FILTERING] [;]: returns whereLocal, or an error message.
 * whereLocal is true when one relation is `key = 'local'`; other relations are accepted and
 * ignored, like cql-proxy does.
 */
function parseSystemTail(s: CqlScanner, where: string): boolean | string {
  let whereLocal = false;
  if (s.isWord('where')) {
    s.next();
    let relationStart = true;
    let relations = 0;
    while (
      !s.isEof() &&
      !s.isPunct(SEMI) &&
      !s.isWord('limit') &&
      !s.isWord('allow') &&
      !s.isWord('order') &&
      !s.isWord('group')
    ) {
      relations++;
      if (relationStart && s.isNameOf('key')) {
        s.next();
        if (s.isPunct(EQ)) {
          s.next();
          if (s.kind === ScanKind.STRING && s.value() === 'local') whereLocal = true;
        }
        relationStart = false;
        continue;
      }
      relationStart = s.isWord('and');
      s.next();
    }
    if (relations === 0) return `Incomplete WHERE clause in a query on ${where}`;
  }
  if (s.isWord('limit')) {
    s.next();
    if (!s.isInteger() && !s.isBindMarker()) {
      return `LIMIT needs a number or a bind marker in a query on ${where}`;
    }
    s.next();
  }
  if (s.isWord('allow')) {
    s.next();
    if (!s.isWord('filtering')) return `Expected FILTERING after ALLOW in a query on ${where}`;
    s.next();
  }
  if (atStatementEnd(s)) return whereLocal;
  return (
    `Unsupported '${s.text()}' in a query on ${where}: the proxy answers this table itself and ` +
    'accepts only WHERE, LIMIT and ALLOW FILTERING'
  );
}

/** The selectors, from the token after SELECT [JSON] [DISTINCT] up to FROM; or a message. */
function parseSelectors(s: CqlScanner, where: string): '*' | Selector[] | InvalidQuery {
  s.next();
  if (s.isPunct(STAR)) {
    s.next();
    return s.isWord('from')
      ? '*'
      : invalid(`Unsupported selector '${s.text()}' after * on ${where}`);
  }
  if (s.isWord('from')) return invalid(`Missing selectors before FROM in a query on ${where}`);
  const out: Selector[] = [];
  for (;;) {
    const selector = parseSelector(s, where);
    if (selector.kind === 'invalid') return selector;
    if (s.isWord('as')) {
      s.next();
      if (!s.isName()) return invalid(`Expected an alias after AS in a query on ${where}`);
      selector.alias = s.value();
      s.next();
    }
    out.push(selector);
    if (s.isWord('from')) return out;
    if (!s.isPunct(COMMA))
      return invalid(`Unsupported selector '${s.text()}' in a query on ${where}`);
    s.next();
  }
}

function parseSelector(s: CqlScanner, where: string): Selector | InvalidQuery {
  if (!s.isName()) {
    return invalid(
      `Unsupported selector '${s.text()}' in a query on ${where}; supported: ${SELECTOR_HELP}`,
    );
  }
  let name = s.value();
  let raw = s.text();
  s.next();
  if (s.isPunct(DOT)) {
    // A qualified function: only the native ones, i.e. `system.now()`.
    if (name !== 'system') return invalid(`Unsupported selector '${raw}.' in a query on ${where}`);
    s.next();
    if (!s.isName())
      return invalid(`Unsupported selector 'system.${s.text()}' in a query on ${where}`);
    name = s.value();
    raw = s.text();
    s.next();
    if (!s.isPunct(LPAREN))
      return invalid(`Unsupported selector 'system.${raw}' in a query on ${where}`);
  }
  if (!s.isPunct(LPAREN)) return { kind: 'column', name };
  s.next();
  let selector: Selector;
  switch (name) {
    case 'count':
      if (s.isPunct(STAR)) {
        selector = { kind: 'count' };
      } else if (s.isInteger()) {
        // Cassandra's grammar: "Only COUNT(1) is supported, got COUNT(n)".
        if (s.text() !== '1') return invalid(`Only COUNT(1) is supported, got COUNT(${s.text()})`);
        selector = { kind: 'count' };
      } else if (s.isName()) {
        selector = { kind: 'count', column: s.value() };
      } else {
        return invalid(`Unsupported argument '${s.text()}' to count in a query on ${where}`);
      }
      s.next();
      break;
    case 'now':
      selector = { kind: 'now' };
      break;
    case 'uuid':
      selector = { kind: 'uuid' };
      break;
    case 'totimestamp':
    case 'tounixtimestamp': {
      const fn = name === 'totimestamp' ? 'toTimestamp' : 'toUnixTimestamp';
      if (!parseNowCall(s)) {
        return invalid(
          `Unsupported argument to ${fn} in a query on ${where}: only now() is supported`,
        );
      }
      selector = { kind: fn, arg: 'now' };
      break;
    }
    default:
      return invalid(
        `Unsupported function '${raw}' in a query on ${where}; supported: ${SELECTOR_HELP}`,
      );
  }
  if (!s.isPunct(RPAREN)) return invalid(`Expected ')' after ${raw}( in a query on ${where}`);
  s.next();
  return selector;
}

/** `now()` or `system.now()`, leaving the scanner after its `)`. */
function parseNowCall(s: CqlScanner): boolean {
  if (s.isNameOf('system')) {
    s.next();
    if (!s.isPunct(DOT)) return false;
    s.next();
  }
  if (!s.isNameOf('now')) return false;
  s.next();
  if (!s.isPunct(LPAREN)) return false;
  s.next();
  if (!s.isPunct(RPAREN)) return false;
  s.next();
  return true;
}
