// WHERE and LIMIT of a SELECT on a proxy-answered table, read from the query string: the bind
// markers the statement declares (so PREPARE announces them and EXECUTE may bind them, as with
// Cassandra) and the rows each relation keeps. `=` and `IN` filter the proxy's rows on any column;
// other relations (ranges, token(), CONTAINS, LIKE) are accepted and keep every row, as the proxy
// always did with WHERE clauses it does not act on.

import { DataType } from '../../protocol/constants.js';
import { Op } from '../../protocol/cql-characters.js';
import { CqlScanner, ScanKind } from '../../protocol/cql-scanner.js';
import type { ColumnType } from '../../protocol/messages/column-type.js';
import type { CqlValue } from '../../protocol/messages/query-parameters.js';
import { UNSET } from '../../protocol/reader.js';
import { BIGINT, type Column, INT } from './definitions.js';
import { Fail, fail, isLiteral, literalCell } from './literals.js';

/** A bind marker of the statement: what PREPARE announces for it. */
export interface Variable {
  name: string;
  type: ColumnType;
}

/** A term of a relation: a literal, already a cell of the column's type, or a bind marker. */
type Term = { kind: 'cell'; cell: Buffer } | { kind: 'marker'; index: number };

/** A relation the proxy applies: the row's cell in `column` must equal one of the values. */
type Relation =
  | { kind: 'in'; column: number; name: string; terms: Term[] }
  /** `col IN ?`: the marker's value is a list of cells. */
  | { kind: 'inList'; column: number; name: string; marker: number };

export interface Restrictions {
  relations: Relation[];
  limit: Term | undefined;
  variables: Variable[];
  /** Bind marker index of each partition key column, when `= ?` binds every one of them. */
  pkIndexes: number[];
}

/** The values bound to the markers (EXECUTE, or QUERY with values), positional or by name. */
export interface BoundValues {
  values?: readonly CqlValue[] | undefined;
  names?: readonly string[] | undefined;
}

class Parser {
  readonly variables: Variable[] = [];
  readonly relations: Relation[] = [];
  /** Marker index of `<pk column> = ?`, by column name. */
  readonly pkMarkers = new Map<string, number>();

  readonly s: CqlScanner;
  readonly columns: readonly Column[];

  constructor(s: CqlScanner, columns: readonly Column[]) {
    this.s = s;
    this.columns = columns;
  }

  /** Declares the marker the scanner sits on; `name` is Cassandra's for an anonymous one. */
  marker(name: string, type: ColumnType): number {
    const s = this.s;
    this.variables.push({ name: s.kind === ScanKind.BIND_MARKER ? s.value() : name, type });
    s.next();
    return this.variables.length - 1;
  }

  column(): { index: number; column: Column } {
    const s = this.s;
    if (!s.isName()) fail(`Unsupported relation starting at '${s.text()}'`);
    const name = s.value();
    const index = this.columns.findIndex((c) => c.name === name);
    const column = this.columns[index];
    if (column === undefined) fail(`Undefined column name ${name}`);
    s.next();
    return { index, column };
  }

  /** A term for a relation on `column`, or for an ignored one (its cell is then never used). */
  term(name: string, type: ColumnType, check = true): Term {
    const s = this.s;
    if (s.isBindMarker()) return { kind: 'marker', index: this.marker(name, type) };
    if (!isLiteral(s)) fail(`Unsupported term '${s.text()}' in a relation on ${name}`);
    const cell = check ? literalCell(s, name, type) : Buffer.alloc(0);
    s.next();
    return { kind: 'cell', cell };
  }

  relation(): void {
    const s = this.s;
    if (s.isWord('token')) {
      s.next();
      this.skipParenthesised();
      this.operator();
      this.term('partition key token', BIGINT, false);
      return;
    }
    const { index, column } = this.column();
    const name = column.name;
    if (s.isWord('in')) {
      s.next();
      if (s.isBindMarker()) {
        const marker = this.marker(`in(${name})`, { id: DataType.LIST, element: column.type });
        this.relations.push({ kind: 'inList', column: index, name, marker });
        return;
      }
      if (!s.isPunct(Op.LPAREN)) fail(`Expected '(' or a bind marker after IN on ${name}`);
      s.next();
      const terms: Term[] = [];
      while (!s.isPunct(Op.RPAREN)) {
        if (terms.length > 0) {
          if (!s.isPunct(Op.COMMA)) fail(`Expected ',' or ')' in IN on ${name}`);
          s.next();
        }
        terms.push(this.term(name, column.type));
      }
      s.next();
      this.relations.push({ kind: 'in', column: index, name, terms });
      return;
    }
    if (s.isWord('contains')) {
      s.next();
      const key = s.isWord('key');
      if (key) s.next();
      const type = column.type;
      const element =
        type.id === DataType.MAP
          ? key
            ? type.key
            : type.value
          : type.id === DataType.SET || type.id === DataType.LIST
            ? type.element
            : fail(`Cannot use CONTAINS on non-collection column ${name}`);
      this.term(name, element, false);
      return;
    }
    if (s.isWord('like')) {
      s.next();
      this.term(name, column.type, false);
      return;
    }
    const op = this.operator();
    if (op === Op.EQ) {
      // Cassandra gives the routing key's index only for markers named after their column.
      const anonymous = s.isPunct(Op.QMARK);
      const term = this.term(name, column.type);
      if (column.kind === 'partition' && term.kind === 'marker' && anonymous) {
        this.pkMarkers.set(name, term.index);
      }
      this.relations.push({ kind: 'in', column: index, name, terms: [term] });
      return;
    }
    this.term(name, column.type, false);
  }

