// SELECT (Cassandra's Parser.g, the forms kept):
//   SELECT [DISTINCT] ('*' | selector {',' selector}) FROM [ks.]t [WHERE whereClause]
//       [ORDER BY name [ASC|DESC] {',' name [ASC|DESC]}] [PER PARTITION LIMIT term]
//       [LIMIT term] [ALLOW FILTERING]
//   selector := (name | COUNT '(' ('*' | 1 | name) ')' | WRITETIME '(' name ')' | TTL '(' name ')'
//               | TOKEN '(' name {',' name} ')') [AS name]

import { TokenKind } from '../../src/protocol/cql-tokens.js';
import type { Select, Selector } from './ast.js';
import { invalid } from './errors.js';
import { parseWhere } from './parse-clauses.js';
import { parseQualifiedName, parseTerm } from './parse-term.js';
import type { TokenCursor } from './token-cursor.js';

function parseAlias(c: TokenCursor): string | undefined {
  return c.acceptKeyword('as') ? c.name() : undefined;
}

function parseCountArgument(c: TokenCursor): string | undefined {
  if (c.acceptPunct('*')) return undefined;
  const t = c.peek();
  if (t?.kind === TokenKind.INTEGER && t.text === '1') {
    c.next();
    return undefined;
  }
  return c.name();
}

function parseSelector(c: TokenCursor): Selector {
  const t = c.peek();
  const call = c.isPunct('(', 1) && t?.kind === TokenKind.IDENTIFIER;
  if (!call) {
    const name = c.name();
    return { kind: 'column', name, alias: parseAlias(c) };
  }
  const fn = c.next().value;
  c.next();
  switch (fn) {
    case 'count': {
      const column = parseCountArgument(c);
      c.expectPunct(')');
      return { kind: 'count', column, alias: parseAlias(c) };
    }
    case 'writetime':
    case 'ttl': {
      const column = c.name();
      c.expectPunct(')');
      return { kind: fn, column, alias: parseAlias(c) };
    }
    case 'token': {
      const columns = [c.name()];
      while (c.acceptPunct(',')) columns.push(c.name());
      c.expectPunct(')');
      return { kind: 'token', columns, alias: parseAlias(c) };
    }
    default:
      throw invalid(`Unknown function '${fn}'`);
  }
}

/** After SELECT. */
export function parseSelect(c: TokenCursor): Select {
  let distinct = false;
  if (c.isKeyword('distinct') && !c.isKeyword('from', 1) && !c.isPunct(',', 1)) {
    c.next();
    distinct = true;
  }
  let selectors: Selector[] | undefined;
  if (!c.acceptPunct('*')) {
    selectors = [parseSelector(c)];
    while (c.acceptPunct(',')) selectors.push(parseSelector(c));
  }
  c.expectKeyword('from');
  const table = parseQualifiedName(c);
  const select: Select = {
    kind: 'select',
    table,
    distinct,
    selectors,
    where: [],
    orderBy: [],
    perPartitionLimit: undefined,
    limit: undefined,
    allowFiltering: false,
  };
  if (c.acceptKeyword('where')) select.where = parseWhere(c);
  if (c.acceptKeyword('order')) {
    c.expectKeyword('by');
    do {
      const column = c.name();
      let desc = false;
      if (c.acceptKeyword('desc')) desc = true;
      else c.acceptKeyword('asc');
      select.orderBy.push({ column, desc });
    } while (c.acceptPunct(','));
  }
  if (c.isKeyword('per')) {
    c.next();
    c.expectKeyword('partition');
    c.expectKeyword('limit');
    select.perPartitionLimit = parseTerm(c);
  }
  if (c.acceptKeyword('limit')) select.limit = parseTerm(c);
  if (c.acceptKeyword('allow')) {
    c.expectKeyword('filtering');
    select.allowFiltering = true;
  }
  return select;
}
