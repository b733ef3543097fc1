// INSERT/UPDATE/DELETE execution in two steps, so a batch can validate every child before any
// is applied: resolveWrite() evaluates keys, values, USING and IF against the bound values
// (all errors happen here); applyWrite() changes the store and cannot fail.

import { UNSET } from '../../src/protocol/reader.js';
import { type ResolvedOperation, resolveOperation } from './cell-ops.js';
import { invalid } from './errors.js';
import type { ModificationPlan, PlannedCondition } from './modification-plan.js';
import { serializePartitionKey } from './partition-key.js';
import { type ValueTest, cartesian, columnTests, equalValues } from './restrictions.js';
import type { ColumnDef, TableDef } from './schema.js';
import { type Cell, type Partition, type StoredRow, isLive, rowIsLive } from './storage.js';
import { type EvalContext, evaluate } from './values.js';

const MAX_TTL = 630_720_000;

export interface RowTarget {
  partitionKey: Buffer;
  keyValues: Buffer[];
  /** undefined: the partition itself (static columns, partition deletion, slices). */
  clustering: Buffer[] | undefined;
}

export interface ResolvedCondition {
  column: ColumnDef;
  op: PlannedCondition['op'];
  value: Buffer | null;
}

export interface ResolvedWrite {
  plan: ModificationPlan;
  targets: RowTarget[];
  /** Range deletion: tests per clustering column. */
  slice: ValueTest[][] | undefined;
  operations: ResolvedOperation[];
  timestamp: bigint;
  ttl: number | undefined;
  conditions:
    | { kind: 'none' | 'exists' | 'notExists' }
    | { kind: 'columns'; conditions: ResolvedCondition[] };
}

export interface WriteDefaults {
  nowMs: number;
  /** The write time when the statement gives none (client default timestamp or server time). */
  timestamp: bigint;
}

function evaluateTtl(plan: ModificationPlan, ctx: EvalContext): number | undefined {
  let ttl = plan.table.defaultTtl;
  if (plan.ttl !== undefined) {
    const v = evaluate(plan.ttl, ctx);
    if (v === null) throw invalid('Invalid null value of TTL');
    if (v !== UNSET) {
      ttl = v.readInt32BE(0);
      if (plan.isCounter) throw invalid('Cannot provide custom TTL for counter updates');
    }
  }
  if (ttl < 0) throw invalid(`A TTL must be greater or equal to 0, but was ${ttl}`);
  if (ttl > MAX_TTL) throw invalid(`ttl is too large. requested (${ttl}) maximum (${MAX_TTL})`);
  return ttl === 0 ? undefined : ttl;
}

function evaluateTimestamp(plan: ModificationPlan, ctx: EvalContext, fallback: bigint): bigint {
  if (plan.timestamp === undefined) return fallback;
  const v = evaluate(plan.timestamp, ctx);
  if (v === null) throw invalid('Invalid null value of timestamp');
  if (v === UNSET) return fallback;
  return v.readBigInt64BE(0);
}

function targetsOf(
  plan: ModificationPlan,
  ctx: EvalContext,
): { targets: RowTarget[]; slice: ValueTest[][] | undefined } {
  const { table, where } = plan;
  const pkLists = where.partition.map((r) => (r === undefined ? [] : (equalValues(r, ctx) ?? [])));
  const fullClustering =
    table.clustering.length > 0 &&
    where.clustering.every(
      (r) => r !== undefined && (r.values !== undefined || r.inList !== undefined),
    );
  let ckTuples: (Buffer[] | undefined)[] = [undefined];
  let slice: ValueTest[][] | undefined;
  if (table.clustering.length === 0) {
    ckTuples = [[]];
  } else if (fullClustering) {
    ckTuples = cartesian(
      where.clustering.map((r) => (r === undefined ? [] : (equalValues(r, ctx) ?? []))),
    );
  } else if (where.clustering.some((r) => r !== undefined)) {
    slice = where.clustering.map((r) => (r === undefined ? [] : columnTests(r, ctx)));
  }
  const targets: RowTarget[] = [];
  for (const keyValues of cartesian(pkLists)) {
    const partitionKey = serializePartitionKey(keyValues);
    for (const clustering of ckTuples) targets.push({ partitionKey, keyValues, clustering });
  }
  return { targets, slice };
}

/** Evaluates everything the statement needs; throws before anything is written. */
export function resolveWrite(
  plan: ModificationPlan,
  ctx: EvalContext,
  defaults: WriteDefaults,
): ResolvedWrite {
  const { targets, slice } = targetsOf(plan, ctx);
  const operations: ResolvedOperation[] = [];
  for (const op of plan.operations) {
    const r = resolveOperation(op, ctx);
    if (r !== undefined) operations.push(r);
  }
  let conditions: ResolvedWrite['conditions'];
  if (plan.conditions.kind === 'columns') {
    conditions = {
      kind: 'columns',
      conditions: plan.conditions.conditions.map((c) => {
        const v = evaluate(c.value, ctx);
        if (v === UNSET) throw invalid(`Invalid 'unset' value in condition`);
        return { column: c.column, op: c.op, value: v };
      }),
    };
  } else {
    conditions = plan.conditions;
  }
  return {
    plan,
    targets,
    slice,
    operations,
    timestamp: evaluateTimestamp(plan, ctx, defaults.timestamp),
    ttl: evaluateTtl(plan, ctx),
    conditions,
  };
}

