// Runs one modification or a batch of them: every statement is resolved first (so one bad child
// leaves the store untouched), then batch rules are checked with Cassandra 4.0's messages
// (BatchStatement), then conditions, then the writes are applied together.

import type { BatchKind } from './ast.js';
import type { EngineResult } from './contract.js';
import { invalid } from './errors.js';
import { batchCasResult, casResult, checkConditions } from './lwt.js';
import type { ModificationPlan } from './modification-plan.js';
import {
  type ResolvedWrite,
  type WriteDefaults,
  applyWrite,
  resolveWrite,
} from './modification-exec.js';
import type { EvalContext } from './values.js';

export interface WriteJob {
  plan: ModificationPlan;
  ctx: EvalContext;
}

function checkBatchKinds(jobs: readonly WriteJob[], batchType: BatchKind): void {
  const counters = jobs.filter((j) => j.plan.isCounter).length;
  if (batchType === 'counter') {
    if (counters < jobs.length)
      throw invalid('Cannot include non-counter statement in a counter batch');
    return;
  }
  if (counters > 0 && batchType === 'logged') {
    throw invalid('Cannot include a counter statement in a logged batch');
  }
  if (counters > 0 && counters < jobs.length) {
    throw invalid('Counter and non-counter mutations cannot exist in the same batch');
  }
}

function checkConditionalBatch(writes: readonly ResolvedWrite[]): void {
  const first = writes[0];
  if (first === undefined) return;
  for (const w of writes) {
    if (w.plan.table !== first.plan.table)
      throw invalid('Batch with conditions cannot span multiple tables');
    for (const t of w.targets) {
      if (!t.partitionKey.equals(first.targets[0]?.partitionKey ?? t.partitionKey)) {
        throw invalid('Batch with conditions cannot span multiple partitions');
      }
    }
  }
}

/** A single statement (batchType undefined) or a batch. */
export function runWrites(
  jobs: readonly WriteJob[],
  batchType: BatchKind | undefined,
  defaults: WriteDefaults,
  batchTimestamp: bigint | undefined,
): EngineResult {
  if (batchType !== undefined) checkBatchKinds(jobs, batchType);
  const conditional = jobs.some((j) => j.plan.conditions.kind !== 'none');
  if (conditional && batchTimestamp !== undefined) {
    throw invalid('Cannot provide custom timestamp for conditional BATCH');
  }
  const timestamp = batchTimestamp ?? defaults.timestamp;
  const writes = jobs.map((j) => resolveWrite(j.plan, j.ctx, { ...defaults, timestamp }));
  const nowMs = defaults.nowMs;
  if (!conditional) {
    for (const w of writes) applyWrite(w, nowMs);
    return { kind: 'void' };
  }
  if (batchType === undefined) {
    const w = writes[0];
    if (w === undefined) return { kind: 'void' };
    const { applied, current } = checkConditions(w, nowMs);
    const result = casResult(w, applied, current, nowMs);
    if (applied) applyWrite(w, nowMs);
    return result;
  }
  checkConditionalBatch(writes);
  const applied = writes.every((w) => checkConditions(w, nowMs).applied);
  const result = batchCasResult(writes, applied, nowMs);
  if (applied) for (const w of writes) applyWrite(w, nowMs);
  return result;
}
