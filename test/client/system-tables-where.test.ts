// system.local, system.peers and system.peers_v2 as Cassandra 4.0 defines them: golden `SELECT *`
// metadata, the columns drivers prepare by name, WHERE and LIMIT with literals and bind markers,
// aliases and count.

import { describe, expect, it } from 'vitest';
import { classifyQuery } from '../../src/protocol/cql-classifier.js';
import { columnTypeToCql } from '../../src/protocol/messages/column-type.js';
import type { CqlValue } from '../../src/protocol/messages/query-parameters.js';
import { UNSET } from '../../src/protocol/reader.js';
import {
  decodeBigint,
  decodeInet,
  decodeInt,
  decodeStringSet,
  decodeText,
  decodeUuid,
  encodeCollection,
  encodeInet,
  encodeInt,
  encodeText,
} from '../../src/protocol/values.js';
import { clientSideConfig } from '../../src/client/config.js';
import {
  type BoundValues,
  type SystemAnswer,
  type SystemPrepared,
  type SystemStatement,
  type SystemTableContext,
  SCHEMA_VERSION,
  answerSystemStatement,
  prepareSystemSelect,
} from '../../src/client/system-tables.js';
import { buildTopology } from '../../src/client/topology.js';
import { nameBasedUuid } from '../../src/client/uuids.js';
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

/** This proxy at 10.0.0.2, peers 10.0.0.1 (DC east) and 10.0.0.10, clients on port 19042. */
function withPeers(info: ClusterInfo = INFO): SystemTableContext {
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
  return { info, topology, connectionAddress: '127.0.0.1', connectionPort: 19042, version: 4 };
}

const ALONE: SystemTableContext = {
  info: INFO,
  topology: buildTopology(clientSideConfig()),
  connectionAddress: '127.0.0.5',
  version: 4,
};

function statement(query: string): SystemStatement {
  const cls = classifyQuery(query, undefined);
  if (cls.kind !== 'system') throw new Error(`not a system query: ${cls.kind}`);
  return { table: cls.table, selectors: cls.selectors, query };
}

function ask(
  query: string,
  ctx: SystemTableContext = ALONE,
  bound: BoundValues = {},
  prepared = false,
): SystemAnswer {
  return answerSystemStatement(statement(query), ctx, bound, prepared);
}

function rows(answer: SystemAnswer): (Buffer | null)[][] {
  if (answer.kind !== 'rows') throw new Error(`expected rows, got: ${answer.message}`);
  return answer.rows;
}

/** Column names and CQL types, in order. */
function metadata(answer: SystemAnswer | SystemPrepared): string[] {
  if (answer.kind === 'invalid') throw new Error(answer.message);
  return answer.columns.map((c) => `${c.name} ${columnTypeToCql(c.type)}`);
}

function prepared(query: string, ctx: SystemTableContext = ALONE) {
  const answer = prepareSystemSelect(statement(query), ctx);
  if (answer.kind !== 'prepared') throw new Error(answer.message);
  return {
    columns: metadata(answer),
    variables: answer.variables.map((c) => `${c.name} ${columnTypeToCql(c.type)}`),
    tables: [...new Set([...answer.columns, ...answer.variables].map((c) => c.table))],
    pkIndexes: answer.pkIndexes,
  };
}

function values(...cells: CqlValue[]): BoundValues {
  return { values: cells };
}

const LOCAL_GOLDEN = [
  'key text',
  'bootstrapped text',
  'broadcast_address inet',
  'broadcast_port int',
  'cluster_name text',
  'cql_version text',
  'data_center text',
  'gossip_generation int',
  'host_id uuid',
  'listen_address inet',
  'listen_port int',
  'native_protocol_version text',
  'partitioner text',
  'rack text',
  'release_version text',
  'rpc_address inet',
  'rpc_port int',
  'schema_version uuid',
  'tokens set<text>',
  'truncated_at map<uuid, blob>',
];

const PEERS_GOLDEN = [
  'peer inet',
  'data_center text',
  'host_id uuid',
  'preferred_ip inet',
  'rack text',
  'release_version text',
  'rpc_address inet',
  'schema_version uuid',
  'tokens set<text>',
];

const PEERS_V2_GOLDEN = [
  'peer inet',
  'peer_port int',
  'data_center text',
  'host_id uuid',
  'native_address inet',
  'native_port int',
  'preferred_ip inet',
  'preferred_port int',
  'rack text',
  'release_version text',
  'schema_version uuid',
  'tokens set<text>',
];

