// --workers N (N > 1): N processes share the client port through node:cluster. The primary serves
// no CQL: it forks the workers, serves the one HTTP server (health and metrics for all of them),
// relays prepared statements between them, restarts a worker that dies, and on SIGTERM/SIGINT
// has every worker drain (src/ops/shutdown.ts) and exits when all have. Each worker is a whole
// proxy (src/proxy.ts) with its own upstream connections: they multiply by N.
//
// - Client limits are the process's: each worker gets 1/N of --max-client-connections and of an
//   explicit --memory-budget (auto is a quarter of each worker's own heap).
// - /metrics: the primary asks each worker for its registry (getMetricsAsJSON over IPC) and sums
//   them with prom-client's AggregatorRegistry (a gauge that is a flag takes min or max, see
//   metric-kinds.ts), plus its own: the workers, their restarts, per-worker client connections,
//   and cqlproxy_ready.
// - /readiness: 200 when every worker answers that it is ready; 503 while one is starting,
//   restarting, not ready or draining.
// - Prepared statements: when a worker's PreparedCache learns a PREPARE (Session.rememberPrepared),
//   the worker sends the frame and its session key to the primary, which keeps it in a cache of
//   its own (the same byte budget, least recently used out) and relays it to the other workers;
//   they add it to their caches without preparing anything. An EXECUTE of that id on another
//   worker goes to the node, which knows it (the first worker prepared it on every node); a node
//   that does not gets it from the UNPREPARED repair (src/upstream/request.ts), so the client
//   never sees UNPREPARED. The partition key indexes follow the same way, for token-aware routing.
//   A worker that (re)starts gets the primary's cache once it is ready. Sessions logged in with a
//   client's own credentials (--client-auth passthrough) are not shared: their session keys hold
//   a hash keyed per process.
//
// Here: what a worker gets of the configuration. The primary is workers-primary.ts (its HTTP
// answers primary-http.ts), a worker's side worker-process.ts, their messages worker-ipc.ts.

import cluster from 'node:cluster';
import type { Config } from '../config/config.js';
import { WORKER_ID_ENV } from './worker-ipc.js';

/** What a worker gets of the process-wide client limits: 1/N each. */
export function workerConfig(config: Config): Config {
  const n = config.workers;
  const budget = config.memoryBudget;
  return {
    ...config,
    maxClientConnections: Math.max(1, Math.floor(config.maxClientConnections / n)),
    memoryBudget: budget === undefined ? undefined : Math.max(1, Math.floor(budget / n)),
  };
}

export function isWorkerProcess(): boolean {
  return cluster.isWorker && process.env[WORKER_ID_ENV] !== undefined;
}
