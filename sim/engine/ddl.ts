// Schema statements (CREATE/DROP KEYSPACE and TABLE, TRUNCATE, USE) run against the catalog,
// worded as Cassandra 4.0 (CreateKeyspaceStatement, DropKeyspaceStatement, CreateTableStatement,
// DropTableStatement). A change bumps the schema version and is reported as a Schema_change
// result (spec v4 §4.2.5.5) and to the listeners that turn it into SCHEMA_CHANGE events; an
// IF [NOT] EXISTS that changes nothing is a Void result, as in Cassandra 4.0.

import {
  SchemaChangeTarget,
  SchemaChangeType,
  type SchemaChange,
} from '../../src/protocol/messages/schema-change.js';
import type {
  CreateKeyspace,
  CreateTable,
  DropKeyspace,
  DropTable,
  QualifiedName,
  Truncate,
  Use,
} from './ast.js';
import type { EngineResult } from './contract.js';
import {
  alreadyExists,
  invalid,
  keyspaceDoesNotExist,
  noKeyspace,
  unauthorized,
  unconfiguredTable,
} from './errors.js';
import { checkColumnsPerTable } from './guardrails.js';
import { keyspaceOptions } from './keyspace-options.js';
import { type Catalog, type KeyspaceDef, type TableDef, makeTable } from './schema.js';
import { buildTableLayout } from './table-builder.js';

export type SchemaStatement =
  CreateKeyspace | DropKeyspace | CreateTable | DropTable | Truncate | Use;

export interface DdlContext {
  catalog: Catalog;
  /** The keyspace unqualified names belong to (USE, or the v5 per-query keyspace). */
  keyspace: string | undefined;
  guardrails: boolean;
  /** Called after every schema change (events, prepared statement invalidation). */
  changed: (change: SchemaChange, dropped: readonly TableDef[]) => void;
}

const NAME = /^\w{1,48}$/;

function checkName(name: string, what: 'Keyspace' | 'Table'): void {
  if (!NAME.test(name)) {
    throw invalid(
      `${what} name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got "${name}")`,
    );
  }
}

function notModifiable(ks: KeyspaceDef | undefined, name: string): void {
  if (ks?.system === true) throw unauthorized(`${name} keyspace is not user-modifiable.`);
}

function keyspaceName(q: QualifiedName, ctx: DdlContext): string {
  const ks = q.keyspace ?? ctx.keyspace;
  if (ks === undefined) throw noKeyspace();
  return ks;
}

function schemaResult(
  ctx: DdlContext,
  change: SchemaChange,
  dropped: readonly TableDef[] = [],
): EngineResult {
  ctx.catalog.schemaChanged();
  ctx.changed(change, dropped);
  return { kind: 'schema_change', change };
}

function createKeyspace(s: CreateKeyspace, ctx: DdlContext): EngineResult {
  checkName(s.name, 'Keyspace');
  const options = keyspaceOptions(s.properties);
  if (ctx.catalog.keyspaces.has(s.name)) {
    if (s.ifNotExists) return { kind: 'void' };
    throw alreadyExists(s.name);
  }
  ctx.catalog.keyspaces.set(s.name, {
    name: s.name,
    durableWrites: options.durableWrites,
    replication: options.replication,
    tables: new Map(),
    system: false,
    virtual: false,
  });
  return schemaResult(ctx, {
    changeType: SchemaChangeType.CREATED,
    target: SchemaChangeTarget.KEYSPACE,
    keyspace: s.name,
  });
}

function dropKeyspace(s: DropKeyspace, ctx: DdlContext): EngineResult {
  const ks = ctx.catalog.keyspaces.get(s.name);
  notModifiable(ks, s.name);
  if (ks === undefined) {
    if (s.ifExists) return { kind: 'void' };
    throw invalid(`Keyspace '${s.name}' doesn't exist`);
  }
  ctx.catalog.keyspaces.delete(s.name);
  return schemaResult(
    ctx,
    { changeType: SchemaChangeType.DROPPED, target: SchemaChangeTarget.KEYSPACE, keyspace: s.name },
    [...ks.tables.values()],
  );
}

function createTable(s: CreateTable, ctx: DdlContext): EngineResult {
  const ksName = keyspaceName(s.table, ctx);
  const ks = ctx.catalog.keyspaces.get(ksName);
  notModifiable(ks, ksName);
  if (ks === undefined) throw invalid(`Keyspace '${ksName}' doesn't exist`);
  checkName(s.table.name, 'Table');
  const layout = buildTableLayout(s, ksName);
  if (ctx.guardrails) checkColumnsPerTable(layout.columns.length, s.table.name);
  if (ks.tables.has(s.table.name)) {
    if (s.ifNotExists) return { kind: 'void' };
    throw alreadyExists(ksName, s.table.name);
  }
  ks.tables.set(s.table.name, makeTable(layout));
  return schemaResult(ctx, {
    changeType: SchemaChangeType.CREATED,
    target: SchemaChangeTarget.TABLE,
    keyspace: ksName,
    name: s.table.name,
  });
}

function dropTable(s: DropTable, ctx: DdlContext): EngineResult {
  const ksName = keyspaceName(s.table, ctx);
  const ks = ctx.catalog.keyspaces.get(ksName);
  notModifiable(ks, ksName);
  if (ks === undefined) {
    if (s.ifExists) return { kind: 'void' };
    throw invalid(`Keyspace '${ksName}' doesn't exist`);
  }
  const table = ks.tables.get(s.table.name);
  if (table === undefined) {
    if (s.ifExists) return { kind: 'void' };
    throw invalid(`Table '${ksName}.${s.table.name}' doesn't exist`);
  }
  ks.tables.delete(s.table.name);
  return schemaResult(
    ctx,
    {
      changeType: SchemaChangeType.DROPPED,
      target: SchemaChangeTarget.TABLE,
      keyspace: ksName,
      name: s.table.name,
    },
    [table],
  );
}

function truncate(s: Truncate, ctx: DdlContext): EngineResult {
  const ksName = keyspaceName(s.table, ctx);
  const ks = ctx.catalog.keyspaces.get(ksName);
  if (ks === undefined) throw keyspaceDoesNotExist(ksName);
  notModifiable(ks, ksName);
  const table = ks.tables.get(s.table.name);
  if (table === undefined) throw unconfiguredTable(s.table.name);
  table.store.clear();
  return { kind: 'void' };
}

function use(s: Use, ctx: DdlContext): EngineResult {
  if (!ctx.catalog.keyspaces.has(s.keyspace)) throw keyspaceDoesNotExist(s.keyspace);
  return { kind: 'set_keyspace', keyspace: s.keyspace };
}

export function executeSchemaStatement(s: SchemaStatement, ctx: DdlContext): EngineResult {
  switch (s.kind) {
    case 'createKeyspace':
      return createKeyspace(s, ctx);
    case 'dropKeyspace':
      return dropKeyspace(s, ctx);
    case 'createTable':
      return createTable(s, ctx);
    case 'dropTable':
      return dropTable(s, ctx);
    case 'truncate':
      return truncate(s, ctx);
    case 'use':
      return use(s, ctx);
  }
}