describe('SELECT * metadata (golden, Cassandra 4.0)', () => {
  it('system.local', () => {
    expect(metadata(ask('SELECT * FROM system.local'))).toEqual(LOCAL_GOLDEN);
    expect(prepared('SELECT * FROM system.local').columns).toEqual(LOCAL_GOLDEN);
  });

  it('system.peers', () => {
    expect(metadata(ask('SELECT * FROM system.peers'))).toEqual(PEERS_GOLDEN);
    expect(prepared('SELECT * FROM system.peers').columns).toEqual(PEERS_GOLDEN);
  });

  it('system.peers_v2', () => {
    expect(metadata(ask('SELECT * FROM system.peers_v2'))).toEqual(PEERS_V2_GOLDEN);
    expect(prepared('SELECT * FROM system.peers_v2').columns).toEqual(PEERS_V2_GOLDEN);
  });

  it('DSE adds dse_version in its alphabetical place', () => {
    const dse = { ...ALONE, info: { ...INFO, dseVersion: '6.8.16' } };
    const local = metadata(ask('SELECT * FROM system.local', dse));
    expect(local.filter((c) => c !== 'dse_version text')).toEqual(LOCAL_GOLDEN);
    expect(local.indexOf('dse_version text')).toBe(local.indexOf('data_center text') + 1);
    const peers = metadata(ask('SELECT * FROM system.peers', dse));
    expect(peers.slice(0, 4)).toEqual([
      'peer inet',
      'data_center text',
      'dse_version text',
      'host_id uuid',
    ]);
  });
});

describe('columns drivers prepare by name', () => {
  const DRIVER_LOCAL =
    'SELECT key, data_center, host_id, broadcast_address, rack, release_version, tokens, ' +
    'schema_version FROM system.local';

  it("the driver's system.local query", () => {
    expect(prepared(DRIVER_LOCAL)).toEqual({
      columns: [
        'key text',
        'data_center text',
        'host_id uuid',
        'broadcast_address inet',
        'rack text',
        'release_version text',
        'tokens set<text>',
        'schema_version uuid',
      ],
      variables: [],
      tables: ['local'],
      pkIndexes: [],
    });
    const [row] = rows(ask(DRIVER_LOCAL, withPeers()));
    expect(row).toHaveLength(8);
    expect(decodeText(row?.[0] ?? null)).toBe('local');
    expect(decodeText(row?.[1] ?? null)).toBe('dc1');
    expect(decodeUuid(row?.[2] ?? null)).toBe(nameBasedUuid('10.0.0.2'));
    expect(decodeInet(row?.[3] ?? null)).toBe('10.0.0.2');
    expect(decodeText(row?.[4] ?? null)).toBe('rack1');
    expect(decodeText(row?.[5] ?? null)).toBe('4.0.11');
    expect(decodeStringSet(row?.[6] ?? null)).toEqual(['-3074457345618258602']);
    expect(decodeUuid(row?.[7] ?? null)).toBe(SCHEMA_VERSION);
  });

  it('preferred_ip and the other peers columns', () => {
    const answer = ask(
      'SELECT peer, preferred_ip, rpc_address, data_center, rack, release_version, host_id, ' +
        'schema_version FROM system.peers',
      withPeers(),
    );
    expect(
      rows(answer).map((r) => [
        decodeInet(r[0] ?? null),
        decodeInet(r[1] ?? null),
        decodeInet(r[2] ?? null),
        decodeText(r[3] ?? null),
        decodeText(r[4] ?? null),
        decodeText(r[5] ?? null),
        decodeUuid(r[6] ?? null),
        decodeUuid(r[7] ?? null),
      ]),
    ).toEqual([
      [
        '10.0.0.1',
        '10.0.0.1',
        '10.0.0.1',
        'east',
        'rack1',
        '4.0.11',
        nameBasedUuid('10.0.0.1'),
        SCHEMA_VERSION,
      ],
      [
        '10.0.0.10',
        '10.0.0.10',
        '10.0.0.10',
        'dc1',
        'rack1',
        '4.0.11',
        nameBasedUuid('10.0.0.10'),
        SCHEMA_VERSION,
      ],
    ]);
  });

  it('peers_v2: ports of a Cassandra 4.0 node, native_port the proxy port', () => {
    const answer = ask(
      'SELECT peer, peer_port, native_address, native_port, preferred_ip, preferred_port ' +
        'FROM system.peers_v2',
      withPeers(),
    );
    expect(
      rows(answer).map((r) => [
        decodeInet(r[0] ?? null),
        decodeInt(r[1] ?? null),
        decodeInet(r[2] ?? null),
        decodeInt(r[3] ?? null),
        decodeInet(r[4] ?? null),
        decodeInt(r[5] ?? null),
      ]),
    ).toEqual([
      ['10.0.0.1', 7000, '10.0.0.1', 19042, '10.0.0.1', 7000],
      ['10.0.0.10', 7000, '10.0.0.10', 19042, '10.0.0.10', 7000],
    ]);
  });

  it('every column by name, also quoted', () => {
    for (const [table, golden] of [
      ['local', LOCAL_GOLDEN],
      ['peers', PEERS_GOLDEN],
      ['peers_v2', PEERS_V2_GOLDEN],
    ] as const) {
      const names = golden.map((c) => c.split(' ')[0] ?? '');
      const query = `SELECT ${names.map((n) => `"${n}"`).join(', ')} FROM system.${table}`;
      expect(metadata(ask(query, withPeers()))).toEqual(golden);
    }
  });
});

