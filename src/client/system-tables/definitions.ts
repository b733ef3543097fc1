// The tables the proxy answers itself, column by column, as Cassandra 4.0 declares them
// (SystemKeyspace.java: system.local, system.peers, system.peers_v2; the Cassandra 2.x legacy
// schema tables for old drivers). Each column knows how to fill its cell for one node, so a
// table's rows are the proxy and its peer proxies seen through its columns.

import type { ClusterInfo } from '../../upstream/contract.js';
import { DataType } from '../../protocol/constants.js';
import type { SystemTable } from '../../protocol/cql-system-select.js';
import { type ColumnType, nativeType } from '../../protocol/messages/column-type.js';
import {
  encodeInet,
  encodeInt,
  encodeMapEntries,
  encodeStringSet,
  encodeText,
  encodeUuid,
} from '../../protocol/values.js';
import { type NodeView, schemaVersion } from './nodes.js';

export const VARCHAR = nativeType(DataType.VARCHAR);
export const INET = nativeType(DataType.INET);
export const UUID = nativeType(DataType.UUID);
export const TIMEUUID = nativeType(DataType.TIMEUUID);
export const BIGINT = nativeType(DataType.BIGINT);
export const TIMESTAMP = nativeType(DataType.TIMESTAMP);
export const BOOLEAN = nativeType(DataType.BOOLEAN);
export const INT = nativeType(DataType.INT);
export const DOUBLE = nativeType(DataType.DOUBLE);
export const BLOB = nativeType(DataType.BLOB);
const SET_OF_VARCHAR: ColumnType = { id: DataType.SET, element: VARCHAR };
const LIST_OF_VARCHAR: ColumnType = { id: DataType.LIST, element: VARCHAR };
const MAP_VARCHAR_BIGINT: ColumnType = { id: DataType.MAP, key: VARCHAR, value: BIGINT };
const MAP_UUID_BLOB: ColumnType = { id: DataType.MAP, key: UUID, value: BLOB };

/** Where a column sits in the primary key: `SELECT *` lists partition key, clustering, the rest. */
export type ColumnKind = 'partition' | 'clustering' | 'regular';

export interface Column {
  name: string;
  type: ColumnType;
  kind: ColumnKind;
  /** The cell of this column in the row of `node`. */
  cell: (node: NodeView) => Buffer | null;
}

/** A table's columns in `SELECT *` order. */
export interface TableDefinition {
  name: SystemTable;
  columns: readonly Column[];
  /** Legacy tables have no rows; the others have one row per node they describe. */
  rowsOf: 'local' | 'peers' | 'none';
}

function column(
  name: string,
  type: ColumnType,
  cell: (node: NodeView) => Buffer | null,
  kind: ColumnKind = 'regular',
): Column {
  return { name, type, kind, cell };
}

/**
 * Cassandra's `SELECT *` order: partition key and clustering columns in key order, then the
 * other columns sorted by name (their UTF-8 bytes; here all ASCII).
 */
export function cassandraOrder(columns: readonly Column[]): Column[] {
  const key = columns.filter((c) => c.kind !== 'regular');
  const rest = columns
    .filter((c) => c.kind === 'regular')
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [
    ...key.filter((c) => c.kind === 'partition'),
    ...key.filter((c) => c.kind === 'clustering'),
    ...rest,
  ];
}

/** Cassandra's storage port: listen_port, broadcast_port, peer_port and preferred_port. */
export const STORAGE_PORT = 7000;
export const CLUSTER_NAME = 'cql-proxy';
export const RACK = 'rack1';
/** truncated_at: nothing was ever truncated on the proxy, an empty map<uuid, blob>. */
const EMPTY_MAP = encodeMapEntries([]);

export function hasDse(info: ClusterInfo): boolean {
  return info.dseVersion !== undefined && info.dseVersion !== '';
}

/**
 * Whether system.peers_v2 exists. It came with Cassandra 4.0 (CASSANDRA-7544), so it exists when
 * the release the proxy reports (the cluster's release_version) is 4.0 or later. DSE, whose 6.8
 * reports release 4.0.0.68xx, never had it: with a dse_version the proxy answers as DSE does.
 */
export function hasPeersV2(info: ClusterInfo): boolean {
  if (hasDse(info)) return false;
  const major = Number.parseInt(info.releaseVersion, 10);
  return Number.isInteger(major) && major >= 4;
}

