// WHERE clauses bound to a table: which partitions (partition key = / IN, or token ranges), which
// rows (clustering =, IN, ranges) and which filters (other columns, ALLOW FILTERING). Checked with
// Cassandra 4.0's messages (StatementRestrictions), evaluated per execution into plain
// predicates over serialized values.

import { UNSET } from '../../src/protocol/reader.js';
import type { Operator, Relation } from './ast.js';
import { compareValues, readCollectionItems, readCollectionMapItems } from './compare.js';
import { invalid, undefinedColumn } from './errors.js';
import type { ColumnDef, TableDef } from './schema.js';
import { listOf, native } from './types.js';
import { type Bindings, type EvalContext, type ValueExpr, evaluate, planTerm } from './values.js';

export const ALLOW_FILTERING_MESSAGE =
  'Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING';

export interface PlannedBound {
  expr: ValueExpr;
  inclusive: boolean;
}

/** What the WHERE clause says about one column. */
export interface ColumnRestriction {
  column: ColumnDef;
  /** `=` (one value) or `IN (...)`. */
  values: ValueExpr[] | undefined;
  /** `IN ?`: one marker for the whole list. */
  inList: ValueExpr | undefined;
  lower: PlannedBound | undefined;
  upper: PlannedBound | undefined;
  /** `CONTAINS` / `CONTAINS KEY` (filtering only). */
  contains: { key: boolean; expr: ValueExpr }[];
}

export interface PlannedWhere {
  /** By partition key position; undefined where the column is not restricted. */
  partition: (ColumnRestriction | undefined)[];
  clustering: (ColumnRestriction | undefined)[];
  /** Restrictions on static and regular columns (filtering). */
  others: ColumnRestriction[];
  tokenLower: PlannedBound | undefined;
  tokenUpper: PlannedBound | undefined;
}

function restrictionFor(map: Map<string, ColumnRestriction>, column: ColumnDef): ColumnRestriction {
  let r = map.get(column.name);
  if (r === undefined) {
    r = {
      column,
      values: undefined,
      inList: undefined,
      lower: undefined,
      upper: undefined,
      contains: [],
    };
    map.set(column.name, r);
  }
  return r;
}

function receiver(table: TableDef, column: ColumnDef) {
  return { keyspace: table.keyspace, table: table.name, name: column.name, type: column.type };
}

function setBound(r: ColumnRestriction, op: Operator, expr: ValueExpr, name: string): void {
  if (r.values !== undefined || r.inList !== undefined) {
    throw invalid(`${name} cannot be restricted by more than one relation if it includes an Equal`);
  }
  const bound = { expr, inclusive: op === '<=' || op === '>=' };
  if (op === '>' || op === '>=') {
    if (r.lower !== undefined) {
      throw invalid(`More than one restriction was found for the start bound on ${name}`);
    }
    r.lower = bound;
  } else {
    if (r.upper !== undefined) {
      throw invalid(`More than one restriction was found for the end bound on ${name}`);
    }
    r.upper = bound;
  }
}

function planToken(
  rel: Relation & { kind: 'token' },
  table: TableDef,
  bindings: Bindings,
  where: PlannedWhere,
): void {
  const pk = table.partitionKey.map((c) => c.name);
  for (const c of rel.columns) if (!table.columns.has(c)) throw undefinedColumn(c);
  if (rel.columns.length !== pk.length || rel.columns.some((c, i) => c !== pk[i])) {
    throw invalid(
      rel.columns.every((c) => pk.includes(c)) && rel.columns.length === pk.length
        ? `The token function arguments must be in the partition key order: ${pk.join(', ')}`
        : 'The token() function must be applied to all partition key components or none of them',
    );
  }
  const expr = planTerm(
    rel.value,
    {
      keyspace: table.keyspace,
      table: table.name,
      name: 'partition key token',
      type: native('bigint'),
    },
    bindings,
  );
  const bound = { expr, inclusive: rel.op === '>=' || rel.op === '<=' || rel.op === '=' };
  if (rel.op === '!=') {
    throw invalid(`Unsupported "!=" relation: token(${rel.columns.join(', ')}) != ...`);
  }
  if (rel.op === '>' || rel.op === '>=' || rel.op === '=') {
    if (where.tokenLower !== undefined) {
      throw invalid('More than one restriction was found for the start bound on token');
    }
    where.tokenLower = bound;
  }
  if (rel.op === '<' || rel.op === '<=' || rel.op === '=') {
    if (where.tokenUpper !== undefined) {
      throw invalid('More than one restriction was found for the end bound on token');
    }
    where.tokenUpper = bound;
  }
}

