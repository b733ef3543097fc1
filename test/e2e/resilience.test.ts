// Faults behind the proxy, driven through the simulator's admin HTTP API while the Node.js driver
// talks to the proxy (Astra-bundle mode, three nodes):
// - nodes that forgot their prepared statements: the proxy re-prepares and re-sends, the client
//   never sees UNPREPARED;
// - a node restart: the proxy prepares its cached statements on the reconnected node before
//   sending it traffic;
// - a node stopped under a bounded load: every request completes (retried or answered with an
//   error) within its own deadline, and every acknowledged write is readable afterwards;
// - the node of the control connection stopped: the proxy moves it, and schema events go on.

import type cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeClient } from './helpers/node-driver.js';
import { pythonPreparedProbe } from './helpers/python.js';
import { admin, startStack, waitFor, withDeadline, type Stack } from './helpers/stack.js';

const KEYSPACE = 'resilience';
/** The proxy answers any request within this (flag below); the test's deadline is above it. */
const PROXY_REQUEST_TIMEOUT = '4s';
const REQUEST_DEADLINE_MS = 10_000;

let stack: Stack;
let client: cassandra.Client;
/** What the driver logged: it says so when it has to re-prepare a statement itself. */
const driverLogs: string[] = [];

beforeAll(async () => {
  stack = await startStack('astra-bundle', {
    proxyArgs: ['--request-timeout', PROXY_REQUEST_TIMEOUT],
  });
  // No driver-side timeout: a request the proxy never answers must show up as a hang here.
  client = nodeClient(stack.port, stack.sim.info.region, { readTimeoutMs: 0 });
  client.on('log', (_level: string, _className: string, message: string) =>
    driverLogs.push(message),
  );
  await client.connect();
  await client.execute(
    `CREATE KEYSPACE ${KEYSPACE} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}`,
  );
  await client.execute(`CREATE TABLE ${KEYSPACE}.kv (k text PRIMARY KEY, v int)`);
  await client.execute(
    `CREATE TABLE ${KEYSPACE}.load (loop int, seq int, v text, PRIMARY KEY (loop, seq))`,
  );
}, 60_000);

afterAll(async () => {
  await client?.shutdown();
  await stack?.close();
});

const INSERT_KV = `INSERT INTO ${KEYSPACE}.kv (k, v) VALUES (?, ?)`;
const SELECT_KV = `SELECT v FROM ${KEYSPACE}.kv WHERE k = ?`;

function selfPrepared(): string[] {
  return driverLogs.filter((m) => m.includes('not prepared on'));
}

/** The default session's pool for one node came back (or went away). */
function nodeAvailability(index: number, up: boolean): Promise<void> {
  const address = stack.sim.info.contactPoints[index];
  return new Promise((resolve) => {
    const off = stack.proxy.cluster.onNodeAvailability((node, isUp) => {
      if (node.address === address && isUp === up) {
        off();
        resolve();
      }
    });
  });
}

