// INSERT, UPDATE and DELETE bound to their table, checked with Cassandra 4.0's messages
// (ModificationStatement, UpdateStatement, DeleteStatement, Operation): the rows they target
// (the WHERE clause, or INSERT's key columns), the operations on other columns, USING, and IF.

import type {
  Assignment,
  Conditions,
  Delete,
  Insert,
  Modification,
  Operator,
  Relation,
  Term,
  Update,
  Using,
} from './ast.js';
import { invalid, undefinedColumn } from './errors.js';
import {
  type PlannedWhere,
  checkClusteringPrefix,
  missingPartitionKey,
  planWhere,
} from './restrictions.js';
import type { ColumnDef, TableDef } from './schema.js';
import { type SimType, isMultiCell, listOf, native, setOf } from './types.js';
import { type Bindings, type Receiver, type ValueExpr, planTerm } from './values.js';

/** What a statement does to one column. */
export type Operation =
  | { kind: 'set'; column: ColumnDef; value: ValueExpr }
  | { kind: 'add' | 'prepend' | 'subtract'; column: ColumnDef; value: ValueExpr }
  | { kind: 'setEntry'; column: ColumnDef; key: ValueExpr; value: ValueExpr }
  | { kind: 'delete'; column: ColumnDef }
  | { kind: 'deleteEntry'; column: ColumnDef; key: ValueExpr };

export interface PlannedCondition {
  column: ColumnDef;
  op: Operator | 'in';
  value: ValueExpr;
}

export type PlannedConditions =
  | { kind: 'none' }
  | { kind: 'exists' }
  | { kind: 'notExists' }
  | { kind: 'columns'; conditions: PlannedCondition[] };

export interface ModificationPlan {
  kind: 'modification';
  statement: 'insert' | 'update' | 'delete';
  table: TableDef;
  bindings: Bindings;
  where: PlannedWhere;
  operations: Operation[];
  /** INSERT writes the row marker: the row exists even with every other column null. */
  rowMarker: boolean;
  /** DELETE without columns: whole rows (or a partition, or a clustering slice). */
  deletesRows: boolean;
  /** Only static columns are touched: the clustering key may be left out. */
  staticOnly: boolean;
  ttl: ValueExpr | undefined;
  timestamp: ValueExpr | undefined;
  conditions: PlannedConditions;
  isCounter: boolean;
}

/** Astra refuses list operations that need a read first (docs/astra.md §6.3). */
const LIST_READ_BEFORE_WRITE = 'List operation requiring read before write is not allowed';

function receiverOf(
  table: TableDef,
  column: ColumnDef,
  name = column.name,
  type: SimType = column.type,
): Receiver {
  return { keyspace: table.keyspace, table: table.name, name, type };
}

function columnOf(table: TableDef, name: string): ColumnDef {
  const c = table.columns.get(name);
  if (c === undefined) throw undefinedColumn(name);
  return c;
}

function isCounterColumn(c: ColumnDef): boolean {
  return c.type.kind === 'native' && c.type.name === 'counter';
}

function planUsing(
  using: Using,
  table: TableDef,
  bindings: Bindings,
): Pick<ModificationPlan, 'ttl' | 'timestamp'> {
  const rcv = (name: string, type: SimType): Receiver => ({
    keyspace: table.keyspace,
    table: table.name,
    name,
    type,
  });
  return {
    ttl:
      using.ttl === undefined
        ? undefined
        : planTerm(using.ttl, rcv('[ttl]', native('int')), bindings),
    timestamp:
      using.timestamp === undefined
        ? undefined
        : planTerm(using.timestamp, rcv('[timestamp]', native('bigint')), bindings),
  };
}

