// The upstream limits as metrics: the prepared statement cache (entries, bytes, evictions), the
// orphaned stream ids and the connections replaced for them, read from the cluster at scrape time,
// zero before the cluster is attached or when it does not report them.

import { describe, expect, it } from 'vitest';
import type { ClientMetricsSource } from '../../src/ops/client-metrics.js';
import type { ClusterMetricsSource, UpstreamLimitsSource } from '../../src/ops/cluster-metrics.js';
import { ProxyMetrics } from '../../src/ops/metrics.js';
import { ReadArena, SLAB_SIZE } from '../../src/transport/read-arena.js';
import { parsePrometheus } from './helpers.js';

const CLIENT: ClientMetricsSource = {
  connections: 0,
  accepted: 0,
  refused: 0,
  bytesIn: 0,
  bytesOut: 0,
  pendingRequests: 0,
};

function cluster(limits?: () => UpstreamLimitsSource): ClusterMetricsSource {
  return {
    metrics: { retries: 0, unpreparedRecovered: 0, controlReconnects: 0 },
    controlConnected: true,
    controlOutageMs: 0,
    info: { protocolVersion: 4, releaseVersion: '4.0.11', dataCenter: 'dc1' },
    nodeStates: () => [],
    ...(limits === undefined ? {} : { upstreamLimits: limits }),
  };
}

const NAMES: [string, string, keyof UpstreamLimitsSource][] = [
  ['cqlproxy_prepared_cache_entries', 'gauge', 'preparedCacheEntries'],
  ['cqlproxy_prepared_cache_bytes', 'gauge', 'preparedCacheBytes'],
  ['cqlproxy_prepared_cache_evictions_total', 'counter', 'preparedCacheEvictions'],
  ['cqlproxy_upstream_orphaned_streams', 'gauge', 'orphanedStreams'],
  ['cqlproxy_upstream_connections_replaced_total', 'counter', 'connectionsReplaced'],
  ['cqlproxy_requests_routed_total', 'counter', 'routed'],
  ['cqlproxy_requests_unrouted_total', 'counter', 'unrouted'],
  ['cqlproxy_schema_agreement_total', 'counter', 'schemaAgreed'],
  ['cqlproxy_schema_agreement_timeouts_total', 'counter', 'schemaAgreementTimeouts'],
];

async function scrape(
  metrics: ProxyMetrics,
): Promise<Map<string, { type: string | undefined; value: number }>> {
  const { samples, types } = parsePrometheus(await metrics.render());
  const out = new Map<string, { type: string | undefined; value: number }>();
  for (const [name] of NAMES) {
    const found = samples.filter((s) => s.name === name);
    expect(found, name).toHaveLength(1);
    out.set(name, { type: types.get(name), value: found[0]!.value });
  }
  return out;
}

describe('upstream limit metrics', () => {
  it('read the cluster\u2019s limits at every scrape', async () => {
    const metrics = new ProxyMetrics({ processMetrics: false });
    const limits = {
      preparedCacheEntries: 12,
      preparedCacheBytes: 4096,
      preparedCacheEvictions: 3,
      orphanedStreams: 7,
      connectionsReplaced: 1,
      routed: 900,
      unrouted: 30,
      schemaAgreed: 5,
      schemaAgreementTimeouts: 2,
    };
    metrics.attach(
      cluster(() => limits),
      CLIENT,
    );
    let s = await scrape(metrics);
    for (const [name, type, field] of NAMES) {
      expect([name, s.get(name)]).toStrictEqual([name, { type, value: limits[field] }]);
    }
    limits.orphanedStreams = 0;
    limits.preparedCacheEvictions = 10;
    s = await scrape(metrics);
    expect(s.get('cqlproxy_upstream_orphaned_streams')?.value).toBe(0);
    expect(s.get('cqlproxy_prepared_cache_evictions_total')?.value).toBe(10);
  });

  it('read as zero before the cluster is attached, or from a cluster that does not report them', async () => {
    const metrics = new ProxyMetrics({ processMetrics: false });
    for (const v of (await scrape(metrics)).values()) expect(v.value).toBe(0);
    metrics.attach(cluster(), CLIENT);
    for (const v of (await scrape(metrics)).values()) expect(v.value).toBe(0);
  });
});

describe('read buffer metrics', () => {
  async function readBufferFigures(metrics: ProxyMetrics): Promise<[number, number]> {
    const { samples, types } = parsePrometheus(await metrics.render());
    expect(types.get('cqlproxy_upstream_read_buffer_bytes')).toBe('gauge');
    expect(types.get('cqlproxy_upstream_read_buffers_made_total')).toBe('counter');
    const value = (name: string): number => samples.find((s) => s.name === name)!.value;
    return [
      value('cqlproxy_upstream_read_buffer_bytes'),
      value('cqlproxy_upstream_read_buffers_made_total'),
    ];
  }

  it('count the slabs reads from the nodes land in, and forget those of a closed connection', async () => {
    const metrics = new ProxyMetrics({ processMetrics: false });
    const [bytesBefore, madeBefore] = await readBufferFigures(metrics);
    const arena = new ReadArena();
    arena.attach(() => undefined);
    arena.onread.buffer();
    arena.onread.callback(100);
    expect(await readBufferFigures(metrics)).toEqual([bytesBefore + SLAB_SIZE, madeBefore + 1]);
    arena.close();
    expect(await readBufferFigures(metrics)).toEqual([bytesBefore, madeBefore + 1]);
  });
});
