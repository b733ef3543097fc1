// The operations side of one proxy: the phase it is in (starting, running, draining), the
// metrics when --metrics is on, and the HTTP server when --health-check or --metrics is on.
// startProxy() starts this first, so that the port is checked before anything else and a probe
// during a slow start sees "starting" rather than a refused connection; it then attaches the
// cluster and the client side once they are up.

import type { Config } from '../config/config.js';
import type { RequestObserver } from '../upstream/request-outcome.js';
import {
  Phase,
  isReady,
  liveness,
  readiness,
  readinessBody,
  type HealthClusterSource,
  type ReadinessBody,
  type HealthState,
} from './health.js';
import { startOpsHttpServer, type OpsHttpServer, type OpsRoutes } from './http-server.js';
import type { Logger } from './logger.js';
import type { ClientMetricsSource } from './client-metrics.js';
import type { ClusterMetricsSource } from './cluster-metrics.js';
import { ProxyMetrics } from './metrics.js';

export type OperationsConfig = Pick<
  Config,
  'healthCheck' | 'metrics' | 'httpBind' | 'readinessTimeoutMs'
>;

export interface Operations {
  /** What the cluster tells of each finished request; undefined when --metrics is off. */
  readonly requestObserver: RequestObserver | undefined;
  readonly metrics: ProxyMetrics | undefined;
  /** Where the HTTP server listens; undefined when it is off. */
  readonly address: { host: string; port: number } | undefined;
  readonly phase: Phase;
  /** What /readiness would answer now (a worker of --workers N tells the primary). */
  readinessBody(): ReadinessBody;
  /** The proxy is up: readiness follows the cluster from now on. */
  running(cluster: HealthClusterSource & ClusterMetricsSource, clients: ClientMetricsSource): void;
  /** Shutdown began: readiness fails from now on. */
  draining(): void;
  close(): Promise<void>;
}

export interface OperationsOptions {
  /**
   * Whether to serve --http-bind (default true). A worker of --workers N does not: the primary
   * serves health and metrics for all of them (src/ops/workers.ts).
   */
  http?: boolean;
}

export async function startOperations(
  config: OperationsConfig,
  logger: Logger,
  options: OperationsOptions = {},
): Promise<Operations> {
  const state: HealthState = { phase: Phase.STARTING, cluster: undefined, clientConnections: 0 };
  let clients: ClientMetricsSource | undefined;
  const snapshot = (): HealthState => ({
    ...state,
    clientConnections: clients?.connections ?? 0,
  });
  const timeout = config.readinessTimeoutMs;
  const metrics = config.metrics
    ? new ProxyMetrics({ ready: () => isReady(snapshot(), timeout) })
    : undefined;

  const routes: OpsRoutes = {};
  if (config.healthCheck) {
    routes.health = { liveness, readiness: () => readiness(snapshot(), timeout) };
  }
  if (metrics !== undefined) {
    routes.metrics = async () => ({
      contentType: metrics.contentType,
      body: await metrics.render(),
    });
  }
  let server: OpsHttpServer | undefined;
  if ((options.http ?? true) && (config.healthCheck || config.metrics)) {
    server = await startOpsHttpServer(config.httpBind, routes, logger);
    logger.info(
      { http: `${server.host}:${server.port}`, paths: server.paths },
      'health and metrics are listening',
    );
  }

  return {
    requestObserver: metrics?.requests,
    metrics,
    address: server === undefined ? undefined : { host: server.host, port: server.port },
    get phase() {
      return state.phase;
    },
    readinessBody: () => readinessBody(snapshot(), timeout),
    running(cluster, clientSide) {
      state.cluster = cluster;
      clients = clientSide;
      metrics?.attach(cluster, clientSide);
      if (state.phase === Phase.STARTING) state.phase = Phase.RUNNING;
    },
    draining() {
      state.phase = Phase.DRAINING;
    },
    close: () => server?.close() ?? Promise.resolve(),
  };
}