function planAssignment(a: Assignment, table: TableDef, bindings: Bindings): Operation {
  const column = columnOf(table, a.column);
  if (column.kind === 'partition_key' || column.kind === 'clustering') {
    throw invalid(`PRIMARY KEY part ${column.name} found in SET part`);
  }
  const t = column.type;
  const counter = isCounterColumn(column);
  switch (a.kind) {
    case 'set':
      if (counter) {
        throw invalid(
          `Cannot set the value of counter column ${column.name} (counters can only be incremented/decremented, not set)`,
        );
      }
      return { kind: 'set', column, value: planTerm(a.value, receiverOf(table, column), bindings) };
    case 'add':
    case 'subtract':
    case 'prepend': {
      const sign = a.kind === 'subtract' ? '-' : '+';
      if (counter) {
        if (a.kind === 'prepend')
          throw invalid(
            `Invalid operation (${column.name} = <value> + ${column.name}) for counter column ${column.name}`,
          );
        return {
          kind: a.kind,
          column,
          value: planTerm(a.value, receiverOf(table, column), bindings),
        };
      }
      if (t.kind === 'native' || t.kind === 'tuple') {
        throw invalid(
          `Invalid operation (${column.name} = ${column.name} ${sign} ?) for non counter column ${column.name}`,
        );
      }
      if (!isMultiCell(t)) {
        throw invalid(
          `Invalid operation (${column.name} = ${column.name} ${sign} ?) for frozen collection column ${column.name}`,
        );
      }
      if (a.kind === 'prepend' && t.kind !== 'list') {
        throw invalid(
          `Invalid operation (${column.name} = ? + ${column.name}) for non list column ${column.name}`,
        );
      }
      if (a.kind === 'subtract' && t.kind === 'list') throw invalid(LIST_READ_BEFORE_WRITE);
      // Removing from a map takes a set of keys.
      const valueType = a.kind === 'subtract' && t.kind === 'map' ? setOf(t.key, false) : t;
      return {
        kind: a.kind,
        column,
        value: planTerm(a.value, receiverOf(table, column, column.name, valueType), bindings),
      };
    }
    case 'setElement': {
      if (t.kind === 'list') throw invalid(LIST_READ_BEFORE_WRITE);
      if (t.kind !== 'map') {
        throw invalid(
          `Invalid operation (${column.name}[?] = ?) for non collection column ${column.name}`,
        );
      }
      if (!t.frozen) {
        return {
          kind: 'setEntry',
          column,
          key: planTerm(a.key, receiverOf(table, column, `key(${column.name})`, t.key), bindings),
          value: planTerm(
            a.value,
            receiverOf(table, column, `value(${column.name})`, t.value),
            bindings,
          ),
        };
      }
      throw invalid(
        `Invalid operation (${column.name}[?] = ?) for frozen collection column ${column.name}`,
      );
    }
  }
}

function planConditions(c: Conditions, table: TableDef, bindings: Bindings): PlannedConditions {
  if (c.kind !== 'columns') return c;
  return {
    kind: 'columns',
    conditions: c.conditions.map((cond) => {
      const column = columnOf(table, cond.column);
      if (column.kind === 'partition_key' || column.kind === 'clustering') {
        throw invalid(`PRIMARY KEY column '${column.name}' cannot have IF conditions`);
      }
      const type = cond.op === 'in' ? listOf(column.type, false) : column.type;
      const value = planTerm(cond.value, receiverOf(table, column, column.name, type), bindings);
      return { column, op: cond.op, value };
    }),
  };
}

function checkKeys(plan: ModificationPlan, table: TableDef): void {
  const missing = missingPartitionKey(plan.where, table);
  if (missing.length > 0)
    throw invalid(`Some partition key parts are missing: ${missing.join(', ')}`);
  for (const r of plan.where.partition) {
    if (r !== undefined && r.values === undefined && r.inList === undefined) {
      throw invalid(
        'Only EQ and IN relation are supported on the partition key (unless you use the token() function)',
      );
    }
  }
  if (plan.where.tokenLower !== undefined || plan.where.tokenUpper !== undefined) {
    throw invalid(
      `The token function cannot be used in WHERE clauses for ${plan.statement.toUpperCase()} statements`,
    );
  }
  if (plan.where.others.length > 0) {
    throw invalid(
      `Non PRIMARY KEY columns found in where clause: ${plan.where.others.map((r) => r.column.name).join(', ')}`,
    );
  }
  const clustering = plan.where.clustering;
  const isSlice = clustering.some(
    (r) => r !== undefined && r.values === undefined && r.inList === undefined,
  );
  const missingClustering = table.clustering
    .filter((_, i) => clustering[i] === undefined)
    .map((c) => c.name);
  if (plan.statement === 'delete' && plan.deletesRows) {
    checkClusteringPrefix(plan.where, table, false);
    if (plan.conditions.kind !== 'none' && (isSlice || missingClustering.length > 0)) {
      throw invalid(
        'DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions',
      );
    }
    return;
  }
  if (isSlice) {
    throw invalid(
      plan.statement === 'delete'
        ? 'Range deletions are not supported for specific columns'
        : 'Slice restrictions are not supported on the clustering columns in UPDATE statements',
    );
  }
  if (missingClustering.length > 0 && !plan.staticOnly) {
    throw invalid(
      plan.statement === 'delete'
        ? 'Range deletions are not supported for specific columns'
        : `Some clustering keys are missing: ${missingClustering.join(', ')}`,
    );
  }
}

function checkConditions(plan: ModificationPlan): void {
  if (plan.conditions.kind === 'none') return;
  if (plan.where.partition.some((r) => (r?.values?.length ?? 1) > 1 || r?.inList !== undefined)) {
    throw invalid('IN on the partition key is not supported with conditional updates');
  }
  if (plan.where.clustering.some((r) => (r?.values?.length ?? 1) > 1 || r?.inList !== undefined)) {
    throw invalid('IN on the clustering key columns is not supported with conditional updates');
  }
  if (plan.timestamp !== undefined)
    throw invalid('Cannot provide custom timestamp for conditional updates');
  if (plan.isCounter) throw invalid('Conditional updates are not supported on counter tables');
}