describe('prepared statements', () => {
  it('survive nodes that forgot them: the proxy repairs UNPREPARED, the client never sees it', async () => {
    // The proxy prepares on one node; round robin then takes each statement to every node (the
    // proxy repairs the first EXECUTE on the others), so afterwards every node knows both.
    for (let i = 0; i < 9; i++) {
      await client.execute(INSERT_KV, [`forget-${i}`, i], { prepare: true });
      await client.execute(SELECT_KV, [`forget-${i}`], { prepare: true });
    }
    const before = stack.proxy.cluster.metrics.unpreparedRecovered;
    for (let n = 0; n < stack.sim.info.nodes.length; n++) {
      await admin(stack.sim.info, 'POST', `/nodes/${n}/forget-prepared`);
    }
    for (let i = 0; i < 9; i++) {
      const row = (await client.execute(SELECT_KV, [`forget-${i}`], { prepare: true })).first();
      expect(row.get('v')).toBe(i);
      await client.execute(INSERT_KV, [`forget-${i}`, i + 100], { prepare: true });
    }
    const recovered = stack.proxy.cluster.metrics.unpreparedRecovered - before;
    // At most once per statement and node: two statements, three nodes.
    expect(recovered).toBeGreaterThanOrEqual(2);
    expect(recovered).toBeLessThanOrEqual(6);
    expect(selfPrepared()).toEqual([]);
    const last = (await client.execute(SELECT_KV, ['forget-8'], { prepare: true })).first();
    expect(last.get('v')).toBe(108);
  });

  it('survive a node restart: the proxy prepares them on the node before it takes traffic', async () => {
    await client.execute(INSERT_KV, ['restart', 1], { prepare: true });
    const node = 1;
    const down = nodeAvailability(node, false);
    await admin(stack.sim.info, 'POST', `/nodes/${node}/stop`);
    await withDeadline(down, 10_000, 'the proxy noticing the stopped node');
    // A replaced node, or one that lost its cache: nothing prepared when it comes back.
    await admin(stack.sim.info, 'POST', `/nodes/${node}/forget-prepared`);
    const up = nodeAvailability(node, true);
    await admin(stack.sim.info, 'POST', `/nodes/${node}/start`);
    await withDeadline(up, 15_000, 'the proxy reconnecting to the restarted node');

    // A rule that only counts (no delay, no error): how many requests node 1 executes.
    const PROBE_TIMES = 1_000;
    await admin(stack.sim.info, 'POST', '/faults', {
      match: `${KEYSPACE}.kv`,
      delayMs: 0,
      times: PROBE_TIMES,
      node,
    });
    const before = stack.proxy.cluster.metrics.unpreparedRecovered;
    for (let i = 0; i < 12; i++) {
      const row = (await client.execute(SELECT_KV, ['restart'], { prepare: true })).first();
      expect(row.get('v')).toBe(1);
      await client.execute(INSERT_KV, ['restart', 1], { prepare: true });
    }
    // Had the proxy not prepared them on reconnect, the node would have answered UNPREPARED.
    expect(stack.proxy.cluster.metrics.unpreparedRecovered - before).toBe(0);
    expect(selfPrepared()).toEqual([]);
    // ...and the restarted node did take its share of them.
    const armed = (await admin(stack.sim.info, 'GET', '/faults')) as {
      nodes: { times?: number }[][];
    };
    await admin(stack.sim.info, 'DELETE', '/faults');
    const remaining = armed.nodes[node]?.[0]?.times ?? PROBE_TIMES;
    expect(PROBE_TIMES - remaining).toBeGreaterThanOrEqual(4);
  });
  // Regression: the proxy kept one PREPARE frame per id, so the session that prepared an id last
  // took it from the others (their UNPREPARED went back to their clients, their statements were
  // not replayed on reconnect). Same id, two sessions: Python v4 + lz4, Node.js uncompressed.
  it('survive forgetting when clients of two sessions prepared the same statement', async () => {
    const query = `SELECT v FROM ${KEYSPACE}.kv WHERE k = ? LIMIT 1`;
    const python = pythonPreparedProbe({
      host: '127.0.0.1',
      port: stack.port,
      protocol: 4,
      compression: 'lz4',
      query,
      runs: 6,
    });
    // A client of its own, so that its PREPARE reaches the proxy after the Python one.
    const node = nodeClient(stack.port, stack.sim.info.region);
    const nodeLogs: string[] = [];
    node.on('log', (_level: string, _className: string, message: string) => nodeLogs.push(message));
    try {
      await withDeadline(python.ready, 30_000, 'the python client preparing');
      await node.connect();
      for (let i = 0; i < 6; i++) await node.execute(query, ['probe'], { prepare: true });
      for (let n = 0; n < stack.sim.info.nodes.length; n++) {
        await admin(stack.sim.info, 'POST', `/nodes/${n}/forget-prepared`);
      }
      const before = stack.proxy.cluster.metrics.unpreparedRecovered;
      expect(await withDeadline(python.runAgain(), 30_000, 'the python client')).toBe(0);
      for (let i = 0; i < 6; i++) await node.execute(query, ['probe'], { prepare: true });
      expect(nodeLogs.filter((m) => m.includes('not prepared on'))).toEqual([]);
      // Both sessions' statements were repaired by the proxy.
      expect(stack.proxy.cluster.metrics.unpreparedRecovered - before).toBeGreaterThanOrEqual(2);
    } finally {
      python.kill();
      await node.shutdown();
    }
  }, 60_000);
});

