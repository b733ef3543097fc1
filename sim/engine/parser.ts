// The CQL subset's parser: tokenize() (src/protocol/cql-tokens.ts), then recursive descent by
// statement kind. Any input either parses or ends in a SyntaxError (0x2000) worded like
// Cassandra's; nothing else escapes (a property test holds this).

import type { ParsedStatement, Statement } from './ast.js';
import {
  parseCreateKeyspace,
  parseCreateTable,
  parseDropKeyspace,
  parseDropTable,
  parseTruncate,
  parseUse,
} from './parse-ddl.js';
import { parseBatch, parseDelete, parseInsert, parseUpdate } from './parse-dml.js';
import { parseSelect } from './parse-select.js';
import { TokenCursor } from './token-cursor.js';

function parseCreate(c: TokenCursor): Statement {
  if (c.acceptKeyword('keyspace') || c.acceptKeyword('schema')) return parseCreateKeyspace(c);
  if (c.acceptKeyword('table') || c.acceptKeyword('columnfamily')) return parseCreateTable(c);
  return c.fail();
}

function parseDrop(c: TokenCursor): Statement {
  if (c.acceptKeyword('keyspace') || c.acceptKeyword('schema')) return parseDropKeyspace(c);
  if (c.acceptKeyword('table') || c.acceptKeyword('columnfamily')) return parseDropTable(c);
  return c.fail();
}

function parseStatementBody(c: TokenCursor): Statement {
  const t = c.peek();
  if (t === undefined || t.kind !== 'identifier') return c.fail();
  c.next();
  switch (t.value) {
    case 'select':
      return parseSelect(c);
    case 'insert':
      return parseInsert(c);
    case 'update':
      return parseUpdate(c);
    case 'delete':
      return parseDelete(c);
    case 'begin':
      return parseBatch(c);
    case 'create':
      return parseCreate(c);
    case 'drop':
      return parseDrop(c);
    case 'truncate':
      return parseTruncate(c);
    case 'use':
      return parseUse(c);
    default:
      // Point the error at the unknown first word, as Cassandra does.
      c.rewind(0);
      return c.fail();
  }
}

/** Parses one statement. Throws CqlRequestError (SyntaxError, or Invalid for shape errors). */
export function parseStatement(query: string): ParsedStatement {
  const c = new TokenCursor(query);
  const statement = parseStatementBody(c);
  c.expectEnd();
  return { statement, markers: c.markers };
}
