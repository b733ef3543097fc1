// ProxyMetrics with stand-in sources: every metric's name, type and labels, values read at
// scrape time (nothing pushed), series of removed nodes gone, outcome and error labels, a
// registry of its own per proxy, process metrics on demand.

import type { ClientLimitsReport } from '../../src/client/client-side.js';
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ClientMetricsSource } from '../../src/ops/client-metrics.js';
import type { ClusterMetricsSource } from '../../src/ops/cluster-metrics.js';
import { errorName, outcomeName } from '../../src/ops/metric-labels.js';
import { ProxyMetrics } from '../../src/ops/metrics.js';
import { ErrorCode, Opcode } from '../../src/protocol/constants.js';
import { ErrorOrigin, NO_ERROR, UNREADABLE_ERROR } from '../../src/upstream/request-outcome.js';
import { parsePrometheus, type Sample } from './helpers.js';

function fakeClient(): {
  -readonly [K in Exclude<keyof ClientMetricsSource, 'limitsReport'>]: number;
} & { limitsReport(): ClientLimitsReport } {
  return {
    connections: 3,
    accepted: 10,
    refused: 2,
    bytesIn: 1234,
    bytesOut: 5678,
    pendingRequests: 4,
    limitsReport: () => ({
      closed: {
        handshake_timeout: 11,
        idle_timeout: 12,
        write_timeout: 13,
        output_overflow: 14,
        frame_too_large: 15,
        protocol_error: 16,
      },
      pauses: { requests: 21, request_bytes: 22, output: 23, memory: 24 },
      pausedNow: { requests: 1, request_bytes: 0, output: 2, memory: 3 },
      duplicateStreamIds: 7,
      refused: { max_connections: 1, descriptors: 1 },
      maxConnections: 896,
      tlsFailures: 6,
      requestsInFlight: 40,
      requestBytesInFlight: 4000,
      queuedOutputBytes: 9000,
      memory: { used: 13000, limit: 1 << 30, exhausted: true, exhaustions: 5 },
      auth: { mode: 'users', successes: 30, failures: 4 },
    }),
  };
}

function fakeCluster(): ClusterMetricsSource & {
  nodes: {
    node: { key: string; address: string | undefined };
    connections: number;
    up: boolean;
    bytesRead: number;
    bytesWritten: number;
  }[];
} {
  const cluster = {
    metrics: { retries: 5, unpreparedRecovered: 6, controlReconnects: 7 },
    controlConnected: false,
    controlOutageMs: 2500,
    info: { protocolVersion: 4, releaseVersion: '4.0.11', dataCenter: 'eu-west-1' },
    nodes: [
      {
        node: { key: 'host-a', address: '10.0.0.1' },
        connections: 2,
        up: true,
        bytesRead: 900,
        bytesWritten: 300,
      },
      {
        node: { key: 'host-b', address: undefined },
        connections: 0,
        up: false,
        bytesRead: 0,
        bytesWritten: 0,
      },
    ],
    nodeStates: () => cluster.nodes,
  };
  return cluster;
}

async function samples(
  metrics: ProxyMetrics,
): Promise<{ samples: Sample[]; types: Map<string, string> }> {
  return parsePrometheus(await metrics.render());
}

function one(list: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = list.filter(
    (s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels),
  );
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  return found[0]!.value;
}

