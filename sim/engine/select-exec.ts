// SELECT execution: partitions by key (= / IN, in clause order) or in token order (full scans,
// token ranges), rows in clustering order or reversed, filters, LIMIT / PER PARTITION LIMIT,
// count(), and paging: a page holds at most pageSize rows, and the paging state names the last
// row returned so the next page resumes right after it — every row exactly once, across
// partitions, even if data changes between pages.

import { UNSET } from '../../src/protocol/reader.js';
import type { EngineResult } from './contract.js';
import { invalid } from './errors.js';
import { checkInCartesianProduct, checkPartitionKeysInSelect } from './guardrails.js';
import { murmur3Token } from './murmur3.js';
import { type PagingState, decodePagingState, encodePagingState } from './paging-state.js';
import { serializePartitionKey } from './partition-key.js';
import { type ValueTest, cartesian, columnTests, equalValues } from './restrictions.js';
import { type ColumnDef, compareClustering } from './schema.js';
import type { CompiledSelector, SelectPlan } from './select-plan.js';
import {
  type Cell,
  type Partition,
  type StoredRow,
  hasLiveStatics,
  isLive,
  rowIsLive,
} from './storage.js';
import { type EvalContext, evaluate } from './values.js';

export interface SelectRequest {
  pageSize: number | undefined;
  pagingState: Buffer | undefined;
  /** Astra's IN guardrails (guardrails.ts). */
  guardrails: boolean;
}

/** A result row before projection: a stored row, or a partition's static/DISTINCT row. */
interface Item {
  partition: Partition;
  row: StoredRow | undefined;
}

interface ColumnFilter {
  column: ColumnDef;
  tests: ValueTest[];
}

interface Scan {
  plan: SelectPlan;
  nowMs: number;
  /** Serialized partition keys to look up, in order; undefined for a scan in token order. */
  keys: Buffer[] | undefined;
  tokenLower: { token: bigint; inclusive: boolean } | undefined;
  tokenUpper: { token: bigint; inclusive: boolean } | undefined;
  /** Tests per clustering column. */
  clustering: ValueTest[][];
  /** Leading clustering values fixed by `=`: rows are found by binary search. */
  prefix: Buffer[];
  others: ColumnFilter[];
}

function positiveInt(
  expr: SelectPlan['limit'],
  ctx: EvalContext,
  what: string,
): number | undefined {
  if (expr === undefined) return undefined;
  const v = evaluate(expr, ctx);
  if (v === UNSET) return undefined;
  if (v === null) throw invalid(`Invalid null value of ${what}`);
  const n = v.readInt32BE(0);
  if (n <= 0)
    throw invalid(
      `${what === 'limit' ? 'LIMIT' : 'PER PARTITION LIMIT'} must be strictly positive`,
    );
  return n;
}

function tokenBound(plan: SelectPlan, which: 'tokenLower' | 'tokenUpper', ctx: EvalContext) {
  const b = plan.where[which];
  if (b === undefined) return undefined;
  const v = evaluate(b.expr, ctx);
  if (v === UNSET || v === null || v.length !== 8) {
    throw invalid('Invalid null value for partition key token');
  }
  return { token: v.readBigInt64BE(0), inclusive: b.inclusive };
}

function buildScan(plan: SelectPlan, ctx: EvalContext): Scan {
  const { table, where } = plan;
  let keys: Buffer[] | undefined;
  if (plan.keyLookup) {
    const lists = where.partition.map((r) => (r === undefined ? [] : (equalValues(r, ctx) ?? [])));
    const seen = new Set<string>();
    keys = [];
    for (const values of cartesian(lists)) {
      const key = serializePartitionKey(values);
      const id = key.toString('latin1');
      if (seen.has(id)) continue;
      seen.add(id);
      keys.push(key);
    }
  }
  const clustering = table.clustering.map((_, i) => {
    const r = where.clustering[i];
    return r === undefined ? [] : columnTests(r, ctx);
  });
  const prefix: Buffer[] = [];
  for (const r of where.clustering) {
    const eq = r === undefined ? undefined : equalValues(r, ctx);
    if (eq === undefined || eq.length !== 1 || eq[0] === undefined) break;
    prefix.push(eq[0]);
  }
  // Partition key restrictions under ALLOW FILTERING (not a full key) are filters too.
  const others: ColumnFilter[] = where.others.map((r) => ({
    column: r.column,
    tests: columnTests(r, ctx),
  }));
  if (!plan.keyLookup) {
    for (const r of where.partition) {
      if (r !== undefined) others.push({ column: r.column, tests: columnTests(r, ctx) });
    }
  }
  return {
    plan,
    nowMs: ctx.nowMs,
    keys,
    tokenLower: tokenBound(plan, 'tokenLower', ctx),
    tokenUpper: tokenBound(plan, 'tokenUpper', ctx),
    clustering,
    prefix,
    others,
  };
}

