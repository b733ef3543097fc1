// The proxy's own answers to SELECTs on system.local, system.peers, system.peers_v2 and the legacy
// schema tables (cql-proxy-behaviour.md §4.2–§4.4): drivers must see a cluster whose only node (or
// whose nodes, with peer proxies) is the proxy, so they send everything to it.
//
// Differences from cql-proxy, on purpose: native_protocol_version is the version number ('4', as
// Cassandra writes it, not 'ProtocolVersion OSS 4'); count(*) is a bigint, as Cassandra's, and is
// right with zero peers (one row, 0); peers_v2 answers "unconfigured table peers_v2" as Cassandra
// 3.x and ZDM do; unknown columns get Cassandra's "Undefined column name x"; toTimestamp(now()),
// toUnixTimestamp(now()) and uuid() are served; the legacy tables honour selectors too.

import type { ClusterInfo } from '../upstream/contract.js';
import { DataType } from '../protocol/constants.js';
import type { Selector, SystemTable } from '../protocol/cql-lexer.js';
import { type ColumnType, nativeType } from '../protocol/messages/column-type.js';
import type { ColumnSpec } from '../protocol/messages/result.js';
import {
  encodeBigint,
  encodeInet,
  encodeStringSet,
  encodeText,
  encodeTimestamp,
  encodeTimeuuid,
  encodeUuid,
} from '../protocol/values.js';
import type { ProxyTopology } from './topology.js';
import { nameBasedUuid, randomUuid, timeUuid } from './uuids.js';

/** Everything a synthetic row depends on. */
export interface SystemTableContext {
  info: ClusterInfo;
  topology: ProxyTopology;
  /** The local address of the client's connection: the rpc_address when none is configured. */
  connectionAddress: string;
  /** The client's protocol version. */
  version: number;
}

export type SystemAnswer =
  | { kind: 'rows'; columns: ColumnSpec[]; rows: (Buffer | null)[][] }
  | { kind: 'invalid'; message: string };

/** Cassandra's schema_version never changes here: the proxy does not track the schema. */
export const SCHEMA_VERSION = '4f2b29e6-59b5-4e2d-8fd6-01e32e67f0d7';
export const CLUSTER_NAME = 'cql-proxy';
export const RACK = 'rack1';

const VARCHAR = nativeType(DataType.VARCHAR);
const INET = nativeType(DataType.INET);
const UUID = nativeType(DataType.UUID);
const TIMEUUID = nativeType(DataType.TIMEUUID);
const BIGINT = nativeType(DataType.BIGINT);
const TIMESTAMP = nativeType(DataType.TIMESTAMP);
const BOOLEAN = nativeType(DataType.BOOLEAN);
const INT = nativeType(DataType.INT);
const DOUBLE = nativeType(DataType.DOUBLE);
const SET_OF_VARCHAR: ColumnType = { id: DataType.SET, element: VARCHAR };
const LIST_OF_VARCHAR: ColumnType = { id: DataType.LIST, element: VARCHAR };
const MAP_VARCHAR_BIGINT: ColumnType = { id: DataType.MAP, key: VARCHAR, value: BIGINT };

interface Column {
  name: string;
  type: ColumnType;
}

/** A table's columns in `SELECT *` order and its rows, cells in the same order. */
interface Table {
  name: SystemTable;
  columns: readonly Column[];
  rows: readonly (readonly (Buffer | null)[])[];
}

function col(name: string, type: ColumnType): Column {
  return { name, type };
}

