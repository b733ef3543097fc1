// Real drivers against the client side over the fake backend: the Node.js cassandra-driver (which
// starts at DSE v2 and must land on v4 through the unsupported-version error) and the Python
// driver (Debian's python3-cassandra) with v4 lz4, v4 snappy, v5 with LZ4 segments, and v3.

import { execFile } from 'node:child_process';
import cassandra from 'cassandra-driver';
import { afterEach, describe, expect, it } from 'vitest';
import { HeaderFlag, Opcode } from '../../src/protocol/constants.js';
import { nameBasedUuid } from '../../src/client/uuids.js';
import { FAKE_DC } from './fake-backend.js';
import { type TestProxy, startTestProxy } from './test-connection.js';

const proxies: TestProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

describe('Node.js cassandra-driver', () => {
  it('connects from 0x42 down to v4, sees one host, reads system.local, runs queries through', async () => {
    const p = await startTestProxy();
    proxies.push(p);
    const logs: string[] = [];
    const client = new cassandra.Client({
      contactPoints: [`127.0.0.1:${p.port}`],
      localDataCenter: FAKE_DC,
      keyspace: 'ks',
    });
    client.on('log', (_level: string, _className: string, message: string) => logs.push(message));
    try {
      await client.connect();
      expect(logs.some((m) => m.includes('Protocol 0x42 not supported, using 0x4'))).toBe(true);

      const hosts = client.hosts.values();
      expect(hosts).toHaveLength(1);
      const host = hosts[0];
      expect(host?.datacenter).toBe(FAKE_DC);
      expect(host?.rack).toBe('rack1');
      expect(host?.hostId.toString()).toBe(nameBasedUuid('127.0.0.1'));

      const local = await client.execute('SELECT rpc_address, data_center FROM system.local');
      const row = local.first();
      expect(String(row.get('rpc_address'))).toBe('127.0.0.1');
      expect(row.get('data_center')).toBe(FAKE_DC);

      const plain = await client.execute('SELECT k FROM t');
      expect(plain.first().get('k')).toBe('fake-row');
      const prepared = await client.execute('SELECT k FROM t', [], { prepare: true });
      expect(prepared.first().get('k')).toBe('fake-row');
      await client.execute("INSERT INTO t (k) VALUES ('a')");

      // Every cluster session is v4, and the pool's `USE "ks"` chose the ks one.
      expect(new Set(p.backend.sessionCalls.map((s) => s.version))).toEqual(new Set([4]));
      const userQueries = p.backend.received.filter(
        (r) => r.session.keyspace === 'ks' && r.opcode !== Opcode.PREPARE,
      );
      expect(userQueries.length).toBeGreaterThanOrEqual(3);
    } finally {
      await client.shutdown();
    }
  });
});

// Connects, reads what the driver made of the cluster, runs a query through, prints JSON.
const PYTHON_CLIENT = `
import json, sys
from cassandra.cluster import Cluster
from cassandra.policies import DCAwareRoundRobinPolicy
port, dc, version, compression = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
cluster = Cluster(['127.0.0.1'], port=port, protocol_version=version,
                  compression=False if compression == 'none' else compression,
                  load_balancing_policy=DCAwareRoundRobinPolicy(local_dc=dc),
                  connect_timeout=5, control_connection_timeout=5)
session = cluster.connect()
hosts = cluster.metadata.all_hosts()
local = session.execute("SELECT rpc_address, data_center, native_protocol_version FROM system.local").one()
session.set_keyspace('ks')
row = session.execute("SELECT k FROM t").one()
prepared = session.prepare("SELECT k FROM t")
executed = session.execute(prepared).one()
conn = cluster.control_connection._connection
print(json.dumps({
    "compressed": conn.compressor is not None,
    "segments": [conn._is_checksumming_enabled, bool(conn._segment_codec.compression)]
                if version >= 5 else None,
    "hosts": [[h.endpoint.address, h.datacenter, h.rack] for h in hosts],
    "local": [str(local.rpc_address), local.data_center, local.native_protocol_version],
    "row": row.k,
    "executed": executed.k,
    "protocol": cluster.protocol_version,
}))
cluster.shutdown()
`;

interface PythonResult {
  compressed: boolean;
  /** v5: [in segments, segments compressed]. */
  segments: [boolean, boolean] | null;
  hosts: [string, string, string][];
  local: [string, string, string];
  row: string;
  executed: string;
  protocol: number;
}

function runPython(port: number, version: number, compression: string): Promise<PythonResult> {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/python3',
      ['-c', PYTHON_CLIENT, String(port), FAKE_DC, String(version), compression],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(new Error(`python driver failed: ${err.message}\n${stderr}`));
          return;
        }
        const last = stdout.trim().split('\n').pop() ?? '';
        resolve(JSON.parse(last) as PythonResult);
      },
    );
  });
}

describe('Python driver', () => {
  it.each([
    [4, 'lz4'],
    [4, 'snappy'],
    [5, 'lz4'],
    [5, 'none'],
    [3, 'none'],
  ] as const)('protocol v%i, compression %s', async (version, compression) => {
    const p = await startTestProxy({ clientVersions: [5, 4, 3] });
    proxies.push(p);
    const out = await runPython(p.port, version, compression);
    expect(out.protocol).toBe(version);
    expect(out.compressed).toBe(compression !== 'none');
    // v5: compression happens per segment (and the connection is in segments at all).
    expect(out.segments).toEqual(version === 5 ? [true, compression === 'lz4'] : null);
    expect(out.hosts).toEqual([['127.0.0.1', FAKE_DC, 'rack1']]);
    expect(out.local).toEqual(['127.0.0.1', FAKE_DC, String(version)]);
    expect(out.row).toBe('fake-row');
    expect(out.executed).toBe('fake-row');

    const sessionCompression = version !== 5 && compression !== 'none' ? compression : undefined;
    expect(p.backend.sessionCalls).toContainEqual({
      version,
      keyspace: 'ks',
      compression: sessionCompression,
    });
    const queries = p.backend.received.filter((r) => r.session.keyspace === 'ks');
    expect(queries.map((r) => r.opcode)).toEqual([Opcode.QUERY, Opcode.PREPARE, Opcode.EXECUTE]);
    // v4 compression reaches the cluster as the client compressed it.
    const flagged = queries.every((r) => (r.flags & HeaderFlag.COMPRESSION) !== 0);
    expect(flagged).toBe(sessionCompression !== undefined);
  });
});
