// SELECT bound to its table: the selectors and result columns, the WHERE clause, ORDER BY,
// LIMIT. Checked once per statement (prepared or cached) with Cassandra 4.0's messages
// (SelectStatement.RawStatement.prepare).

import type { ColumnSpec } from '../../src/protocol/messages/result.js';
import type { Select, Selector } from './ast.js';
import { invalid, undefinedColumn } from './errors.js';
import {
  ALLOW_FILTERING_MESSAGE,
  type PlannedWhere,
  checkClusteringPrefix,
  hasFullPartitionKey,
  missingPartitionKey,
  planWhere,
} from './restrictions.js';
import type { ColumnDef, TableDef } from './schema.js';
import { isMultiCell, native } from './types.js';
import { Bindings, type ValueExpr, planTerm } from './values.js';

export type CompiledSelector =
  | { kind: 'column'; column: ColumnDef }
  | { kind: 'count'; column: ColumnDef | undefined }
  | { kind: 'writetime' | 'ttl'; column: ColumnDef }
  | { kind: 'token' };

export interface SelectPlan {
  kind: 'select';
  table: TableDef;
  bindings: Bindings;
  columns: ColumnSpec[];
  selectors: CompiledSelector[];
  /** count(...) present: one row over all matches. */
  aggregate: boolean;
  distinct: boolean;
  where: PlannedWhere;
  /** Every partition key column restricted by = or IN: partitions are looked up, not scanned. */
  keyLookup: boolean;
  /** ORDER BY opposite to the clustering order. */
  reversed: boolean;
  /** ORDER BY present (with IN on the partition key, rows are merged in that order). */
  ordered: boolean;
  limit: ValueExpr | undefined;
  perPartitionLimit: ValueExpr | undefined;
  /** The static-only row of a partition without rows is returned (no clustering restriction). */
  staticRows: boolean;
}

function spec(table: TableDef, name: string, type: ColumnSpec['type']): ColumnSpec {
  return { keyspace: table.keyspace, table: table.name, name, type };
}

function column(table: TableDef, name: string): ColumnDef {
  const c = table.columns.get(name);
  if (c === undefined) throw undefinedColumn(name);
  return c;
}

function compileSelector(
  table: TableDef,
  s: Selector,
): { compiled: CompiledSelector; spec: ColumnSpec } {
  switch (s.kind) {
    case 'column': {
      const c = column(table, s.name);
      return {
        compiled: { kind: 'column', column: c },
        spec: spec(table, s.alias ?? c.name, c.type.ct),
      };
    }
    case 'count': {
      const c = s.column === undefined ? undefined : column(table, s.column);
      return {
        compiled: { kind: 'count', column: c },
        spec: spec(table, s.alias ?? 'count', native('bigint').ct),
      };
    }
    case 'writetime':
    case 'ttl': {
      const c = column(table, s.column);
      const fn = s.kind === 'writetime' ? 'writeTime' : 'ttl';
      if (c.kind === 'partition_key' || c.kind === 'clustering') {
        throw invalid(`Cannot use selection function ${fn} on PRIMARY KEY part ${c.name}`);
      }
      if (isMultiCell(c.type)) {
        throw invalid(`Cannot use selection function ${fn} on non-frozen collection ${c.name}`);
      }
      const type = s.kind === 'writetime' ? native('bigint') : native('int');
      return {
        compiled: { kind: s.kind, column: c },
        spec: spec(table, s.alias ?? `${s.kind}(${c.name})`, type.ct),
      };
    }
    case 'token': {
      const pk = table.partitionKey.map((c) => c.name);
      for (const name of s.columns) column(table, name);
      if (s.columns.length !== pk.length || s.columns.some((c, i) => c !== pk[i])) {
        throw invalid(
          `Type error: (${s.columns.join(', ')}) cannot be passed as argument 0 of function system.token of type ${pk.join(', ')}`,
        );
      }
      return {
        compiled: { kind: 'token' },
        spec: spec(table, s.alias ?? `system.token(${s.columns.join(', ')})`, native('bigint').ct),
      };
    }
  }
}