describe('aliases and count', () => {
  it('SELECT cluster_name AS name, ...', () => {
    const answer = ask(
      'SELECT cluster_name AS name, release_version AS "Version", rpc_port AS port FROM system.local',
      withPeers(),
    );
    expect(metadata(answer)).toEqual(['name text', 'Version text', 'port int']);
    const [row] = rows(answer);
    expect(decodeText(row?.[0] ?? null)).toBe('cql-proxy');
    expect(decodeText(row?.[1] ?? null)).toBe('4.0.11');
    expect(decodeInt(row?.[2] ?? null)).toBe(19042);
  });

  it('count(*) over the rows WHERE keeps', () => {
    const count = (query: string, bound?: BoundValues): bigint | null =>
      decodeBigint(rows(ask(query, withPeers(), bound))[0]?.[0] ?? null);
    expect(count('SELECT count(*) FROM system.peers')).toBe(2n);
    expect(count('SELECT count(*) FROM system.peers_v2')).toBe(2n);
    expect(
      count("SELECT count(*) FROM system.peers WHERE data_center = 'east' ALLOW FILTERING"),
    ).toBe(1n);
    expect(
      count('SELECT count(*) FROM system.peers WHERE peer = ?', values(encodeInet('9.9.9.9'))),
    ).toBe(0n);
    expect(count('SELECT count(*) AS n FROM system.local')).toBe(1n);
    expect(count("SELECT count(*) FROM system.local WHERE key = 'other'")).toBe(0n);
  });
});

