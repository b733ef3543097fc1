// The system tables Cassandra 4.0 defines (SystemKeyspace, SchemaKeyspace, TraceKeyspace,
// VirtualSchemaKeyspace), written as the CREATE TABLE statements of their sources so the engine's
// own parser builds them: every column with its real type, in Cassandra's column order. Drivers
// read these by name at start-up (docs/drivers.md §1.6, §2.4). system.peers_v2 is deliberately
// absent: Astra does not have it (docs/astra.md §3.2).

export interface SystemKeyspace {
  name: string;
  /** system_schema.keyspaces.replication. */
  replication: Record<string, string>;
  virtual: boolean;
  tables: readonly string[];
  /** system_virtual_schema.tables.comment, by table. */
  comments?: Readonly<Record<string, string>>;
}

const LOCAL = 'org.apache.cassandra.locator.LocalStrategy';
const SIMPLE = 'org.apache.cassandra.locator.SimpleStrategy';

export const SYSTEM_KEYSPACES: readonly SystemKeyspace[] = [
  {
    name: 'system',
    replication: { class: LOCAL },
    virtual: false,
    tables: [
      `CREATE TABLE local (
        key text, bootstrapped text, broadcast_address inet, broadcast_port int,
        cluster_name text, cql_version text, data_center text, gossip_generation int,
        host_id uuid, listen_address inet, listen_port int, native_protocol_version text,
        partitioner text, rack text, release_version text, rpc_address inet, rpc_port int,
        schema_version uuid, tokens set<text>, truncated_at map<uuid, blob>,
        PRIMARY KEY ((key)))`,
      `CREATE TABLE peers (
        peer inet, data_center text, host_id uuid, preferred_ip inet, rack text,
        release_version text, rpc_address inet, schema_version uuid, tokens set<text>,
        PRIMARY KEY ((peer)))`,
    ],
  },
  {
    name: 'system_auth',
    replication: { class: SIMPLE, replication_factor: '1' },
    virtual: false,
    tables: [],
  },
  {
    name: 'system_distributed',
    replication: { class: SIMPLE, replication_factor: '3' },
    virtual: false,
    tables: [],
  },
  {
    name: 'system_schema',
    replication: { class: LOCAL },
    virtual: false,
    tables: [
      `CREATE TABLE keyspaces (
        keyspace_name text, durable_writes boolean, replication frozen<map<text, text>>,
        PRIMARY KEY ((keyspace_name)))`,
      `CREATE TABLE tables (
        keyspace_name text, table_name text, additional_write_policy text,
        bloom_filter_fp_chance double, caching frozen<map<text, text>>, cdc boolean,
        comment text, compaction frozen<map<text, text>>, compression frozen<map<text, text>>,
        crc_check_chance double, dclocal_read_repair_chance double, default_time_to_live int,
        extensions frozen<map<text, blob>>, flags frozen<set<text>>, gc_grace_seconds int,
        id uuid, max_index_interval int, memtable_flush_period_in_ms int,
        min_index_interval int, read_repair text, read_repair_chance double,
        speculative_retry text,
        PRIMARY KEY ((keyspace_name), table_name))`,
      `CREATE TABLE columns (
        keyspace_name text, table_name text, column_name text, clustering_order text,
        column_name_bytes blob, kind text, position int, type text,
        PRIMARY KEY ((keyspace_name), table_name, column_name))`,
      `CREATE TABLE dropped_columns (
        keyspace_name text, table_name text, column_name text, dropped_time timestamp,
        kind text, type text,
        PRIMARY KEY ((keyspace_name), table_name, column_name))`,
      `CREATE TABLE triggers (
        keyspace_name text, table_name text, trigger_name text,
        options frozen<map<text, text>>,
        PRIMARY KEY ((keyspace_name), table_name, trigger_name))`,
      `CREATE TABLE views (
        keyspace_name text, view_name text, additional_write_policy text, base_table_id uuid,
        base_table_name text, bloom_filter_fp_chance double, caching frozen<map<text, text>>,
        cdc boolean, comment text, compaction frozen<map<text, text>>,
        compression frozen<map<text, text>>, crc_check_chance double,
        dclocal_read_repair_chance double, default_time_to_live int,
        extensions frozen<map<text, blob>>, gc_grace_seconds int, id uuid,
        include_all_columns boolean, max_index_interval int, memtable_flush_period_in_ms int,
        min_index_interval int, read_repair text, read_repair_chance double,
        speculative_retry text, where_clause text,
        PRIMARY KEY ((keyspace_name), view_name))`,
      `CREATE TABLE types (
        keyspace_name text, type_name text, field_names frozen<list<text>>,
        field_types frozen<list<text>>,
        PRIMARY KEY ((keyspace_name), type_name))`,
      `CREATE TABLE functions (
        keyspace_name text, function_name text, argument_types frozen<list<text>>,
        argument_names frozen<list<text>>, body text, called_on_null_input boolean,
        language text, return_type text,
        PRIMARY KEY ((keyspace_name), function_name, argument_types))`,
      `CREATE TABLE aggregates (
        keyspace_name text, aggregate_name text, argument_types frozen<list<text>>,
        final_func text, initcond text, return_type text, state_func text, state_type text,
        PRIMARY KEY ((keyspace_name), aggregate_name, argument_types))`,
      `CREATE TABLE indexes (
        keyspace_name text, table_name text, index_name text, kind text,
        options frozen<map<text, text>>,
        PRIMARY KEY ((keyspace_name), table_name, index_name))`,
    ],
  },
  {
    name: 'system_traces',
    replication: { class: SIMPLE, replication_factor: '2' },
    virtual: false,
    tables: [
      `CREATE TABLE sessions (
        session_id uuid, client inet, command text, coordinator inet, coordinator_port int,
        duration int, parameters map<text, text>, request text, started_at timestamp,
        PRIMARY KEY ((session_id)))`,
      `CREATE TABLE events (
        session_id uuid, event_id timeuuid, activity text, source inet, source_elapsed int,
        source_port int, thread text,
        PRIMARY KEY ((session_id), event_id))`,
    ],
  },
  {
    name: 'system_virtual_schema',
    replication: {},
    virtual: true,
    tables: [
      `CREATE TABLE keyspaces (keyspace_name text, PRIMARY KEY ((keyspace_name)))`,
      `CREATE TABLE tables (
        keyspace_name text, table_name text, comment text,
        PRIMARY KEY ((keyspace_name), table_name))`,
      `CREATE TABLE columns (
        keyspace_name text, table_name text, column_name text, clustering_order text,
        column_name_bytes blob, kind text, position int, type text,
        PRIMARY KEY ((keyspace_name), table_name, column_name))`,
    ],
    comments: {
      keyspaces: 'virtual keyspace definitions',
      tables: 'virtual table definitions',
      columns: 'virtual column definitions',
    },
  },
  {
    name: 'system_views',
    replication: {},
    virtual: true,
    tables: [
      `CREATE TABLE settings (name text, value text, PRIMARY KEY ((name)))`,
      `CREATE TABLE system_properties (name text, value text, PRIMARY KEY ((name)))`,
    ],
    comments: {
      settings: 'current settings',
      system_properties: 'Cassandra relevant system properties',
    },
  },
];

/** Cassandra 4.0's defaults for a table's options, as system_schema.tables shows them. */
export const TABLE_DEFAULTS = {
  additionalWritePolicy: '99p',
  bloomFilterFpChance: 0.01,
  caching: { keys: 'ALL', rows_per_partition: 'NONE' },
  cdc: false,
  comment: '',
  compaction: {
    class: 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy',
    max_threshold: '32',
    min_threshold: '4',
  },
  compression: {
    chunk_length_in_kb: '16',
    class: 'org.apache.cassandra.io.compress.LZ4Compressor',
  },
  crcCheckChance: 1.0,
  dclocalReadRepairChance: 0.0,
  gcGraceSeconds: 864000,
  maxIndexInterval: 2048,
  memtableFlushPeriodInMs: 0,
  minIndexInterval: 128,
  readRepair: 'BLOCKING',
  readRepairChance: 0.0,
  speculativeRetry: '99p',
  flags: ['compound'],
} as const;
