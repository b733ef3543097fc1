// Graceful close in-process: while requests are in flight, close({ drainTimeoutMs }) fails
// readiness, refuses new connections, lets the requests already read finish and answers them,
// then closes; and when the drain timeout is shorter than the requests, it gives up in time.

import { connect } from 'node:net';
import type cassandra from 'cassandra-driver';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReadinessBody } from '../../src/ops/health.js';
import {
  driverClient,
  httpGet,
  keysInCluster,
  startStack,
  waitFor,
  type Stack,
} from './helpers.js';

const TABLE = 'default_keyspace.ops_drain';
const IN_FLIGHT = 20;

let stack: Stack | undefined;
let client: cassandra.Client | undefined;

afterEach(async () => {
  await client?.shutdown();
  await stack?.close();
  client = undefined;
  stack = undefined;
});

async function setUp(): Promise<{ stack: Stack; client: cassandra.Client }> {
  stack = await startStack({ proxyArgs: ['--health-check', '--metrics'], logLevel: 'info' });
  client = driverClient(stack.port);
  await client.connect();
  await client.execute(`CREATE TABLE IF NOT EXISTS ${TABLE} (k int PRIMARY KEY, v text)`);
  return { stack, client };
}

/** Settles once the port refuses connections (true) or accepts one (false). */
function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('close({ drainTimeoutMs })', () => {
  it('answers every request in flight, fails readiness and refuses new clients meanwhile', async () => {
    const { stack, client } = await setUp();
    const DELAY_MS = 600;
    stack.sim.faults.add({ match: 'ops_drain_slow', delayMs: DELAY_MS, times: IN_FLIGHT });
    const inserts = Array.from({ length: IN_FLIGHT }, (_, k) =>
      client.execute(`INSERT INTO ${TABLE} (k, v) VALUES (${k}, 'ops_drain_slow')`),
    );
    const settled = Promise.allSettled(inserts);
    await waitFor(
      () => stack.proxy.clientSide.pendingRequests === IN_FLIGHT,
      5_000,
      'the requests to reach the proxy',
    );

    const started = Date.now();
    const closing = stack.proxy.close({ drainTimeoutMs: 10_000 });
    const during = await httpGet(`${stack.httpUrl}/readiness`);
    expect(during.status).toBe(503);
    expect((JSON.parse(during.body) as ReadinessBody).status).toBe('DRAINING');
    expect((await httpGet(`${stack.httpUrl}/liveness`)).status).toBe(200);
    expect(await refusesConnections(stack.port)).toBe(true);

    const results = await settled;
    expect(results.map((r) => r.status)).toStrictEqual(Array(IN_FLIGHT).fill('fulfilled'));
    await closing;
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(DELAY_MS / 2);
    expect(took).toBeLessThan(5_000);
    expect(stack.log.find('drained: every request read was answered')).toHaveLength(1);
    // The HTTP server is gone with the rest.
    await expect(httpGet(`${stack.httpUrl}/liveness`)).rejects.toThrow();

    const keys = await keysInCluster(stack.sim.info, TABLE);
    for (let k = 0; k < IN_FLIGHT; k++) expect(keys.has(k)).toBe(true);
  });

  it('gives up at the drain timeout when requests take longer', async () => {
    const { stack, client } = await setUp();
    stack.sim.faults.add({ match: 'ops_drain_stuck', delayMs: 5_000, times: 5 });
    const inserts = Array.from({ length: 5 }, (_, k) =>
      client.execute(`INSERT INTO ${TABLE} (k, v) VALUES (${100 + k}, 'ops_drain_stuck')`),
    );
    // Settled from now on: they fail while close() is awaited.
    const settled = Promise.allSettled(inserts);
    await waitFor(
      () => stack.proxy.clientSide.pendingRequests === 5,
      5_000,
      'the requests to reach the proxy',
    );
    const started = Date.now();
    await stack.proxy.close({ drainTimeoutMs: 300 });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    // Gives up at the drain timeout instead of waiting for the answers (they never come).
    expect(took).toBeLessThan(4_000);
    expect(
      stack.log.find('drain timeout: closing client connections with requests unanswered'),
    ).toStrictEqual([expect.objectContaining({ unanswered: 5, drainTimeoutMs: 300, level: 40 })]);
    // The driver sees its connection close under these requests.
    const results = await settled;
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
  });
});
