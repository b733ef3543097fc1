import { describe, expect, it } from 'vitest';
import { DataType } from '../../src/protocol/constants.js';
import { classifyQuery } from '../../src/protocol/cql-lexer.js';
import {
  decodeBigint,
  decodeInet,
  decodeStringSet,
  decodeText,
  decodeTimestamp,
  decodeUuid,
} from '../../src/protocol/values.js';
import { clientSideConfig } from '../../src/client/config.js';
import {
  CLUSTER_NAME,
  SCHEMA_VERSION,
  type SystemAnswer,
  type SystemTableContext,
  answerSystemSelect,
} from '../../src/client/system-tables.js';
import { buildTopology } from '../../src/client/topology.js';
import { nameBasedUuid, timeUuidMs } from '../../src/client/uuids.js';
import type { ClusterInfo } from '../../src/upstream/contract.js';

const INFO: ClusterInfo = {
  releaseVersion: '4.0.11',
  cqlVersion: '3.4.5',
  partitioner: 'org.apache.cassandra.dht.Murmur3Partitioner',
  dataCenter: 'dc1',
  dseVersion: undefined,
  productType: undefined,
  protocolVersion: 4,
  clientVersions: [4, 3],
};

function context(overrides: Partial<SystemTableContext> = {}): SystemTableContext {
  return {
    info: INFO,
    topology: buildTopology(clientSideConfig()),
    connectionAddress: '127.0.0.5',
    version: 4,
    ...overrides,
  };
}

/** Runs a query through the lexer and the system tables, as the session does. */
function ask(query: string, ctx: SystemTableContext = context()): SystemAnswer {
  const cls = classifyQuery(query, undefined);
  if (cls.kind !== 'system') throw new Error(`not a system query: ${cls.kind}`);
  return answerSystemSelect(cls.table, cls.selectors, ctx);
}

function rowsOf(answer: SystemAnswer): {
  names: string[];
  types: number[];
  rows: (Buffer | null)[][];
} {
  if (answer.kind !== 'rows') throw new Error(`expected rows, got: ${answer.message}`);
  return {
    names: answer.columns.map((c) => c.name),
    types: answer.columns.map((c) => c.type.id),
    rows: answer.rows,
  };
}

const LOCAL_COLUMNS = [
  'key',
  'rpc_address',
  'data_center',
  'rack',
  'tokens',
  'release_version',
  'partitioner',
  'cluster_name',
  'cql_version',
  'schema_version',
  'native_protocol_version',
  'host_id',
];