/** Binds a WHERE clause to `table`; shape errors are thrown here, once per statement. */
export function planWhere(
  relations: readonly Relation[],
  table: TableDef,
  bindings: Bindings,
): PlannedWhere {
  const where: PlannedWhere = {
    partition: table.partitionKey.map(() => undefined),
    clustering: table.clustering.map(() => undefined),
    others: [],
    tokenLower: undefined,
    tokenUpper: undefined,
  };
  const byColumn = new Map<string, ColumnRestriction>();
  for (const rel of relations) {
    if (rel.kind === 'token') {
      planToken(rel, table, bindings, where);
      continue;
    }
    const column = table.columns.get(rel.column);
    if (column === undefined) throw undefinedColumn(rel.column);
    const r = restrictionFor(byColumn, column);
    const rcv = receiver(table, column);
    switch (rel.kind) {
      case 'compare': {
        if (rel.op === '!=') throw invalid(`Unsupported "!=" relation: ${rel.column} != ...`);
        const expr = planTerm(rel.value, rcv, bindings);
        if (rel.op === '=') {
          if (r.values !== undefined || r.inList !== undefined) {
            throw invalid(
              `${column.name} cannot be restricted by more than one relation if it includes an Equal`,
            );
          }
          if (r.lower !== undefined || r.upper !== undefined) {
            throw invalid(
              `${column.name} cannot be restricted by more than one relation if it includes an Equal`,
            );
          }
          r.values = [expr];
        } else {
          if (column.kind === 'partition_key') {
            throw invalid(
              'Only EQ and IN relation are supported on the partition key (unless you use the token() function)',
            );
          }
          setBound(r, rel.op, expr, column.name);
        }
        break;
      }
      case 'in': {
        if (r.values !== undefined || r.inList !== undefined || r.lower || r.upper) {
          throw invalid(
            `${column.name} cannot be restricted by more than one relation if it includes a IN`,
          );
        }
        if (Array.isArray(rel.values)) {
          r.values = rel.values.map((v) => planTerm(v, rcv, bindings));
        } else {
          r.inList = planTerm(
            rel.values,
            { ...rcv, name: `in(${column.name})`, type: listOf(column.type, false) },
            bindings,
          );
        }
        break;
      }
      case 'contains': {
        const t = column.type;
        if (t.kind !== 'list' && t.kind !== 'set' && t.kind !== 'map') {
          throw invalid(`Cannot use CONTAINS on non-collection column ${column.name}`);
        }
        if (rel.key && t.kind !== 'map') {
          throw invalid(`Cannot use CONTAINS KEY on non-map column ${column.name}`);
        }
        const elementType = t.kind === 'map' ? (rel.key ? t.key : t.value) : t.element;
        r.contains.push({
          key: rel.key,
          expr: planTerm(
            rel.value,
            { ...rcv, name: `value(${column.name})`, type: elementType },
            bindings,
          ),
        });
        break;
      }
    }
  }
  for (const r of byColumn.values()) {
    if (r.column.kind === 'partition_key') where.partition[r.column.position] = r;
    else if (r.column.kind === 'clustering') where.clustering[r.column.position] = r;
    else where.others.push(r);
  }
  return where;
}

/** Whether every partition key column is restricted by = or IN. */
export function hasFullPartitionKey(where: PlannedWhere): boolean {
  return where.partition.every(
    (r) => r !== undefined && (r.values !== undefined || r.inList !== undefined),
  );
}

/** Names of the partition key columns the clause leaves out. */
export function missingPartitionKey(where: PlannedWhere, table: TableDef): string[] {
  return table.partitionKey.filter((_, i) => where.partition[i] === undefined).map((c) => c.name);
}

/**
 * Checks the clustering restrictions form a usable slice (SELECT and DELETE): no column after
 * an unrestricted one, nothing after a range. With ALLOW FILTERING anything goes.
 */
