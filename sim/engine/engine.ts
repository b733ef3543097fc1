// The storage engine behind every simulated node (contract.ts): one catalog and store shared by
// all nodes, QUERY/PREPARE/EXECUTE/BATCH on top of the parser, planner and executors.

import { Consistency } from '../../src/protocol/constants.js';
import { UNSET } from '../../src/protocol/reader.js';
import type { SchemaChange } from '../../src/protocol/messages/schema-change.js';
import type { BatchKind } from './ast.js';
import type {
  BatchChild,
  BoundValue,
  Engine,
  EngineResult,
  ExecutionContext,
  PreparedStatementInfo,
  StatementOptions,
} from './contract.js';
import { executeSchemaStatement } from './ddl.js';
import { invalid, unprepared } from './errors.js';
import { checkWriteConsistency } from './guardrails.js';
import type { ModificationPlan } from './modification-plan.js';
import { parseStatement } from './parser.js';
import { authorize } from './permissions.js';
import { type Plan, planStatement, planTables } from './planner.js';
import { preparedInfo } from './prepared.js';
import { Catalog, type TableDef } from './schema.js';
import { SchemaViews } from './schema-views.js';
import { executeSelect } from './select-exec.js';
import { installSystemKeyspaces, loadVirtualRows } from './system-keyspaces.js';
import type { Bindings, EvalContext } from './values.js';
import { evaluate } from './values.js';
import { type WriteJob, runWrites } from './write-runner.js';

export interface EngineOptions {
  /** Astra's guardrails (write consistency, IN limits, columns per table). Default true. */
  guardrails?: boolean;
  /** The clock, in ms since the epoch (TTLs, now(), write times). Default Date.now. */
  now?: () => number;
  /** How long a schema change takes to reach the other nodes (schema-views.ts). Default 0. */
  schemaDelayMs?: number;
}

interface PreparedEntry {
  info: PreparedStatementInfo;
  plan: Plan;
  tables: ReadonlySet<TableDef>;
}

interface CachedPlan {
  plan: Plan;
  generation: number;
}

/** Planned QUERY strings kept; the cache is simply emptied when it fills up. */
const PLAN_CACHE_SIZE = 4096;

const BATCH_TYPES: readonly BatchKind[] = ['logged', 'unlogged', 'counter'];

function isSerial(consistency: number | undefined): boolean {
  return consistency === Consistency.SERIAL || consistency === Consistency.LOCAL_SERIAL;
}

/** Bound values in bind marker order, from positional values or `names` (spec v4 §4.1.4 flag 0x40). */
function orderValues(
  bindings: Bindings,
  values: readonly BoundValue[],
  names: readonly string[] | undefined,
): BoundValue[] {
  const variables = bindings.variables();
  if (names === undefined) {
    if (values.length !== variables.length) {
      throw invalid(
        `Invalid amount of bind variables: expected ${variables.length}, got ${values.length}`,
      );
    }
    return [...values];
  }
  const ordered: BoundValue[] = [];
  for (const v of variables) {
    let j = names.indexOf(v.name);
    if (j < 0) j = names.findIndex((n) => n.toLowerCase() === v.name.toLowerCase());
    if (j < 0) {
      throw invalid(
        `Invalid amount of bind variables: expected ${variables.length}, got ${ordered.length}`,
      );
    }
    ordered.push(values[j] ?? null);
  }
  return ordered;
}

function isWrite(plan: Plan): boolean {
  return plan.kind === 'modification' || plan.kind === 'batch';
}

function isConditional(plans: readonly ModificationPlan[]): boolean {
  return plans.some((p) => p.conditions.kind !== 'none');
}

class SimEngine implements Engine {
  private readonly catalog = new Catalog();
  private readonly prepared = new Map<string, PreparedEntry>();
  private readonly plans = new Map<string, CachedPlan>();
  private readonly listeners = new Set<(change: SchemaChange) => void>();
  private readonly guardrails: boolean;
  private readonly now: () => number;
  private lastTimestamp = 0n;
  private readonly views: SchemaViews;