  private operator(): number {
    const s = this.s;
    const ops: number[] = [Op.EQ, Op.LT, Op.GT, Op.LE, Op.GE, Op.NE];
    const op = ops.find((o) => s.isPunct(o));
    if (op === undefined) fail(`Unsupported operator '${s.text()}' in a WHERE clause`);
    s.next();
    return op;
  }

  private skipParenthesised(): void {
    const s = this.s;
    if (!s.isPunct(Op.LPAREN)) fail(`Expected '(' after token`);
    while (!s.isPunct(Op.RPAREN)) {
      if (s.isEof()) fail(`Expected ')' after token(`);
      s.next();
    }
    s.next();
  }
}

/** Skips `SELECT ... FROM [ks.]table`, leaving the scanner on what follows the table name. */
function skipToTail(s: CqlScanner): void {
  s.next();
  while (!s.isWord('from') && !s.isEof()) s.next();
  s.next(); // FROM
  s.next(); // keyspace or table
  if (s.isPunct(Op.DOT)) {
    s.next();
    s.next();
  }
}

/**
 * The restrictions of `query` (a SELECT the lexer classified as on this table) over `columns`;
 * a string is Cassandra's error message.
 */
export function parseRestrictions(
  query: string,
  columns: readonly Column[],
): Restrictions | string {
  const s = new CqlScanner(query);
  const parser = new Parser(s, columns);
  try {
    skipToTail(s);
    if (s.isWord('where')) {
      s.next();
      parser.relation();
      while (s.isWord('and')) {
        s.next();
        parser.relation();
      }
    }
    let limit: Term | undefined;
    if (s.isWord('limit')) {
      s.next();
      limit = parser.term('[limit]', INT);
    }
    // The lexer has checked what may follow (ALLOW FILTERING, semicolons).
    const pk = columns
      .filter((c) => c.kind === 'partition')
      .map((c) => parser.pkMarkers.get(c.name));
    const pkIndexes = pk.every((i): i is number => i !== undefined) ? pk : [];
    return { relations: parser.relations, limit, variables: parser.variables, pkIndexes };
  } catch (err) {
    if (err instanceof Fail) return err.message;
    throw err;
  }
}

/** The cell bound to each marker, in marker order; or Cassandra's error message. */
export function bindValues(
  variables: readonly Variable[],
  bound: BoundValues,
  prepared: boolean,
): (Buffer | null | typeof UNSET)[] | string {
  const values = bound.values ?? [];
  const names = bound.names;
  if (names === undefined) {
    if (values.length !== variables.length) {
      return prepared
        ? `there were ${variables.length} markers(?) in CQL but ${values.length} bound variables`
        : `Invalid amount of bind variables: expected ${variables.length}, got ${values.length}`;
    }
    return [...values];
  }
  const out: (Buffer | null | typeof UNSET)[] = [];
  for (const variable of variables) {
    let i = names.indexOf(variable.name);
    if (i < 0) i = names.findIndex((n) => n.toLowerCase() === variable.name);
    if (i < 0) return `No value has been provided for bind variable ${variable.name}`;
    out.push(values[i] ?? null);
  }
  return out;
}

function termCells(
  term: Term,
  values: readonly (Buffer | null | typeof UNSET)[],
  name: string,
): Buffer {
  if (term.kind === 'cell') return term.cell;
  const value = values[term.index];
  if (value === UNSET || value === undefined) fail(`Invalid unset value for column ${name}`);
  if (value === null) fail(`Invalid null value in condition for column ${name}`);
  return value;
}

/** Elements of a list<...> value as sent by a driver: [int n] then n [bytes]. */
function listElements(cell: Buffer, name: string): Buffer[] {
  const out: Buffer[] = [];
  try {
    const n = cell.readInt32BE(0);
    let pos = 4;
    for (let i = 0; i < n; i++) {
      const length = cell.readInt32BE(pos);
      pos += 4;
      if (length < 0) fail(`Invalid null value in condition for column ${name}`);
      if (pos + length > cell.length) throw new RangeError('short list');
      out.push(cell.subarray(pos, pos + length));
      pos += length;
    }
  } catch (err) {
    if (err instanceof Fail) throw err;
    fail(`Invalid list value for IN on ${name}`);
  }
  return out;
}

export interface Applied {
  rows: (readonly (Buffer | null)[])[];
  /** How many result rows at most (LIMIT); undefined: no limit. */
  limit: number | undefined;
}

/** The rows the restrictions keep, and the LIMIT; or Cassandra's error message. */
export function applyRestrictions(
  restrictions: Restrictions,
  rows: readonly (readonly (Buffer | null)[])[],
  values: readonly (Buffer | null | typeof UNSET)[],
): Applied | string {
  try {
    let kept = [...rows];
    for (const relation of restrictions.relations) {
      const wanted =
        relation.kind === 'in'
          ? relation.terms.map((t) => termCells(t, values, relation.name))
          : listElements(
              termCells({ kind: 'marker', index: relation.marker }, values, relation.name),
              relation.name,
            );
      kept = kept.filter((row) => {
        const cell = row[relation.column];
        return cell != null && wanted.some((w) => w.equals(cell));
      });
    }
    let limit: number | undefined;
    const term = restrictions.limit;
    if (term !== undefined) {
      const value = term.kind === 'cell' ? term.cell : values[term.index];
      if (value === null) fail('Invalid null value of limit');
      if (value !== UNSET && value !== undefined) {
        if (value.length !== 4) fail('Invalid limit value: expected 4 bytes');
        limit = value.readInt32BE(0);
        if (limit <= 0) fail('LIMIT must be strictly positive');
      }
    }
    return { rows: kept, limit };
  } catch (err) {
    if (err instanceof Fail) return err.message;
    throw err;
  }
}
