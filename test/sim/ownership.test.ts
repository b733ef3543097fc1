// The simulator's token ownership: vnode tokens in system.local/system.peers, replica placement
// for SimpleStrategy and NetworkTopologyStrategy, and GET /stats counting replica and remote
// coordinators. The Node.js driver routes by token on its own: against the simulator directly it
// must hit a replica every time, which proves that the simulator places replicas as Cassandra does.

import { randomInt } from 'node:crypto';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeIdentity } from '../../sim/engine/contract.js';
import { DEFAULT_VNODES, Ownership, vnodeTokens } from '../../sim/ownership.js';
import { startSimulator, type Simulator } from '../../sim/simulator.js';
import { admin } from '../e2e/helpers/stack.js';

interface StatsAnswer {
  nodes: { index: number; hostId: string; replica: number; remote: number }[];
}

function identity(
  i: number,
  count: number,
  vnodes: number,
  dc = 'dc1',
  rack = 'rack1',
): NodeIdentity {
  const tokens = vnodeTokens(i, count, vnodes);
  return {
    hostId: `host-${i}`,
    address: `127.0.0.${i + 1}`,
    port: 9042,
    dataCenter: dc,
    rack,
    token: tokens[0]!,
    tokens,
  };
}

function intKey(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

describe('vnode tokens and replica placement', () => {
  it('gives every node its vnodes, all distinct and interleaved', () => {
    const all = [0, 1, 2].flatMap((i) => vnodeTokens(i, 3, 8).map((t) => ({ t: BigInt(t), i })));
    expect(all).toHaveLength(24);
    expect(new Set(all.map((e) => e.t)).size).toBe(24);
    all.sort((a, b) => (a.t < b.t ? -1 : 1));
    // Interleaved: consecutive ring tokens belong to different nodes.
    for (let k = 1; k < all.length; k++) expect(all[k]!.i).not.toBe(all[k - 1]!.i);
    expect(DEFAULT_VNODES).toBe(8);
  });

  const nodes = [0, 1, 2].map((i) => identity(i, 3, 8));
  const replication = new Map<string, ReadonlyMap<string, string>>([
    [
      'rf1',
      new Map([
        ['class', 'org.apache.cassandra.locator.SimpleStrategy'],
        ['replication_factor', '1'],
      ]),
    ],
    [
      'rf2',
      new Map([
        ['class', 'org.apache.cassandra.locator.SimpleStrategy'],
        ['replication_factor', '2'],
      ]),
    ],
    [
      'nts1',
      new Map([
        ['class', 'org.apache.cassandra.locator.NetworkTopologyStrategy'],
        ['dc1', '1'],
      ]),
    ],
    [
      'nts3',
      new Map([
        ['class', 'org.apache.cassandra.locator.NetworkTopologyStrategy'],
        ['dc1', '3'],
      ]),
    ],
    [
      'nts5',
      new Map([
        ['class', 'org.apache.cassandra.locator.NetworkTopologyStrategy'],
        ['dc1', '5'],
      ]),
    ],
  ]);
  const ownership = new Ownership(
    () => nodes,
    (ks) => replication.get(ks),
  );

  it('places RF replicas, each key on one node with RF 1, spread evenly', () => {
    const counts = new Map<string, number>();
    for (let k = 0; k < 3000; k++) {
      const one = ownership.replicas('rf1', intKey(k))!;
      expect(one.size).toBe(1);
      const [id] = [...one];
      counts.set(id!, (counts.get(id!) ?? 0) + 1);
      expect(ownership.replicas('nts1', intKey(k))).toEqual(one);
      expect(ownership.replicas('rf2', intKey(k))!.size).toBe(2);
      expect(ownership.replicas('rf2', intKey(k))!.has(id!)).toBe(true);
      expect(ownership.replicas('nts3', intKey(k))!.size).toBe(3);
      expect(ownership.replicas('nts5', intKey(k))!.size).toBe(3);
    }
    for (const n of counts.values()) expect(n).toBeGreaterThan(600);
    expect(ownership.replicas('unknown', intKey(1))).toBeUndefined();
  });

  it('with NetworkTopologyStrategy, takes one node per rack before a second of any rack', () => {
    // Ring order a(r1) b(r1) c(r2): RF 2 must be a and c, not a and b.
    const racked: NodeIdentity[] = [
      { ...identity(0, 3, 1), rack: 'r1' },
      { ...identity(1, 3, 1), rack: 'r1' },
      { ...identity(2, 3, 1), rack: 'r2' },
    ];
    const own = new Ownership(
      () => racked,
      () =>
        new Map([
          ['class', 'org.apache.cassandra.locator.NetworkTopologyStrategy'],
          ['dc1', '2'],
        ]),
    );
    // A key whose token sits just after node 2's token wraps to node 0 first.
    let seen = 0;
    for (let k = 0; k < 200; k++) {
      const replicas = own.replicas('ks', intKey(k))!;
      expect(replicas.size).toBe(2);
      // r2's only node is always there.
      expect(replicas.has('host-2')).toBe(true);
      seen++;
    }
    expect(seen).toBe(200);
  });
});

describe('the simulator reports tokens and counts replica coordinators', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ nodes: 3, vnodes: 4, log: () => undefined });
  }, 60_000);

  afterAll(async () => {
    await sim.close();
  });

  it('lists each node vnode tokens and counts the Node.js driver token-aware EXECUTEs as replica', async () => {
    const client = new cassandra.Client({
      contactPoints: [...sim.info.contactPoints],
      protocolOptions: { port: sim.info.port },
      localDataCenter: sim.info.region,
      credentials: { username: 'token', password: sim.info.token },
    });
    try {
      await client.connect();
      const local = await client.execute("SELECT tokens FROM system.local WHERE key='local'");
      expect((local.rows[0]!['tokens'] as string[]).length).toBe(4);
      const peers = await client.execute('SELECT tokens FROM system.peers');
      expect(peers.rows.map((r) => (r['tokens'] as string[]).length)).toEqual([4, 4]);

      await client.execute(
        "CREATE KEYSPACE IF NOT EXISTS own_rf1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
      );
      await client.execute('CREATE TABLE IF NOT EXISTS own_rf1.kv (k int PRIMARY KEY, v text)');
      await client.execute(
        'CREATE TABLE IF NOT EXISTS own_rf1.kk (a int, b text, v text, PRIMARY KEY ((a, b)))',
      );
      // Let the driver read the new schema (its token map needs the keyspace's replication).
      await client.metadata.refreshKeyspaces();
      await admin(sim.info, 'DELETE', '/stats');
      for (let i = 0; i < 120; i++) {
        await client.execute('INSERT INTO own_rf1.kv (k, v) VALUES (?, ?)', [randomInt(1e9), 'x'], {
          prepare: true,
        });
        await client.execute(
          'INSERT INTO own_rf1.kk (a, b, v) VALUES (?, ?, ?)',
          [randomInt(1e9), `b${i}`, 'x'],
          { prepare: true },
        );
      }
      const stats = (await admin(sim.info, 'GET', '/stats')) as StatsAnswer;
      const replica = stats.nodes.reduce((n, s) => n + s.replica, 0);
      const remote = stats.nodes.reduce((n, s) => n + s.remote, 0);
      expect(replica + remote).toBe(240);
      expect(remote).toBe(0);
      // Spread over the nodes.
      for (const s of stats.nodes) expect(s.replica).toBeGreaterThan(20);
    } finally {
      await client.shutdown();
    }
  }, 60_000);
});
