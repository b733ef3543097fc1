// The cluster side's metrics: requests forwarded (by opcode, outcome and error, with their
// latency), retries, the nodes and their connections, the control connection, and the upstream
// limits (prepared cache, orphaned stream ids, routing, schema agreement), read from the Cluster
// and RequestStats when /metrics is scraped.

import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import { opcodeName } from '../protocol/constants.js';
import { NO_ERROR } from '../upstream/request-outcome.js';
import { LatencyHistogram, METRIC_PREFIX, counter, gauge } from './metric-kinds.js';
import { ORIGIN_NAMES, errorCodeLabel, errorName, outcomeName } from './metric-labels.js';
import type { RequestStats } from './request-stats.js';
import { readArenaStats } from '../transport/read-arena.js';

/** What the cluster reports (Cluster satisfies it). */
export interface ClusterMetricsSource {
  readonly metrics: {
    readonly retries: number;
    readonly unpreparedRecovered: number;
    readonly controlReconnects: number;
  };
  readonly controlConnected: boolean;
  readonly controlOutageMs: number;
  readonly info: {
    readonly protocolVersion: number;
    readonly releaseVersion: string;
    readonly dataCenter: string;
  };
  nodeStates(): readonly {
    node: { readonly key: string; readonly address: string | undefined };
    connections: number;
    up: boolean;
    bytesRead: number;
    bytesWritten: number;
  }[];
  /** The cluster side's limits (Cluster.upstreamLimits); read as zero when absent. */
  upstreamLimits?(): UpstreamLimitsSource;
}

/** The prepared statement cache, orphaned stream ids and replaced connections. */
export interface UpstreamLimitsSource {
  readonly preparedCacheEntries: number;
  readonly preparedCacheBytes: number;
  readonly preparedCacheEvictions: number;
  readonly orphanedStreams: number;
  readonly connectionsReplaced: number;
  readonly routed?: number;
  readonly unrouted?: number;
  readonly schemaAgreed?: number;
  readonly schemaAgreementTimeouts?: number;
}

/** A metric's value read from the cluster, or 0 while there is none yet. */
function readerOf(
  cluster: () => ClusterMetricsSource | undefined,
): (read: (c: ClusterMetricsSource) => number) => () => number {
  return (read) => () => {
    const c = cluster();
    return c === undefined ? 0 : read(c);
  };
}

/**
 * Registers the requests' metrics, from `stats` and the cluster's retry counters (zero while
 * `cluster()` is undefined).
 */
export function registerRequestMetrics(
  registry: Registry,
  stats: RequestStats,
  cluster: () => ClusterMetricsSource | undefined,
): void {
  const registers = [registry];
  const p = METRIC_PREFIX;
  const value = readerOf(cluster);
  new Counter({
    name: `${p}requests_total`,
    help: 'Requests forwarded to the cluster, by opcode and outcome (ok, timeout, or the CQL error returned)',
    labelNames: ['opcode', 'outcome'] as const,
    registers,
    collect() {
      this.reset();
      for (const c of stats.requestCounts()) {
        this.inc(
          { opcode: opcodeName(c.opcode), outcome: outcomeName(c.errorCode, c.origin) },
          c.count,
        );
      }
    },
  });
  new Counter({
    name: `${p}request_errors_total`,
    help: 'CQL errors returned to clients, by code and origin (cluster: a node; proxy: made by the proxy; timeout: --request-timeout)',
    labelNames: ['code', 'error', 'origin'] as const,
    registers,
    collect() {
      this.reset();
      for (const c of stats.requestCounts()) {
        if (c.errorCode === NO_ERROR) continue;
        this.inc(
          {
            code: errorCodeLabel(c.errorCode),
            error: errorName(c.errorCode),
            origin: ORIGIN_NAMES[c.origin],
          },
          c.count,
        );
      }
    },
  });
  registry.registerMetric(
    // Registry renders any object with the fields LatencyHistogram has; its type only lists
    // prom-client's own classes.
    new LatencyHistogram(
      `${p}request_duration_seconds`,
      'Time from a request reaching the cluster side to its answer, retries included',
      () => stats.latencies(),
    ) as unknown as Metric,
  );
  counter(
    registers,
    `${p}retries_total`,
    'Requests sent again after an error or a lost connection',
    value((c) => c.metrics.retries),
  );
  counter(
    registers,
    `${p}unprepared_recovered_total`,
    'UNPREPARED answers repaired by preparing on the node and sending the request again',
    value((c) => c.metrics.unpreparedRecovered),
  );
}

