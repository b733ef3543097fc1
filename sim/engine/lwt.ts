// Lightweight transactions (IF NOT EXISTS, IF EXISTS, IF col = v ...): the check against the
// current row and the `[applied]` result Cassandra returns (ModificationStatement
// .buildCasResultSet): `[applied]` alone when applied; when not, `[applied]` false followed by the
// existing row's columns — all of them for IF NOT EXISTS, the conditioned ones for IF col ... (in
// a batch, preceded by the primary key), nothing more when there is no row.

import type { ColumnSpec } from '../../src/protocol/messages/result.js';
import { compareValues } from './compare.js';
import { readCollectionItems } from './compare.js';
import type { EngineResult } from './contract.js';
import { invalid } from './errors.js';
import {
  type CurrentRow,
  type ResolvedCondition,
  type ResolvedWrite,
  currentRow,
  currentValue,
  rowExists,
} from './modification-exec.js';
import type { ColumnDef, TableDef } from './schema.js';
import { native } from './types.js';

const TRUE = Buffer.from([1]);
const FALSE = Buffer.from([0]);

function conditionHolds(c: ResolvedCondition, current: Buffer | null): boolean {
  const type = c.column.type;
  const equal = (a: Buffer | null, b: Buffer | null): boolean =>
    a === null || b === null ? a === b : compareValues(type, a, b) === 0;
  switch (c.op) {
    case '=':
      return equal(current, c.value);
    case '!=':
      return !equal(current, c.value);
    case 'in': {
      if (c.value === null) return false;
      const options = c.value.length === 0 ? [] : readCollectionItems(c.value);
      return options.some((o) => equal(current, o));
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (c.value === null) throw invalid(`Invalid comparison with null for operator "${c.op}"`);
      if (current === null) return false;
      const cmp = compareValues(type, current, c.value);
      if (c.op === '<') return cmp < 0;
      if (c.op === '<=') return cmp <= 0;
      if (c.op === '>') return cmp > 0;
      return cmp >= 0;
    }
  }
}

/** Whether a conditional write's IF holds against the current data. */
export function checkConditions(
  w: ResolvedWrite,
  nowMs: number,
): { applied: boolean; current: CurrentRow } {
  const current = currentRow(w, nowMs);
  const c = w.conditions;
  switch (c.kind) {
    case 'none':
      return { applied: true, current };
    case 'exists':
      return { applied: rowExists(current, w, nowMs), current };
    case 'notExists':
      return { applied: !rowExists(current, w, nowMs), current };
    case 'columns':
      return {
        applied: c.conditions.every((cond) =>
          conditionHolds(cond, currentValue(current, cond.column, nowMs)),
        ),
        current,
      };
  }
}

export function appliedSpec(table: TableDef): ColumnSpec {
  return {
    keyspace: table.keyspace,
    table: table.name,
    name: '[applied]',
    type: native('boolean').ct,
  };
}

/** The columns a failed conditional write reports. */
export function failureColumns(w: ResolvedWrite, inBatch: boolean): ColumnDef[] {
  const table = w.plan.table;
  if (w.conditions.kind !== 'columns') return [...table.selectOrder];
  const out: ColumnDef[] = inBatch ? [...table.partitionKey, ...table.clustering] : [];
  for (const c of w.conditions.conditions) if (!out.includes(c.column)) out.push(c.column);
  return out;
}

function keyValue(current: CurrentRow, column: ColumnDef, nowMs: number): Buffer | null {
  if (column.kind === 'partition_key') return current.partition?.keyValues[column.position] ?? null;
  if (column.kind === 'clustering') return current.row?.clustering[column.position] ?? null;
  return currentValue(current, column, nowMs);
}

/** The `[applied]` result of one conditional statement. */
export function casResult(
  w: ResolvedWrite,
  applied: boolean,
  current: CurrentRow,
  nowMs: number,
): EngineResult {
  const table = w.plan.table;
  const head = appliedSpec(table);
  if (applied || !rowExists(current, w, nowMs)) {
    return { kind: 'rows', columns: [head], rows: [[applied ? TRUE : FALSE]] };
  }
  const columns = failureColumns(w, false);
  return {
    kind: 'rows',
    columns: [
      head,
      ...columns.map((c) => ({
        keyspace: table.keyspace,
        table: table.name,
        name: c.name,
        type: c.type.ct,
      })),
    ],
    rows: [[FALSE, ...columns.map((c) => keyValue(current, c, nowMs))]],
  };
}

/** The `[applied]` result of a conditional batch: one row per existing row when not applied. */
export function batchCasResult(
  writes: readonly ResolvedWrite[],
  applied: boolean,
  nowMs: number,
): EngineResult {
  const first = writes[0];
  if (first === undefined) return { kind: 'void' };
  const table = first.plan.table;
  const head = appliedSpec(table);
  if (applied) return { kind: 'rows', columns: [head], rows: [[TRUE]] };
  const columns: ColumnDef[] = [];
  for (const w of writes)
    for (const c of failureColumns(w, true)) if (!columns.includes(c)) columns.push(c);
  const rows: (Buffer | null)[][] = [];
  const seen = new Set<unknown>();
  for (const w of writes) {
    const current = currentRow(w, nowMs);
    if (current.row === undefined || seen.has(current.row)) continue;
    seen.add(current.row);
    rows.push([FALSE, ...columns.map((c) => keyValue(current, c, nowMs))]);
  }
  if (rows.length === 0) return { kind: 'rows', columns: [head], rows: [[FALSE]] };
  return {
    kind: 'rows',
    columns: [
      head,
      ...columns.map((c) => ({
        keyspace: table.keyspace,
        table: table.name,
        name: c.name,
        type: c.type.ct,
      })),
    ],
    rows,
  };
}