describe('a node stopped under load', () => {
  it('every request completes within its deadline; every acknowledged write is readable', async () => {
    const LOOPS = 20;
    const MAX_OPS_PER_LOOP = 400;
    const RUN_MS = 4_000;
    const STOP_AT_MS = 1_000;
    const insert = `INSERT INTO ${KEYSPACE}.load (loop, seq, v) VALUES (?, ?, ?)`;
    const select = `SELECT v FROM ${KEYSPACE}.load WHERE loop = ? AND seq = ?`;
    const acknowledged: [number, number][] = [];
    const outcomes = { ok: 0, failed: 0, hung: 0, okAfterStop: 0, staleReads: 0 };
    const errors = new Map<string, number>();
    let stoppedAt = Number.POSITIVE_INFINITY;
    const started = Date.now();

    const request = async (run: () => Promise<cassandra.types.ResultSet>): Promise<unknown> => {
      try {
        const result = await withDeadline(run(), REQUEST_DEADLINE_MS, 'request');
        outcomes.ok++;
        if (Date.now() > stoppedAt) outcomes.okAfterStop++;
        return result;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (message.includes('no answer within')) outcomes.hung++;
        else outcomes.failed++;
        const kind = message.slice(0, 80);
        errors.set(kind, (errors.get(kind) ?? 0) + 1);
        return undefined;
      }
    };

    const loop = async (id: number): Promise<void> => {
      for (let seq = 0; seq < MAX_OPS_PER_LOOP && Date.now() - started < RUN_MS; seq++) {
        const written = await request(() =>
          client.execute(insert, [id, seq, `v${id}-${seq}`], { prepare: true }),
        );
        if (written === undefined) continue;
        acknowledged.push([id, seq]);
        // Read it back at once: a write the cluster acknowledged is there.
        const read = (await request(() => client.execute(select, [id, seq], { prepare: true }))) as
          cassandra.types.ResultSet | undefined;
        if (read !== undefined && read.first()?.get('v') !== `v${id}-${seq}`) outcomes.staleReads++;
      }
    };

    const stopper = (async () => {
      await new Promise((resolve) => setTimeout(resolve, STOP_AT_MS));
      await admin(stack.sim.info, 'POST', '/nodes/2/stop');
      stoppedAt = Date.now();
    })();
    await Promise.all([...Array.from({ length: LOOPS }, (_, i) => loop(i)), stopper]);
    await admin(stack.sim.info, 'POST', '/nodes/2/start');

    const total = outcomes.ok + outcomes.failed + outcomes.hung;
    expect(outcomes.hung, `error kinds: ${JSON.stringify([...errors])}`).toBe(0);
    expect(total).toBeGreaterThan(LOOPS * 10);
    // The two nodes left serve the load after the stop.
    expect(outcomes.okAfterStop).toBeGreaterThan(LOOPS);
    expect(outcomes.staleReads).toBe(0);
    // Idempotent requests caught on the stopped node were retried on the others, not failed.
    expect(outcomes.failed, `error kinds: ${JSON.stringify([...errors])}`).toBe(0);

    // Every acknowledged write, read back page by page at LOCAL_QUORUM.
    const stored = new Set<string>();
    for (let id = 0; id < LOOPS; id++) {
      const rows = await withDeadline(
        client.execute(`SELECT seq FROM ${KEYSPACE}.load WHERE loop = ?`, [id], {
          prepare: true,
          fetchSize: 10_000,
        }),
        REQUEST_DEADLINE_MS,
        'read back',
      );
      for (const row of rows.rows) stored.add(`${id}:${String(row.get('seq'))}`);
    }
    const missing = acknowledged.filter(([id, seq]) => !stored.has(`${id}:${seq}`));
    expect(missing).toEqual([]);
  }, 60_000);
});

describe('the control connection', () => {
  it('moves to another node when its node stops: schema events keep reaching clients', async () => {
    const watcher = nodeClient(stack.port, stack.sim.info.region);
    try {
      await watcher.connect();
      const reconnects = stack.proxy.cluster.metrics.controlReconnects;
      // The proxy opens its control connection on the first node it is given: node 0.
      await admin(stack.sim.info, 'POST', '/nodes/0/stop');
      await waitFor(
        () =>
          stack.proxy.cluster.metrics.controlReconnects > reconnects &&
          stack.proxy.cluster.controlConnected,
        15_000,
        'the control connection on another node',
      );
      await client.execute(
        `CREATE KEYSPACE after_failover WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}`,
      );
      await waitFor(
        () => watcher.metadata.keyspaces.after_failover !== undefined,
        10_000,
        'the keyspace in the metadata of a client',
      );
    } finally {
      await admin(stack.sim.info, 'POST', '/nodes/0/start');
      await watcher.shutdown();
    }
  }, 40_000);
});
