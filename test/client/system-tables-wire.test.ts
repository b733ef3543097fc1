// The system tables over the wire: a raw client PREPAREs and EXECUTEs the queries drivers send
// (bound parameters, named values, pk_indexes by protocol version, QUERY with values), and the
// Node.js and Python drivers prepare them with parameters too.

import { execFile } from 'node:child_process';
import cassandra from 'cassandra-driver';
import { afterEach, describe, expect, it } from 'vitest';
import { Consistency, ErrorCode, Opcode, ResultKind } from '../../src/protocol/constants.js';
import { columnTypeToCql } from '../../src/protocol/messages/column-type.js';
import { decodeError } from '../../src/protocol/messages/error.js';
import { encodeExecute } from '../../src/protocol/messages/execute.js';
import { encodePrepare } from '../../src/protocol/messages/prepare.js';
import type { QueryParameters } from '../../src/protocol/messages/query-parameters.js';
import { type ResultMessage, decodeResult } from '../../src/protocol/messages/result.js';
import {
  decodeInet,
  decodeInt,
  decodeText,
  decodeUuid,
  encodeInet,
  encodeInt,
  encodeText,
} from '../../src/protocol/values.js';
import { nameBasedUuid } from '../../src/client/uuids.js';
import { FAKE_DC } from './fake-backend.js';
import {
  type TestConnection,
  type TestProxy,
  queryFrame,
  requestFrame,
  startTestProxy,
} from './test-connection.js';

const proxies: TestProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

/** A proxy at 127.0.0.1 with peer proxies 127.0.0.2 and 127.0.0.3 (DC east). */
async function proxyWithPeers(clientVersions = [4, 3]): Promise<TestProxy> {
  const p = await startTestProxy(
    { clientVersions },
    {
      rpcAddress: '127.0.0.1',
      peers: [
        { rpcAddress: '127.0.0.1' },
        { rpcAddress: '127.0.0.2' },
        { rpcAddress: '127.0.0.3', dataCenter: 'east' },
      ],
    },
  );
  proxies.push(p);
  return p;
}

function result(frame: Buffer): ResultMessage {
  if (frame.readUInt8(4) === Opcode.ERROR) {
    const error = decodeError(frame.subarray(9), frame.readUInt8(0) & 0x7f);
    throw new Error(`error ${error.code}: ${error.message}`);
  }
  return decodeResult(frame.subarray(9), frame.readUInt8(0) & 0x7f);
}

function errorOf(frame: Buffer): { code: number; message: string } {
  expect(frame.readUInt8(4)).toBe(Opcode.ERROR);
  return decodeError(frame.subarray(9), frame.readUInt8(0) & 0x7f);
}

interface Prepared {
  id: Uint8Array;
  resultMetadataId?: Uint8Array;
  columns: string[];
  variables: string[];
  pkIndexes: number[];
}

async function prepare(c: TestConnection, version: number, query: string): Promise<Prepared> {
  const frame = requestFrame(version, 1, Opcode.PREPARE, encodePrepare(version, { query }));
  const prepared = result(await c.request(frame));
  if (prepared.kind !== ResultKind.PREPARED) throw new Error('not PREPARED');
  const spec = (c: { name: string; type: Parameters<typeof columnTypeToCql>[0] }): string =>
    `${c.name} ${columnTypeToCql(c.type)}`;
  return {
    id: prepared.id,
    ...(prepared.resultMetadataId === undefined
      ? {}
      : { resultMetadataId: prepared.resultMetadataId }),
    columns: (prepared.resultMetadata.columns ?? []).map(spec),
    variables: prepared.metadata.columns.map(spec),
    pkIndexes: prepared.metadata.pkIndexes,
  };
}

function executeFrame(
  version: number,
  prepared: Prepared,
  parameters: Omit<QueryParameters, 'consistency'>,
): Buffer {
  return requestFrame(
    version,
    2,
    Opcode.EXECUTE,
    encodeExecute(version, {
      id: prepared.id,
      ...(prepared.resultMetadataId === undefined
        ? {}
        : { resultMetadataId: prepared.resultMetadataId }),
      parameters: { consistency: Consistency.ONE, ...parameters },
    }),
  );
}

async function rowsOf(c: TestConnection, frame: Buffer): Promise<(Buffer | null)[][]> {
  const rows = result(await c.request(frame));
  if (rows.kind !== ResultKind.ROWS) throw new Error('not ROWS');
  return rows.rows;
}