const dseVersion = (info: ClusterInfo): Column =>
  column('dse_version', VARCHAR, () => encodeText(info.dseVersion ?? ''));

// CREATE TABLE system.local (key text, bootstrapped text, broadcast_address inet,
// broadcast_port int, cluster_name text, cql_version text, data_center text,
// gossip_generation int, host_id uuid, listen_address inet, listen_port int,
// native_protocol_version text, partitioner text, rack text, release_version text,
// rpc_address inet, rpc_port int, schema_version uuid, tokens set<varchar>,
// truncated_at map<uuid, blob>, PRIMARY KEY ((key)))
function localColumns(info: ClusterInfo): Column[] {
  return [
    column('key', VARCHAR, () => encodeText('local'), 'partition'),
    column('bootstrapped', VARCHAR, () => encodeText('COMPLETED')),
    column('broadcast_address', INET, (n) => encodeInet(n.address)),
    column('broadcast_port', INT, () => encodeInt(STORAGE_PORT)),
    column('cluster_name', VARCHAR, () => encodeText(CLUSTER_NAME)),
    column('cql_version', VARCHAR, () => encodeText(info.cqlVersion)),
    column('data_center', VARCHAR, (n) => encodeText(n.dataCenter)),
    ...(hasDse(info) ? [dseVersion(info)] : []),
    column('gossip_generation', INT, (n) => encodeInt(n.gossipGeneration)),
    column('host_id', UUID, (n) => encodeUuid(n.hostId)),
    column('listen_address', INET, (n) => encodeInet(n.address)),
    column('listen_port', INT, () => encodeInt(STORAGE_PORT)),
    column('native_protocol_version', VARCHAR, (n) => encodeText(String(n.protocolVersion))),
    column('partitioner', VARCHAR, () => encodeText(info.partitioner)),
    column('rack', VARCHAR, () => encodeText(RACK)),
    column('release_version', VARCHAR, () => encodeText(info.releaseVersion)),
    column('rpc_address', INET, (n) => encodeInet(n.address)),
    // Cassandra 4.0 writes the native transport port here (persistLocalMetadata).
    column('rpc_port', INT, (n) => encodeInt(n.nativePort)),
    column('schema_version', UUID, (n) => encodeUuid(schemaVersion(n))),
    column('tokens', SET_OF_VARCHAR, (n) => encodeStringSet(n.tokens)),
    column('truncated_at', MAP_UUID_BLOB, () => EMPTY_MAP),
  ];
}

// CREATE TABLE system.peers (peer inet, data_center text, host_id uuid, preferred_ip inet,
// rack text, release_version text, rpc_address inet, schema_version uuid, tokens set<varchar>,
// PRIMARY KEY ((peer)))
function peersColumns(info: ClusterInfo): Column[] {
  return [
    column('peer', INET, (n) => encodeInet(n.address), 'partition'),
    column('data_center', VARCHAR, (n) => encodeText(n.dataCenter)),
    ...(hasDse(info) ? [dseVersion(info)] : []),
    column('host_id', UUID, (n) => encodeUuid(n.hostId)),
    column('preferred_ip', INET, (n) => encodeInet(n.address)),
    column('rack', VARCHAR, () => encodeText(RACK)),
    column('release_version', VARCHAR, () => encodeText(info.releaseVersion)),
    column('rpc_address', INET, (n) => encodeInet(n.address)),
    column('schema_version', UUID, (n) => encodeUuid(schemaVersion(n))),
    column('tokens', SET_OF_VARCHAR, (n) => encodeStringSet(n.tokens)),
  ];
}

// CREATE TABLE system.peers_v2 (peer inet, peer_port int, data_center text, host_id uuid,
// preferred_ip inet, preferred_port int, rack text, release_version text, native_address inet,
// native_port int, schema_version uuid, tokens set<varchar>, PRIMARY KEY ((peer), peer_port))
function peersV2Columns(info: ClusterInfo): Column[] {
  return cassandraOrder([
    column('peer', INET, (n) => encodeInet(n.address), 'partition'),
    column('peer_port', INT, () => encodeInt(STORAGE_PORT), 'clustering'),
    column('data_center', VARCHAR, (n) => encodeText(n.dataCenter)),
    column('host_id', UUID, (n) => encodeUuid(n.hostId)),
    column('preferred_ip', INET, (n) => encodeInet(n.address)),
    column('preferred_port', INT, () => encodeInt(STORAGE_PORT)),
    column('rack', VARCHAR, () => encodeText(RACK)),
    column('release_version', VARCHAR, () => encodeText(info.releaseVersion)),
    column('native_address', INET, (n) => encodeInet(n.address)),
    column('native_port', INT, (n) => encodeInt(n.nativePort)),
    column('schema_version', UUID, (n) => encodeUuid(schemaVersion(n))),
    column('tokens', SET_OF_VARCHAR, (n) => encodeStringSet(n.tokens)),
  ]);
}

