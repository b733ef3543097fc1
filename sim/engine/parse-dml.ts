// Data modification statements (Cassandra's Parser.g, the forms kept):
//   INSERT INTO [ks.]t '(' name {',' name} ')' VALUES '(' term {',' term} ')'
//       [IF NOT EXISTS] [usingClause]
//   UPDATE [ks.]t [usingClause] SET assignment {',' assignment} WHERE whereClause [conditions]
//     assignment := name '=' term | name '=' name ('+'|'-') term | name '=' term '+' name
//                 | name ('+=' | '-=') term | name '[' term ']' '=' term
//   DELETE [deletion {',' deletion}] FROM [ks.]t [USING TIMESTAMP term] WHERE whereClause
//       [conditions]
//     deletion := name | name '[' term ']'
//   BEGIN [UNLOGGED | COUNTER | LOGGED] BATCH [usingClause]
//       {(insert | update | delete) [';']} APPLY BATCH

import { TokenKind } from '../../src/protocol/cql-tokens.js';
import type {
  Assignment,
  Batch,
  BatchKind,
  Delete,
  Deletion,
  Insert,
  Modification,
  Term,
  Update,
} from './ast.js';
import { invalid } from './errors.js';
import { parseConditions, parseUsing, parseWhere } from './parse-clauses.js';
import { parseQualifiedName, parseTerm } from './parse-term.js';
import type { TokenCursor } from './token-cursor.js';

/** After INSERT. */
export function parseInsert(c: TokenCursor): Insert {
  c.expectKeyword('into');
  const table = parseQualifiedName(c);
  c.expectPunct('(');
  const columns = [c.name()];
  while (c.acceptPunct(',')) columns.push(c.name());
  c.expectPunct(')');
  c.expectKeyword('values');
  c.expectPunct('(');
  const values = [parseTerm(c)];
  while (c.acceptPunct(',')) values.push(parseTerm(c));
  c.expectPunct(')');
  let ifNotExists = false;
  if (c.acceptKeyword('if')) {
    c.expectKeyword('not');
    c.expectKeyword('exists');
    ifNotExists = true;
  }
  const using = parseUsing(c);
  if (columns.length !== values.length) throw invalid('Unmatched column names/values');
  return { kind: 'insert', table, columns, values, ifNotExists, using };
}

/** `-1` after `c = c`: the lexer folded the minus into the number. */
function negativeNumberTerm(c: TokenCursor): Term | undefined {
  const t = c.peek();
  if (t === undefined || (t.kind !== TokenKind.INTEGER && t.kind !== TokenKind.FLOAT)) {
    return undefined;
  }
  if (!t.text.startsWith('-')) return undefined;
  c.next();
  const text = t.text.slice(1);
  return t.kind === TokenKind.INTEGER
    ? { kind: 'integer', text, pos: t.start + 1 }
    : { kind: 'float', text, pos: t.start + 1 };
}

function parseAssignment(c: TokenCursor): Assignment {
  const column = c.name();
  if (c.acceptPunct('[')) {
    const key = parseTerm(c);
    c.expectPunct(']');
    c.expectPunct('=');
    return { kind: 'setElement', column, key, value: parseTerm(c) };
  }
  if (c.acceptPunct('+=')) return { kind: 'add', column, value: parseTerm(c) };
  if (c.acceptPunct('-=')) return { kind: 'subtract', column, value: parseTerm(c) };
  c.expectPunct('=');
  // `c = c + v` / `c = c - v`: a name is not a term, so a name here starts an operation.
  if (c.isName() && !c.isKeyword('true') && !c.isKeyword('false') && !c.isPunct('(', 1)) {
    const other = c.name();
    if (other !== column) {
      throw invalid(`Only expressions of the form X = X +<value> are supported.`);
    }
    if (c.acceptPunct('+')) return { kind: 'add', column, value: parseTerm(c) };
    if (c.acceptPunct('-')) return { kind: 'subtract', column, value: parseTerm(c) };
    const negative = negativeNumberTerm(c);
    if (negative !== undefined) return { kind: 'subtract', column, value: negative };
    c.fail();
  }
  const value = parseTerm(c);
  if (c.acceptPunct('+')) {
    const other = c.name();
    if (other !== column) {
      throw invalid(`Only expressions of the form X = <value> + X are supported.`);
    }
    return { kind: 'prepend', column, value };
  }
  return { kind: 'set', column, value };
}

/** After UPDATE. */
export function parseUpdate(c: TokenCursor): Update {
  const table = parseQualifiedName(c);
  const using = parseUsing(c);
  c.expectKeyword('set');
  const assignments = [parseAssignment(c)];
  while (c.acceptPunct(',')) assignments.push(parseAssignment(c));
  c.expectKeyword('where');
  const where = parseWhere(c);
  return { kind: 'update', table, using, assignments, where, conditions: parseConditions(c) };
}

function parseDeletion(c: TokenCursor): Deletion {
  const column = c.name();
  if (!c.acceptPunct('[')) return { column, element: undefined };
  const element = parseTerm(c);
  c.expectPunct(']');
  return { column, element };
}

/** After DELETE. */
export function parseDelete(c: TokenCursor): Delete {
  const columns: Deletion[] = [];
  if (!c.isKeyword('from')) {
    do columns.push(parseDeletion(c));
    while (c.acceptPunct(','));
  }
  c.expectKeyword('from');
  const table = parseQualifiedName(c);
  const using = parseUsing(c, false);
  c.expectKeyword('where');
  const where = parseWhere(c);
  return { kind: 'delete', table, columns, using, where, conditions: parseConditions(c) };
}

function parseModification(c: TokenCursor): Modification {
  if (c.acceptKeyword('insert')) return parseInsert(c);
  if (c.acceptKeyword('update')) return parseUpdate(c);
  if (c.acceptKeyword('delete')) return parseDelete(c);
  return c.fail();
}

/** After BEGIN. */
export function parseBatch(c: TokenCursor): Batch {
  let batchType: BatchKind = 'logged';
  if (c.acceptKeyword('unlogged')) batchType = 'unlogged';
  else if (c.acceptKeyword('counter')) batchType = 'counter';
  else c.acceptKeyword('logged');
  c.expectKeyword('batch');
  const using = parseUsing(c);
  const statements: Modification[] = [];
  while (!c.isKeyword('apply')) {
    statements.push(parseModification(c));
    c.acceptPunct(';');
  }
  c.expectKeyword('apply');
  c.expectKeyword('batch');
  return { kind: 'batch', batchType, using, statements };
}
