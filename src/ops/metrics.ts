// The proxy's Prometheus metrics, in a prom-client Registry of its own (never the global one, so
// two proxies in one process do not mix). Nothing here runs per request: the request path feeds
// plain counters (RequestStats, the cluster's and the listener's counters), and every metric
// reads them in its collect() callback when /metrics is scraped. The metrics themselves are in
// client-metrics.ts and cluster-metrics.ts; their kinds in metric-kinds.ts.

import { Registry, collectDefaultMetrics } from 'prom-client';
import { registerClientMetrics, type ClientMetricsSource } from './client-metrics.js';
import {
  registerRequestMetrics,
  registerUpstreamMetrics,
  type ClusterMetricsSource,
} from './cluster-metrics.js';
import { METRIC_PREFIX, gauge } from './metric-kinds.js';
import { RequestStats } from './request-stats.js';

export interface ProxyMetricsOptions {
  /** prom-client's default process and Node.js metrics (CPU, memory, event loop, GC); default on. */
  processMetrics?: boolean;
  /** Whether /readiness would answer 200 now (the cqlproxy_ready gauge). */
  ready?: () => boolean;
}

export class ProxyMetrics {
  /** Fed by the cluster on every finished request. */
  readonly requests = new RequestStats();
  readonly registry = new Registry();
  private client: ClientMetricsSource | undefined;
  private cluster: ClusterMetricsSource | undefined;

  constructor(options: ProxyMetricsOptions = {}) {
    const registry = this.registry;
    const cluster = (): ClusterMetricsSource | undefined => this.cluster;
    registerClientMetrics(registry, () => this.client);
    registerRequestMetrics(registry, this.requests, cluster);
    registerUpstreamMetrics(registry, cluster);
    const ready = options.ready;
    if (ready !== undefined) {
      gauge(
        [registry],
        `${METRIC_PREFIX}ready`,
        'Whether /readiness answers 200',
        () => (ready() ? 1 : 0),
        'min',
      );
    }
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  }

  /** From now on the metrics read these (before, they read as zero). */
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
