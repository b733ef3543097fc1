// The proxy's Prometheus metrics, in a prom-client Registry of its own (never the global one, so
// two proxies in one process do not mix). Nothing here runs per request: the request path feeds
// plain counters (RequestStats, the cluster's and the listener's counters), and every metric
// below reads them in its collect() callback when /metrics is scraped.

import {
  Counter,
  Gauge,
  Registry,
  collectDefaultMetrics,
  type Aggregator,
  type Metric,
} from 'prom-client';
import { ErrorCode, opcodeName } from '../protocol/constants.js';
import { ErrorOrigin, NO_ERROR, UNREADABLE_ERROR } from '../upstream/request-outcome.js';
import { LATENCY_BUCKETS_SECONDS, RequestStats, type LatencySnapshot } from './request-stats.js';
import type { ClientLimitsReport } from '../client/client-side.js';

export const METRIC_PREFIX = 'cqlproxy_';

/** What the client side reports (ClientSide satisfies it). */
export interface ClientMetricsSource {
  readonly connections: number;
  readonly accepted: number;
  readonly refused: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly pendingRequests: number;
  /** What the client-side limits are doing (computed at scrape time). */
  limitsReport?(): ClientLimitsReport;
}

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

export interface ProxyMetricsOptions {
  /** prom-client's default process and Node.js metrics (CPU, memory, event loop, GC); default on. */
  processMetrics?: boolean;
  /** Whether /readiness would answer 200 now (the cqlproxy_ready gauge). */
  ready?: () => boolean;
}

const ERROR_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ErrorCode).map(([name, code]) => [code, name.toLowerCase()]),
);

/** `write_timeout` for 0x1100; the hex code for a code the spec does not name. */
export function errorName(code: number): string {
  if (code === UNREADABLE_ERROR) return 'unreadable';
  return ERROR_NAMES.get(code) ?? errorCodeLabel(code);
}

function errorCodeLabel(code: number): string {
  return code < 0 ? 'none' : `0x${code.toString(16).padStart(4, '0')}`;
}

const ORIGIN_NAMES: Readonly<Record<ErrorOrigin, string>> = {
  [ErrorOrigin.CLUSTER]: 'cluster',
  [ErrorOrigin.PROXY]: 'proxy',
  [ErrorOrigin.TIMEOUT]: 'timeout',
};

/** The `outcome` label of a request: ok, timeout, or the error's name. */
export function outcomeName(errorCode: number, origin: ErrorOrigin): string {
  if (origin === ErrorOrigin.TIMEOUT) return 'timeout';
  return errorCode === NO_ERROR ? 'ok' : errorName(errorCode);
}

/**
 * The request latency histogram, read from RequestStats at scrape time. prom-client's Histogram
 * can only be fed one observation at a time, so this is a metric of our own that prom-client's
 * Registry renders like any other: it reads `name`, `help`, `type`, `aggregator` and `get()`.
 */
class LatencyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly snapshot: () => LatencySnapshot[];

  constructor(name: string, help: string, snapshot: () => LatencySnapshot[]) {
    this.name = name;
    this.help = help;
    this.snapshot = snapshot;
  }

  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { metricName: string; labels: Record<string, string | number>; value: number }[];
  }> {
    const values = [];
    for (const h of this.snapshot()) {
      const opcode = opcodeName(h.opcode);
      h.cumulative.forEach((count, i) => {
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { opcode, le: LATENCY_BUCKETS_SECONDS[i] ?? '+Inf' },
          value: count,
        });
      });
      values.push(
        { metricName: `${this.name}_bucket`, labels: { opcode, le: '+Inf' }, value: h.count },
        { metricName: `${this.name}_sum`, labels: { opcode }, value: h.sumSeconds },
        { metricName: `${this.name}_count`, labels: { opcode }, value: h.count },
      );
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  /** The data belong to RequestStats: nothing to reset here. */
  reset(): void {}
}