  constructor(options: EngineOptions) {
    this.guardrails = options.guardrails ?? true;
    this.now = options.now ?? Date.now;
    installSystemKeyspaces(this.catalog, Math.floor(this.now() / 1000));
    this.catalog.schemaChanged();
    this.views = new SchemaViews(this.catalog, this.now);
    this.views.delayMs = options.schemaDelayMs ?? 0;
    this.catalog.nodeVersion = (hostId) => this.views.versionOf(hostId);
  }

  get schemaDelayMs(): number {
    return this.views.delayMs;
  }

  set schemaDelayMs(ms: number) {
    this.views.delayMs = ms;
  }

  setNodeUp(hostId: string, up: boolean): void {
    this.views.setUp(hostId, up);
  }

  execute(query: string, options: StatementOptions, context: ExecutionContext): EngineResult {
    const keyspace = options.keyspace ?? context.keyspace;
    return this.run(this.planFor(query, keyspace), options, context);
  }

  prepare(query: string, context: ExecutionContext): PreparedStatementInfo {
    const plan = this.authorized(
      planStatement(parseStatement(query), this.catalog, context.keyspace),
      context,
    );
    this.views.checkTables(context.node.hostId, planTables(plan));
    const info = preparedInfo(query, context.keyspace, plan);
    this.prepared.set(info.id.toString('hex'), { info, plan, tables: new Set(planTables(plan)) });
    return info;
  }

  preparedInfo(id: Buffer): PreparedStatementInfo | undefined {
    return this.prepared.get(id.toString('hex'))?.info;
  }

  executePrepared(id: Buffer, options: StatementOptions, context: ExecutionContext): EngineResult {
    const entry = this.prepared.get(id.toString('hex'));
    if (entry === undefined) throw unprepared(id);
    return this.run(entry.plan, options, context);
  }

  batch(
    type: number,
    children: readonly BatchChild[],
    options: StatementOptions,
    context: ExecutionContext,
  ): EngineResult {
    const keyspace = options.keyspace ?? context.keyspace;
    const nowMs = this.now();
    const plans = children.map((child): ModificationPlan => {
      let plan: Plan;
      if (child.kind === 'query') {
        plan = this.planFor(child.query, keyspace);
      } else {
        const entry = this.prepared.get(child.id.toString('hex'));
        if (entry === undefined) throw unprepared(child.id);
        plan = entry.plan;
      }
      if (plan.kind !== 'modification') {
        throw invalid(
          'Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.',
        );
      }
      return plan;
    });
    // Cassandra's BatchMessage collects every statement first, then BatchStatement.authorize
    // checks each in order: the first one the role may not run is the one named.
    for (const plan of plans) this.authorized(plan, context);
    this.views.checkTables(
      context.node.hostId,
      plans.map((p) => p.table),
    );
    const jobs: WriteJob[] = plans.map((plan, i) => {
      const child = children[i]!;
      return {
        plan,
        ctx: { values: orderValues(plan.bindings, child.values, child.names), nowMs },
      };
    });
    this.checkWrite(options, isConditional(jobs.map((j) => j.plan)));
    const batchType = BATCH_TYPES[type] ?? 'logged';
    return runWrites(jobs, batchType, this.writeDefaults(options, nowMs), undefined);
  }

