// Clauses shared by SELECT, UPDATE and DELETE (Cassandra's Parser.g):
//   whereClause := relation {AND relation}
//   relation    := name op term | name IN ('(' [term {',' term}] ')' | marker)
//                | TOKEN '(' name {',' name} ')' op term | name CONTAINS [KEY] term
//   op          := '=' | '<' | '<=' | '>' | '>=' | '!='
//   usingClause := USING (TTL term | TIMESTAMP term) {AND (TTL term | TIMESTAMP term)}
//   conditions  := IF EXISTS | IF condition {AND condition}
//   condition   := name op term | name IN ('(' [term {',' term}] ')' | marker)

import type { Condition, Conditions, Operator, Relation, Term, Using } from './ast.js';
import { parseTerm } from './parse-term.js';
import type { TokenCursor } from './token-cursor.js';

const OPERATORS: ReadonlySet<string> = new Set(['=', '<', '<=', '>', '>=', '!=']);

function parseOperator(c: TokenCursor): Operator {
  const t = c.peek();
  if (t === undefined || t.kind !== 'punct' || !OPERATORS.has(t.text)) c.fail();
  c.next();
  return t.text as Operator;
}

/** `(t1, t2, ...)` or a single marker standing for the whole list. */
function parseInValues(c: TokenCursor): Term[] | Term {
  if (c.isMarker()) return parseTerm(c);
  c.expectPunct('(');
  const values: Term[] = [];
  if (!c.acceptPunct(')')) {
    do values.push(parseTerm(c));
    while (c.acceptPunct(','));
    c.expectPunct(')');
  }
  return values;
}

function parseRelation(c: TokenCursor): Relation {
  if (c.isKeyword('token') && c.isPunct('(', 1)) {
    c.next();
    c.next();
    const columns = [c.name()];
    while (c.acceptPunct(',')) columns.push(c.name());
    c.expectPunct(')');
    const op = parseOperator(c);
    return { kind: 'token', columns, op, value: parseTerm(c) };
  }
  const column = c.name();
  if (c.acceptKeyword('in')) return { kind: 'in', column, values: parseInValues(c) };
  if (c.acceptKeyword('contains')) {
    const key = c.acceptKeyword('key');
    return { kind: 'contains', column, key, value: parseTerm(c) };
  }
  const op = parseOperator(c);
  return { kind: 'compare', column, op, value: parseTerm(c) };
}

/** After WHERE. */
export function parseWhere(c: TokenCursor): Relation[] {
  const relations = [parseRelation(c)];
  while (c.acceptKeyword('and')) relations.push(parseRelation(c));
  return relations;
}

/** An optional USING clause. */
export function parseUsing(c: TokenCursor, allowTtl = true): Using {
  const using: Using = { ttl: undefined, timestamp: undefined };
  if (!c.acceptKeyword('using')) return using;
  do {
    if (allowTtl && c.acceptKeyword('ttl')) using.ttl = parseTerm(c);
    else if (c.acceptKeyword('timestamp')) using.timestamp = parseTerm(c);
    else c.fail();
  } while (c.acceptKeyword('and'));
  return using;
}

function parseCondition(c: TokenCursor): Condition {
  const column = c.name();
  if (c.acceptKeyword('in')) {
    const values = parseInValues(c);
    const value: Term = Array.isArray(values)
      ? { kind: 'list', items: values, pos: values[0]?.pos ?? 0 }
      : values;
    return { column, op: 'in', value };
  }
  const op = parseOperator(c);
  return { column, op, value: parseTerm(c) };
}

/** An optional `IF EXISTS` or `IF cond AND ...` (UPDATE and DELETE). */
export function parseConditions(c: TokenCursor): Conditions {
  if (!c.acceptKeyword('if')) return { kind: 'none' };
  if (c.acceptKeyword('exists')) return { kind: 'exists' };
  const conditions = [parseCondition(c)];
  while (c.acceptKeyword('and')) conditions.push(parseCondition(c));
  return { kind: 'columns', conditions };
}