export function checkClusteringPrefix(
  where: PlannedWhere,
  table: TableDef,
  allowFiltering: boolean,
): void {
  if (allowFiltering) return;
  let previous: ColumnRestriction | undefined;
  let gap: string | undefined;
  for (let i = 0; i < table.clustering.length; i++) {
    const r = where.clustering[i];
    const column = table.clustering[i];
    if (column === undefined) continue;
    if (r === undefined) {
      gap ??= column.name;
      continue;
    }
    if (gap !== undefined) {
      throw invalid(
        `PRIMARY KEY column "${column.name}" cannot be restricted as preceding column "${gap}" is not restricted`,
      );
    }
    if (previous !== undefined && previous.values === undefined && previous.inList === undefined) {
      throw invalid(
        `Clustering column "${column.name}" cannot be restricted (preceding column "${previous.column.name}" is restricted by a non-EQ relation)`,
      );
    }
    if (r.contains.length > 0) throw invalid(ALLOW_FILTERING_MESSAGE);
    previous = r;
  }
}

// --- evaluation ---------------------------------------------------------------------------------

export interface Bound {
  value: Buffer;
  inclusive: boolean;
}

function keyValue(expr: ValueExpr, ctx: EvalContext, column: ColumnDef): Buffer {
  const v = evaluate(expr, ctx);
  if (v === UNSET) throw invalid(`Invalid unset value for column ${column.name}`);
  if (v === null) throw invalid(`Invalid null value in condition for column ${column.name}`);
  return v;
}

/** The values a column must equal (`=` or IN), deduplicated and in clause order. */
export function equalValues(r: ColumnRestriction, ctx: EvalContext): Buffer[] | undefined {
  let values: Buffer[];
  if (r.inList !== undefined) {
    const list = evaluate(r.inList, ctx);
    if (list === UNSET) throw invalid(`Invalid unset value for column ${r.column.name}`);
    if (list === null) throw invalid(`Invalid null value for IN restriction on ${r.column.name}`);
    values = list.length === 0 ? [] : readCollectionItems(list).map((v) => v ?? Buffer.alloc(0));
  } else if (r.values !== undefined) {
    values = r.values.map((e) => keyValue(e, ctx, r.column));
  } else {
    return undefined;
  }
  const out: Buffer[] = [];
  for (const v of values) {
    if (!out.some((o) => compareValues(r.column.type, o, v) === 0)) out.push(v);
  }
  return out;
}

function evaluateBound(
  b: PlannedBound | undefined,
  ctx: EvalContext,
  column: ColumnDef,
): Bound | undefined {
  if (b === undefined) return undefined;
  return { value: keyValue(b.expr, ctx, column), inclusive: b.inclusive };
}

/** A test over one column's serialized value (null: no value). */
export type ValueTest = (value: Buffer | null) => boolean;

function containsTest(r: ColumnRestriction, ctx: EvalContext): ValueTest[] {
  const t = r.column.type;
  return r.contains.map((c) => {
    const needle = keyValue(c.expr, ctx, r.column);
    return (value) => {
      if (value === null || value.length === 0) return false;
      if (t.kind === 'map') {
        const type = c.key ? t.key : t.value;
        const parity = c.key ? 0 : 1;
        return readCollectionMapItems(value).some(
          (v, i) => i % 2 === parity && v !== null && compareValues(type, v, needle) === 0,
        );
      }
      const type = t.kind === 'list' || t.kind === 'set' ? t.element : t;
      return readCollectionItems(value).some(
        (v) => v !== null && compareValues(type, v, needle) === 0,
      );
    };
  });
}

/** All the tests a restriction puts on its column's value. */
export function columnTests(r: ColumnRestriction, ctx: EvalContext): ValueTest[] {
  const type = r.column.type;
  const tests: ValueTest[] = [];
  const eq = equalValues(r, ctx);
  if (eq !== undefined) {
    tests.push((v) => v !== null && eq.some((e) => compareValues(type, v, e) === 0));
  }
  const lower = evaluateBound(r.lower, ctx, r.column);
  if (lower !== undefined) {
    tests.push((v) => {
      if (v === null) return false;
      const c = compareValues(type, v, lower.value);
      return c > 0 || (c === 0 && lower.inclusive);
    });
  }
  const upper = evaluateBound(r.upper, ctx, r.column);
  if (upper !== undefined) {
    tests.push((v) => {
      if (v === null) return false;
      const c = compareValues(type, v, upper.value);
      return c < 0 || (c === 0 && upper.inclusive);
    });
  }
  tests.push(...containsTest(r, ctx));
  return tests;
}

/** The cartesian product of per-column value lists (composite partition keys, multi-IN). */
export function cartesian(lists: readonly (readonly Buffer[])[]): Buffer[][] {
  let out: Buffer[][] = [[]];
  for (const list of lists) {
    const next: Buffer[][] = [];
    for (const prefix of out) for (const v of list) next.push([...prefix, v]);
    out = next;
  }
  return out;
}