describe('ProxyMetrics', () => {
  it('reads as zero before the proxy is up, and every source once attached', async () => {
    const metrics = new ProxyMetrics({ processMetrics: false, ready: () => false });
    let s = (await samples(metrics)).samples;
    expect(one(s, 'cqlproxy_client_connections')).toBe(0);
    expect(one(s, 'cqlproxy_retries_total')).toBe(0);
    expect(one(s, 'cqlproxy_ready')).toBe(0);
    expect(s.filter((x) => x.name === 'cqlproxy_node_up')).toStrictEqual([]);

    const client = fakeClient();
    const cluster = fakeCluster();
    metrics.attach(cluster, client);
    const { samples: list, types } = await samples(metrics);
    s = list;
    const expected: [string, string, number][] = [
      ['cqlproxy_client_connections', 'gauge', 3],
      ['cqlproxy_client_connections_total', 'counter', 10],
      ['cqlproxy_client_connections_rejected_total', 'counter', 2],
      ['cqlproxy_client_received_bytes_total', 'counter', 1234],
      ['cqlproxy_client_sent_bytes_total', 'counter', 5678],
      ['cqlproxy_client_requests_pending', 'gauge', 4],
      ['cqlproxy_client_connections_max', 'gauge', 896],
      ['cqlproxy_client_tls_handshake_failures_total', 'counter', 6],
      ['cqlproxy_client_duplicate_stream_ids_total', 'counter', 7],
      ['cqlproxy_client_requests_in_flight', 'gauge', 40],
      ['cqlproxy_client_request_bytes_in_flight', 'gauge', 4000],
      ['cqlproxy_client_output_queued_bytes', 'gauge', 9000],
      ['cqlproxy_memory_in_flight_bytes', 'gauge', 13000],
      ['cqlproxy_memory_budget_bytes', 'gauge', 1 << 30],
      ['cqlproxy_memory_budget_exhausted', 'gauge', 1],
      ['cqlproxy_memory_budget_exhaustions_total', 'counter', 5],
      ['cqlproxy_retries_total', 'counter', 5],
      ['cqlproxy_unprepared_recovered_total', 'counter', 6],
      ['cqlproxy_control_reconnects_total', 'counter', 7],
      ['cqlproxy_control_connection_up', 'gauge', 0],
      ['cqlproxy_control_connection_outage_seconds', 'gauge', 2.5],
      ['cqlproxy_ready', 'gauge', 0],
    ];
    for (const [name, type, value] of expected) {
      expect([name, types.get(name), one(s, name)]).toStrictEqual([name, type, value]);
    }
    expect(types.get('cqlproxy_requests_total')).toBe('counter');
    expect(types.get('cqlproxy_request_errors_total')).toBe('counter');
    expect(types.get('cqlproxy_request_duration_seconds')).toBe('histogram');
    expect(one(s, 'cqlproxy_upstream_connections', { node: 'host-a', address: '10.0.0.1' })).toBe(
      2,
    );
    expect(one(s, 'cqlproxy_upstream_connections', { node: 'host-b', address: '' })).toBe(0);
    expect(one(s, 'cqlproxy_node_up', { node: 'host-a', address: '10.0.0.1' })).toBe(1);
    const a = { node: 'host-a', address: '10.0.0.1' };
    expect(one(s, 'cqlproxy_upstream_received_bytes_total', a)).toBe(900);
    expect(one(s, 'cqlproxy_upstream_sent_bytes_total', a)).toBe(300);
    expect(types.get('cqlproxy_upstream_sent_bytes_total')).toBe('counter');
    expect(one(s, 'cqlproxy_node_up', { node: 'host-b', address: '' })).toBe(0);
    expect(
      one(s, 'cqlproxy_cluster_info', {
        protocol_version: '4',
        release_version: '4.0.11',
        data_center: 'eu-west-1',
      }),
    ).toBe(1);

    // Values are read at each scrape; a node that left the cluster leaves the metrics.
    client.connections = 1;
    cluster.nodes.pop();
    s = (await samples(metrics)).samples;
    expect(one(s, 'cqlproxy_client_connections')).toBe(1);
    const byReason = (name: string): Record<string, number> =>
      Object.fromEntries(
        s.filter((x) => x.name === name).map((x) => [x.labels.reason ?? '', x.value]),
      );
    expect(byReason('cqlproxy_client_connections_closed_total')).toStrictEqual({
      handshake_timeout: 11,
      idle_timeout: 12,
      write_timeout: 13,
      output_overflow: 14,
      frame_too_large: 15,
      protocol_error: 16,
    });
    expect(byReason('cqlproxy_client_connections_paused')).toStrictEqual({
      requests: 1,
      request_bytes: 0,
      output: 2,
      memory: 3,
    });
    expect(byReason('cqlproxy_client_pauses_total')).toStrictEqual({
      requests: 21,
      request_bytes: 22,
      output: 23,
      memory: 24,
    });
    expect(
      s
        .filter((x) => x.name === 'cqlproxy_client_auth_total')
        .map((x) => [x.labels.mode, x.labels.outcome, x.value]),
    ).toStrictEqual([
      ['users', 'success', 30],
      ['users', 'failure', 4],
    ]);
    expect(byReason('cqlproxy_client_connections_refused_total')).toStrictEqual({
      max_connections: 1,
      descriptors: 1,
    });
    expect(s.filter((x) => x.name === 'cqlproxy_node_up').map((x) => x.labels.node)).toStrictEqual([
      'host-a',
    ]);
  });

  it('labels requests by opcode and outcome, errors by code and origin', async () => {
    const metrics = new ProxyMetrics({ processMetrics: false });
    const r = metrics.requests;
    const t = performance.now();
    r.requestDone(Opcode.EXECUTE, NO_ERROR, ErrorOrigin.CLUSTER, t);
    r.requestDone(Opcode.EXECUTE, NO_ERROR, ErrorOrigin.CLUSTER, t);
    r.requestDone(Opcode.EXECUTE, ErrorCode.WRITE_TIMEOUT, ErrorOrigin.CLUSTER, t);
    r.requestDone(Opcode.QUERY, ErrorCode.OVERLOADED, ErrorOrigin.PROXY, t);
    r.requestDone(Opcode.QUERY, ErrorCode.OVERLOADED, ErrorOrigin.CLUSTER, t);
    r.requestDone(Opcode.BATCH, ErrorCode.SERVER_ERROR, ErrorOrigin.TIMEOUT, t);
    r.requestDone(Opcode.PREPARE, 0x7777, ErrorOrigin.CLUSTER, t);
    r.requestDone(Opcode.QUERY, UNREADABLE_ERROR, ErrorOrigin.CLUSTER, t);
    const s = (await samples(metrics)).samples;
    const requests: [string, string, number][] = [
      ['EXECUTE', 'ok', 2],
      ['EXECUTE', 'write_timeout', 1],
      ['QUERY', 'overloaded', 2],
      ['BATCH', 'timeout', 1],
      ['PREPARE', '0x7777', 1],
      ['QUERY', 'unreadable', 1],
    ];
    for (const [opcode, outcome, n] of requests) {
      expect(one(s, 'cqlproxy_requests_total', { opcode, outcome })).toBe(n);
    }
    expect(s.filter((x) => x.name === 'cqlproxy_requests_total')).toHaveLength(requests.length);
    const errors: [string, string, string, number][] = [
      ['0x1100', 'write_timeout', 'cluster', 1],
      ['0x1001', 'overloaded', 'proxy', 1],
      ['0x1001', 'overloaded', 'cluster', 1],
      ['0x0000', 'server_error', 'timeout', 1],
      ['0x7777', '0x7777', 'cluster', 1],
      ['none', 'unreadable', 'cluster', 1],
    ];
    for (const [code, error, origin, n] of errors) {
      expect(one(s, 'cqlproxy_request_errors_total', { code, error, origin })).toBe(n);
    }
    expect(s.filter((x) => x.name === 'cqlproxy_request_errors_total')).toHaveLength(errors.length);
    expect(one(s, 'cqlproxy_request_duration_seconds_count', { opcode: 'EXECUTE' })).toBe(3);
    expect(
      one(s, 'cqlproxy_request_duration_seconds_bucket', { opcode: 'QUERY', le: '+Inf' }),
    ).toBe(3);
  });

  it('names outcomes and errors', () => {
    expect(outcomeName(NO_ERROR, ErrorOrigin.CLUSTER)).toBe('ok');
    expect(outcomeName(ErrorCode.SERVER_ERROR, ErrorOrigin.TIMEOUT)).toBe('timeout');
    expect(outcomeName(ErrorCode.UNAVAILABLE, ErrorOrigin.CLUSTER)).toBe('unavailable');
    expect(outcomeName(ErrorCode.SERVER_ERROR, ErrorOrigin.PROXY)).toBe('server_error');
    for (const [name, code] of Object.entries(ErrorCode))
      expect(errorName(code)).toBe(name.toLowerCase());
    expect(errorName(0xabcd)).toBe('0xabcd');
  });

  it('keeps its own registry: two proxies in one process do not collide or touch the global one', async () => {
    const before = await globalRegistry.metrics();
    const a = new ProxyMetrics({ processMetrics: true });
    const b = new ProxyMetrics({ processMetrics: true });
    a.requests.requestDone(Opcode.QUERY, NO_ERROR, ErrorOrigin.CLUSTER, performance.now());
    const sa = (await samples(a)).samples;
    const sb = (await samples(b)).samples;
    expect(one(sa, 'cqlproxy_requests_total', { opcode: 'QUERY', outcome: 'ok' })).toBe(1);
    expect(sb.filter((x) => x.name === 'cqlproxy_requests_total')).toStrictEqual([]);
    // Process metrics when asked (the default), none otherwise.
    expect(sa.some((x) => x.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(sa.some((x) => x.name === 'nodejs_heap_size_used_bytes')).toBe(true);
    const bare = (await samples(new ProxyMetrics({ processMetrics: false }))).samples;
    expect(bare.some((x) => x.name.startsWith('process_') || x.name.startsWith('nodejs_'))).toBe(
      false,
    );
    expect(await globalRegistry.metrics()).toBe(before);
    expect(a.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});
