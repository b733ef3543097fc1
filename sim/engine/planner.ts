// A parsed statement bound to the schema: the table it reads or writes resolved (with Cassandra's
// "Keyspace 'x' does not exist" / "unconfigured table t" / "No keyspace has been specified"),
// its terms typed, its bind variables known. Plans are what prepared statements keep and what the
// engine caches for repeated QUERY strings.

import type { BatchKind, ParsedStatement, QualifiedName } from './ast.js';
import type { SchemaStatement } from './ddl.js';
import {
  invalid,
  keyspaceDoesNotExist,
  noKeyspace,
  unauthorized,
  unconfiguredTable,
} from './errors.js';
import { type ModificationPlan, planModification } from './modification-plan.js';
import type { Catalog, TableDef } from './schema.js';
import { type SelectPlan, planSelect } from './select-plan.js';
import { native } from './types.js';
import { Bindings, type ValueExpr, planTerm } from './values.js';

export interface BatchPlan {
  kind: 'batch';
  batchType: BatchKind;
  bindings: Bindings;
  statements: ModificationPlan[];
  timestamp: ValueExpr | undefined;
}

export interface SchemaPlan {
  kind: 'schema';
  statement: SchemaStatement;
  bindings: Bindings;
  /** The keyspace unqualified names resolve to (fixed when prepared, as in Cassandra). */
  keyspace: string | undefined;
}

export type Plan = SelectPlan | ModificationPlan | BatchPlan | SchemaPlan;

export function resolveTable(
  catalog: Catalog,
  name: QualifiedName,
  keyspace: string | undefined,
): TableDef {
  const ksName = name.keyspace ?? keyspace;
  if (ksName === undefined) throw noKeyspace();
  const ks = catalog.keyspaces.get(ksName);
  if (ks === undefined) throw keyspaceDoesNotExist(ksName);
  const table = ks.tables.get(name.name);
  if (table === undefined) throw unconfiguredTable(name.name);
  return table;
}

function writable(table: TableDef, catalog: Catalog): TableDef {
  if (catalog.keyspaces.get(table.keyspace)?.system === true) {
    throw unauthorized(`${table.keyspace} keyspace is not user-modifiable.`);
  }
  return table;
}

/** The tables a plan reads or writes (prepared statements die with them). */
export function planTables(plan: Plan): TableDef[] {
  switch (plan.kind) {
    case 'select':
    case 'modification':
      return [plan.table];
    case 'batch':
      return plan.statements.map((s) => s.table);
    case 'schema':
      return [];
  }
}

export function planStatement(
  parsed: ParsedStatement,
  catalog: Catalog,
  keyspace: string | undefined,
): Plan {
  const { statement, markers } = parsed;
  const bindings = new Bindings(markers);
  switch (statement.kind) {
    case 'select':
      return planSelect(statement, resolveTable(catalog, statement.table, keyspace), markers);
    case 'insert':
    case 'update':
    case 'delete': {
      const table = writable(resolveTable(catalog, statement.table, keyspace), catalog);
      return planModification(statement, table, bindings);
    }
    case 'batch': {
      const statements = statement.statements.map((s) => {
        const table = writable(resolveTable(catalog, s.table, keyspace), catalog);
        return planModification(s, table, bindings);
      });
      const timestamp =
        statement.using.timestamp === undefined
          ? undefined
          : planTerm(
              statement.using.timestamp,
              { keyspace: '', table: '', name: '[timestamp]', type: native('bigint') },
              bindings,
            );
      if (statement.using.ttl !== undefined) {
        throw invalid('Global TTL on the BATCH statement is not supported.');
      }
      if (timestamp !== undefined && statements.some((s) => s.timestamp !== undefined)) {
        throw invalid('Timestamp must be set either on BATCH or individual statements');
      }
      return { kind: 'batch', batchType: statement.batchType, bindings, statements, timestamp };
    }
    case 'createKeyspace':
    case 'dropKeyspace':
    case 'createTable':
    case 'dropTable':
    case 'truncate':
    case 'use':
      if (markers.length > 0) throw invalid('Bind variables are not allowed in schema statements');
      return { kind: 'schema', statement, bindings, keyspace };
  }
}
