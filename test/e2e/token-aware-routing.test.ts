// Token-aware routing end to end: the Node.js driver sends prepared statements over random keys
// through the proxy to a 3-node simulator (8 vnodes each), and the simulator's GET /stats tells
// how many of them reached a replica of their partition. With RF 1 round robin hits the replica a
// third of the time; routed, every time. A stopped replica does not fail requests: they go to the
// other nodes. --num-conns opens that many connections per node.

import { randomInt } from 'node:crypto';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startStack, waitFor, type Stack } from './helpers/stack.js';

interface StatsAnswer {
  nodes: { index: number; replica: number; remote: number }[];
}

let stack: Stack;
let client: cassandra.Client;

async function stats(): Promise<{ replica: number; remote: number }> {
  const answer = (await admin(stack.sim.info, 'GET', '/stats')) as StatsAnswer;
  return {
    replica: answer.nodes.reduce((n, s) => n + s.replica, 0),
    remote: answer.nodes.reduce((n, s) => n + s.remote, 0),
  };
}

/** `count` prepared statements over random keys, `concurrency` at a time; the replica ratio. */
async function workload(
  keyspace: string,
  count: number,
  concurrency = 16,
): Promise<{ ratio: number; replica: number; remote: number; failed: number }> {
  await admin(stack.sim.info, 'DELETE', '/stats');
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const k = randomInt(2 ** 31);
      try {
        if (i % 3 === 0) {
          await client.execute(`SELECT v FROM ${keyspace}.kv WHERE k = ?`, [k], { prepare: true });
        } else if (i % 3 === 1) {
          await client.execute(`INSERT INTO ${keyspace}.kv (k, v) VALUES (?, ?)`, [k, 'x'], {
            prepare: true,
          });
        } else {
          await client.execute(
            `INSERT INTO ${keyspace}.pair (a, b, v) VALUES (?, ?, ?)`,
            [k, `b${i}`, 'x'],
            { prepare: true },
          );
        }
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const { replica, remote } = await stats();
  return { ratio: replica / Math.max(1, replica + remote), replica, remote, failed };
}

beforeAll(async () => {
  stack = await startStack('contact-points', {
    simulator: { nodes: 3, vnodes: 8 },
    proxyArgs: ['--num-conns', '2'],
  });
  client = new cassandra.Client({
    contactPoints: [`127.0.0.1:${stack.port}`],
    localDataCenter: stack.sim.info.region,
    socketOptions: { readTimeout: 20_000 },
  });
  await client.connect();
  const ddl = [
    "CREATE KEYSPACE rt_rf1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    "CREATE KEYSPACE rt_nts1 WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 1}",
    "CREATE KEYSPACE rt_rf3 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
  ];
  for (const q of ddl) await client.execute(q);
  for (const ks of ['rt_rf1', 'rt_nts1', 'rt_rf3']) {
    await client.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`);
    await client.execute(`CREATE TABLE ${ks}.pair (a int, b text, v text, PRIMARY KEY ((a, b)))`);
  }
  const router = stack.proxy.cluster.router;
  await waitFor(
    () => ['rt_rf1', 'rt_nts1', 'rt_rf3'].every((ks) => router.hasReplication(ks)),
    10_000,
    'the proxy to read the new keyspaces replication',
  );
}, 60_000);

afterAll(async () => {
  await client?.shutdown();
  await stack?.close();
});

describe('token-aware routing through the proxy', () => {
  it('reads 8 tokens per node from system.local/system.peers', () => {
    expect(stack.proxy.cluster.router.ringSize).toBe(24);
  });

  it('round robin (routing off) reaches the replica about a third of the time with RF 1', async () => {
    const router = stack.proxy.cluster.router;
    router.enabled = false;
    try {
      const before = await workload('rt_rf1', 600);
      console.log(`round robin, RF 1: replica ratio ${before.ratio.toFixed(3)}`, before);
      expect(before.failed).toBe(0);
      expect(before.replica + before.remote).toBe(600);
      expect(before.ratio).toBeGreaterThan(0.2);
      expect(before.ratio).toBeLessThan(0.5);
    } finally {
      router.enabled = true;
    }
  }, 60_000);

  it('routes >= 99% of prepared statements to a replica with RF 1', async () => {
    const after = await workload('rt_rf1', 600);
    console.log(`token-aware, RF 1: replica ratio ${after.ratio.toFixed(3)}`, after);
    expect(after.failed).toBe(0);
    expect(after.replica + after.remote).toBe(600);
    expect(after.ratio).toBeGreaterThanOrEqual(0.99);
  }, 60_000);

  it("routes >= 99% to a replica with NetworkTopologyStrategy {'dc1': 1}", async () => {
    const after = await workload('rt_nts1', 600);
    console.log(`token-aware, NTS dc1:1: replica ratio ${after.ratio.toFixed(3)}`, after);
    expect(after.failed).toBe(0);
    expect(after.ratio).toBeGreaterThanOrEqual(0.99);
  }, 60_000);

  it('with RF 3 every node is a replica, and the load still spreads over the nodes', async () => {
    const after = await workload('rt_rf3', 600);
    expect(after.failed).toBe(0);
    expect(after.ratio).toBe(1);
    const answer = (await admin(stack.sim.info, 'GET', '/stats')) as StatsAnswer;
    for (const node of answer.nodes) expect(node.replica).toBeGreaterThan(60);
  }, 60_000);

  it('routes a BATCH of one partition to its replica', async () => {
    await admin(stack.sim.info, 'DELETE', '/stats');
    for (let i = 0; i < 60; i++) {
      const k = randomInt(2 ** 31);
      await client.batch(
        [
          { query: 'INSERT INTO rt_rf1.kv (k, v) VALUES (?, ?)', params: [k, 'a'] },
          { query: 'UPDATE rt_rf1.kv SET v = ? WHERE k = ?', params: ['b', k] },
        ],
        { prepare: true },
      );
    }
    const { replica, remote } = await stats();
    expect(replica + remote).toBe(60);
    expect(remote).toBe(0);
  }, 60_000);

  it('opens --num-conns connections to every node', () => {
    for (const state of stack.proxy.cluster.nodeStates()) {
      expect(state.connections).toBeGreaterThanOrEqual(2);
      expect(state.connections % 2).toBe(0);
    }
  });

  it('keeps answering with a replica node stopped: RF 1 falls back, RF 3 stays on replicas', async () => {
    await admin(stack.sim.info, 'POST', '/nodes/0/stop');
    try {
      await waitFor(
        () => stack.proxy.cluster.nodeStates().filter((s) => s.up).length === 2,
        10_000,
        'the proxy to see node 0 down',
      );
      const rf1 = await workload('rt_rf1', 300);
      expect(rf1.failed).toBe(0);
      expect(rf1.replica + rf1.remote).toBe(300);
      // The keys node 0 owns go elsewhere; the others still reach their replica.
      expect(rf1.ratio).toBeGreaterThan(0.5);
      const rf3 = await workload('rt_rf3', 300);
      expect(rf3.failed).toBe(0);
      expect(rf3.ratio).toBe(1);
    } finally {
      await admin(stack.sim.info, 'POST', '/nodes/0/start');
    }
  }, 60_000);
});

describe('token-aware routing in Astra bundle mode (nodes by host id, through the SNI proxy)', () => {
  let astra: Stack;
  let astraClient: cassandra.Client;

  beforeAll(async () => {
    astra = await startStack('astra-bundle', { simulator: { nodes: 3 } });
    astraClient = new cassandra.Client({
      contactPoints: [`127.0.0.1:${astra.port}`],
      localDataCenter: astra.sim.info.region,
      socketOptions: { readTimeout: 20_000 },
    });
    await astraClient.connect();
    await astraClient.execute(
      "CREATE KEYSPACE rt_astra WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 1}",
    );
    await astraClient.execute('CREATE TABLE rt_astra.kv (k int PRIMARY KEY, v text)');
    await waitFor(
      () => astra.proxy.cluster.router.hasReplication('rt_astra'),
      10_000,
      'the proxy to read the keyspace replication',
    );
  }, 60_000);

  afterAll(async () => {
    await astraClient?.shutdown();
    await astra?.close();
  });

  it('routes >= 99% to the replica', async () => {
    await admin(astra.sim.info, 'DELETE', '/stats');
    for (let i = 0; i < 200; i++) {
      await astraClient.execute(
        'INSERT INTO rt_astra.kv (k, v) VALUES (?, ?)',
        [randomInt(2 ** 31), 'x'],
        { prepare: true },
      );
    }
    const answer = (await admin(astra.sim.info, 'GET', '/stats')) as StatsAnswer;
    const replica = answer.nodes.reduce((n, s) => n + s.replica, 0);
    const remote = answer.nodes.reduce((n, s) => n + s.remote, 0);
    expect(replica + remote).toBe(200);
    expect(replica / 200).toBeGreaterThanOrEqual(0.99);
  }, 60_000);
});