describe('system.local', () => {
  it('SELECT *: the columns of cql-proxy, real types, the proxy as the node', () => {
    const { names, types, rows } = rowsOf(ask("SELECT * FROM system.local WHERE key='local'"));
    expect(names).toEqual(LOCAL_COLUMNS);
    expect(types).toEqual([
      DataType.VARCHAR,
      DataType.INET,
      DataType.VARCHAR,
      DataType.VARCHAR,
      DataType.SET,
      DataType.VARCHAR,
      DataType.VARCHAR,
      DataType.VARCHAR,
      DataType.VARCHAR,
      DataType.UUID,
      DataType.VARCHAR,
      DataType.UUID,
    ]);
    expect(rows).toHaveLength(1);
    const row = rows[0] ?? [];
    const cell = (name: string): Buffer | null => row[LOCAL_COLUMNS.indexOf(name)] ?? null;
    expect(decodeText(cell('key'))).toBe('local');
    expect(decodeInet(cell('rpc_address'))).toBe('127.0.0.5');
    expect(decodeText(cell('data_center'))).toBe('dc1');
    expect(decodeText(cell('rack'))).toBe('rack1');
    expect(decodeStringSet(cell('tokens'))).toEqual(['-9223372036854775808']);
    expect(decodeText(cell('release_version'))).toBe('4.0.11');
    expect(decodeText(cell('partitioner'))).toBe(INFO.partitioner);
    expect(decodeText(cell('cluster_name'))).toBe(CLUSTER_NAME);
    expect(decodeText(cell('cql_version'))).toBe('3.4.5');
    expect(decodeUuid(cell('schema_version'))).toBe(SCHEMA_VERSION);
    expect(decodeText(cell('native_protocol_version'))).toBe('4');
    expect(decodeUuid(cell('host_id'))).toBe(nameBasedUuid('127.0.0.5'));
  });

  it('answers the same row with or without WHERE key = local', () => {
    const a = rowsOf(ask('SELECT * FROM system.local'));
    const b = rowsOf(ask("SELECT * FROM system.local WHERE key = 'local'"));
    expect(a).toEqual(b);
  });

  it('puts dse_version after data_center on DSE, and takes configured values', () => {
    const topology = buildTopology(
      clientSideConfig({ rpcAddress: '10.1.1.1', dataCenter: 'west', tokens: ['1', '2'] }),
    );
    const ctx = context({ info: { ...INFO, dseVersion: '6.8.0' }, topology, version: 3 });
    const { names, rows } = rowsOf(ask('SELECT * FROM system.local', ctx));
    expect(names.slice(0, 5)).toEqual(['key', 'rpc_address', 'data_center', 'dse_version', 'rack']);
    const row = rows[0] ?? [];
    expect(decodeInet(row[1] ?? null)).toBe('10.1.1.1');
    expect(decodeText(row[2] ?? null)).toBe('west');
    expect(decodeText(row[3] ?? null)).toBe('6.8.0');
    expect(decodeStringSet(row[5] ?? null)).toEqual(['1', '2']);
    expect(decodeText(row[names.indexOf('native_protocol_version')] ?? null)).toBe('3');
    expect(decodeUuid(row[names.indexOf('host_id')] ?? null)).toBe(nameBasedUuid('10.1.1.1'));
  });

  it('selects columns with aliases, and the functions of now()', () => {
    const before = Date.now();
    const { names, types, rows } = rowsOf(
      ask(
        'SELECT key AS k, "data_center", now(), toTimestamp(now()) AS ts, ' +
          'toUnixTimestamp(now()), uuid() FROM system.local',
      ),
    );
    expect(names).toEqual([
      'k',
      'data_center',
      'system.now()',
      'ts',
      'system.tounixtimestamp(system.now())',
      'system.uuid()',
    ]);
    expect(types).toEqual([
      DataType.VARCHAR,
      DataType.VARCHAR,
      DataType.TIMEUUID,
      DataType.TIMESTAMP,
      DataType.BIGINT,
      DataType.UUID,
    ]);
    const row = rows[0] ?? [];
    expect(decodeText(row[0] ?? null)).toBe('local');
    const now = decodeUuid(row[2] ?? null) ?? '';
    expect(now[14]).toBe('1'); // version 1
    const ms = timeUuidMs(now);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
    expect(decodeTimestamp(row[3] ?? null)?.getTime()).toBe(ms);
    expect(decodeBigint(row[4] ?? null)).toBe(BigInt(ms));
    expect(decodeUuid(row[5] ?? null)?.[14]).toBe('4');
  });

  it('counts: count(*) is a bigint named count, count(col) system.count(col)', () => {
    const { names, types, rows } = rowsOf(
      ask('SELECT count(*), count(1) AS n, count(key), key FROM system.local'),
    );
    expect(names).toEqual(['count', 'n', 'system.count(key)', 'key']);
    expect(types).toEqual([DataType.BIGINT, DataType.BIGINT, DataType.BIGINT, DataType.VARCHAR]);
    expect(rows.map((r) => r.slice(0, 3).map((c) => decodeBigint(c)))).toEqual([[1n, 1n, 1n]]);
    expect(decodeText(rows[0]?.[3] ?? null)).toBe('local');
  });

  it('refuses unknown columns with Cassandra message', () => {
    expect(ask('SELECT key, bogus FROM system.local')).toEqual({
      kind: 'invalid',
      message: 'Undefined column name bogus',
    });
    expect(ask('SELECT count(bogus) FROM system.local')).toEqual({
      kind: 'invalid',
      message: 'Undefined column name bogus',
    });
  });
});