// Legacy schema tables of Cassandra 2.x (system.schema_*), for drivers that still read them with
// protocol v3 (old java-driver 2.1). Always empty: the schema lives in system_schema, forwarded.
const LEGACY_TABLES: Readonly<Record<string, readonly Column[]>> = {
  schema_keyspaces: [
    col('keyspace_name', VARCHAR),
    col('durable_writes', BOOLEAN),
    col('strategy_class', VARCHAR),
    col('strategy_options', VARCHAR),
  ],
  schema_columnfamilies: [
    col('keyspace_name', VARCHAR),
    col('columnfamily_name', VARCHAR),
    col('bloom_filter_fp_chance', DOUBLE),
    col('caching', VARCHAR),
    col('cf_id', UUID),
    col('column_aliases', VARCHAR),
    col('comment', VARCHAR),
    col('compaction_strategy_class', VARCHAR),
    col('compaction_strategy_options', VARCHAR),
    col('comparator', VARCHAR),
    col('compression_parameters', VARCHAR),
    col('default_time_to_live', INT),
    col('default_validator', VARCHAR),
    col('dropped_columns', MAP_VARCHAR_BIGINT),
    col('gc_grace_seconds', INT),
    col('index_interval', INT),
    col('is_dense', BOOLEAN),
    col('key_aliases', VARCHAR),
    col('key_validator', VARCHAR),
    col('local_read_repair_chance', DOUBLE),
    col('max_compaction_threshold', INT),
    col('max_index_interval', INT),
    col('memtable_flush_period_in_ms', INT),
    col('min_compaction_threshold', INT),
    col('min_index_interval', INT),
    col('read_repair_chance', DOUBLE),
    col('speculative_retry', VARCHAR),
    col('subcomparator', VARCHAR),
    col('type', VARCHAR),
    col('value_alias', VARCHAR),
  ],
  schema_columns: [
    col('keyspace_name', VARCHAR),
    col('columnfamily_name', VARCHAR),
    col('column_name', VARCHAR),
    col('component_index', INT),
    col('index_name', VARCHAR),
    col('index_options', VARCHAR),
    col('index_type', VARCHAR),
    col('type', VARCHAR),
    col('validator', VARCHAR),
  ],
  schema_usertypes: [
    col('keyspace_name', VARCHAR),
    col('type_name', VARCHAR),
    col('field_names', LIST_OF_VARCHAR),
    col('field_types', LIST_OF_VARCHAR),
  ],
};

function hasDse(info: ClusterInfo): boolean {
  return info.dseVersion !== undefined && info.dseVersion !== '';
}

/** The rpc address clients should use for this proxy. */
export function localRpcAddress(ctx: SystemTableContext): string {
  return ctx.topology.rpcAddress ?? ctx.connectionAddress;
}

function localDataCenter(ctx: SystemTableContext): string {
  return ctx.topology.dataCenter ?? ctx.info.dataCenter;
}

// system.local, `SELECT *` order of cql-proxy §4.2 (dse_version after data_center on DSE).
function localTable(ctx: SystemTableContext): Table {
  const { info } = ctx;
  const rpcAddress = localRpcAddress(ctx);
  const cells: [Column, Buffer][] = [
    [col('key', VARCHAR), encodeText('local')],
    [col('rpc_address', INET), encodeInet(rpcAddress)],
    [col('data_center', VARCHAR), encodeText(localDataCenter(ctx))],
  ];
  if (hasDse(info)) cells.push([col('dse_version', VARCHAR), encodeText(info.dseVersion ?? '')]);
  cells.push(
    [col('rack', VARCHAR), encodeText(RACK)],
    [col('tokens', SET_OF_VARCHAR), encodeStringSet(ctx.topology.tokens)],
    [col('release_version', VARCHAR), encodeText(info.releaseVersion)],
    [col('partitioner', VARCHAR), encodeText(info.partitioner)],
    [col('cluster_name', VARCHAR), encodeText(CLUSTER_NAME)],
    [col('cql_version', VARCHAR), encodeText(info.cqlVersion)],
    [col('schema_version', UUID), encodeUuid(SCHEMA_VERSION)],
    [col('native_protocol_version', VARCHAR), encodeText(String(ctx.version))],
    [col('host_id', UUID), encodeUuid(nameBasedUuid(rpcAddress))],
  );
  return { name: 'local', columns: cells.map((c) => c[0]), rows: [cells.map((c) => c[1])] };
}

// system.peers, `SELECT *` order of cql-proxy §4.3: one row per peer proxy, none by default.
function peersTable(ctx: SystemTableContext): Table {
  const { info } = ctx;
  const dse = hasDse(info);
  const columns: Column[] = [
    col('peer', INET),
    col('rpc_address', INET),
    col('data_center', VARCHAR),
    ...(dse ? [col('dse_version', VARCHAR)] : []),
    col('rack', VARCHAR),
    col('tokens', SET_OF_VARCHAR),
    col('release_version', VARCHAR),
    col('schema_version', UUID),
    col('host_id', UUID),
  ];
  const rows = ctx.topology.peers.map((peer) => {
    const address = encodeInet(peer.rpcAddress);
    return [
      address,
      address,
      encodeText(peer.dataCenter ?? localDataCenter(ctx)),
      ...(dse ? [encodeText(info.dseVersion ?? '')] : []),
      encodeText(RACK),
      encodeStringSet(peer.tokens),
      encodeText(info.releaseVersion),
      encodeUuid(SCHEMA_VERSION),
      encodeUuid(nameBasedUuid(peer.rpcAddress)),
    ];
  });
  return { name: 'peers', columns, rows };
}

