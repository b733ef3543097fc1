import { describe, expect, it } from 'vitest';
import { DataType } from '../../../src/protocol/constants.js';
import { columnTypeToCql } from '../../../src/protocol/messages/column-type.js';
import type { SchemaChange } from '../../../src/protocol/messages/schema-change.js';
import {
  decodeBoolean,
  decodeInet,
  decodeInt,
  decodeStringMap,
  decodeStringSet,
  decodeText,
  decodeUuid,
} from '../../../src/protocol/values.js';
import { createEngine } from '../../../sim/engine/index.js';
import type { Engine, EngineResult } from '../../../sim/engine/contract.js';
import { NODES, columnNames, contextFor, opts, q, rowsOf } from './engine-helpers.js';

/** Column name → CQL type text, in result order. */
function typesOf(r: EngineResult): [string, string][] {
  if (r.kind !== 'rows') throw new Error('rows');
  return r.columns.map((c) => [c.name, columnTypeToCql(c.type)]);
}

/** One row as a map from column name to cell. */
function record(r: EngineResult, index = 0): Map<string, Buffer | null> {
  if (r.kind !== 'rows') throw new Error('rows');
  const row = r.rows[index] ?? [];
  return new Map(r.columns.map((c, i) => [c.name, row[i] ?? null]));
}

function records(r: EngineResult): Map<string, Buffer | null>[] {
  return rowsOf(r).map((_, i) => record(r, i));
}

function schemaVersion(e: Engine): string | null {
  return decodeUuid(
    record(q(e, "SELECT schema_version FROM system.local WHERE key = 'local'")).get(
      'schema_version',
    ) ?? null,
  );
}