/** Registers the nodes', the control connection's and the upstream limits' metrics. */
export function registerUpstreamMetrics(
  registry: Registry,
  cluster: () => ClusterMetricsSource | undefined,
): void {
  const registers = [registry];
  const p = METRIC_PREFIX;
  const value = readerOf(cluster);
  new Gauge({
    name: `${p}upstream_connections`,
    help: 'Open connections to each node of the cluster, over every session',
    labelNames: ['node', 'address'] as const,
    registers,
    collect() {
      this.reset();
      for (const s of cluster()?.nodeStates() ?? []) {
        this.set({ node: s.node.key, address: s.node.address ?? '' }, s.connections);
      }
    },
  });
  for (const [suffix, help, read] of [
    [
      'upstream_received_bytes_total',
      "Bytes read from each node by the proxy's pooled connections",
      true,
    ],
    [
      'upstream_sent_bytes_total',
      "Bytes written to each node by the proxy's pooled connections",
      false,
    ],
  ] as const) {
    new Counter({
      name: `${p}${suffix}`,
      help,
      labelNames: ['node', 'address'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of cluster()?.nodeStates() ?? []) {
          this.inc(
            { node: s.node.key, address: s.node.address ?? '' },
            read ? s.bytesRead : s.bytesWritten,
          );
        }
      },
    });
  }
  new Gauge({
    name: `${p}node_up`,
    help: 'Whether the proxy has a connection to each node (1) or not (0)',
    labelNames: ['node', 'address'] as const,
    registers,
    aggregator: 'max',
    collect() {
      this.reset();
      for (const s of cluster()?.nodeStates() ?? []) {
        this.set({ node: s.node.key, address: s.node.address ?? '' }, s.up ? 1 : 0);
      }
    },
  });
  gauge(
    registers,
    `${p}control_connection_up`,
    'Whether the control connection is up',
    value((c) => (c.controlConnected ? 1 : 0)),
    'min',
  );
  gauge(
    registers,
    `${p}control_connection_outage_seconds`,
    'How long the control connection has been down (0 while up)',
    value((c) => c.controlOutageMs / 1000),
    'max',
  );
  counter(
    registers,
    `${p}control_reconnects_total`,
    'Attempts to open the control connection again',
    value((c) => c.metrics.controlReconnects),
  );
  new Gauge({
    name: `${p}cluster_info`,
    help: 'The cluster the proxy reached: negotiated protocol version, release version, data center',
    labelNames: ['protocol_version', 'release_version', 'data_center'] as const,
    registers,
    aggregator: 'max',
    collect() {
      this.reset();
      const info = cluster()?.info;
      if (info === undefined) return;
      this.set(
        {
          protocol_version: String(info.protocolVersion),
          release_version: info.releaseVersion,
          data_center: info.dataCenter,
        },
        1,
      );
    },
  });
  // Upstream limits: what the cluster side does so that no client (and no node) can hurt the
  // proxy or its neighbours.
  const limitValue = (read: (l: UpstreamLimitsSource) => number) => (): number => {
    const limits = cluster()?.upstreamLimits?.();
    return limits === undefined ? 0 : read(limits);
  };
  gauge(
    registers,
    `${p}prepared_cache_entries`,
    'PREPARE frames in the prepared statement cache (one per statement and session)',
    limitValue((l) => l.preparedCacheEntries),
  );
  gauge(
    registers,
    `${p}prepared_cache_bytes`,
    'What the prepared statement cache holds against its byte budget (frames plus overhead)',
    limitValue((l) => l.preparedCacheBytes),
  );
  counter(
    registers,
    `${p}prepared_cache_evictions_total`,
    'Prepared statements evicted from the cache to stay within its byte budget',
    limitValue((l) => l.preparedCacheEvictions),
  );
  gauge(
    registers,
    `${p}upstream_orphaned_streams`,
    'Stream ids held by requests that timed out and that the node has not answered yet',
    limitValue((l) => l.orphanedStreams),
  );
  counter(
    registers,
    `${p}upstream_connections_replaced_total`,
    'Connections to nodes replaced because too many of their stream ids were orphaned',
    limitValue((l) => l.connectionsReplaced),
  );
  counter(
    registers,
    `${p}requests_routed_total`,
    'EXECUTE and BATCH requests sent to a replica of their partition (token-aware routing)',
    limitValue((l) => l.routed ?? 0),
  );
  counter(
    registers,
    `${p}requests_unrouted_total`,
    'EXECUTE and BATCH requests sent round robin: routing key, keyspace or ring unknown',
    limitValue((l) => l.unrouted ?? 0),
  );
  counter(
    registers,
    `${p}schema_agreement_total`,
    'Schema changes answered once the nodes agreed on the schema version',
    limitValue((l) => l.schemaAgreed ?? 0),
  );
  counter(
    registers,
    `${p}schema_agreement_timeouts_total`,
    'Schema changes answered at --schema-agreement-timeout without agreement',
    limitValue((l) => l.schemaAgreementTimeouts ?? 0),
  );
  // The memory reads from the nodes land in (src/transport/read-arena.ts).
  gauge(
    registers,
    `${p}upstream_read_buffer_bytes`,
    'Memory that reads from the nodes land in and reuse (at most 4 x 256 KiB per upstream connection)',
    () => readArenaStats.heldBytes,
  );
  counter(
    registers,
    `${p}upstream_read_buffers_made_total`,
    'Read slabs made: flat once reads reuse their memory, climbing while clients that do not read keep slabs queued',
    () => readArenaStats.slabsMade,
  );
}
