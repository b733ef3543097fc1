// The operations HTTP server on --http-bind: health under cql-proxy's paths (/liveness,
// /readiness) and ZDM proxy's (/health/liveness, /health/readiness), and Prometheus /metrics.
// One small node:http server; what each path answers is decided elsewhere (health.ts,
// metrics.ts). GET and HEAD only; a query string is ignored.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';
import type { HealthAnswer } from './health.js';

export interface OpsRoutes {
  /** Serve liveness and readiness (cql-proxy's --health-check). */
  health?: {
    liveness: () => HealthAnswer;
    /** Async with --workers N: the primary asks every worker. */
    readiness: () => HealthAnswer | Promise<HealthAnswer>;
  };
  /** Serve /metrics (--metrics). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

export interface OpsHttpLog {
  warn(fields: object, message: string): void;
}

export interface OpsHttpServer {
  /** The address actually bound (port 0 picks one). */
  readonly host: string;
  readonly port: number;
  /** The paths served, for the start-up log line. */
  readonly paths: readonly string[];
  close(): Promise<void>;
}

const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this machine',
};

/** Probes and scrapes are tiny: anything slower than this is not a probe. */
const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

type Route = () => Promise<HealthAnswer> | HealthAnswer;

function routeTable(routes: OpsRoutes): Map<string, Route> {
  const table = new Map<string, Route>();
  const health = routes.health;
  if (health !== undefined) {
    for (const prefix of ['', '/health']) {
      table.set(`${prefix}/liveness`, health.liveness);
      table.set(`${prefix}/readiness`, health.readiness);
    }
  }
  const metrics = routes.metrics;
  if (metrics !== undefined) {
    table.set('/metrics', async () => {
      const m = await metrics();
      return { statusCode: 200, contentType: m.contentType, body: m.body };
    });
  }
  return table;
}

/** Listens on host:port; rejects with a LISTEN_FAILED ProxyError when the port cannot be had. */
export async function startOpsHttpServer(
  bind: { host: string; port: number },
  routes: OpsRoutes,
  log: OpsHttpLog,
): Promise<OpsHttpServer> {
  const table = routeTable(routes);
  const paths = [...table.keys()];
  const notFound = `not found; this server answers ${paths.join(', ')}\n`;

  const send = (req: IncomingMessage, res: ServerResponse, answer: HealthAnswer): void => {
    res.writeHead(answer.statusCode, {
      'Content-Type': answer.contentType,
      'Content-Length': Buffer.byteLength(answer.body),
      // Probes and scrapes want the state now, never a cached one.
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  };

  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(req, res, { statusCode: 405, contentType: 'text/plain', body: 'method not allowed\n' });
      return;
    }
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const route = table.get(query < 0 ? url : url.slice(0, query));
    if (route === undefined) {
      send(req, res, { statusCode: 404, contentType: 'text/plain', body: notFound });
      return;
    }
    Promise.resolve()
      .then(route)
      .then(
        (answer) => send(req, res, answer),
        (err: unknown) => {
          log.warn({ err: errorMessage(err), path: url }, 'health/metrics request failed');
          send(req, res, { statusCode: 500, contentType: 'text/plain', body: 'internal error\n' });
        },
      );
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const reason = (err.code === undefined ? undefined : LISTEN_ERRORS[err.code]) ?? err.message;
      reject(
        new ProxyError(
          ProxyErrorCode.LISTEN_FAILED,
          `cannot listen on ${hostPort(bind.host, bind.port)} for health and metrics (--http-bind): ${reason}`,
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    server.listen({ host: bind.host, port: bind.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.warn({ err: err.message }, 'health/metrics server error'));

  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    host: address.address,
    port: address.port,
    paths,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of probes would hold close() open for seconds.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