function tableFor(name: SystemTable, ctx: SystemTableContext): Table | undefined {
  switch (name) {
    case 'local':
      return localTable(ctx);
    case 'peers':
      return peersTable(ctx);
    case 'peers_v2':
      return undefined;
    case 'schema_keyspaces':
    case 'schema_columnfamilies':
    case 'schema_columns':
    case 'schema_usertypes':
      return { name, columns: LEGACY_TABLES[name] ?? [], rows: [] };
  }
}

/** One output column: its spec and how to compute the cell from a source row. */
interface Output {
  name: string;
  type: ColumnType;
  cell: (
    row: readonly (Buffer | null)[] | undefined,
    rowCount: number,
    ms: number,
  ) => Buffer | null;
}

function output(selector: Selector, table: Table): Output | string {
  const indexOf = (name: string): number => table.columns.findIndex((c) => c.name === name);
  switch (selector.kind) {
    case 'column': {
      const i = indexOf(selector.name);
      const column = table.columns[i];
      if (column === undefined) return `Undefined column name ${selector.name}`;
      return { name: selector.name, type: column.type, cell: (row) => row?.[i] ?? null };
    }
    case 'count': {
      if (selector.column === undefined) {
        return { name: 'count', type: BIGINT, cell: (_row, n) => encodeBigint(n) };
      }
      const i = indexOf(selector.column);
      if (i < 0) return `Undefined column name ${selector.column}`;
      // count(col) counts the non-null values; the proxy's rows have none, but say it properly.
      const nonNull = table.rows.filter((r) => r[i] !== null).length;
      return {
        name: `system.count(${selector.column})`,
        type: BIGINT,
        cell: () => encodeBigint(nonNull),
      };
    }
    case 'now':
      return {
        name: 'system.now()',
        type: TIMEUUID,
        cell: (_row, _n, ms) => encodeTimeuuid(timeUuid(ms)),
      };
    case 'uuid':
      return { name: 'system.uuid()', type: UUID, cell: () => encodeUuid(randomUuid()) };
    case 'toTimestamp':
      return {
        name: 'system.totimestamp(system.now())',
        type: TIMESTAMP,
        cell: (_row, _n, ms) => encodeTimestamp(ms),
      };
    case 'toUnixTimestamp':
      return {
        name: 'system.tounixtimestamp(system.now())',
        type: BIGINT,
        cell: (_row, _n, ms) => encodeBigint(ms),
      };
  }
}

/**
 * The answer to `SELECT <selectors> FROM system.<table>`. WHERE and LIMIT are ignored: every
 * table has at most the rows the proxy knows, and system.local exactly one.
 */
export function answerSystemSelect(
  table: SystemTable,
  selectors: '*' | readonly Selector[],
  ctx: SystemTableContext,
): SystemAnswer {
  const source = tableFor(table, ctx);
  if (source === undefined) return { kind: 'invalid', message: `unconfigured table ${table}` };
  const spec = (name: string, type: ColumnType): ColumnSpec => ({
    keyspace: 'system',
    table: source.name,
    name,
    type,
  });

  if (selectors === '*') {
    return {
      kind: 'rows',
      columns: source.columns.map((c) => spec(c.name, c.type)),
      rows: source.rows.map((r) => [...r]),
    };
  }

  const outputs: Output[] = [];
  for (const selector of selectors) {
    const out = output(selector, source);
    if (typeof out === 'string') return { kind: 'invalid', message: out };
    outputs.push(selector.alias === undefined ? out : { ...out, name: selector.alias });
  }
  // With an aggregate the result is one row; plain columns beside it take the first row's values
  // (null when there is none), as Cassandra does.
  const aggregate = selectors.some((s) => s.kind === 'count');
  const sourceRows: (readonly (Buffer | null)[] | undefined)[] = aggregate
    ? [source.rows[0]]
    : [...source.rows];
  const ms = Date.now();
  const rowCount = source.rows.length;
  return {
    kind: 'rows',
    columns: outputs.map((o) => spec(o.name, o.type)),
    rows: sourceRows.map((row) => outputs.map((o) => o.cell(row, rowCount, ms))),
  };
}
