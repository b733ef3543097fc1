// Terms (literals, bind markers, collection and tuple literals, function calls), type
// expressions and qualified names: the pieces every statement parser shares.
//
// Grammar (Cassandra's Parser.g, the subset kept):
//   term      := constant | '?' | ':' name | collection | tuple | fname '(' [term {',' term}] ')'
//   constant  := STRING | INTEGER | FLOAT | BOOLEAN | DURATION | UUID | HEXNUMBER | NULL
//                | ['-'] NaN | ['-'] Infinity
//   collection:= '[' [term {',' term}] ']' | '{' '}' | '{' term {',' term} '}'
//                | '{' term ':' term {',' term ':' term} '}'
//   tuple     := '(' term {',' term} ')'
//   type      := native | list '<' type '>' | set '<' type '>' | map '<' type ',' type '>'
//                | tuple '<' type {',' type} '>' | frozen '<' type '>'

import { TokenKind } from '../../src/protocol/cql-tokens.js';
import type { QualifiedName, Term, TypeExpr } from './ast.js';
import type { TokenCursor } from './token-cursor.js';

/** Collection literals nested deeper than this are refused (bounded recursion on any input). */
const MAX_NESTING = 32;

export function parseTerm(c: TokenCursor, depth = 0): Term {
  if (depth > MAX_NESTING) c.fail();
  const t = c.peek();
  if (t === undefined) c.fail();
  const pos = t.start;
  switch (t.kind) {
    case TokenKind.STRING:
      c.next();
      return { kind: 'string', value: t.value, text: t.text, pos };
    case TokenKind.INTEGER:
      c.next();
      return { kind: 'integer', text: t.text, pos };
    case TokenKind.FLOAT:
      c.next();
      return { kind: 'float', text: t.text, pos };
    case TokenKind.DURATION:
      c.next();
      return { kind: 'duration', text: t.text, pos };
    case TokenKind.UUID:
      c.next();
      return { kind: 'uuid', text: t.value, pos };
    case TokenKind.BLOB:
      c.next();
      return { kind: 'blob', hex: t.value.slice(2), text: t.text, pos };
    case TokenKind.BIND_MARKER: {
      const m = c.marker();
      return { kind: 'bind', index: m.index, name: m.name, pos };
    }
    case TokenKind.IDENTIFIER:
      return parseWordTerm(c, depth);
    case TokenKind.PUNCT:
      return parsePunctTerm(c, depth);
    case TokenKind.QUOTED_IDENTIFIER:
    case TokenKind.ERROR:
      return c.fail();
  }
}

function parseWordTerm(c: TokenCursor, depth: number): Term {
  const t = c.peek();
  if (t === undefined) c.fail();
  const pos = t.start;
  const literal = wordLiteral(t.value, t.text, pos);
  if (literal !== undefined) {
    c.next();
    return literal;
  }
  const call = c.isPunct('(', 1);
  // An ISO 8601 duration (P1D, PT2H30M) lexes as a name.
  if (!call && /^p[0-9t]/.test(t.value)) {
    c.next();
    return { kind: 'duration', text: t.text, pos };
  }
  if (!call) c.fail();
  c.next();
  c.next();
  const args: Term[] = [];
  if (!c.acceptPunct(')')) {
    do args.push(parseTerm(c, depth + 1));
    while (c.acceptPunct(','));
    c.expectPunct(')');
  }
  return { kind: 'function', name: t.value, args, pos };
}

function wordLiteral(value: string, text: string, pos: number): Term | undefined {
  switch (value) {
    case 'true':
    case 'false':
      return { kind: 'boolean', value: value === 'true', text, pos };
    case 'null':
      return { kind: 'null', pos };
    case 'nan':
      return { kind: 'float', text: 'NaN', pos };
    case 'infinity':
      return { kind: 'float', text: 'Infinity', pos };
    default:
      return undefined;
  }
}

function parsePunctTerm(c: TokenCursor, depth: number): Term {
  const t = c.peek();
  if (t === undefined) c.fail();
  const pos = t.start;
  switch (t.text) {
    case '?': {
      const m = c.marker();
      return { kind: 'bind', index: m.index, name: m.name, pos };
    }
    case '-': {
      // `-Infinity` / `-NaN`: the lexer folds the sign into numbers only.
      if (c.isKeyword('infinity', 1) || c.isKeyword('nan', 1)) {
        c.next();
        const w = c.next();
        return { kind: 'float', text: w.value === 'nan' ? 'NaN' : '-Infinity', pos };
      }
      return c.fail();
    }
    case '[': {
      c.next();
      const items: Term[] = [];
      if (!c.acceptPunct(']')) {
        do items.push(parseTerm(c, depth + 1));
        while (c.acceptPunct(','));
        c.expectPunct(']');
      }
      return { kind: 'list', items, pos };
    }
    case '{':
      c.next();
      return parseBraces(c, depth, pos);
    case '(': {
      c.next();
      const items: Term[] = [];
      do items.push(parseTerm(c, depth + 1));
      while (c.acceptPunct(','));
      c.expectPunct(')');
      return { kind: 'tuple', items, pos };
    }
    default:
      return c.fail();
  }
}

/** After `{`: an empty literal (map or set, decided by the column type), a set, or a map. */
function parseBraces(c: TokenCursor, depth: number, pos: number): Term {
  if (c.acceptPunct('}')) return { kind: 'map', entries: [], pos };
  const first = parseTerm(c, depth + 1);
  if (c.acceptPunct(':')) {
    const entries: [Term, Term][] = [[first, parseTerm(c, depth + 1)]];
    while (c.acceptPunct(',')) {
      const key = parseTerm(c, depth + 1);
      c.expectPunct(':');
      entries.push([key, parseTerm(c, depth + 1)]);
    }
    c.expectPunct('}');
    return { kind: 'map', entries, pos };
  }
  const items: Term[] = [first];
  while (c.acceptPunct(',')) items.push(parseTerm(c, depth + 1));
  c.expectPunct('}');
  return { kind: 'set', items, pos };
}

/** `[keyspace.]name`. */
export function parseQualifiedName(c: TokenCursor): QualifiedName {
  const first = c.name();
  if (c.acceptPunct('.')) return { keyspace: first, name: c.name() };
  return { keyspace: undefined, name: first };
}

const COLLECTIONS = new Set(['list', 'set', 'map', 'tuple', 'frozen']);

export function parseType(c: TokenCursor, depth = 0): TypeExpr {
  if (depth > MAX_NESTING) c.fail();
  const t = c.peek();
  if (
    t === undefined ||
    (t.kind !== TokenKind.IDENTIFIER && t.kind !== TokenKind.QUOTED_IDENTIFIER)
  )
    c.fail();
  if (t.kind === TokenKind.IDENTIFIER && COLLECTIONS.has(t.value) && c.isPunct('<', 1)) {
    c.next();
    c.next();
    const first = parseType(c, depth + 1);
    let result: TypeExpr;
    switch (t.value) {
      case 'list':
      case 'set':
        result = { kind: t.value, element: first };
        break;
      case 'frozen':
        result = { kind: 'frozen', inner: first };
        break;
      case 'map':
        c.expectPunct(',');
        result = { kind: 'map', key: first, value: parseType(c, depth + 1) };
        break;
      default: {
        const elements = [first];
        while (c.acceptPunct(',')) elements.push(parseType(c, depth + 1));
        result = { kind: 'tuple', elements };
      }
    }
    c.expectPunct('>');
    return result;
  }
  c.next();
  return { kind: 'native', name: t.value };
}