describe('PREPARE and EXECUTE of system queries (raw client)', () => {
  it("the driver's system.local query and system.local WHERE key = ?", async () => {
    const p = await proxyWithPeers();
    const c = await p.ready(4);
    const driver = await prepare(
      c,
      4,
      'SELECT key, data_center, host_id, broadcast_address, rack, release_version, tokens, ' +
        'schema_version FROM system.local',
    );
    expect(driver.columns).toEqual([
      'key text',
      'data_center text',
      'host_id uuid',
      'broadcast_address inet',
      'rack text',
      'release_version text',
      'tokens set<text>',
      'schema_version uuid',
    ]);
    expect(driver.variables).toEqual([]);
    const [row] = await rowsOf(c, executeFrame(4, driver, { values: [] }));
    expect(decodeText(row?.[0] ?? null)).toBe('local');
    expect(decodeInet(row?.[3] ?? null)).toBe('127.0.0.1');

    const byKey = await prepare(
      c,
      4,
      'SELECT rpc_address, rpc_port FROM system.local WHERE key = ?',
    );
    expect(byKey).toMatchObject({ variables: ['key text'], pkIndexes: [0] });
    const rows = await rowsOf(c, executeFrame(4, byKey, { values: [encodeText('local')] }));
    expect(rows.map((r) => [decodeInet(r[0] ?? null), decodeInt(r[1] ?? null)])).toEqual([
      ['127.0.0.1', p.port],
    ]);
    expect(await rowsOf(c, executeFrame(4, byKey, { values: [encodeText('nope')] }))).toEqual([]);
    expect(errorOf(await c.request(executeFrame(4, byKey, { values: [] })))).toEqual({
      code: ErrorCode.INVALID,
      message: 'there were 1 markers(?) in CQL but 0 bound variables',
    });
    expect(p.backend.received).toHaveLength(0);
  });

  it('system.peers WHERE peer = ?, with preferred_ip', async () => {
    const p = await proxyWithPeers();
    const c = await p.ready(4);
    const byPeer = await prepare(
      c,
      4,
      'SELECT peer, preferred_ip, data_center, host_id FROM system.peers WHERE peer = ?',
    );
    expect(byPeer).toMatchObject({
      columns: ['peer inet', 'preferred_ip inet', 'data_center text', 'host_id uuid'],
      variables: ['peer inet'],
      pkIndexes: [0],
    });
    const rows = await rowsOf(c, executeFrame(4, byPeer, { values: [encodeInet('127.0.0.3')] }));
    expect(
      rows.map((r) => [
        decodeInet(r[0] ?? null),
        decodeInet(r[1] ?? null),
        decodeText(r[2] ?? null),
        decodeUuid(r[3] ?? null),
      ]),
    ).toEqual([['127.0.0.3', '127.0.0.3', 'east', nameBasedUuid('127.0.0.3')]]);
    expect(await rowsOf(c, executeFrame(4, byPeer, { values: [encodeInet('127.0.0.9')] }))).toEqual(
      [],
    );
  });

  it('system.peers_v2 WHERE peer = :address AND peer_port = :port, values by name', async () => {
    const p = await proxyWithPeers();
    const c = await p.ready(4);
    const v2 = await prepare(
      c,
      4,
      'SELECT peer, native_address, native_port FROM system.peers_v2 ' +
        'WHERE peer = :address AND peer_port = :port',
    );
    expect(v2.variables).toEqual(['address inet', 'port int']);
    const rows = await rowsOf(
      c,
      executeFrame(4, v2, {
        values: [encodeInt(7000), encodeInet('127.0.0.2')],
        names: ['port', 'address'],
      }),
    );
    expect(
      rows.map((r) => [
        decodeInet(r[0] ?? null),
        decodeInet(r[1] ?? null),
        decodeInt(r[2] ?? null),
      ]),
    ).toEqual([['127.0.0.2', '127.0.0.2', p.port]]);
  });

  it('QUERY with values binds the markers too', async () => {
    const p = await proxyWithPeers();
    const c = await p.ready(4);
    const rows = await rowsOf(
      c,
      queryFrame(4, 3, 'SELECT peer FROM system.peers WHERE peer IN (?, ?) LIMIT ?', {
        consistency: Consistency.ONE,
        values: [encodeInet('127.0.0.3'), encodeInet('127.0.0.2'), encodeInt(5)],
      }),
    );
    expect(rows.map((r) => decodeInet(r[0] ?? null))).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(
      errorOf(await c.request(queryFrame(4, 4, 'SELECT peer FROM system.peers WHERE peer = ?'))),
    ).toEqual({
      code: ErrorCode.INVALID,
      message: 'Invalid amount of bind variables: expected 1, got 0',
    });
  });

  it('pk_indexes from v4 on, none in v3; v5 with its result metadata id', async () => {
    const p = await proxyWithPeers([5, 4, 3]);
    const query = 'SELECT * FROM system.peers WHERE peer = ?';
    const v3 = await p.ready(3);
    expect(await prepare(v3, 3, query)).toMatchObject({ variables: ['peer inet'], pkIndexes: [] });
    const v5 = await p.ready(5);
    const prepared = await prepare(v5, 5, query);
    expect(prepared).toMatchObject({ variables: ['peer inet'], pkIndexes: [0] });
    const rows = await rowsOf(v5, executeFrame(5, prepared, { values: [encodeInet('127.0.0.2')] }));
    expect(rows).toHaveLength(1);
  });
});