function liveCell(cell: Cell | undefined, nowMs: number): Cell | undefined {
  return cell !== undefined && isLive(cell, nowMs) ? cell : undefined;
}

function cellOf(item: Item, column: ColumnDef, nowMs: number): Cell | undefined {
  if (column.kind === 'static') return liveCell(item.partition.statics.get(column.name), nowMs);
  return liveCell(item.row?.cells.get(column.name), nowMs);
}

function valueOf(item: Item, column: ColumnDef, nowMs: number): Buffer | null {
  switch (column.kind) {
    case 'partition_key':
      return item.partition.keyValues[column.position] ?? null;
    case 'clustering':
      return item.row?.clustering[column.position] ?? null;
    case 'static':
    case 'regular':
      return cellOf(item, column, nowMs)?.value ?? null;
  }
}

function passesOthers(scan: Scan, item: Item): boolean {
  return scan.others.every((f) => {
    const v = valueOf(item, f.column, scan.nowMs);
    return f.tests.every((t) => t(v));
  });
}

function* partitions(scan: Scan, resume: PagingState | undefined): Generator<Partition> {
  const store = scan.plan.table.store;
  if (scan.keys !== undefined) {
    let start = 0;
    if (resume !== undefined) {
      const i = scan.keys.findIndex((k) => k.equals(resume.partitionKey));
      start = i < 0 ? scan.keys.length : resume.clustering === undefined ? i + 1 : i;
    }
    for (let i = start; i < scan.keys.length; i++) {
      const key = scan.keys[i];
      const p = key === undefined ? undefined : store.get(key);
      if (p !== undefined) yield p;
    }
    return;
  }
  let i = 0;
  if (resume !== undefined) {
    const token = murmur3Token(resume.partitionKey);
    i = store.indexOf(token, resume.partitionKey, resume.clustering === undefined);
  } else if (scan.tokenLower !== undefined) {
    i = store.indexOfToken(scan.tokenLower.token, !scan.tokenLower.inclusive);
  }
  for (; i < store.size; i++) {
    const p = store.at(i);
    if (p === undefined) break;
    const lower = scan.tokenLower;
    if (
      lower !== undefined &&
      (p.token < lower.token || (!lower.inclusive && p.token === lower.token))
    ) {
      continue;
    }
    const upper = scan.tokenUpper;
    if (
      upper !== undefined &&
      (p.token > upper.token || (!upper.inclusive && p.token === upper.token))
    ) {
      break;
    }
    yield p;
  }
}

function rowMatches(scan: Scan, p: Partition, row: StoredRow): boolean {
  if (!rowIsLive(row, scan.nowMs)) return false;
  for (let i = 0; i < scan.clustering.length; i++) {
    const tests = scan.clustering[i] ?? [];
    const v = row.clustering[i] ?? null;
    if (!tests.every((t) => t(v))) return false;
  }
  return passesOthers(scan, { partition: p, row });
}

function* rowsOf(scan: Scan, p: Partition, after: Buffer[] | undefined): Generator<StoredRow> {
  const store = scan.plan.table.store;
  let lo = 0;
  let hi = p.rows.length;
  if (scan.prefix.length > 0) {
    lo = store.rowIndex(p, scan.prefix, false);
    hi = store.rowIndex(p, scan.prefix, true);
  }
  const reversed = scan.plan.reversed;
  if (after !== undefined) {
    if (reversed) hi = Math.min(hi, store.rowIndex(p, after, false));
    else lo = Math.max(lo, store.rowIndex(p, after, true));
  }
  for (let k = 0; k < hi - lo; k++) {
    const row = p.rows[reversed ? hi - 1 - k : lo + k];
    if (row !== undefined && rowMatches(scan, p, row)) yield row;
  }
}

function hasLiveRow(p: Partition, nowMs: number): boolean {
  return p.rows.some((r) => rowIsLive(r, nowMs));
}

function* items(scan: Scan, resume: PagingState | undefined): Generator<Item> {
  const { plan, nowMs } = scan;
  for (const p of partitions(scan, resume)) {
    const resuming = resume !== undefined && p.key.equals(resume.partitionKey);
    if (plan.distinct) {
      const item: Item = { partition: p, row: undefined };
      if ((hasLiveRow(p, nowMs) || hasLiveStatics(p, nowMs)) && passesOthers(scan, item))
        yield item;
      continue;
    }
    const after = resuming ? resume.clustering : undefined;
    let any = false;
    for (const row of rowsOf(scan, p, after)) {
      any = true;
      yield { partition: p, row };
    }
    if (!any && !resuming && plan.staticRows && !hasLiveRow(p, nowMs) && hasLiveStatics(p, nowMs)) {
      const item: Item = { partition: p, row: undefined };
      if (passesOthers(scan, item)) yield item;
    }
  }
}

