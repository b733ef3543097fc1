// /metrics after a known workload through the Node.js driver: request counts by opcode and
// outcome and the latency histogram reflect exactly the requests sent; faults injected in the
// simulator show up as errors by code and origin; retries, UNPREPARED recoveries, the proxy's own
// timeouts, client connections and bytes are counted. Each test compares two scrapes, so the
// driver's own start-up requests do not blur the counts.

import type cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_SECONDS } from '../../src/ops/request-stats.js';
import { driverClient, httpGet, scrape, startStack, type Scrape, type Stack } from './helpers.js';

const TABLE = 'default_keyspace.ops_metrics';
const REQUEST_TIMEOUT_MS = 400;

let stack: Stack;
let client: cassandra.Client;

beforeAll(async () => {
  stack = await startStack({
    proxyArgs: ['--metrics', '--request-timeout', `${REQUEST_TIMEOUT_MS}ms`],
    logLevel: 'info',
  });
  client = driverClient(stack.port);
  await client.connect();
  await client.execute(`CREATE TABLE IF NOT EXISTS ${TABLE} (k int PRIMARY KEY, v text)`);
});

afterAll(async () => {
  await client?.shutdown();
  await stack?.close();
});

/** The change of every counter between two scrapes. */
function delta(before: Scrape, after: Scrape) {
  return (name: string, labels: Record<string, string> = {}): number =>
    after.sum(name, labels) - before.sum(name, labels);
}