describe('drivers preparing system queries with parameters', () => {
  it('Node.js cassandra-driver', async () => {
    const p = await proxyWithPeers();
    const client = new cassandra.Client({
      contactPoints: [`127.0.0.1:${p.port}`],
      localDataCenter: FAKE_DC,
    });
    try {
      await client.connect();
      const local = await client.execute(
        'SELECT key, data_center, host_id, broadcast_address, rack, release_version, tokens, ' +
          'schema_version FROM system.local WHERE key = ?',
        ['local'],
        { prepare: true },
      );
      expect(local.rowLength).toBe(1);
      expect(String(local.first().get('broadcast_address'))).toBe('127.0.0.1');
      expect(local.columns.map((c) => c.name)).toHaveLength(8);
      const peers = await client.execute(
        'SELECT peer, preferred_ip FROM system.peers WHERE peer = ?',
        ['127.0.0.3'],
        { prepare: true },
      );
      expect(peers.rows.map((r) => [String(r.get('peer')), String(r.get('preferred_ip'))])).toEqual(
        [['127.0.0.3', '127.0.0.3']],
      );
      const named = await client.execute(
        'SELECT data_center AS dc, count(*) FROM system.peers_v2 WHERE peer = :address AND peer_port = :port',
        { address: '127.0.0.2', port: 7000 },
        { prepare: true },
      );
      expect(String(named.first().get('count'))).toBe('1');
      expect(named.first().get('dc')).toBe(FAKE_DC);
    } finally {
      await client.shutdown();
    }
  });

  it('Python driver', async () => {
    const p = await proxyWithPeers();
    const script = `
import json, sys
from cassandra.cluster import Cluster
from cassandra.policies import DCAwareRoundRobinPolicy
cluster = Cluster(['127.0.0.1'], port=int(sys.argv[1]), protocol_version=4,
                  load_balancing_policy=DCAwareRoundRobinPolicy(local_dc=sys.argv[2]),
                  connect_timeout=5, control_connection_timeout=5)
session = cluster.connect()
local = session.prepare("SELECT key, data_center, host_id, broadcast_address, rack, release_version, tokens, schema_version FROM system.local WHERE key = ?")
peers = session.prepare("SELECT peer, preferred_ip FROM system.peers WHERE peer = ?")
row = session.execute(local, ['local']).one()
peer = session.execute(peers, ['127.0.0.3']).one()
print(json.dumps({"local": [row.key, str(row.broadcast_address)],
                  "peer": [str(peer.peer), str(peer.preferred_ip)],
                  "hosts": sorted(h.endpoint.address for h in cluster.metadata.all_hosts())}))
cluster.shutdown()
`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        '/usr/bin/python3',
        ['-c', script, String(p.port), FAKE_DC],
        { timeout: 60_000 },
        (err, stdout, stderr) => {
          if (err !== null) reject(new Error(`python driver failed: ${err.message}\n${stderr}`));
          else resolve(stdout.trim().split('\n').pop() ?? '');
        },
      );
    });
    expect(JSON.parse(out)).toEqual({
      local: ['local', '127.0.0.1'],
      peer: ['127.0.0.3', '127.0.0.3'],
      hosts: ['127.0.0.1', '127.0.0.2', '127.0.0.3'],
    });
  });
});
