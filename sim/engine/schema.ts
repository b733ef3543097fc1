// The schema: keyspaces, tables and their columns, and the schema version every node reports.
// Tables are shared by all simulated nodes (one store, as a replicated cluster looks).

import { createHash, randomUUID } from 'node:crypto';
import { formatUuid } from '../../src/protocol/reader.js';
import { compareValues } from './compare.js';
import type { ExecutionContext } from './contract.js';
import { TableStore } from './storage.js';
import type { SimType } from './types.js';

export type ColumnKind = 'partition_key' | 'clustering' | 'regular' | 'static';

export interface ColumnDef {
  readonly name: string;
  readonly type: SimType;
  readonly kind: ColumnKind;
  /** Index within the partition key or the clustering columns; -1 for other columns. */
  readonly position: number;
  /** CLUSTERING ORDER ... DESC. */
  readonly desc: boolean;
}

/** One row of a system table, by column name (absent = null). */
export type VirtualRow = ReadonlyMap<string, Buffer | null>;

/** Where a system table's rows come from: computed per query from the catalog and node. */
export type VirtualSource = (context: ExecutionContext) => readonly VirtualRow[];

export interface TableDef {
  readonly keyspace: string;
  readonly name: string;
  readonly id: string;
  readonly columns: ReadonlyMap<string, ColumnDef>;
  readonly partitionKey: readonly ColumnDef[];
  readonly clustering: readonly ColumnDef[];
  readonly statics: readonly ColumnDef[];
  readonly regulars: readonly ColumnDef[];
  /** SELECT * order: partition key, clustering, then the others by name (Cassandra's order). */
  readonly selectOrder: readonly ColumnDef[];
  readonly defaultTtl: number;
  readonly isCounter: boolean;
  /** Set for system tables, whose rows are computed; their store is refilled per query. */
  readonly virtual: VirtualSource | undefined;
  readonly store: TableStore;
}

export interface KeyspaceDef {
  readonly name: string;
  readonly durableWrites: boolean;
  /** system_schema.keyspaces.replication: class (fully qualified) and options, as text. */
  readonly replication: ReadonlyMap<string, string>;
  readonly tables: Map<string, TableDef>;
  /** system, system_schema, ...: not user-modifiable. */
  readonly system: boolean;
  /** Virtual keyspaces (system_virtual_schema, system_views) are not in system_schema. */
  readonly virtual: boolean;
}

export interface TableLayout {
  keyspace: string;
  name: string;
  id?: string;
  columns: ColumnDef[];
  defaultTtl: number;
  virtual?: VirtualSource;
}

/** Cassandra's Columns order: simple (not multi-cell) columns first, then by name bytes. */
function byNameSimpleFirst(a: ColumnDef, b: ColumnDef): number {
  const ca = a.type.kind !== 'native' && a.type.kind !== 'tuple' && !a.type.frozen ? 1 : 0;
  const cb = b.type.kind !== 'native' && b.type.kind !== 'tuple' && !b.type.frozen ? 1 : 0;
  if (ca !== cb) return ca - cb;
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

export function makeTable(layout: TableLayout): TableDef {
  const columns = new Map(layout.columns.map((c) => [c.name, c]));
  const ofKind = (kind: ColumnKind): ColumnDef[] =>
    layout.columns.filter((c) => c.kind === kind).sort((a, b) => a.position - b.position);
  const partitionKey = ofKind('partition_key');
  const clustering = ofKind('clustering');
  const statics = ofKind('static').sort(byNameSimpleFirst);
  const regulars = ofKind('regular').sort(byNameSimpleFirst);
  const isCounter = [...statics, ...regulars].some(
    (c) => c.type.kind === 'native' && c.type.name === 'counter',
  );
  return {
    keyspace: layout.keyspace,
    name: layout.name,
    id: layout.id ?? randomUUID(),
    columns,
    partitionKey,
    clustering,
    statics,
    regulars,
    selectOrder: [...partitionKey, ...clustering, ...statics, ...regulars],
    defaultTtl: layout.defaultTtl,
    isCounter,
    virtual: layout.virtual,
    store: new TableStore((a, b) => compareClustering(clustering, a, b)),
  };
}

/** Row order within a partition: clustering values by type, each reversed when DESC. */
export function compareClustering(
  clustering: readonly ColumnDef[],
  a: readonly Buffer[],
  b: readonly Buffer[],
): number {
  for (let i = 0; i < clustering.length; i++) {
    const col = clustering[i];
    const x = a[i];
    const y = b[i];
    if (col === undefined || x === undefined || y === undefined) break;
    const c = compareValues(col.type, x, y);
    if (c !== 0) return col.desc ? -c : c;
  }
  return 0;
}

export class Catalog {
  readonly keyspaces = new Map<string, KeyspaceDef>();
  private version: string;
  private changes = 0;

  constructor() {
    this.version = this.computeVersion();
  }

  /** system.local/peers schema_version: one uuid, changed by every DDL. */
  get schemaVersion(): string {
    return this.version;
  }

  /** The version node `hostId` reports: its own view when the engine has one (schema-views.ts). */
  schemaVersionOf(hostId: string): string {
    return this.nodeVersion?.(hostId) ?? this.version;
  }

  /** Set by the engine when schema changes propagate with a delay. */
  nodeVersion: ((hostId: string) => string) | undefined = undefined;

  /** Bumped on every DDL; cached plans from an older generation are re-planned. */
  get generation(): number {
    return this.changes;
  }

  schemaChanged(): void {
    this.changes++;
    this.version = this.computeVersion();
  }

  /** A name-based (version 3) uuid of the schema and the change count, like Cassandra's digest. */
  private computeVersion(): string {
    const h = createHash('md5');
    h.update(String(this.changes));
    for (const ks of this.keyspaces.values()) {
      h.update(ks.name);
      for (const t of ks.tables.values()) h.update(`${t.name}:${t.id}`);
    }
    const b = h.digest();
    b[6] = ((b[6] ?? 0) & 0x0f) | 0x30;
    b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
    return formatUuid(b);
  }
}