/** A labelled counter or gauge filled from a record at scrape time. */
function labelled(
  kind: 'counter' | 'gauge',
  registers: Registry[],
  name: string,
  help: string,
  label: string,
  read: () => Readonly<Record<string, number>> | undefined,
): void {
  const config = {
    name,
    help,
    labelNames: [label],
    registers,
    collect(this: Counter | Gauge) {
      this.reset();
      const values = read();
      if (values === undefined) return;
      for (const [key, value] of Object.entries(values)) {
        if (this instanceof Gauge) this.set({ [label]: key }, value);
        else this.inc({ [label]: key }, value);
      }
    },
  };
  if (kind === 'counter') new Counter(config);
  else new Gauge(config);
}

export class ProxyMetrics {
  /** Fed by the cluster on every finished request. */
  readonly requests = new RequestStats();
  readonly registry = new Registry();
  private client: ClientMetricsSource | undefined;
  private cluster: ClusterMetricsSource | undefined;

  constructor(options: ProxyMetricsOptions = {}) {
    const registers = [this.registry];
    const p = METRIC_PREFIX;
    const clientValue = (read: (c: ClientMetricsSource) => number) => (): number =>
      this.client === undefined ? 0 : read(this.client);
    const clusterValue = (read: (c: ClusterMetricsSource) => number) => (): number =>
      this.cluster === undefined ? 0 : read(this.cluster);

    // Client side.
    gauge(
      registers,
      `${p}client_connections`,
      'Client connections open',
      clientValue((c) => c.connections),
    );
    counter(
      registers,
      `${p}client_connections_total`,
      'Client connections accepted',
      clientValue((c) => c.accepted),
    );
    counter(
      registers,
      `${p}client_connections_rejected_total`,
      'Client connections closed on arrival because --max-client-connections were open',
      clientValue((c) => c.refused),
    );
    counter(
      registers,
      `${p}client_received_bytes_total`,
      'Bytes read from client connections',
      clientValue((c) => c.bytesIn),
    );
    counter(
      registers,
      `${p}client_sent_bytes_total`,
      'Bytes written to client connections',
      clientValue((c) => c.bytesOut),
    );
    gauge(
      registers,
      `${p}client_requests_pending`,
      'Requests read from clients and not answered yet',
      clientValue((c) => c.pendingRequests),
    );
    this.clientLimitMetrics(registers);

    // Requests forwarded to the cluster.
    const stats = this.requests;
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
    this.registry.registerMetric(
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
      clusterValue((c) => c.metrics.retries),
    );
    counter(
      registers,
      `${p}unprepared_recovered_total`,
      'UNPREPARED answers repaired by preparing on the node and sending the request again',
      clusterValue((c) => c.metrics.unpreparedRecovered),
    );

    // Upstream.
    const cluster = (): ClusterMetricsSource | undefined => this.cluster;
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
      clusterValue((c) => (c.controlConnected ? 1 : 0)),
      'min',
    );
    gauge(
      registers,
      `${p}control_connection_outage_seconds`,
      'How long the control connection has been down (0 while up)',
      clusterValue((c) => c.controlOutageMs / 1000),
      'max',
    );
    counter(
      registers,
      `${p}control_reconnects_total`,
      'Attempts to open the control connection again',
      clusterValue((c) => c.metrics.controlReconnects),
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
      const limits = this.cluster?.upstreamLimits?.();
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

    const ready = options.ready;
    if (ready !== undefined) {
      gauge(
        registers,
        `${p}ready`,
        'Whether /readiness answers 200',
        () => (ready() ? 1 : 0),
        'min',
      );
    }

    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** From now on the metrics read these (before, they read as zero). */
  /** What the client-side limits did (README "Reliability"), read once per scrape. */
  private clientLimitMetrics(registers: Registry[]): void {
    const p = METRIC_PREFIX;
    // Each metric asks for the report: a pass over the open connections, cheap even at the
    // connection limit, and always current.
    const report = (): ClientLimitsReport | undefined => this.client?.limitsReport?.();
    const value = (read: (r: ClientLimitsReport) => number) => (): number => {
      const r = report();
      return r === undefined ? 0 : read(r);
    };
    labelled(
      'counter',
      registers,
      `${p}client_connections_closed_total`,
      'Client connections the proxy closed on its own, by reason (handshake_timeout, idle_timeout, write_timeout, output_overflow, frame_too_large, protocol_error)',
      'reason',
      () => report()?.closed,
    );
    labelled(
      'counter',
      registers,
      `${p}client_connections_refused_total`,
      'Client connections closed on arrival, by reason (max_connections, descriptors)',
      'reason',
      () => report()?.refused,
    );
    gauge(
      registers,
      `${p}client_connections_max`,
      'The client connection limit in force (--max-client-connections, or lower for file descriptors)',
      value((r) => r.maxConnections ?? 0),
    );
    labelled(
      'gauge',
      registers,
      `${p}client_connections_paused`,
      'Client connections not being read right now, by reason (requests, request_bytes, output, memory)',
      'reason',
      () => report()?.pausedNow,
    );
    labelled(
      'counter',
      registers,
      `${p}client_pauses_total`,
      'Times a client connection stopped being read, by reason',
      'reason',
      () => report()?.pauses,
    );
    counter(
      registers,
      `${p}client_tls_handshake_failures_total`,
      'Client TLS handshakes that failed: no or untrusted client certificate, refused version, timeout',
      value((r) => r.tlsFailures),
    );
    counter(
      registers,
      `${p}client_duplicate_stream_ids_total`,
      'Requests refused because their stream id was still in flight on the connection',
      value((r) => r.duplicateStreamIds),
    );
    gauge(
      registers,
      `${p}client_requests_in_flight`,
      'Requests forwarded for clients and not answered yet',
      value((r) => r.requestsInFlight),
    );
    gauge(
      registers,
      `${p}client_request_bytes_in_flight`,
      'Bytes of those requests',
      value((r) => r.requestBytesInFlight),
    );
    gauge(
      registers,
      `${p}client_output_queued_bytes`,
      'Bytes of answers queued for clients and not yet taken by the kernel',
      value((r) => r.queuedOutputBytes),
    );
    gauge(
      registers,
      `${p}memory_in_flight_bytes`,
      'Bytes held for all clients (requests in flight and answers queued), counted against --memory-budget',
      value((r) => r.memory.used),
    );
    gauge(
      registers,
      `${p}memory_budget_bytes`,
      'The --memory-budget in force',
      value((r) => r.memory.limit),
    );
    gauge(
      registers,
      `${p}memory_budget_exhausted`,
      '1 while the memory budget is spent and no client is read',
      value((r) => (r.memory.exhausted ? 1 : 0)),
      'max',
    );
    new Counter({
      name: `${p}client_auth_total`,
      help: 'Client logins by mode (users, passthrough) and outcome (success, failure)',
      labelNames: ['mode', 'outcome'] as const,
      registers,
      collect() {
        this.reset();
        const auth = report()?.auth;
        if (auth === undefined || auth.mode === 'none') return;
        this.inc({ mode: auth.mode, outcome: 'success' }, auth.successes);
        this.inc({ mode: auth.mode, outcome: 'failure' }, auth.failures);
      },
    });
    counter(
      registers,
      `${p}memory_budget_exhaustions_total`,
      'Times the memory budget was spent',
      value((r) => r.memory.exhaustions),
    );
  }

  attach(cluster: ClusterMetricsSource, client: ClientMetricsSource): void {
    this.cluster = cluster;
    this.client = client;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

function counter(registers: Registry[], name: string, help: string, value: () => number): void {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(value());
    },
  });
}

/**
 * With --workers N the primary sums the workers' metrics (src/ops/workers.ts); `aggregator` says
 * otherwise for a gauge whose sum means nothing (a flag: min or max).
 */
function gauge(
  registers: Registry[],
  name: string,
  help: string,
  value: () => number,
  aggregator: Aggregator = 'sum',
): void {
  new Gauge({
    name,
    help,
    registers,
    aggregator,
    collect() {
      this.set(value());
    },
  });
}
