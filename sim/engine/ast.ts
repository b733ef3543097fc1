// The statements of the CQL subset, as the parser produces them: names resolved for case
// (unquoted identifiers lower-cased, quoted ones kept), literals kept as source text until a
// column type says how to encode them (planning, in plan-*.ts).

/** A value in a statement: a literal, a bind marker, a collection/tuple literal, a function call. */
export type Term =
  | { kind: 'bind'; index: number; name: string | undefined; pos: number }
  | { kind: 'string'; value: string; text: string; pos: number }
  | { kind: 'integer'; text: string; pos: number }
  | { kind: 'float'; text: string; pos: number }
  | { kind: 'boolean'; value: boolean; text: string; pos: number }
  | { kind: 'uuid'; text: string; pos: number }
  | { kind: 'blob'; hex: string; text: string; pos: number }
  | { kind: 'duration'; text: string; pos: number }
  | { kind: 'null'; pos: number }
  | { kind: 'list'; items: Term[]; pos: number }
  | { kind: 'set'; items: Term[]; pos: number }
  | { kind: 'map'; entries: [Term, Term][]; pos: number }
  | { kind: 'tuple'; items: Term[]; pos: number }
  | { kind: 'function'; name: string; args: Term[]; pos: number };

export interface QualifiedName {
  keyspace: string | undefined;
  name: string;
}

/** A CQL type as written: `int`, `list<text>`, `frozen<map<int, text>>`, `tuple<int, text>`. */
export type TypeExpr =
  | { kind: 'native'; name: string }
  | { kind: 'list' | 'set'; element: TypeExpr }
  | { kind: 'map'; key: TypeExpr; value: TypeExpr }
  | { kind: 'tuple'; elements: TypeExpr[] }
  | { kind: 'frozen'; inner: TypeExpr };

/** `name = value` in WITH clauses. */
export interface Property {
  name: string;
  value: Term;
}

export interface Using {
  ttl: Term | undefined;
  timestamp: Term | undefined;
}

export type Operator = '=' | '<' | '>' | '<=' | '>=' | '!=';

export type Relation =
  | { kind: 'compare'; column: string; op: Operator; value: Term }
  | { kind: 'in'; column: string; values: Term[] | Term }
  | { kind: 'token'; columns: string[]; op: Operator; value: Term }
  | { kind: 'contains'; column: string; key: boolean; value: Term };

/** An IF condition of a lightweight transaction. */
export interface Condition {
  column: string;
  op: Operator | 'in';
  value: Term;
}

export type Conditions =
  | { kind: 'none' }
  | { kind: 'exists' }
  | { kind: 'notExists' }
  | { kind: 'columns'; conditions: Condition[] };

export type Assignment =
  | { kind: 'set'; column: string; value: Term }
  /** `c = c + v` (counter increment, collection append/union/merge). */
  | { kind: 'add'; column: string; value: Term }
  /** `c = v + c` (list prepend). */
  | { kind: 'prepend'; column: string; value: Term }
  /** `c = c - v` (counter decrement, collection removal). */
  | { kind: 'subtract'; column: string; value: Term }
  /** `c[k] = v` (map entry or list element). */
  | { kind: 'setElement'; column: string; key: Term; value: Term };

export type Selector =
  | { kind: 'column'; name: string; alias: string | undefined }
  | { kind: 'count'; column: string | undefined; alias: string | undefined }
  | { kind: 'writetime' | 'ttl'; column: string; alias: string | undefined }
  | { kind: 'token'; columns: string[]; alias: string | undefined };

export interface CreateKeyspace {
  kind: 'createKeyspace';
  name: string;
  ifNotExists: boolean;
  properties: Property[];
}

export interface DropKeyspace {
  kind: 'dropKeyspace';
  name: string;
  ifExists: boolean;
}

export interface ColumnDeclaration {
  name: string;
  type: TypeExpr;
  isStatic: boolean;
}

export interface CreateTable {
  kind: 'createTable';
  table: QualifiedName;
  ifNotExists: boolean;
  columns: ColumnDeclaration[];
  partitionKey: string[];
  clustering: string[];
  clusteringOrder: { column: string; desc: boolean }[];
  properties: Property[];
  compactStorage: boolean;
}

export interface DropTable {
  kind: 'dropTable';
  table: QualifiedName;
  ifExists: boolean;
}

export interface Truncate {
  kind: 'truncate';
  table: QualifiedName;
}

export interface Use {
  kind: 'use';
  keyspace: string;
}

export interface Insert {
  kind: 'insert';
  table: QualifiedName;
  columns: string[];
  values: Term[];
  ifNotExists: boolean;
  using: Using;
}

export interface Update {
  kind: 'update';
  table: QualifiedName;
  using: Using;
  assignments: Assignment[];
  where: Relation[];
  conditions: Conditions;
}

/** A column (or collection element `c[k]`) named in `DELETE c, m[k] FROM ...`. */
export interface Deletion {
  column: string;
  element: Term | undefined;
}

export interface Delete {
  kind: 'delete';
  table: QualifiedName;
  columns: Deletion[];
  using: Using;
  where: Relation[];
  conditions: Conditions;
}

export interface Select {
  kind: 'select';
  table: QualifiedName;
  distinct: boolean;
  /** undefined for `*`. */
  selectors: Selector[] | undefined;
  where: Relation[];
  orderBy: { column: string; desc: boolean }[];
  perPartitionLimit: Term | undefined;
  limit: Term | undefined;
  allowFiltering: boolean;
}

export type Modification = Insert | Update | Delete;

export type BatchKind = 'logged' | 'unlogged' | 'counter';

export interface Batch {
  kind: 'batch';
  batchType: BatchKind;
  using: Using;
  statements: Modification[];
}

export type Statement =
  | CreateKeyspace
  | DropKeyspace
  | CreateTable
  | DropTable
  | Truncate
  | Use
  | Insert
  | Update
  | Delete
  | Select
  | Batch;

/** A parsed statement and its bind markers, in order of appearance. */
export interface ParsedStatement {
  statement: Statement;
  /** Number of bind markers; `markers[i]` is the name of marker i (undefined for `?`). */
  markers: (string | undefined)[];
}