function insertWhere(
  ast: Insert,
  table: TableDef,
): { relations: Relation[]; assignments: Assignment[] } {
  const seen = new Set<string>();
  const relations: Relation[] = [];
  const assignments: Assignment[] = [];
  ast.columns.forEach((name, i) => {
    const column = columnOf(table, name);
    if (seen.has(name)) throw invalid(`Multiple definitions found for column ${name}`);
    seen.add(name);
    const value = ast.values[i] as Term;
    if (column.kind === 'partition_key' || column.kind === 'clustering') {
      relations.push({ kind: 'compare', column: name, op: '=', value });
    } else {
      assignments.push({ kind: 'set', column: name, value });
    }
  });
  return { relations, assignments };
}

function basePlan(
  statement: ModificationPlan['statement'],
  table: TableDef,
  bindings: Bindings,
  using: Using,
): ModificationPlan {
  return {
    kind: 'modification',
    statement,
    table,
    bindings,
    where: {
      partition: [],
      clustering: [],
      others: [],
      tokenLower: undefined,
      tokenUpper: undefined,
    },
    operations: [],
    rowMarker: false,
    deletesRows: false,
    staticOnly: false,
    ...planUsing(using, table, bindings),
    conditions: { kind: 'none' },
    isCounter: table.isCounter,
  };
}

function planInsert(ast: Insert, table: TableDef, bindings: Bindings): ModificationPlan {
  if (table.isCounter)
    throw invalid('INSERT statements are not allowed on counter tables, use UPDATE instead');
  const plan = basePlan('insert', table, bindings, ast.using);
  const { relations, assignments } = insertWhere(ast, table);
  plan.where = planWhere(relations, table, bindings);
  plan.operations = assignments.map((a) => planAssignment(a, table, bindings));
  plan.rowMarker = true;
  plan.conditions = ast.ifNotExists ? { kind: 'notExists' } : { kind: 'none' };
  const missingPk = missingPartitionKey(plan.where, table);
  if (missingPk.length > 0)
    throw invalid(`Some partition key parts are missing: ${missingPk.join(', ')}`);
  const missingCk = table.clustering.filter((_, i) => plan.where.clustering[i] === undefined);
  if (missingCk.length > 0) {
    throw invalid(`Some clustering keys are missing: ${missingCk.map((c) => c.name).join(', ')}`);
  }
  checkConditions(plan);
  return plan;
}

function planUpdate(ast: Update, table: TableDef, bindings: Bindings): ModificationPlan {
  const plan = basePlan('update', table, bindings, ast.using);
  const seen = new Set<string>();
  plan.operations = ast.assignments.map((a) => {
    const op = planAssignment(a, table, bindings);
    if (seen.has(a.column) && a.kind !== 'setElement') {
      throw invalid(`Multiple incompatible setting of column ${a.column}`);
    }
    seen.add(a.column);
    return op;
  });
  plan.where = planWhere(ast.where, table, bindings);
  plan.conditions = planConditions(ast.conditions, table, bindings);
  plan.staticOnly = plan.operations.every((o) => o.column.kind === 'static');
  checkKeys(plan, table);
  checkConditions(plan);
  return plan;
}

function planDelete(ast: Delete, table: TableDef, bindings: Bindings): ModificationPlan {
  const plan = basePlan('delete', table, bindings, ast.using);
  plan.operations = ast.columns.map((d) => {
    const column = columnOf(table, d.column);
    if (column.kind === 'partition_key' || column.kind === 'clustering') {
      throw invalid(
        `Invalid identifier ${column.name} for deletion (should not be a PRIMARY KEY part)`,
      );
    }
    if (d.element === undefined) return { kind: 'delete', column };
    const t = column.type;
    if (t.kind === 'list') throw invalid(LIST_READ_BEFORE_WRITE);
    if (t.kind !== 'map' && t.kind !== 'set') {
      throw invalid(`Invalid element access syntax for non-collection column ${column.name}`);
    }
    if (!isMultiCell(t)) {
      throw invalid(
        `Invalid operation (${column.name}[?]) for frozen collection column ${column.name}`,
      );
    }
    const keyType = t.kind === 'map' ? t.key : t.element;
    return {
      kind: 'deleteEntry',
      column,
      key: planTerm(d.element, receiverOf(table, column, `key(${column.name})`, keyType), bindings),
    };
  });
  plan.deletesRows = plan.operations.length === 0;
  plan.staticOnly = !plan.deletesRows && plan.operations.every((o) => o.column.kind === 'static');
  plan.where = planWhere(ast.where, table, bindings);
  plan.conditions = planConditions(ast.conditions, table, bindings);
  checkKeys(plan, table);
  checkConditions(plan);
  return plan;
}

export function planModification(
  ast: Modification,
  table: TableDef,
  bindings: Bindings,
): ModificationPlan {
  switch (ast.kind) {
    case 'insert':
      return planInsert(ast, table, bindings);
    case 'update':
      return planUpdate(ast, table, bindings);
    case 'delete':
      return planDelete(ast, table, bindings);
  }
}