describe('/metrics', () => {
  it('is the Prometheus text format, with process metrics, and only with --metrics', async () => {
    const answer = await httpGet(`${stack.httpUrl}/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const m = await scrape(stack.httpUrl);
    expect(m.types.get('cqlproxy_requests_total')).toBe('counter');
    expect(m.types.get('cqlproxy_request_duration_seconds')).toBe('histogram');
    expect(m.types.get('cqlproxy_client_connections')).toBe('gauge');
    expect(m.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(m.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    const info = m.samples.filter((s) => s.name === 'cqlproxy_cluster_info');
    expect(
      info.map((s) => [s.labels.protocol_version, s.labels.data_center, s.value]),
    ).toStrictEqual([['4', 'dc1', 1]]);
    expect(info[0]?.labels.release_version).toMatch(/^\d+\.\d+/);
    // --health-check is off: the health paths are not served.
    expect((await httpGet(`${stack.httpUrl}/readiness`)).status).toBe(404);
  });

  it('counts N queries and M executions exactly, with their latency', async () => {
    const N = 25;
    const M = 10;
    const before = await scrape(stack.httpUrl);
    for (let i = 0; i < N; i++) {
      await client.execute(`INSERT INTO ${TABLE} (k, v) VALUES (${i}, 'q')`);
    }
    const insert = `INSERT INTO ${TABLE} (k, v) VALUES (?, ?)`;
    for (let i = 0; i < M; i++) await client.execute(insert, [1000 + i, 'e'], { prepare: true });
    const after = await scrape(stack.httpUrl);
    const d = delta(before, after);

    expect(d('cqlproxy_requests_total', { opcode: 'QUERY', outcome: 'ok' })).toBe(N);
    expect(d('cqlproxy_requests_total', { opcode: 'EXECUTE', outcome: 'ok' })).toBe(M);
    expect(d('cqlproxy_requests_total', { opcode: 'PREPARE', outcome: 'ok' })).toBe(1);
    expect(d('cqlproxy_requests_total')).toBe(N + M + 1);
    expect(d('cqlproxy_request_errors_total')).toBe(0);

    for (const [opcode, count] of [
      ['QUERY', N],
      ['EXECUTE', M],
    ] as const) {
      expect(d('cqlproxy_request_duration_seconds_count', { opcode })).toBe(count);
      expect(d('cqlproxy_request_duration_seconds_bucket', { opcode, le: '+Inf' })).toBe(count);
      expect(d('cqlproxy_request_duration_seconds_sum', { opcode })).toBeGreaterThan(0);
      // Cumulative buckets, one per bound, never decreasing, ending at the count.
      const buckets = after.samples.filter(
        (s) => s.name === 'cqlproxy_request_duration_seconds_bucket' && s.labels.opcode === opcode,
      );
      expect(buckets.map((s) => s.labels.le)).toStrictEqual([
        ...LATENCY_BUCKETS_SECONDS.map(String),
        '+Inf',
      ]);
      for (let i = 1; i < buckets.length; i++) {
        expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
      }
      expect(buckets.at(-1)!.value).toBe(
        after.value('cqlproxy_request_duration_seconds_count', { opcode }),
      );
    }

    expect(d('cqlproxy_client_received_bytes_total')).toBeGreaterThan((N + M) * 30);
    expect(d('cqlproxy_client_sent_bytes_total')).toBeGreaterThan((N + M) * 9);
    // The same requests travelled on to the nodes (summed over every node's label set).
    expect(d('cqlproxy_upstream_sent_bytes_total')).toBeGreaterThan((N + M) * 30);
    expect(d('cqlproxy_upstream_received_bytes_total')).toBeGreaterThan((N + M) * 9);
    expect(after.value('cqlproxy_client_connections')).toBeGreaterThanOrEqual(1);
    expect(after.value('cqlproxy_client_connections_total')).toBeGreaterThanOrEqual(1);
    expect(after.value('cqlproxy_client_requests_pending')).toBe(0);
    const nodes = stack.sim.info.contactPoints.map((address) => ({
      node: `${address}:${stack.sim.info.port}`,
      address,
    }));
    for (const node of nodes) {
      expect(after.value('cqlproxy_node_up', node)).toBe(1);
      expect(after.value('cqlproxy_upstream_connections', node)).toBeGreaterThanOrEqual(1);
    }
  });

  it('counts errors by CQL code and origin after an injected fault', async () => {
    const before = await scrape(stack.httpUrl);
    stack.sim.faults.add({ match: 'ops_fault_wt', error: 'write_timeout', times: 3 });
    for (let i = 0; i < 3; i++) {
      await expect(
        client.execute(`INSERT INTO ${TABLE} (k, v) VALUES (${2000 + i}, 'ops_fault_wt')`),
      ).rejects.toMatchObject({ code: 0x1100 });
    }
    const d = delta(before, await scrape(stack.httpUrl));
    expect(d('cqlproxy_requests_total', { opcode: 'QUERY', outcome: 'write_timeout' })).toBe(3);
    expect(
      d('cqlproxy_request_errors_total', {
        code: '0x1100',
        error: 'write_timeout',
        origin: 'cluster',
      }),
    ).toBe(3);
    expect(d('cqlproxy_request_errors_total')).toBe(3);
    expect(d('cqlproxy_retries_total')).toBe(0);
  });

  it('counts a retry that succeeded on the next node as one retry and one ok', async () => {
    const before = await scrape(stack.httpUrl);
    stack.sim.faults.add({ match: 'ops_fault_se', error: 'server_error', times: 1 });
    // A SELECT is idempotent: the proxy sends it to the next node.
    await client.execute(
      `SELECT v FROM ${TABLE} WHERE k = 1 AND v = 'ops_fault_se' ALLOW FILTERING`,
    );
    const d = delta(before, await scrape(stack.httpUrl));
    expect(d('cqlproxy_retries_total')).toBe(1);
    expect(d('cqlproxy_requests_total', { opcode: 'QUERY', outcome: 'ok' })).toBe(1);
    expect(d('cqlproxy_request_errors_total')).toBe(0);
  });

  it("counts the proxy's own timeout as outcome timeout, origin timeout", async () => {
    const before = await scrape(stack.httpUrl);
    stack.sim.faults.add({ match: 'ops_fault_slow', delayMs: REQUEST_TIMEOUT_MS * 3, times: 1 });
    await expect(
      client.execute(`INSERT INTO ${TABLE} (k, v) VALUES (3000, 'ops_fault_slow')`),
    ).rejects.toMatchObject({ code: 0x0000 });
    const d = delta(before, await scrape(stack.httpUrl));
    expect(d('cqlproxy_requests_total', { opcode: 'QUERY', outcome: 'timeout' })).toBe(1);
    expect(
      d('cqlproxy_request_errors_total', {
        code: '0x0000',
        error: 'server_error',
        origin: 'timeout',
      }),
    ).toBe(1);
    // Its latency is the timeout's.
    expect(d('cqlproxy_request_duration_seconds_sum', { opcode: 'QUERY' })).toBeGreaterThanOrEqual(
      REQUEST_TIMEOUT_MS / 1000 - 0.05,
    );
  });

  it('counts an UNPREPARED repaired by the proxy', async () => {
    const select = `SELECT v FROM ${TABLE} WHERE k = ?`;
    await client.execute(select, [1], { prepare: true });
    const before = await scrape(stack.httpUrl);
    for (const node of stack.sim.nodes) node.forgetPrepared();
    const rs = await client.execute(select, [1], { prepare: true });
    expect(rs.first()?.get('v')).toBe('q');
    const d = delta(before, await scrape(stack.httpUrl));
    expect(d('cqlproxy_unprepared_recovered_total')).toBe(1);
    expect(d('cqlproxy_requests_total', { opcode: 'EXECUTE', outcome: 'ok' })).toBe(1);
    expect(d('cqlproxy_request_errors_total')).toBe(0);
  });
});
