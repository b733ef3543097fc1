// The rows of the system tables, computed per query: system.local and system.peers from the
// node a statement runs on and its peers (docs/astra.md §3.2: release 4.0.0.6816, CQL 3.4.5,
// cluster 'cndb', Murmur3), system_schema.* and system_virtual_schema.* from the catalog.

import {
  encodeBoolean,
  encodeInet,
  encodeInt,
  encodeMapEntries,
  encodeStringMap,
  encodeStringSet,
  encodeText,
  encodeUuid,
} from '../../src/protocol/values.js';
import type { ExecutionContext, NodeIdentity } from './contract.js';
import type { Catalog, ColumnDef, TableDef, VirtualRow } from './schema.js';
import { TABLE_DEFAULTS } from './system-definitions.js';
import { typeToCql } from './types.js';

export const RELEASE_VERSION = '4.0.0.6816';
export const CQL_VERSION = '3.4.5';
export const CLUSTER_NAME = 'cndb';
export const PARTITIONER = 'org.apache.cassandra.dht.Murmur3Partitioner';
/** The storage (gossip) port Cassandra 4.0 reports for broadcast_port / listen_port. */
const STORAGE_PORT = 7000;

function row(entries: Record<string, Buffer | null>): VirtualRow {
  return new Map(Object.entries(entries));
}

function double(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v, 0);
  return b;
}

/** system.local: the node the statement runs on. */
export function localRows(
  catalog: Catalog,
  context: ExecutionContext,
  gossipGeneration: number,
): VirtualRow[] {
  const n = context.node;
  return [
    row({
      key: encodeText('local'),
      bootstrapped: encodeText('COMPLETED'),
      broadcast_address: encodeInet(n.address),
      broadcast_port: encodeInt(STORAGE_PORT),
      cluster_name: encodeText(CLUSTER_NAME),
      cql_version: encodeText(CQL_VERSION),
      data_center: encodeText(n.dataCenter),
      gossip_generation: encodeInt(gossipGeneration),
      host_id: encodeUuid(n.hostId),
      listen_address: encodeInet(n.address),
      listen_port: encodeInt(STORAGE_PORT),
      native_protocol_version: encodeText(String(context.protocolVersion)),
      partitioner: encodeText(PARTITIONER),
      rack: encodeText(n.rack),
      release_version: encodeText(RELEASE_VERSION),
      rpc_address: encodeInet(n.address),
      rpc_port: encodeInt(n.port),
      schema_version: encodeUuid(catalog.schemaVersionOf(n.hostId)),
      tokens: encodeStringSet([...(n.tokens ?? [n.token])]),
      truncated_at: null,
    }),
  ];
}

function peerRow(catalog: Catalog, p: NodeIdentity): VirtualRow {
  return row({
    peer: encodeInet(p.address),
    data_center: encodeText(p.dataCenter),
    host_id: encodeUuid(p.hostId),
    preferred_ip: null,
    rack: encodeText(p.rack),
    release_version: encodeText(RELEASE_VERSION),
    rpc_address: encodeInet(p.address),
    schema_version: encodeUuid(catalog.schemaVersionOf(p.hostId)),
    tokens: encodeStringSet([...(p.tokens ?? [p.token])]),
  });
}

/** system.peers: the other nodes that are up. */
export function peersRows(catalog: Catalog, context: ExecutionContext): VirtualRow[] {
  return context
    .peers()
    .filter((p) => p.hostId !== context.node.hostId)
    .map((p) => peerRow(catalog, p));
}

export function keyspacesRows(catalog: Catalog): VirtualRow[] {
  return [...catalog.keyspaces.values()]
    .filter((ks) => !ks.virtual)
    .map((ks) =>
      row({
        keyspace_name: encodeText(ks.name),
        durable_writes: encodeBoolean(ks.durableWrites),
        replication: encodeStringMap(ks.replication),
      }),
    );
}

function tableRow(t: TableDef): VirtualRow {
  const d = TABLE_DEFAULTS;
  return row({
    keyspace_name: encodeText(t.keyspace),
    table_name: encodeText(t.name),
    additional_write_policy: encodeText(d.additionalWritePolicy),
    bloom_filter_fp_chance: double(d.bloomFilterFpChance),
    caching: encodeStringMap(d.caching),
    cdc: encodeBoolean(d.cdc),
    comment: encodeText(d.comment),
    compaction: encodeStringMap(d.compaction),
    compression: encodeStringMap(d.compression),
    crc_check_chance: double(d.crcCheckChance),
    dclocal_read_repair_chance: double(d.dclocalReadRepairChance),
    default_time_to_live: encodeInt(t.defaultTtl),
    extensions: encodeMapEntries([]),
    flags: encodeStringSet(d.flags),
    gc_grace_seconds: encodeInt(d.gcGraceSeconds),
    id: encodeUuid(t.id),
    max_index_interval: encodeInt(d.maxIndexInterval),
    memtable_flush_period_in_ms: encodeInt(d.memtableFlushPeriodInMs),
    min_index_interval: encodeInt(d.minIndexInterval),
    read_repair: encodeText(d.readRepair),
    read_repair_chance: double(d.readRepairChance),
    speculative_retry: encodeText(d.speculativeRetry),
  });
}

function tablesOf(catalog: Catalog, virtual: boolean): TableDef[] {
  return [...catalog.keyspaces.values()]
    .filter((ks) => ks.virtual === virtual)
    .flatMap((ks) => [...ks.tables.values()]);
}

export function tablesRows(catalog: Catalog): VirtualRow[] {
  return tablesOf(catalog, false).map(tableRow);
}

function columnRow(t: TableDef, c: ColumnDef): VirtualRow {
  return row({
    keyspace_name: encodeText(t.keyspace),
    table_name: encodeText(t.name),
    column_name: encodeText(c.name),
    clustering_order: encodeText(c.kind === 'clustering' ? (c.desc ? 'desc' : 'asc') : 'none'),
    column_name_bytes: Buffer.from(c.name, 'utf8'),
    kind: encodeText(c.kind),
    position: encodeInt(c.position),
    type: encodeText(typeToCql(c.type)),
  });
}

function columnsOf(tables: readonly TableDef[]): VirtualRow[] {
  return tables.flatMap((t) => [...t.columns.values()].map((c) => columnRow(t, c)));
}

export function columnsRows(catalog: Catalog): VirtualRow[] {
  return columnsOf(tablesOf(catalog, false));
}

export function virtualKeyspacesRows(catalog: Catalog): VirtualRow[] {
  return [...catalog.keyspaces.values()]
    .filter((ks) => ks.virtual)
    .map((ks) => row({ keyspace_name: encodeText(ks.name) }));
}

export function virtualTablesRows(
  catalog: Catalog,
  comments: ReadonlyMap<string, string>,
): VirtualRow[] {
  return tablesOf(catalog, true).map((t) =>
    row({
      keyspace_name: encodeText(t.keyspace),
      table_name: encodeText(t.name),
      comment: encodeText(comments.get(`${t.keyspace}.${t.name}`) ?? ''),
    }),
  );
}

export function virtualColumnsRows(catalog: Catalog): VirtualRow[] {
  return columnsOf(tablesOf(catalog, true));
}