function checkDistinct(table: TableDef, selectors: readonly CompiledSelector[]): void {
  for (const s of selectors) {
    if (s.kind !== 'column' && s.kind !== 'token') {
      throw invalid(
        'SELECT DISTINCT queries must only request partition key columns and/or static columns (not aggregates)',
      );
    }
    if (s.kind === 'column' && s.column.kind !== 'partition_key' && s.column.kind !== 'static') {
      throw invalid(
        `SELECT DISTINCT queries must only request partition key columns and/or static columns (not ${s.column.name})`,
      );
    }
  }
  const selected = new Set(selectors.flatMap((s) => (s.kind === 'column' ? [s.column.name] : [])));
  const missing = table.partitionKey.filter((c) => !selected.has(c.name));
  if (missing.length > 0 && !selectors.some((s) => s.kind === 'token')) {
    throw invalid(
      `SELECT DISTINCT queries must request all the partition key columns (missing ${missing.map((c) => c.name).join(', ')})`,
    );
  }
}

function planOrderBy(ast: Select, table: TableDef, keyLookup: boolean): boolean {
  if (ast.orderBy.length === 0) return false;
  if (!keyLookup) {
    throw invalid(
      'ORDER BY is only supported when the partition key is restricted by an EQ or an IN.',
    );
  }
  let reversed: boolean | undefined;
  ast.orderBy.forEach((o, i) => {
    const c = column(table, o.column);
    if (c.kind !== 'clustering') {
      throw invalid(
        `Order by is currently only supported on the clustered columns of the PRIMARY KEY, got ${o.column}`,
      );
    }
    if (c.position !== i) {
      throw invalid(
        'Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY',
      );
    }
    const r = o.desc !== c.desc;
    if (reversed !== undefined && reversed !== r) throw invalid('Unsupported order by relation');
    reversed = r;
  });
  return reversed ?? false;
}

function checkWhere(ast: Select, table: TableDef, where: PlannedWhere): boolean {
  const keyLookup = hasFullPartitionKey(where);
  const filtering = ast.allowFiltering;
  const restrictedPk = where.partition.some((r) => r !== undefined);
  if (restrictedPk && !keyLookup) {
    const missing = missingPartitionKey(where, table);
    if (missing.length > 0 && !filtering) {
      throw invalid(
        `Partition key parts: ${missing.join(', ')} must be restricted as other parts are`,
      );
    }
    if (!filtering) throw invalid(ALLOW_FILTERING_MESSAGE);
  }
  const clusteringRestricted = where.clustering.some((r) => r !== undefined);
  if (!keyLookup && clusteringRestricted && !filtering) throw invalid(ALLOW_FILTERING_MESSAGE);
  if (where.others.length > 0 && !filtering) throw invalid(ALLOW_FILTERING_MESSAGE);
  if (keyLookup && (where.tokenLower !== undefined || where.tokenUpper !== undefined)) {
    throw invalid(
      'Columns "token" cannot be restricted by both a normal relation and a token relation',
    );
  }
  checkClusteringPrefix(where, table, filtering);
  return keyLookup;
}

export function planSelect(
  ast: Select,
  table: TableDef,
  markers: readonly (string | undefined)[],
): SelectPlan {
  const bindings = new Bindings(markers);
  let selectors: CompiledSelector[];
  let columns: ColumnSpec[];
  if (ast.selectors === undefined) {
    selectors = table.selectOrder.map((c) => ({ kind: 'column', column: c }));
    columns = table.selectOrder.map((c) => spec(table, c.name, c.type.ct));
  } else {
    const compiled = ast.selectors.map((s) => compileSelector(table, s));
    selectors = compiled.map((c) => c.compiled);
    columns = compiled.map((c) => c.spec);
  }
  if (ast.distinct) checkDistinct(table, selectors);
  const where = planWhere(ast.where, table, bindings);
  const keyLookup = checkWhere(ast, table, where);
  const reversed = planOrderBy(ast, table, keyLookup);
  const intReceiver = (name: string) => ({
    keyspace: table.keyspace,
    table: table.name,
    name,
    type: native('int'),
  });
  const limit =
    ast.limit === undefined ? undefined : planTerm(ast.limit, intReceiver('[limit]'), bindings);
  const perPartitionLimit =
    ast.perPartitionLimit === undefined
      ? undefined
      : planTerm(ast.perPartitionLimit, intReceiver('[per_partition_limit]'), bindings);
  if (ast.distinct && perPartitionLimit !== undefined) {
    throw invalid('PER PARTITION LIMIT is not allowed with SELECT DISTINCT queries');
  }
  const aggregate = selectors.some((s) => s.kind === 'count');
  const staticRows = table.statics.length > 0 && where.clustering.every((r) => r === undefined);
  return {
    kind: 'select',
    table,
    bindings,
    columns,
    selectors,
    aggregate,
    distinct: ast.distinct,
    where,
    keyLookup,
    reversed,
    ordered: ast.orderBy.length > 0,
    limit,
    perPartitionLimit,
    staticRows,
  };
}