describe('system.peers', () => {
  it('has no rows without peers, and count(*) still answers 0', () => {
    const all = rowsOf(ask('SELECT * FROM system.peers'));
    expect(all.names).toEqual([
      'peer',
      'rpc_address',
      'data_center',
      'rack',
      'tokens',
      'release_version',
      'schema_version',
      'host_id',
    ]);
    expect(all.rows).toEqual([]);
    const count = rowsOf(ask('SELECT count(*) AS c, peer FROM system.peers'));
    expect(count.names).toEqual(['c', 'peer']);
    expect(count.rows).toEqual([[Buffer.from('0000000000000000', 'hex'), null]]);
    expect(rowsOf(ask('SELECT peer, host_id FROM system.peers')).rows).toEqual([]);
  });

  it('lists the peer proxies with split tokens, their DC or ours', () => {
    const topology = buildTopology(
      clientSideConfig({
        rpcAddress: '10.0.0.2',
        peers: [
          { rpcAddress: '10.0.0.1', dataCenter: 'east' },
          { rpcAddress: '10.0.0.2' },
          { rpcAddress: '10.0.0.10' },
        ],
      }),
    );
    const ctx = context({ info: { ...INFO, dseVersion: '6.8.0' }, topology });
    const { names, rows } = rowsOf(ask('SELECT * FROM system.peers', ctx));
    expect(names[3]).toBe('dse_version');
    const decoded = rows.map((r) => ({
      peer: decodeInet(r[0] ?? null),
      rpc: decodeInet(r[1] ?? null),
      dc: decodeText(r[2] ?? null),
      tokens: decodeStringSet(r[5] ?? null),
      hostId: decodeUuid(r[8] ?? null),
    }));
    expect(decoded).toEqual([
      {
        peer: '10.0.0.1',
        rpc: '10.0.0.1',
        dc: 'east',
        tokens: ['-9223372036854775808'],
        hostId: nameBasedUuid('10.0.0.1'),
      },
      {
        peer: '10.0.0.10',
        rpc: '10.0.0.10',
        dc: 'dc1',
        tokens: ['3074457345618258604'],
        hostId: nameBasedUuid('10.0.0.10'),
      },
    ]);
    const local = rowsOf(ask('SELECT tokens FROM system.local', ctx));
    expect(decodeStringSet(local.rows[0]?.[0] ?? null)).toEqual(['-3074457345618258602']);
    const count = rowsOf(ask('SELECT count(*) FROM system.peers', ctx));
    expect(decodeBigint(count.rows[0]?.[0] ?? null)).toBe(2n);
  });
});

describe('other system tables', () => {
  it('refuses peers_v2 as Cassandra 3 does, so drivers fall back to peers', () => {
    expect(ask('SELECT * FROM system.peers_v2')).toEqual({
      kind: 'invalid',
      message: 'unconfigured table peers_v2',
    });
  });

  it('answers the legacy schema tables empty, with their columns, honouring selectors', () => {
    const keyspaces = rowsOf(ask('SELECT * FROM system.schema_keyspaces'));
    expect(keyspaces.names).toEqual([
      'keyspace_name',
      'durable_writes',
      'strategy_class',
      'strategy_options',
    ]);
    expect(keyspaces.rows).toEqual([]);
    const columns = rowsOf(ask('SELECT column_name, validator FROM system.schema_columns'));
    expect(columns.names).toEqual(['column_name', 'validator']);
    expect(rowsOf(ask('SELECT * FROM system.schema_columnfamilies')).names).toHaveLength(30);
    expect(rowsOf(ask('SELECT * FROM system.schema_usertypes')).types).toEqual([
      DataType.VARCHAR,
      DataType.VARCHAR,
      DataType.LIST,
      DataType.LIST,
    ]);
  });
});