/** Astra refuses SELECTs with too many IN combinations or partition keys. */
function checkInGuardrails(plan: SelectPlan, scan: Scan, ctx: EvalContext): void {
  let product = 1;
  let hasIn = false;
  for (const r of [...plan.where.partition, ...plan.where.clustering]) {
    if (r === undefined || (r.inList === undefined && (r.values?.length ?? 0) <= 1)) continue;
    hasIn = true;
    product *= equalValues(r, ctx)?.length ?? 1;
  }
  if (!hasIn) return;
  checkInCartesianProduct(product);
  if (scan.keys !== undefined) checkPartitionKeysInSelect(scan.keys.length);
}

function long(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v, 0);
  return b;
}

function project(s: CompiledSelector, item: Item, nowMs: number): Buffer | null {
  switch (s.kind) {
    case 'column':
      return valueOf(item, s.column, nowMs);
    case 'writetime': {
      const cell = cellOf(item, s.column, nowMs);
      return cell === undefined ? null : long(cell.writetime);
    }
    case 'ttl': {
      const cell = cellOf(item, s.column, nowMs);
      if (cell?.expiresAt === undefined) return null;
      const b = Buffer.alloc(4);
      b.writeInt32BE(Math.max(0, Math.ceil((cell.expiresAt - nowMs) / 1000)), 0);
      return b;
    }
    case 'token':
      return long(item.partition.token);
    case 'count':
      return null;
  }
}

function aggregateRow(plan: SelectPlan, all: Iterable<Item>, nowMs: number): (Buffer | null)[] {
  const counts = plan.selectors.map(() => 0n);
  let first: Item | undefined;
  for (const item of all) {
    first ??= item;
    plan.selectors.forEach((s, i) => {
      if (s.kind !== 'count') return;
      if (s.column === undefined || valueOf(item, s.column, nowMs) !== null) {
        counts[i] = (counts[i] ?? 0n) + 1n;
      }
    });
  }
  return plan.selectors.map((s, i) => {
    if (s.kind === 'count') return long(counts[i] ?? 0n);
    return first === undefined ? null : project(s, first, nowMs);
  });
}

/** IN on the partition key with ORDER BY: rows of all partitions merged in clustering order. */
function* merged(scan: Scan): Generator<Item> {
  const all = [...items(scan, undefined)];
  const { clustering } = scan.plan.table;
  const sign = scan.plan.reversed ? -1 : 1;
  all.sort(
    (a, b) =>
      sign * compareClustering(clustering, a.row?.clustering ?? [], b.row?.clustering ?? []),
  );
  yield* all;
}

export function executeSelect(
  plan: SelectPlan,
  ctx: EvalContext,
  request: SelectRequest,
): EngineResult {
  const limit = positiveInt(plan.limit, ctx, 'limit');
  const perPartition = positiveInt(plan.perPartitionLimit, ctx, 'per partition limit');
  const scan = buildScan(plan, ctx);
  if (request.guardrails) checkInGuardrails(plan, scan, ctx);
  const nowMs = ctx.nowMs;
  const pageSize =
    request.pageSize !== undefined && request.pageSize > 0 ? request.pageSize : undefined;
  const postOrdering = plan.ordered && scan.keys !== undefined && scan.keys.length > 1;
  if (plan.aggregate) {
    return {
      kind: 'rows',
      columns: plan.columns,
      rows: [aggregateRow(plan, items(scan, undefined), nowMs)],
    };
  }
  if (postOrdering && pageSize !== undefined) {
    throw invalid(
      'Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must either remove the ORDER BY or the IN and sort client side, or disable paging for this query',
    );
  }
  const resume =
    request.pagingState === undefined ? undefined : decodePagingState(request.pagingState);
  let remaining = resume !== undefined ? resume.remaining : limit;
  let current: Partition | undefined;
  let inPartition = 0;
  const rows: (Buffer | null)[][] = [];
  let last: Item | undefined;
  let lastInPartition = 0;
  let more = false;
  const source = postOrdering ? merged(scan) : items(scan, resume);
  for (const item of source) {
    if (item.partition !== current) {
      current = item.partition;
      inPartition =
        resume !== undefined && item.partition.key.equals(resume.partitionKey)
          ? resume.inPartition
          : 0;
    }
    if (perPartition !== undefined && inPartition >= perPartition) continue;
    if (remaining !== undefined && remaining <= 0) break;
    if (pageSize !== undefined && rows.length >= pageSize) {
      more = true;
      break;
    }
    rows.push(plan.selectors.map((s) => project(s, item, nowMs)));
    inPartition++;
    if (remaining !== undefined) remaining--;
    last = item;
    lastInPartition = inPartition;
  }
  const result: EngineResult = { kind: 'rows', columns: plan.columns, rows };
  if (more && last !== undefined) {
    result.pagingState = encodePagingState({
      partitionKey: last.partition.key,
      clustering: last.row?.clustering,
      remaining,
      inPartition: lastInPartition,
    });
  }
  return result;
}
