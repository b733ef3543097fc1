// Schema statements of the subset (Cassandra's Parser.g, the forms kept):
//   CREATE KEYSPACE [IF NOT EXISTS] ks WITH prop = term {AND prop = term}
//   DROP KEYSPACE [IF EXISTS] ks
//   CREATE (TABLE | COLUMNFAMILY) [IF NOT EXISTS] [ks.]t '(' coldef {',' coldef}
//       [',' PRIMARY KEY '(' pk {',' ck} ')'] ')'
//       [WITH (CLUSTERING ORDER BY '(' name [ASC|DESC] {',' ...} ')' | COMPACT STORAGE
//              | prop = term) {AND ...}]
//     coldef := name type [STATIC] [PRIMARY KEY];  pk := name | '(' name {',' name} ')'
//   DROP (TABLE | COLUMNFAMILY) [IF EXISTS] [ks.]t
//   TRUNCATE [TABLE | COLUMNFAMILY] [ks.]t
//   USE ks
// The parser fixes the shape only; names, types and options are checked against the schema when
// the statement runs (schema.ts).

import type {
  ColumnDeclaration,
  CreateKeyspace,
  CreateTable,
  DropKeyspace,
  DropTable,
  Property,
  Truncate,
  Use,
} from './ast.js';
import { invalid } from './errors.js';
import { parseQualifiedName, parseTerm, parseType } from './parse-term.js';
import type { TokenCursor } from './token-cursor.js';

function parseIfNotExists(c: TokenCursor): boolean {
  if (!c.acceptKeyword('if')) return false;
  c.expectKeyword('not');
  c.expectKeyword('exists');
  return true;
}

function parseIfExists(c: TokenCursor): boolean {
  if (!c.acceptKeyword('if')) return false;
  c.expectKeyword('exists');
  return true;
}

function parseProperty(c: TokenCursor): Property {
  const name = c.name();
  c.expectPunct('=');
  return { name, value: parseTerm(c) };
}

/** After CREATE KEYSPACE (or SCHEMA). */
export function parseCreateKeyspace(c: TokenCursor): CreateKeyspace {
  const ifNotExists = parseIfNotExists(c);
  const name = c.name();
  c.expectKeyword('with');
  const properties = [parseProperty(c)];
  while (c.acceptKeyword('and')) properties.push(parseProperty(c));
  return { kind: 'createKeyspace', name, ifNotExists, properties };
}

/** After DROP KEYSPACE (or SCHEMA). */
export function parseDropKeyspace(c: TokenCursor): DropKeyspace {
  const ifExists = parseIfExists(c);
  return { kind: 'dropKeyspace', name: c.name(), ifExists };
}

function parseNameList(c: TokenCursor): string[] {
  c.expectPunct('(');
  const names = [c.name()];
  while (c.acceptPunct(',')) names.push(c.name());
  c.expectPunct(')');
  return names;
}

interface PrimaryKey {
  partitionKey: string[];
  clustering: string[];
}

/** After `PRIMARY KEY`: `(pk, ck...)` or `((pk1, pk2), ck...)`. */
function parsePrimaryKey(c: TokenCursor): PrimaryKey {
  c.expectPunct('(');
  const partitionKey = c.isPunct('(') ? parseNameList(c) : [c.name()];
  const clustering: string[] = [];
  while (c.acceptPunct(',')) clustering.push(c.name());
  c.expectPunct(')');
  return { partitionKey, clustering };
}

/** After CREATE TABLE (or COLUMNFAMILY). */
export function parseCreateTable(c: TokenCursor): CreateTable {
  const ifNotExists = parseIfNotExists(c);
  const table = parseQualifiedName(c);
  const columns: ColumnDeclaration[] = [];
  let primaryKey: PrimaryKey | undefined;
  const setPrimaryKey = (pk: PrimaryKey): void => {
    if (primaryKey !== undefined) {
      throw invalid('Multiple PRIMARY KEYs specified (exactly one required)');
    }
    primaryKey = pk;
  };
  c.expectPunct('(');
  do {
    if (c.isKeyword('primary')) {
      c.next();
      c.expectKeyword('key');
      setPrimaryKey(parsePrimaryKey(c));
      continue;
    }
    const name = c.name();
    const type = parseType(c);
    const isStatic = c.acceptKeyword('static');
    columns.push({ name, type, isStatic });
    if (c.acceptKeyword('primary')) {
      c.expectKeyword('key');
      setPrimaryKey({ partitionKey: [name], clustering: [] });
    }
  } while (c.acceptPunct(','));
  c.expectPunct(')');
  if (primaryKey === undefined) {
    throw invalid(`No PRIMARY KEY specifed for table '${table.name}' (exactly one required)`);
  }
  const result: CreateTable = {
    kind: 'createTable',
    table,
    ifNotExists,
    columns,
    partitionKey: primaryKey.partitionKey,
    clustering: primaryKey.clustering,
    clusteringOrder: [],
    properties: [],
    compactStorage: false,
  };
  if (c.acceptKeyword('with')) {
    do parseTableOption(c, result);
    while (c.acceptKeyword('and'));
  }
  return result;
}

function parseTableOption(c: TokenCursor, table: CreateTable): void {
  if (c.acceptKeyword('clustering')) {
    c.expectKeyword('order');
    c.expectKeyword('by');
    c.expectPunct('(');
    do {
      const column = c.name();
      let desc = false;
      if (c.acceptKeyword('desc')) desc = true;
      else c.acceptKeyword('asc');
      table.clusteringOrder.push({ column, desc });
    } while (c.acceptPunct(','));
    c.expectPunct(')');
    return;
  }
  if (c.acceptKeyword('compact')) {
    c.expectKeyword('storage');
    table.compactStorage = true;
    return;
  }
  table.properties.push(parseProperty(c));
}

/** After DROP TABLE (or COLUMNFAMILY). */
export function parseDropTable(c: TokenCursor): DropTable {
  const ifExists = parseIfExists(c);
  return { kind: 'dropTable', table: parseQualifiedName(c), ifExists };
}

/** After TRUNCATE. */
export function parseTruncate(c: TokenCursor): Truncate {
  if (!c.acceptKeyword('table')) c.acceptKeyword('columnfamily');
  return { kind: 'truncate', table: parseQualifiedName(c) };
}

/** After USE. */
export function parseUse(c: TokenCursor): Use {
  return { kind: 'use', keyspace: c.name() };
}