const none = (): null => null;
const legacy = (name: string, type: ColumnType, kind: ColumnKind = 'regular'): Column =>
  column(name, type, none, kind);

// Legacy schema tables of Cassandra 2.x (system.schema_*), for drivers that still read them with
// protocol v3 (old java-driver 2.1). Always empty: the schema lives in system_schema, forwarded.
const LEGACY_TABLES: Readonly<Record<string, readonly Column[]>> = {
  schema_keyspaces: [
    legacy('keyspace_name', VARCHAR, 'partition'),
    legacy('durable_writes', BOOLEAN),
    legacy('strategy_class', VARCHAR),
    legacy('strategy_options', VARCHAR),
  ],
  schema_columnfamilies: [
    legacy('keyspace_name', VARCHAR, 'partition'),
    legacy('columnfamily_name', VARCHAR, 'clustering'),
    ...[
      ['bloom_filter_fp_chance', DOUBLE],
      ['caching', VARCHAR],
      ['cf_id', UUID],
      ['column_aliases', VARCHAR],
      ['comment', VARCHAR],
      ['compaction_strategy_class', VARCHAR],
      ['compaction_strategy_options', VARCHAR],
      ['comparator', VARCHAR],
      ['compression_parameters', VARCHAR],
      ['default_time_to_live', INT],
      ['default_validator', VARCHAR],
      ['dropped_columns', MAP_VARCHAR_BIGINT],
      ['gc_grace_seconds', INT],
      ['index_interval', INT],
      ['is_dense', BOOLEAN],
      ['key_aliases', VARCHAR],
      ['key_validator', VARCHAR],
      ['local_read_repair_chance', DOUBLE],
      ['max_compaction_threshold', INT],
      ['max_index_interval', INT],
      ['memtable_flush_period_in_ms', INT],
      ['min_compaction_threshold', INT],
      ['min_index_interval', INT],
      ['read_repair_chance', DOUBLE],
      ['speculative_retry', VARCHAR],
      ['subcomparator', VARCHAR],
      ['type', VARCHAR],
      ['value_alias', VARCHAR],
    ].map(([name, type]) => legacy(name as string, type as ColumnType)),
  ],
  schema_columns: [
    legacy('keyspace_name', VARCHAR, 'partition'),
    legacy('columnfamily_name', VARCHAR, 'clustering'),
    legacy('column_name', VARCHAR, 'clustering'),
    legacy('component_index', INT),
    legacy('index_name', VARCHAR),
    legacy('index_options', VARCHAR),
    legacy('index_type', VARCHAR),
    legacy('type', VARCHAR),
    legacy('validator', VARCHAR),
  ],
  schema_usertypes: [
    legacy('keyspace_name', VARCHAR, 'partition'),
    legacy('type_name', VARCHAR, 'clustering'),
    legacy('field_names', LIST_OF_VARCHAR),
    legacy('field_types', LIST_OF_VARCHAR),
  ],
};

/** The table as the proxy serves it to a cluster described by `info`; undefined: no such table. */
export function tableDefinition(name: SystemTable, info: ClusterInfo): TableDefinition | undefined {
  switch (name) {
    case 'local':
      return { name, columns: cassandraOrder(localColumns(info)), rowsOf: 'local' };
    case 'peers':
      return { name, columns: cassandraOrder(peersColumns(info)), rowsOf: 'peers' };
    case 'peers_v2':
      return hasPeersV2(info)
        ? { name, columns: peersV2Columns(info), rowsOf: 'peers' }
        : undefined;
    case 'schema_keyspaces':
    case 'schema_columnfamilies':
    case 'schema_columns':
    case 'schema_usertypes':
      return { name, columns: LEGACY_TABLES[name] ?? [], rowsOf: 'none' };
  }
}
