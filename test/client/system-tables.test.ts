import { describe, expect, it } from 'vitest';
import { DataType } from '../../src/protocol/constants.js';
import { classifyQuery } from '../../src/protocol/cql-classifier.js';
import {
  decodeBigint,
  decodeInet,
  decodeInt,
  decodeMapEntries,
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
  answerSystemStatement,
  hasPeersV2,
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
  return answerSystemStatement({ table: cls.table, selectors: cls.selectors, query }, ctx);
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

/** Cassandra 4.0's system.local, `SELECT *` order: key, then the rest by name. */
const LOCAL_COLUMNS: [string, number][] = [
  ['key', DataType.VARCHAR],
  ['bootstrapped', DataType.VARCHAR],
  ['broadcast_address', DataType.INET],
  ['broadcast_port', DataType.INT],
  ['cluster_name', DataType.VARCHAR],
  ['cql_version', DataType.VARCHAR],
  ['data_center', DataType.VARCHAR],
  ['gossip_generation', DataType.INT],
  ['host_id', DataType.UUID],
  ['listen_address', DataType.INET],
  ['listen_port', DataType.INT],
  ['native_protocol_version', DataType.VARCHAR],
  ['partitioner', DataType.VARCHAR],
  ['rack', DataType.VARCHAR],
  ['release_version', DataType.VARCHAR],
  ['rpc_address', DataType.INET],
  ['rpc_port', DataType.INT],
  ['schema_version', DataType.UUID],
  ['tokens', DataType.SET],
  ['truncated_at', DataType.MAP],
];
const LOCAL_NAMES = LOCAL_COLUMNS.map((c) => c[0]);

describe('system.local', () => {
  it('SELECT *: every column of Cassandra 4.0, its types and order, the proxy as the node', () => {
    const startedBy = Math.floor(Date.now() / 1000);
    const { names, types, rows } = rowsOf(ask("SELECT * FROM system.local WHERE key='local'"));
    expect(names.map((n, i) => [n, types[i]])).toEqual(LOCAL_COLUMNS);
    expect(rows).toHaveLength(1);
    const row = rows[0] ?? [];
    const cell = (name: string): Buffer | null => row[LOCAL_NAMES.indexOf(name)] ?? null;
    expect(decodeText(cell('key'))).toBe('local');
    expect(decodeText(cell('bootstrapped'))).toBe('COMPLETED');
    expect(decodeInet(cell('broadcast_address'))).toBe('127.0.0.5');
    expect(decodeInt(cell('broadcast_port'))).toBe(7000);
    expect(decodeText(cell('cluster_name'))).toBe(CLUSTER_NAME);
    expect(decodeText(cell('cql_version'))).toBe('3.4.5');
    expect(decodeText(cell('data_center'))).toBe('dc1');
    const generation = decodeInt(cell('gossip_generation')) ?? 0;
    expect(generation).toBeGreaterThan(1_700_000_000);
    expect(generation).toBeLessThanOrEqual(startedBy);
    expect(decodeUuid(cell('host_id'))).toBe(nameBasedUuid('127.0.0.5'));
    expect(decodeInet(cell('listen_address'))).toBe('127.0.0.5');
    expect(decodeInt(cell('listen_port'))).toBe(7000);
    expect(decodeText(cell('native_protocol_version'))).toBe('4');
    expect(decodeText(cell('partitioner'))).toBe(INFO.partitioner);
    expect(decodeText(cell('rack'))).toBe('rack1');
    expect(decodeText(cell('release_version'))).toBe('4.0.11');
    expect(decodeInet(cell('rpc_address'))).toBe('127.0.0.5');
    expect(decodeInt(cell('rpc_port'))).toBe(9042);
    expect(decodeUuid(cell('schema_version'))).toBe(SCHEMA_VERSION);
    expect(decodeStringSet(cell('tokens'))).toEqual(['-9223372036854775808']);
    expect(decodeMapEntries(cell('truncated_at'))).toEqual([]);
  });

  it('rpc_port is the port the client connected to', () => {
    const { rows } = rowsOf(
      ask('SELECT rpc_port FROM system.local', context({ connectionPort: 19042 })),
    );
    expect(decodeInt(rows[0]?.[0] ?? null)).toBe(19042);
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
    expect(names.slice(5, 9)).toEqual([
      'cql_version',
      'data_center',
      'dse_version',
      'gossip_generation',
    ]);
    const row = rows[0] ?? [];
    const cell = (name: string): Buffer | null => row[names.indexOf(name)] ?? null;
    expect(decodeInet(cell('rpc_address'))).toBe('10.1.1.1');
    expect(decodeInet(cell('broadcast_address'))).toBe('10.1.1.1');
    expect(decodeText(cell('data_center'))).toBe('west');
    expect(decodeText(cell('dse_version'))).toBe('6.8.0');
    expect(decodeStringSet(cell('tokens'))).toEqual(['1', '2']);
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

/** Cassandra 4.0's system.peers, `SELECT *` order. */
const PEERS_COLUMNS: [string, number][] = [
  ['peer', DataType.INET],
  ['data_center', DataType.VARCHAR],
  ['host_id', DataType.UUID],
  ['preferred_ip', DataType.INET],
  ['rack', DataType.VARCHAR],
  ['release_version', DataType.VARCHAR],
  ['rpc_address', DataType.INET],
  ['schema_version', DataType.UUID],
  ['tokens', DataType.SET],
];

describe('system.peers', () => {
  it('has no rows without peers, and count(*) still answers 0', () => {
    const all = rowsOf(ask('SELECT * FROM system.peers'));
    expect(all.names.map((n, i) => [n, all.types[i]])).toEqual(PEERS_COLUMNS);
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
    expect(names.slice(0, 4)).toEqual(['peer', 'data_center', 'dse_version', 'host_id']);
    const at = (r: (Buffer | null)[], name: string): Buffer | null =>
      r[names.indexOf(name)] ?? null;
    const decoded = rows.map((r) => ({
      peer: decodeInet(at(r, 'peer')),
      rpc: decodeInet(at(r, 'rpc_address')),
      dc: decodeText(at(r, 'data_center')),
      tokens: decodeStringSet(at(r, 'tokens')),
      hostId: decodeUuid(at(r, 'host_id')),
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
  it('refuses peers_v2 below Cassandra 4.0 and on DSE, so drivers fall back to peers', () => {
    const unconfigured = { kind: 'invalid', message: 'unconfigured table peers_v2' };
    for (const info of [
      { ...INFO, releaseVersion: '3.11.16' },
      { ...INFO, releaseVersion: '4.0.0.6816', dseVersion: '6.8.16' },
      { ...INFO, releaseVersion: '' },
    ]) {
      expect(ask('SELECT * FROM system.peers_v2', context({ info }))).toEqual(unconfigured);
      expect(hasPeersV2(info)).toBe(false);
    }
    expect(hasPeersV2({ ...INFO, releaseVersion: '4.0.0.6816' })).toBe(true);
    expect(hasPeersV2({ ...INFO, releaseVersion: '5.0.2' })).toBe(true);
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