function liveness(w: ResolvedWrite, nowMs: number): Omit<Cell, 'value'> {
  return {
    writetime: w.timestamp,
    expiresAt: w.ttl === undefined ? undefined : nowMs + w.ttl * 1000,
    ttl: w.ttl,
  };
}

function applyOperations(
  cells: Map<string, Cell>,
  ops: readonly ResolvedOperation[],
  w: ResolvedWrite,
  nowMs: number,
): void {
  for (const op of ops) {
    const existing = cells.get(op.column.name);
    const live = existing !== undefined && isLive(existing, nowMs) ? existing : undefined;
    if (op.overwrite && existing !== undefined && existing.writetime > w.timestamp) continue;
    const next = op.update(live?.value);
    if (next === undefined) continue;
    if (next === null) cells.delete(op.column.name);
    else cells.set(op.column.name, { value: next, ...liveness(w, nowMs) });
  }
}

/** Removes what a deletion at `timestamp` shadows in a row; true when the row is left empty. */
function deleteRowData(row: StoredRow, timestamp: bigint): boolean {
  if (row.marker !== undefined && row.marker.writetime <= timestamp) row.marker = undefined;
  for (const [name, cell] of row.cells) if (cell.writetime <= timestamp) row.cells.delete(name);
  return row.marker === undefined && row.cells.size === 0;
}

function deleteRows(table: TableDef, p: Partition, w: ResolvedWrite, target: RowTarget): void {
  const store = table.store;
  if (target.clustering !== undefined) {
    const row = store.findRow(p, target.clustering);
    if (row !== undefined && deleteRowData(row, w.timestamp)) store.removeRow(p, row);
    return;
  }
  const slice = w.slice;
  for (const row of [...p.rows]) {
    const inSlice =
      slice === undefined ||
      slice.every((tests, i) => tests.every((t) => t(row.clustering[i] ?? null)));
    if (inSlice && deleteRowData(row, w.timestamp)) store.removeRow(p, row);
  }
  if (slice === undefined) {
    for (const [name, cell] of p.statics) if (cell.writetime <= w.timestamp) p.statics.delete(name);
  }
}

/** Applies a resolved write to the store. */
export function applyWrite(w: ResolvedWrite, nowMs: number): void {
  const { plan } = w;
  const store = plan.table.store;
  for (const target of w.targets) {
    if (plan.deletesRows) {
      const p = store.get(target.partitionKey);
      if (p === undefined) continue;
      deleteRows(plan.table, p, w, target);
      store.removeIfEmpty(p);
      continue;
    }
    const p = store.getOrCreate(target.partitionKey, target.keyValues);
    const statics = w.operations.filter((o) => o.column.kind === 'static');
    const regular = w.operations.filter((o) => o.column.kind !== 'static');
    applyOperations(p.statics, statics, w, nowMs);
    if (target.clustering !== undefined && (regular.length > 0 || plan.rowMarker)) {
      const row = store.getOrCreateRow(p, target.clustering);
      if (plan.rowMarker && (row.marker === undefined || row.marker.writetime <= w.timestamp)) {
        row.marker = liveness(w, nowMs);
      }
      applyOperations(row.cells, regular, w, nowMs);
      if (row.marker === undefined && row.cells.size === 0) store.removeRow(p, row);
    }
    store.removeIfEmpty(p);
  }
}

// --- lightweight transactions ------------------------------------------------------------------

export interface CurrentRow {
  partition: Partition | undefined;
  row: StoredRow | undefined;
}

/** The live row (or partition, for static-only targets) a conditional statement looks at. */
export function currentRow(w: ResolvedWrite, nowMs: number): CurrentRow {
  const target = w.targets[0];
  if (target === undefined) return { partition: undefined, row: undefined };
  const store = w.plan.table.store;
  const p = store.get(target.partitionKey);
  if (p === undefined || target.clustering === undefined) return { partition: p, row: undefined };
  const row = store.findRow(p, target.clustering);
  return { partition: p, row: row !== undefined && rowIsLive(row, nowMs) ? row : undefined };
}

export function currentValue(current: CurrentRow, column: ColumnDef, nowMs: number): Buffer | null {
  const cells = column.kind === 'static' ? current.partition?.statics : current.row?.cells;
  const cell = cells?.get(column.name);
  return cell !== undefined && isLive(cell, nowMs) ? cell.value : null;
}

export function rowExists(current: CurrentRow, w: ResolvedWrite, nowMs: number): boolean {
  if (current.row !== undefined) return true;
  const target = w.targets[0];
  if (target?.clustering !== undefined || current.partition === undefined) return false;
  const p = current.partition;
  return (
    p.rows.some((r) => rowIsLive(r, nowMs)) || [...p.statics.values()].some((c) => isLive(c, nowMs))
  );
}