  onSchemaChange(listener: (change: SchemaChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private planFor(query: string, keyspace: string | undefined): Plan {
    const key = `${keyspace ?? ''}\u0000${query}`;
    const cached = this.plans.get(key);
    if (cached !== undefined && cached.generation === this.catalog.generation) return cached.plan;
    const plan = planStatement(parseStatement(query), this.catalog, keyspace);
    // Schema statements run against the schema of the moment: never cached.
    if (plan.kind !== 'schema') {
      if (this.plans.size >= PLAN_CACHE_SIZE) this.plans.clear();
      this.plans.set(key, { plan, generation: this.catalog.generation });
    }
    return plan;
  }

  /** Server-side write time: microseconds, strictly increasing. */
  private nextTimestamp(nowMs: number): bigint {
    let ts = BigInt(nowMs) * 1000n;
    if (ts <= this.lastTimestamp) ts = this.lastTimestamp + 1n;
    this.lastTimestamp = ts;
    return ts;
  }

  private writeDefaults(options: StatementOptions, nowMs: number) {
    return { nowMs, timestamp: options.timestamp ?? this.nextTimestamp(nowMs) };
  }

  private checkWrite(options: StatementOptions, conditional: boolean): void {
    if (this.guardrails) checkWriteConsistency(options.consistency);
    if (!conditional && isSerial(options.consistency)) {
      throw invalid('You must use conditional updates for serializable writes');
    }
    if (
      conditional &&
      options.serialConsistency !== undefined &&
      !isSerial(options.serialConsistency)
    ) {
      throw invalid(
        'Invalid consistency for conditional update. Must be one of SERIAL or LOCAL_SERIAL',
      );
    }
  }

  private schemaChanged(change: SchemaChange, dropped: readonly TableDef[]): void {
    if (dropped.length > 0) {
      for (const [id, entry] of this.prepared) {
        if (dropped.some((t) => entry.tables.has(t))) this.prepared.delete(id);
      }
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's failure (a closed connection) must not undo or fail the DDL.
      }
    }
  }

  /**
   * The one gate to permissions.ts: every statement passes here once planned (QUERY, PREPARE,
   * EXECUTE, each BATCH child), so a prepared id cannot carry one role's statement to another.
   */
  private authorized<P extends Plan>(plan: P, context: ExecutionContext): P {
    authorize(plan, context.role);
    return plan;
  }

  private run(plan: Plan, options: StatementOptions, context: ExecutionContext): EngineResult {
    this.authorized(plan, context);
    const nowMs = this.now();
    if (plan.kind === 'schema') {
      if (plan.statement.kind === 'use') {
        this.views.checkKeyspace(context.node.hostId, plan.statement.keyspace);
      }
      return executeSchemaStatement(plan.statement, {
        catalog: this.catalog,
        keyspace: plan.keyspace,
        guardrails: this.guardrails,
        changed: (change, dropped) => {
          this.views.record(context.node.hostId, change);
          this.schemaChanged(change, dropped);
        },
      });
    }
    this.views.checkTables(context.node.hostId, planTables(plan));
    if (isWrite(plan)) {
      const statements =
        plan.kind === 'batch' ? plan.statements : plan.kind === 'modification' ? [plan] : [];
      this.checkWrite(options, isConditional(statements));
    }
    const ctx: EvalContext = {
      values: orderValues(plan.bindings, options.values, options.names),
      nowMs,
    };
    switch (plan.kind) {
      case 'select':
        if (plan.table.virtual !== undefined) loadVirtualRows(plan.table, context);
        return executeSelect(plan, ctx, {
          pageSize: options.pageSize,
          pagingState: options.pagingState,
          guardrails: this.guardrails,
        });
      case 'modification':
        return runWrites([{ plan, ctx }], undefined, this.writeDefaults(options, nowMs), undefined);
      case 'batch': {
        let batchTimestamp: bigint | undefined;
        if (plan.timestamp !== undefined) {
          const v = evaluate(plan.timestamp, ctx);
          if (v === null) throw invalid('Invalid null value of timestamp');
          if (v !== UNSET) batchTimestamp = v.readBigInt64BE(0);
        }
        const jobs = plan.statements.map((s) => ({ plan: s, ctx }));
        return runWrites(jobs, plan.batchType, this.writeDefaults(options, nowMs), batchTimestamp);
      }
    }
  }
}

export function createEngine(options: EngineOptions = {}): Engine {
  return new SimEngine(options);
}