describe('system.local', () => {
  const e = createEngine();

  it('has Cassandra 4.0 columns with their types', () => {
    expect(typesOf(q(e, "SELECT * FROM system.local WHERE key='local'"))).toEqual([
      ['key', 'text'],
      ['bootstrapped', 'text'],
      ['broadcast_address', 'inet'],
      ['broadcast_port', 'int'],
      ['cluster_name', 'text'],
      ['cql_version', 'text'],
      ['data_center', 'text'],
      ['gossip_generation', 'int'],
      ['host_id', 'uuid'],
      ['listen_address', 'inet'],
      ['listen_port', 'int'],
      ['native_protocol_version', 'text'],
      ['partitioner', 'text'],
      ['rack', 'text'],
      ['release_version', 'text'],
      ['rpc_address', 'inet'],
      ['rpc_port', 'int'],
      ['schema_version', 'uuid'],
      ['tokens', 'set<text>'],
      ['truncated_at', 'map<uuid, blob>'],
    ]);
  });

  it('describes the node the statement runs on, as Astra does (docs/astra.md §3.2)', () => {
    const r = e.execute('SELECT * FROM system.local', opts(), contextFor(undefined, 1, 5));
    expect(rowsOf(r)).toHaveLength(1);
    const row = record(r);
    const node = NODES[1]!;
    expect(decodeText(row.get('key') ?? null)).toBe('local');
    expect(decodeText(row.get('cluster_name') ?? null)).toBe('cndb');
    expect(decodeText(row.get('release_version') ?? null)).toBe('4.0.0.6816');
    expect(decodeText(row.get('cql_version') ?? null)).toBe('3.4.5');
    expect(decodeText(row.get('partitioner') ?? null)).toBe(
      'org.apache.cassandra.dht.Murmur3Partitioner',
    );
    expect(decodeText(row.get('native_protocol_version') ?? null)).toBe('5');
    expect(decodeText(row.get('data_center') ?? null)).toBe('dc1');
    expect(decodeText(row.get('rack') ?? null)).toBe('rack1');
    expect(decodeText(row.get('bootstrapped') ?? null)).toBe('COMPLETED');
    expect(decodeUuid(row.get('host_id') ?? null)).toBe(node.hostId);
    expect(decodeInet(row.get('rpc_address') ?? null)).toBe(node.address);
    expect(decodeInet(row.get('broadcast_address') ?? null)).toBe(node.address);
    expect(decodeInet(row.get('listen_address') ?? null)).toBe(node.address);
    expect(decodeInt(row.get('rpc_port') ?? null)).toBe(node.port);
    expect(decodeStringSet(row.get('tokens') ?? null)).toEqual([node.token]);
    expect(row.get('truncated_at')).toBeNull();
  });

  it('answers WHERE key = ... and projections', () => {
    expect(rowsOf(q(e, "SELECT * FROM system.local WHERE key='other'"))).toEqual([]);
    const r = q(e, "SELECT schema_version FROM system.local WHERE key='local'");
    expect(columnNames(r)).toEqual(['schema_version']);
    expect(schemaVersion(e)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('system.peers', () => {
  const e = createEngine();

  it('has the legacy peers columns with their types', () => {
    expect(typesOf(q(e, 'SELECT * FROM system.peers'))).toEqual([
      ['peer', 'inet'],
      ['data_center', 'text'],
      ['host_id', 'uuid'],
      ['preferred_ip', 'inet'],
      ['rack', 'text'],
      ['release_version', 'text'],
      ['rpc_address', 'inet'],
      ['schema_version', 'uuid'],
      ['tokens', 'set<text>'],
    ]);
  });

  it('lists the other nodes, each with a distinct rpc_address and the shared schema version', () => {
    const r = e.execute(
      'SELECT peer, rpc_address, host_id, tokens, schema_version FROM system.peers',
      opts(),
      contextFor(undefined, 0),
    );
    const peers = records(r);
    expect(peers.map((p) => decodeInet(p.get('rpc_address') ?? null)).sort()).toEqual([
      '127.0.0.2',
      '127.0.0.3',
    ]);
    expect(peers.map((p) => decodeInet(p.get('peer') ?? null)).sort()).toEqual([
      '127.0.0.2',
      '127.0.0.3',
    ]);
    expect(peers.map((p) => decodeUuid(p.get('host_id') ?? null)).sort()).toEqual(
      [NODES[2]!.hostId, NODES[1]!.hostId].sort(),
    );
    for (const p of peers) {
      expect(decodeUuid(p.get('schema_version') ?? null)).toBe(schemaVersion(e));
      expect(decodeStringSet(p.get('tokens') ?? null)).toHaveLength(1);
    }
  });

  it('a node that lists itself among its peers is left out', () => {
    const ctx = { ...contextFor(), peers: () => NODES };
    expect(rowsOf(e.execute('SELECT * FROM system.peers', opts(), ctx))).toHaveLength(2);
  });
});

describe('schema version', () => {
  it('changes on every DDL and only then', () => {
    const e = createEngine();
    const v0 = schemaVersion(e);
    q(
      e,
      "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    const v1 = schemaVersion(e);
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY)');
    const v2 = schemaVersion(e);
    q(e, 'INSERT INTO ks.t (k) VALUES (1)');
    q(e, 'CREATE TABLE IF NOT EXISTS ks.t (k int PRIMARY KEY)');
    const v3 = schemaVersion(e);
    q(e, 'DROP TABLE ks.t');
    const v4 = schemaVersion(e);
    expect(new Set([v0, v1, v2, v4]).size).toBe(4);
    expect(v3).toBe(v2);
  });

  it('DDL is announced to schema change listeners', () => {
    const e = createEngine();
    const seen: SchemaChange[] = [];
    const stop = e.onSchemaChange((c) => seen.push(c));
    const failing = e.onSchemaChange(() => {
      throw new Error('a closed connection');
    });
    const created = q(
      e,
      "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    expect(created).toEqual({
      kind: 'schema_change',
      change: { changeType: 'CREATED', target: 'KEYSPACE', keyspace: 'ks' },
    });
    q(e, 'CREATE TABLE ks.t (k int PRIMARY KEY)');
    q(e, 'DROP TABLE ks.t');
    stop();
    failing();
    q(e, 'DROP KEYSPACE ks');
    expect(seen).toEqual([
      { changeType: 'CREATED', target: 'KEYSPACE', keyspace: 'ks' },
      { changeType: 'CREATED', target: 'TABLE', keyspace: 'ks', name: 't' },
      { changeType: 'DROPPED', target: 'TABLE', keyspace: 'ks', name: 't' },
    ]);
  });
});

describe('system_schema', () => {
  function withSchema(): Engine {
    const e = createEngine();
    q(
      e,
      "CREATE KEYSPACE app WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '3'} AND durable_writes = false",
    );
    q(
      e,
      `CREATE TABLE app.events (a int, b text, c timeuuid, d bigint, s text static, l list<frozen<set<int>>>,
       m map<text, int>, t tuple<int, text>, PRIMARY KEY ((a, b), c, d)) WITH CLUSTERING ORDER BY (c DESC, d ASC)
       AND default_time_to_live = 60 AND comment = 'ignored by Astra'`,
    );
    return e;
  }

  it('keyspaces: the system keyspaces drivers expect and the created ones', () => {
    const e = withSchema();
    const r = q(e, 'SELECT * FROM system_schema.keyspaces');
    expect(typesOf(r)).toEqual([
      ['keyspace_name', 'text'],
      ['durable_writes', 'boolean'],
      ['replication', 'map<text, text>'],
    ]);
    const byName = new Map(
      records(r).map((row) => [decodeText(row.get('keyspace_name') ?? null), row]),
    );
    expect([...byName.keys()].sort()).toEqual([
      'app',
      'system',
      'system_auth',
      'system_distributed',
      'system_schema',
      'system_traces',
    ]);
    const app = byName.get('app');
    expect(decodeBoolean(app?.get('durable_writes') ?? null)).toBe(false);
    expect(decodeStringMap(app?.get('replication') ?? null)).toEqual(
      new Map([
        ['class', 'org.apache.cassandra.locator.NetworkTopologyStrategy'],
        ['dc1', '3'],
      ]),
    );
    expect(decodeStringMap(byName.get('system')?.get('replication') ?? null)?.get('class')).toBe(
      'org.apache.cassandra.locator.LocalStrategy',
    );
    expect(
      rowsOf(q(e, "SELECT * FROM system_schema.keyspaces WHERE keyspace_name = 'app'")),
    ).toHaveLength(1);
  });

  it('tables: every column the Python driver SchemaParserV4 reads, with its type', () => {
    const e = withSchema();
    const r = q(
      e,
      "SELECT * FROM system_schema.tables WHERE keyspace_name = 'app' AND table_name = 'events'",
    );
    expect(typesOf(r)).toEqual([
      ['keyspace_name', 'text'],
      ['table_name', 'text'],
      ['additional_write_policy', 'text'],
      ['bloom_filter_fp_chance', 'double'],
      ['caching', 'map<text, text>'],
      ['cdc', 'boolean'],
      ['comment', 'text'],
      ['compaction', 'map<text, text>'],
      ['compression', 'map<text, text>'],
      ['crc_check_chance', 'double'],
      ['dclocal_read_repair_chance', 'double'],
      ['default_time_to_live', 'int'],
      ['extensions', 'map<text, blob>'],
      ['flags', 'set<text>'],
      ['gc_grace_seconds', 'int'],
      ['id', 'uuid'],
      ['max_index_interval', 'int'],
      ['memtable_flush_period_in_ms', 'int'],
      ['min_index_interval', 'int'],
      ['read_repair', 'text'],
      ['read_repair_chance', 'double'],
      ['speculative_retry', 'text'],
    ]);
    const row = record(r);
    expect(decodeInt(row.get('default_time_to_live') ?? null)).toBe(60);
    expect(decodeText(row.get('comment') ?? null)).toBe('');
    expect(decodeStringSet(row.get('flags') ?? null)).toEqual(['compound']);
    expect(decodeUuid(row.get('id') ?? null)).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.get('bloom_filter_fp_chance')?.readDoubleBE(0)).toBe(0.01);
    expect(decodeStringMap(row.get('caching') ?? null)).toEqual(
      new Map([
        ['keys', 'ALL'],
        ['rows_per_partition', 'NONE'],
      ]),
    );
  });

  it('columns: kind, position, clustering order and the type as CQL shows it', () => {
    const e = withSchema();
    const r = q(
      e,
      "SELECT * FROM system_schema.columns WHERE keyspace_name = 'app' AND table_name = 'events'",
    );
    expect(typesOf(r)).toEqual([
      ['keyspace_name', 'text'],
      ['table_name', 'text'],
      ['column_name', 'text'],
      ['clustering_order', 'text'],
      ['column_name_bytes', 'blob'],
      ['kind', 'text'],
      ['position', 'int'],
      ['type', 'text'],
    ]);
    const cols = records(r).map((row) => [
      decodeText(row.get('column_name') ?? null),
      decodeText(row.get('kind') ?? null),
      decodeInt(row.get('position') ?? null),
      decodeText(row.get('clustering_order') ?? null),
      decodeText(row.get('type') ?? null),
      row.get('column_name_bytes')?.toString('utf8'),
    ]);
    expect(cols).toEqual([
      ['a', 'partition_key', 0, 'none', 'int', 'a'],
      ['b', 'partition_key', 1, 'none', 'text', 'b'],
      ['c', 'clustering', 0, 'desc', 'timeuuid', 'c'],
      ['d', 'clustering', 1, 'asc', 'bigint', 'd'],
      ['l', 'regular', -1, 'none', 'list<frozen<set<int>>>', 'l'],
      ['m', 'regular', -1, 'none', 'map<text, int>', 'm'],
      ['s', 'static', -1, 'none', 'text', 's'],
      ['t', 'regular', -1, 'none', 'frozen<tuple<int, text>>', 't'],
    ]);
  });

  it('reflects DROP TABLE and DROP KEYSPACE', () => {
    const e = withSchema();
    q(e, 'DROP TABLE app.events');
    expect(rowsOf(q(e, "SELECT * FROM system_schema.tables WHERE keyspace_name = 'app'"))).toEqual(
      [],
    );
    expect(rowsOf(q(e, "SELECT * FROM system_schema.columns WHERE keyspace_name = 'app'"))).toEqual(
      [],
    );
    q(e, 'DROP KEYSPACE app');
    expect(
      rowsOf(q(e, "SELECT * FROM system_schema.keyspaces WHERE keyspace_name = 'app'")),
    ).toEqual([]);
  });

  it('lists the system tables themselves', () => {
    const e = createEngine();
    const tables = records(
      q(e, "SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'system'"),
    );
    expect(tables.map((t) => decodeText(t.get('table_name') ?? null))).toEqual(['local', 'peers']);
  });

  it.each([
    ['types', ['keyspace_name', 'type_name', 'field_names', 'field_types']],
    [
      'functions',
      [
        'keyspace_name',
        'function_name',
        'argument_types',
        'argument_names',
        'body',
        'called_on_null_input',
        'language',
        'return_type',
      ],
    ],
    [
      'aggregates',
      [
        'keyspace_name',
        'aggregate_name',
        'argument_types',
        'final_func',
        'initcond',
        'return_type',
        'state_func',
        'state_type',
      ],
    ],
    ['indexes', ['keyspace_name', 'table_name', 'index_name', 'kind', 'options']],
    ['triggers', ['keyspace_name', 'table_name', 'trigger_name', 'options']],
    [
      'dropped_columns',
      ['keyspace_name', 'table_name', 'column_name', 'dropped_time', 'kind', 'type'],
    ],
  ])('%s: empty, with its real columns', (table, columns) => {
    const r = q(createEngine(), `SELECT * FROM system_schema.${table}`);
    expect(columnNames(r)).toEqual(columns);
    expect(rowsOf(r)).toEqual([]);
  });

  it('views: empty, with the columns the parsers read', () => {
    const r = q(
      createEngine(),
      "SELECT * FROM system_schema.views WHERE keyspace_name = 'x' AND view_name = 'y'",
    );
    expect(columnNames(r)).toEqual(
      expect.arrayContaining([
        'base_table_name',
        'where_clause',
        'include_all_columns',
        'view_name',
      ]),
    );
    expect(rowsOf(r)).toEqual([]);
  });
});

describe('system_virtual_schema', () => {
  const e = createEngine();

  it('keyspaces lists the virtual keyspaces only', () => {
    const r = q(e, 'SELECT * from system_virtual_schema.keyspaces');
    expect(typesOf(r)).toEqual([['keyspace_name', 'text']]);
    expect(
      records(r)
        .map((row) => decodeText(row.get('keyspace_name') ?? null))
        .sort(),
    ).toEqual(['system_views', 'system_virtual_schema']);
  });

  it('tables and columns describe the virtual tables', () => {
    const tables = records(q(e, 'SELECT * from system_virtual_schema.tables'));
    expect(
      tables
        .map(
          (t) =>
            `${decodeText(t.get('keyspace_name') ?? null)}.${decodeText(t.get('table_name') ?? null)}`,
        )
        .sort(),
    ).toEqual([
      'system_views.settings',
      'system_views.system_properties',
      'system_virtual_schema.columns',
      'system_virtual_schema.keyspaces',
      'system_virtual_schema.tables',
    ]);
    expect(
      decodeText(
        tables.find((t) => decodeText(t.get('table_name') ?? null) === 'tables')?.get('comment') ??
          null,
      ),
    ).toBe('virtual table definitions');
    const r = q(
      e,
      "SELECT * FROM system_virtual_schema.columns WHERE keyspace_name = 'system_virtual_schema' AND table_name = 'tables'",
    );
    expect(columnNames(r)).toEqual([
      'keyspace_name',
      'table_name',
      'column_name',
      'clustering_order',
      'column_name_bytes',
      'kind',
      'position',
      'type',
    ]);
    expect(
      records(r).map((c) => [
        decodeText(c.get('column_name') ?? null),
        decodeText(c.get('kind') ?? null),
      ]),
    ).toEqual([
      ['comment', 'regular'],
      ['keyspace_name', 'partition_key'],
      ['table_name', 'clustering'],
    ]);
  });

  it('virtual keyspaces are not in system_schema', () => {
    const names = records(q(e, 'SELECT keyspace_name FROM system_schema.keyspaces')).map((r) =>
      decodeText(r.get('keyspace_name') ?? null),
    );
    expect(names).not.toContain('system_virtual_schema');
  });
});

describe('system table types on the wire', () => {
  it('tokens is a set<text> and truncated_at a map<uuid, blob>', () => {
    const r = q(createEngine(), 'SELECT tokens, truncated_at FROM system.local');
    if (r.kind !== 'rows') throw new Error('rows');
    expect(r.columns.map((c) => c.type)).toEqual([
      { id: DataType.SET, element: { id: DataType.VARCHAR } },
      { id: DataType.MAP, key: { id: DataType.UUID }, value: { id: DataType.BLOB } },
    ]);
  });
});
