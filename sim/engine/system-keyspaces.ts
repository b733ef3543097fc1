// Installs the system keyspaces and tables (system-definitions.ts) into a catalog, each table
// with the function computing its rows, and loads those rows into the table's store before a
// query reads it, so SELECTs of system tables go through the same WHERE, projection and paging
// code as user tables.

import type { CreateTable } from './ast.js';
import type { ExecutionContext } from './contract.js';
import { parseStatement } from './parser.js';
import { serializePartitionKey } from './partition-key.js';
import { type Catalog, type TableDef, type VirtualSource, makeTable } from './schema.js';
import { SYSTEM_KEYSPACES } from './system-definitions.js';
import {
  columnsRows,
  keyspacesRows,
  localRows,
  peersRows,
  tablesRows,
  virtualColumnsRows,
  virtualKeyspacesRows,
  virtualTablesRows,
} from './system-rows.js';
import { buildTableLayout } from './table-builder.js';

function sources(catalog: Catalog, gossipGeneration: number): Map<string, VirtualSource> {
  const comments = new Map<string, string>();
  for (const ks of SYSTEM_KEYSPACES) {
    for (const [table, comment] of Object.entries(ks.comments ?? {}))
      comments.set(`${ks.name}.${table}`, comment);
  }
  return new Map<string, VirtualSource>([
    ['system.local', (ctx) => localRows(catalog, ctx, gossipGeneration)],
    ['system.peers', (ctx) => peersRows(catalog, ctx)],
    ['system_schema.keyspaces', () => keyspacesRows(catalog)],
    ['system_schema.tables', () => tablesRows(catalog)],
    ['system_schema.columns', () => columnsRows(catalog)],
    ['system_virtual_schema.keyspaces', () => virtualKeyspacesRows(catalog)],
    ['system_virtual_schema.tables', () => virtualTablesRows(catalog, comments)],
    ['system_virtual_schema.columns', () => virtualColumnsRows(catalog)],
  ]);
}

const NO_ROWS: VirtualSource = () => [];

export function installSystemKeyspaces(catalog: Catalog, gossipGeneration: number): void {
  const rowSources = sources(catalog, gossipGeneration);
  for (const def of SYSTEM_KEYSPACES) {
    const tables = new Map<string, TableDef>();
    catalog.keyspaces.set(def.name, {
      name: def.name,
      durableWrites: true,
      replication: new Map(Object.entries(def.replication)),
      tables,
      system: true,
      virtual: def.virtual,
    });
    for (const text of def.tables) {
      const ast = parseStatement(text).statement as CreateTable;
      const layout = buildTableLayout(ast, def.name);
      const virtual = rowSources.get(`${def.name}.${layout.name}`) ?? NO_ROWS;
      tables.set(layout.name, makeTable({ ...layout, virtual }));
    }
  }
}

/** Refills a system table's store with its current rows. */
export function loadVirtualRows(table: TableDef, context: ExecutionContext): void {
  if (table.virtual === undefined) return;
  const store = table.store;
  store.clear();
  for (const r of table.virtual(context)) {
    const keyValues = table.partitionKey.map((c) => r.get(c.name) ?? Buffer.alloc(0));
    const p = store.getOrCreate(serializePartitionKey(keyValues), keyValues);
    const clustering = table.clustering.map((c) => r.get(c.name) ?? Buffer.alloc(0));
    const row = store.getOrCreateRow(p, clustering);
    row.marker = { writetime: 0n, expiresAt: undefined, ttl: undefined };
    for (const c of [...table.statics, ...table.regulars]) {
      const v = r.get(c.name);
      if (v === undefined || v === null) continue;
      const cells = c.kind === 'static' ? p.statics : row.cells;
      cells.set(c.name, { value: v, writetime: 0n, expiresAt: undefined, ttl: undefined });
    }
  }
}