describe('WHERE and LIMIT', () => {
  const peersOf = (answer: SystemAnswer): (string | null)[] =>
    rows(answer).map((r) => decodeInet(r[0] ?? null));

  it('key = literal: the row, or none', () => {
    expect(rows(ask("SELECT key FROM system.local WHERE key = 'local'"))).toHaveLength(1);
    expect(rows(ask("SELECT key FROM system.local WHERE key = 'other'"))).toEqual([]);
  });

  it('peer = literal, IN, and AND with peer_port', () => {
    const ctx = withPeers();
    expect(peersOf(ask("SELECT peer FROM system.peers WHERE peer = '10.0.0.10'", ctx))).toEqual([
      '10.0.0.10',
    ]);
    expect(
      peersOf(ask("SELECT peer FROM system.peers WHERE peer IN ('10.0.0.1', '10.9.9.9')", ctx)),
    ).toEqual(['10.0.0.1']);
    expect(
      peersOf(
        ask("SELECT peer FROM system.peers_v2 WHERE peer = '10.0.0.1' AND peer_port = 7000", ctx),
      ),
    ).toEqual(['10.0.0.1']);
    expect(
      peersOf(
        ask("SELECT peer FROM system.peers_v2 WHERE peer = '10.0.0.1' AND peer_port = 7001", ctx),
      ),
    ).toEqual([]);
  });

  it('bound parameters: positional, named, IN ?', () => {
    const ctx = withPeers();
    expect(
      rows(ask('SELECT key FROM system.local WHERE key = ?', ctx, values(encodeText('local')))),
    ).toHaveLength(1);
    expect(
      rows(ask('SELECT key FROM system.local WHERE key = ?', ctx, values(encodeText('x')))),
    ).toEqual([]);
    expect(
      peersOf(
        ask('SELECT * FROM system.peers WHERE peer = ?', ctx, values(encodeInet('10.0.0.10'))),
      ),
    ).toEqual(['10.0.0.10']);
    expect(
      peersOf(
        ask(
          'SELECT * FROM system.peers_v2 WHERE peer = :address AND peer_port = :port',
          ctx,
          { values: [encodeInt(7000), encodeInet('10.0.0.1')], names: ['port', 'address'] },
          true,
        ),
      ),
    ).toEqual(['10.0.0.1']);
    expect(
      peersOf(
        ask(
          'SELECT peer FROM system.peers WHERE peer IN ?',
          ctx,
          values(encodeCollection([encodeInet('10.0.0.10'), encodeInet('10.0.0.1')])),
        ),
      ),
    ).toEqual(['10.0.0.1', '10.0.0.10']);
  });

  it('reads the request values only when the statement has markers', () => {
    const unread = (): BoundValues => {
      throw new Error('values decoded');
    };
    const answer = answerSystemStatement(statement('SELECT key FROM system.local'), ALONE, unread);
    expect(rows(answer)).toHaveLength(1);
    const bound = answerSystemStatement(
      statement('SELECT key FROM system.local WHERE key = ?'),
      ALONE,
      () => values(encodeText('local')),
      true,
    );
    expect(rows(bound)).toHaveLength(1);
  });

  it('PREPARE announces the markers with their column types and the routing key', () => {
    const ctx = withPeers();
    expect(prepared('SELECT * FROM system.local WHERE key = ?')).toMatchObject({
      variables: ['key text'],
      pkIndexes: [0],
    });
    expect(prepared('SELECT peer FROM system.peers WHERE peer = ?', ctx)).toEqual({
      columns: ['peer inet'],
      variables: ['peer inet'],
      tables: ['peers'],
      pkIndexes: [0],
    });
    expect(
      prepared('SELECT * FROM system.peers_v2 WHERE peer = :address AND peer_port = :port', ctx),
    ).toMatchObject({ variables: ['address inet', 'port int'], pkIndexes: [] });
    expect(
      prepared(
        'SELECT * FROM system.peers WHERE peer IN ? AND data_center = ? LIMIT ? ALLOW FILTERING',
        ctx,
      ),
    ).toMatchObject({
      variables: ['in(peer) list<inet>', 'data_center text', '[limit] int'],
      pkIndexes: [],
    });
    expect(
      prepared('SELECT * FROM system.peers WHERE token(peer) > ? AND tokens CONTAINS ?', ctx),
    ).toMatchObject({ variables: ['partition key token bigint', 'tokens text'] });
  });

  it('LIMIT, literal or bound', () => {
    const ctx = withPeers();
    expect(peersOf(ask('SELECT peer FROM system.peers LIMIT 1', ctx))).toEqual(['10.0.0.1']);
    expect(
      peersOf(ask('SELECT peer FROM system.peers LIMIT ?', ctx, values(encodeInt(1)))),
    ).toHaveLength(1);
    expect(peersOf(ask('SELECT peer FROM system.peers LIMIT ?', ctx, values(UNSET)))).toHaveLength(
      2,
    );
    expect(ask('SELECT peer FROM system.peers LIMIT 0', ctx)).toEqual({
      kind: 'invalid',
      message: 'LIMIT must be strictly positive',
    });
  });

  it('ranges, token() and CONTAINS are accepted and keep every row', () => {
    const ctx = withPeers();
    expect(
      peersOf(ask('SELECT peer FROM system.peers WHERE token(peer) > -100', ctx)),
    ).toHaveLength(2);
    expect(
      peersOf(ask("SELECT peer FROM system.peers WHERE tokens CONTAINS '1' ALLOW FILTERING", ctx)),
    ).toHaveLength(2);
  });

  it("errors with Cassandra's messages", () => {
    const invalid = (message: string) => ({ kind: 'invalid', message });
    expect(ask("SELECT * FROM system.local WHERE nope = 'x'")).toEqual(
      invalid('Undefined column name nope'),
    );
    expect(ask("SELECT * FROM system.peers WHERE peer = 'not-an-ip'")).toEqual(
      invalid("Unable to make inet address from 'not-an-ip'"),
    );
    expect(ask('SELECT * FROM system.local WHERE key = 5')).toEqual(
      invalid('Invalid INTEGER constant (5) for "key" of type text'),
    );
    expect(ask('SELECT * FROM system.local WHERE key = null')).toEqual(
      invalid('Invalid null value in condition for column key'),
    );
    expect(ask('SELECT * FROM system.local WHERE key = ?', ALONE, values(null))).toEqual(
      invalid('Invalid null value in condition for column key'),
    );
    expect(ask('SELECT * FROM system.local WHERE key = ?', ALONE, values(UNSET))).toEqual(
      invalid('Invalid unset value for column key'),
    );
    expect(ask('SELECT * FROM system.local WHERE key = ?', ALONE, {}, true)).toEqual(
      invalid('there were 1 markers(?) in CQL but 0 bound variables'),
    );
    expect(ask('SELECT * FROM system.local WHERE key = ?', ALONE, {}, false)).toEqual(
      invalid('Invalid amount of bind variables: expected 1, got 0'),
    );
    expect(
      ask('SELECT * FROM system.local WHERE key = :k', ALONE, {
        values: [encodeText('local')],
        names: ['other'],
      }),
    ).toEqual(invalid('No value has been provided for bind variable k'));
  });
});
