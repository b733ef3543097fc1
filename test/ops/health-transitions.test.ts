// Health against the simulator: liveness and readiness under cql-proxy's and ZDM's paths, one
// node stopping and starting (readiness holds, the node shows down, the log says so), then the
// whole cluster stopping (readiness holds for less than --readiness-timeout, then fails) and
// starting again (ready again once a node serves, the control connection close behind).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadinessBody } from '../../src/ops/health.js';
import { httpGet, scrape, startStack, waitFor, type Stack } from './helpers.js';

const READINESS_TIMEOUT_MS = 1_500;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    proxyArgs: [
      '--health-check',
      '--metrics',
      '--readiness-timeout',
      `${READINESS_TIMEOUT_MS}ms`,
      '--connect-timeout',
      '1s',
    ],
  });
});

afterAll(async () => {
  await stack?.close();
});

async function readiness(path = '/readiness'): Promise<{ status: number; body: ReadinessBody }> {
  const answer = await httpGet(`${stack.httpUrl}${path}`);
  expect(answer.contentType).toBe('application/json');
  return { status: answer.status, body: JSON.parse(answer.body) as ReadinessBody };
}

describe('health endpoints', () => {
  it('liveness is 200 ok under both paths', async () => {
    for (const path of ['/liveness', '/health/liveness']) {
      const answer = await httpGet(`${stack.httpUrl}${path}`);
      expect([answer.status, answer.body]).toStrictEqual([200, 'ok']);
    }
  });

  it('readiness is 200 with the outage, the nodes and the clients, under both paths', async () => {
    for (const path of ['/readiness', '/health/readiness']) {
      const { status, body } = await readiness(path);
      expect(status).toBe(200);
      expect(body).toStrictEqual({
        OutageDuration: '0s',
        status: 'UP',
        controlConnection: 'UP',
        outageMs: 0,
        readinessTimeoutMs: READINESS_TIMEOUT_MS,
        nodes: { up: 3, down: 0 },
        clientConnections: 0,
      });
    }
  });
});

describe('one node stops and starts', () => {
  it('stays ready, reports the node down then up, in the body, the metrics and the log', async () => {
    const address = stack.sim.info.contactPoints[2]!;
    const node = { node: `${address}:${stack.sim.info.port}`, address };
    await stack.sim.stopNode(2);
    await waitFor(
      async () => (await readiness()).body.nodes.down === 1,
      10_000,
      'the stopped node to show down',
    );
    const during = await readiness();
    expect(during.status).toBe(200);
    expect(during.body.nodes).toStrictEqual({ up: 2, down: 1 });
    const metrics = await scrape(stack.httpUrl);
    expect(metrics.value('cqlproxy_node_up', node)).toBe(0);
    expect(metrics.value('cqlproxy_upstream_connections', node)).toBe(0);
    const first = stack.sim.info.contactPoints[0]!;
    expect(
      metrics.value('cqlproxy_node_up', {
        node: `${first}:${stack.sim.info.port}`,
        address: first,
      }),
    ).toBe(1);
    expect(stack.log.find('node is down')).toStrictEqual([
      expect.objectContaining({ ...node, component: 'upstream', level: 40 }),
    ]);

    await stack.sim.startNode(2);
    await waitFor(
      async () => (await readiness()).body.nodes.up === 3,
      15_000,
      'the node to come back',
    );
    // Once at start, once now.
    expect(stack.log.find('node is up').filter((l) => l.node === node.node)).toHaveLength(2);
    const after = await scrape(stack.httpUrl);
    expect(after.value('cqlproxy_node_up', node)).toBe(1);
    expect(after.value('cqlproxy_upstream_connections', node)).toBe(1);
  });
});

describe('the whole cluster stops and starts', () => {
  it('is ready during a short outage, not ready past --readiness-timeout, ready again after', async () => {
    const nodes = stack.sim.info.nodes.map((_, i) => i);
    const stoppedAt = Date.now();
    for (const i of nodes) await stack.sim.stopNode(i);

    // The control connection is down, but not for long enough: still ready.
    await waitFor(
      async () => (await readiness()).body.controlConnection === 'DOWN',
      5_000,
      'the control connection to go down',
    );
    const early = await readiness();
    if (early.body.outageMs < READINESS_TIMEOUT_MS) {
      expect(early.status).toBe(200);
      expect(early.body.status).toBe('UP');
    }

    await waitFor(async () => (await readiness()).status === 503, 10_000, 'readiness to fail');
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(READINESS_TIMEOUT_MS);
    for (const path of ['/readiness', '/health/readiness']) {
      const { status, body } = await readiness(path);
      expect(status).toBe(503);
      expect(body.status).toBe('DOWN');
      expect(body.outageMs).toBeGreaterThanOrEqual(READINESS_TIMEOUT_MS);
      // Go's duration syntax, as cql-proxy: "1.5s", "2.013s".
      expect(body.OutageDuration).toMatch(/^\d+(\.\d+)?s$/);
      expect(Number(body.OutageDuration.slice(0, -1)) * 1000).toBeGreaterThanOrEqual(
        READINESS_TIMEOUT_MS,
      );
    }
    // Liveness does not care.
    expect((await httpGet(`${stack.httpUrl}/liveness`)).status).toBe(200);
    const down = await scrape(stack.httpUrl);
    expect(down.value('cqlproxy_control_connection_up')).toBe(0);
    expect(down.value('cqlproxy_ready')).toBe(0);
    expect(down.value('cqlproxy_control_connection_outage_seconds')).toBeGreaterThanOrEqual(
      READINESS_TIMEOUT_MS / 1000,
    );

    for (const i of nodes) await stack.sim.startNode(i);
    // Ready again as soon as a node serves, the control connection back or not; it follows at once
    // (the cluster retries it when a node's pool reconnects).
    await waitFor(async () => (await readiness()).status === 200, 20_000, 'readiness to recover');
    await waitFor(
      async () => (await readiness()).body.controlConnection === 'UP',
      20_000,
      'the control connection to recover',
    );
    const { body } = await readiness();
    expect([body.status, body.controlConnection, body.OutageDuration]).toStrictEqual([
      'UP',
      'UP',
      '0s',
    ]);
    const up = await scrape(stack.httpUrl);
    expect(up.value('cqlproxy_ready')).toBe(1);
    expect(up.value('cqlproxy_control_reconnects_total')).toBeGreaterThanOrEqual(1);
    expect(stack.log.find('control connection closed').length).toBeGreaterThanOrEqual(1);
  });
});
