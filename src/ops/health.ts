// Liveness and readiness, as answers (status code and body) computed from the proxy's state; the
// HTTP server (http-server.ts) only routes to them.
//
// cql-proxy (docs/cql-proxy-compat.md §5): /liveness is always 200 `ok`; /readiness is 200 while
// the control connection is up or has been down for less than --readiness-timeout, else 503, with
// the body {"OutageDuration": "<Go duration>"}. We keep both and that field, and add:
// - readiness follows what can serve: it is also 200, whatever the control connection, while any
//   node is usable (a pool of the default session has an open connection). Requests go over the
//   pools, not the control connection, which may come back later than they do: a proxy that
//   serves must not be taken out of rotation meanwhile (the cluster retries the control
//   connection as soon as a node's pool reconnects, upstream/cluster.ts);
// - readiness also fails while the proxy is starting (the HTTP server listens before the cluster
//   is reached, so a probe sees "starting" rather than a refused connection) and while it drains
//   at shutdown (so a load balancer stops sending clients before connections close);
// - the body says why: a status word (ZDM's UP/DOWN, plus STARTING and DRAINING), the outage in
//   milliseconds, the readiness timeout, the nodes up and down, the client connections.

export const Phase = {
  STARTING: 'STARTING',
  RUNNING: 'RUNNING',
  DRAINING: 'DRAINING',
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** What readiness reads of the cluster (Cluster satisfies it). */
export interface HealthClusterSource {
  readonly controlConnected: boolean;
  readonly controlOutageMs: number;
  nodeStates(): readonly { up: boolean }[];
}

export interface HealthState {
  phase: Phase;
  /** Undefined until the cluster is reached. */
  cluster: HealthClusterSource | undefined;
  /** Client connections open, when known. */
  clientConnections: number | undefined;
}

export interface ReadinessBody {
  /** cql-proxy's field: the control connection's outage as a Go duration ("0s", "1m2.5s"). */
  OutageDuration: string;
  /**
   * UP (ready: a node is usable, or the control connection's outage is shorter than the readiness
   * timeout), DOWN (no node usable and the outage too long), STARTING or DRAINING (not ready).
   */
  status: 'UP' | 'DOWN' | Exclude<Phase, 'RUNNING'>;
  controlConnection: 'UP' | 'DOWN';
  outageMs: number;
  readinessTimeoutMs: number;
  nodes: { up: number; down: number };
  clientConnections?: number;
}

export interface HealthAnswer {
  statusCode: number;
  contentType: string;
  body: string;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';

export function liveness(): HealthAnswer {
  return { statusCode: 200, contentType: TEXT, body: 'ok' };
}

export function readinessBody(state: HealthState, readinessTimeoutMs: number): ReadinessBody {
  const cluster = state.cluster;
  const outageMs = cluster === undefined ? 0 : cluster.controlOutageMs;
  let up = 0;
  let down = 0;
  for (const node of cluster?.nodeStates() ?? []) {
    if (node.up) up++;
    else down++;
  }
  let status: ReadinessBody['status'];
  if (state.phase !== Phase.RUNNING) status = state.phase;
  else if (cluster === undefined) status = Phase.STARTING;
  else status = up > 0 || outageMs < readinessTimeoutMs ? 'UP' : 'DOWN';
  return {
    OutageDuration: goDuration(outageMs),
    status,
    controlConnection: cluster?.controlConnected === true ? 'UP' : 'DOWN',
    outageMs,
    readinessTimeoutMs,
    nodes: { up, down },
    ...(state.clientConnections === undefined
      ? {}
      : { clientConnections: state.clientConnections }),
  };
}

export function isReady(state: HealthState, readinessTimeoutMs: number): boolean {
  return readinessBody(state, readinessTimeoutMs).status === 'UP';
}

export function readiness(state: HealthState, readinessTimeoutMs: number): HealthAnswer {
  const body = readinessBody(state, readinessTimeoutMs);
  return {
    statusCode: body.status === 'UP' ? 200 : 503,
    contentType: JSON_TYPE,
    body: JSON.stringify(body),
  };
}

/**
 * Go's time.Duration.String() of a whole number of milliseconds, as cql-proxy prints the outage:
 * "0s", "250ms", "1.5s", "1m0s", "2h3m4.005s".
 */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const millis = total % 60_000;
  const whole = Math.floor(millis / 1000);
  const fraction = millis % 1000;
  const seconds =
    fraction === 0
      ? `${whole}s`
      : `${whole}.${String(fraction).padStart(3, '0').replace(/0+$/, '')}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}
