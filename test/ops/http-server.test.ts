// The operations HTTP server: cql-proxy's and ZDM's health paths, /metrics, only what is turned
// on, GET and HEAD only, a query string ignored, a failing route answered 500 and logged, a port
// in use refused with one clear line, and close() not held up by keep-alive connections.

import { createServer } from 'node:net';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ProxyError, ProxyErrorCode } from '../../src/errors.js';
import { liveness } from '../../src/ops/health.js';
import { startOpsHttpServer, type OpsRoutes } from '../../src/ops/http-server.js';
import { httpGet } from './helpers.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

function quietLog(into: { fields: object; message: string }[] = []) {
  return { warn: (fields: object, message: string) => into.push({ fields, message }) };
}

const ready = () => ({ statusCode: 200, contentType: 'application/json', body: '{"status":"UP"}' });
const ROUTES: OpsRoutes = {
  health: { liveness, readiness: ready },
  metrics: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4', body: 'm 1\n' }),
};

describe('startOpsHttpServer', () => {
  it('serves health under both paths and /metrics, query strings ignored', async () => {
    const server = await startOpsHttpServer(LOOPBACK, ROUTES, quietLog());
    const url = `http://127.0.0.1:${server.port}`;
    try {
      expect(server.paths).toStrictEqual([
        '/liveness',
        '/readiness',
        '/health/liveness',
        '/health/readiness',
        '/metrics',
      ]);
      for (const path of ['/liveness', '/health/liveness', '/liveness?verbose=1']) {
        expect(await httpGet(url + path)).toStrictEqual({
          status: 200,
          contentType: 'text/plain; charset=utf-8',
          body: 'ok',
        });
      }
      for (const path of ['/readiness', '/health/readiness']) {
        expect(await httpGet(url + path)).toStrictEqual({
          status: 200,
          contentType: 'application/json',
          body: '{"status":"UP"}',
        });
      }
      expect(await httpGet(`${url}/metrics`)).toStrictEqual({
        status: 200,
        contentType: 'text/plain; version=0.0.4',
        body: 'm 1\n',
      });
      const res = await fetch(`${url}/readiness`);
      expect(res.headers.get('cache-control')).toBe('no-store');
    } finally {
      await server.close();
    }
  });

  it('serves only what is on: health without metrics, metrics without health', async () => {
    const health = await startOpsHttpServer(LOOPBACK, { health: ROUTES.health! }, quietLog());
    const metrics = await startOpsHttpServer(LOOPBACK, { metrics: ROUTES.metrics! }, quietLog());
    try {
      const h = `http://127.0.0.1:${health.port}`;
      const m = `http://127.0.0.1:${metrics.port}`;
      expect((await httpGet(`${h}/liveness`)).status).toBe(200);
      const missing = await httpGet(`${h}/metrics`);
      expect(missing.status).toBe(404);
      expect(missing.body).toContain('/readiness');
      expect((await httpGet(`${m}/metrics`)).status).toBe(200);
      expect((await httpGet(`${m}/liveness`)).status).toBe(404);
      expect((await httpGet(`${m}/readiness`)).status).toBe(404);
    } finally {
      await health.close();
      await metrics.close();
    }
  });

  it('answers HEAD without a body, other methods 405, unknown paths 404', async () => {
    const server = await startOpsHttpServer(LOOPBACK, ROUTES, quietLog());
    const url = `http://127.0.0.1:${server.port}`;
    try {
      const head = await fetch(`${url}/liveness`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('2');
      expect(await head.text()).toBe('');
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const res = await fetch(`${url}/readiness`, { method });
        expect(res.status).toBe(405);
        expect(res.headers.get('allow')).toBe('GET, HEAD');
        await res.text();
      }
      for (const path of ['/', '/ready', '/liveness/', '/health', '/metrics/x']) {
        expect((await httpGet(url + path)).status).toBe(404);
      }
    } finally {
      await server.close();
    }
  });

  it('answers 500 and logs when a route fails, and keeps serving', async () => {
    const warnings: { fields: object; message: string }[] = [];
    const server = await startOpsHttpServer(
      LOOPBACK,
      { ...ROUTES, metrics: () => Promise.reject(new Error('collector broke')) },
      quietLog(warnings),
    );
    const url = `http://127.0.0.1:${server.port}`;
    try {
      expect(await httpGet(`${url}/metrics`)).toMatchObject({
        status: 500,
        body: 'internal error\n',
      });
      expect(warnings).toStrictEqual([
        {
          fields: { err: 'collector broke', path: '/metrics' },
          message: 'health/metrics request failed',
        },
      ]);
      expect((await httpGet(`${url}/liveness`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('refuses a port in use with one line naming --http-bind', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    try {
      const error = await startOpsHttpServer({ host: '127.0.0.1', port }, ROUTES, quietLog()).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(ProxyError.isProxyError(error)).toBe(true);
      expect((error as ProxyError).code).toBe(ProxyErrorCode.LISTEN_FAILED);
      expect((error as ProxyError).message).toBe(
        `cannot listen on 127.0.0.1:${port} for health and metrics (--http-bind): address already in use`,
      );
    } finally {
      taken.close();
    }
  });

  it('closes at once even with a keep-alive connection open', async () => {
    const server = await startOpsHttpServer(LOOPBACK, ROUTES, quietLog());
    const agent = new Agent({ keepAlive: true });
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: server.port, path: '/liveness', agent },
          (res) => {
            res.resume();
            res.on('end', () => resolve());
          },
        );
        req.on('error', reject);
        req.end();
      });
      const started = Date.now();
      await server.close();
      // Not held open by the keep-alive connection (its timeout is 5 s).
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      agent.destroy();
    }
  });
});
