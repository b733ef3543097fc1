// Shared by the operations tests: a simulator and a proxy in this process configured by the real
// command-line parser, a logger that keeps every line it writes, a Node.js driver client, a
// Prometheus text parser and HTTP helpers. Everything listens on loopback, on ports picked at
// run time, and every wait is bounded.

import { Writable } from 'node:stream';
import cassandra from 'cassandra-driver';
import { startSimulator } from '../../sim/simulator.js';
import type { Simulator, SimulatorInfo, SimulatorOptions } from '../../sim/simulator.js';
import { createLogger, type Logger, type LoggerOptions } from '../../src/ops/logger.js';
import { startProxy, type RunningProxy } from '../../src/proxy.js';

// The proxy modes and the flags that point a proxy at the simulator are the end-to-end fixture's.
export { configFrom, targetArgs, type ProxyMode } from '../e2e/helpers/stack.js';
import { configFrom, targetArgs, type ProxyMode } from '../e2e/helpers/stack.js';

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** A pino logger whose every byte is kept, as text and as parsed lines. */
export interface CapturedLog {
  readonly logger: Logger;
  /** Everything written, verbatim. */
  text(): string;
  lines(): LogLine[];
  /** Lines whose msg is `msg`. */
  find(msg: string): LogLine[];
}

export function captureLog(level: LoggerOptions['level'] = 'debug'): CapturedLog {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level, destination });
  const text = (): string => chunks.join('');
  const lines = (): LogLine[] =>
    text()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as LogLine);
  return { logger, text, lines, find: (msg) => lines().filter((l) => l.msg === msg) };
}

export interface Stack {
  readonly sim: Simulator;
  readonly proxy: RunningProxy;
  readonly log: CapturedLog;
  /** The proxy's client port on 127.0.0.1. */
  readonly port: number;
  /** http://127.0.0.1:<port> of the health/metrics server, if on. */
  readonly httpUrl: string;
  close(): Promise<void>;
}

export interface StackOptions {
  mode?: ProxyMode;
  simulator?: SimulatorOptions;
  proxyArgs?: readonly string[];
  logLevel?: LoggerOptions['level'];
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const sim = await startSimulator(options.simulator ?? {});
  const log = captureLog(options.logLevel ?? 'debug');
  let proxy: RunningProxy;
  try {
    const config = configFrom([
      ...targetArgs(options.mode ?? 'contact-points', sim.info),
      '--bind',
      '127.0.0.1:0',
      '--http-bind',
      '127.0.0.1:0',
      ...(options.proxyArgs ?? []),
    ]);
    proxy = await startProxy(config, log.logger);
  } catch (err) {
    await sim.close();
    throw err;
  }
  const http = proxy.operations.address;
  let closed = false;
  return {
    sim,
    proxy,
    log,
    port: proxy.address.port,
    httpUrl: http === undefined ? '' : `http://127.0.0.1:${http.port}`,
    close: async () => {
      if (closed) return;
      closed = true;
      await proxy.close();
      await sim.close();
    },
  };
}

/** A Node.js driver client of the proxy: one connection, no schema metadata queries. */
export function driverClient(
  port: number,
  options: { readTimeoutMs?: number } = {},
): cassandra.Client {
  return new cassandra.Client({
    contactPoints: [`127.0.0.1:${port}`],
    localDataCenter: 'dc1',
    // Without this the driver reads system_schema on connect: requests a test did not send.
    isMetadataSyncEnabled: false,
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: 1 } },
    socketOptions: { readTimeout: options.readTimeoutMs ?? 10_000, connectTimeout: 5_000 },
  });
}

export async function withClient<T>(
  port: number,
  body: (client: cassandra.Client) => Promise<T>,
): Promise<T> {
  const client = driverClient(port);
  try {
    await client.connect();
    return await body(client);
  } finally {
    await client.shutdown();
  }
}

/** Polls `check` every 50 ms until it holds; fails after `ms`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
}

export async function httpGet(url: string, method = 'GET'): Promise<HttpAnswer> {
  const res = await fetch(url, { method, signal: AbortSignal.timeout(5_000) });
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    body: await res.text(),
  };
}

/** One sample of the Prometheus text format: name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text exposition format (0.0.4) strictly enough to catch a malformed
 * line: `name{label="value",...} number`, comments starting with #.
 */
export function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (m !== null) types.set(m[1]!, m[2]!);
      else if (!line.startsWith('# HELP ')) throw new Error(`bad comment line: ${line}`);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    let consumed = 0;
    for (let lm = labelRe.exec(body); lm !== null; lm = labelRe.exec(body)) {
      labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = labelRe.lastIndex;
      if (consumed === body.length) break;
    }
    if (consumed !== body.length) throw new Error(`bad labels: ${line}`);
    const raw = m[3]!;
    // Prometheus reads values with Go's ParseFloat: Inf and NaN in any case (prom-client: "Nan").
    const value = /^[+-]?inf$/i.test(raw)
      ? raw.startsWith('-')
        ? -Infinity
        : Infinity
      : /^nan$/i.test(raw)
        ? NaN
        : Number(raw);
    if (Number.isNaN(value) && !/^nan$/i.test(raw)) throw new Error(`bad value: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types };
}

/** The metrics of a proxy, parsed. */
export interface Scrape {
  samples: Sample[];
  types: Map<string, string>;
  /** The one series of `name` with exactly these labels; throws if there is none. */
  value(name: string, labels?: Record<string, string>): number;
  /** Sum over every series of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

function matches(sample: Sample, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
}

export async function scrape(httpUrl: string): Promise<Scrape> {
  const answer = await httpGet(`${httpUrl}/metrics`);
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}`);
  const { samples, types } = parsePrometheus(answer.body);
  return {
    samples,
    types,
    value: (name, labels = {}) => {
      const found = samples.filter(
        (s) =>
          s.name === name &&
          matches(s, labels) &&
          Object.keys(s.labels).length === Object.keys(labels).length,
      );
      if (found.length !== 1) {
        throw new Error(`${found.length} series ${name} ${JSON.stringify(labels)}`);
      }
      return found[0]!.value;
    },
    sum: (name, labels = {}) =>
      samples.filter((s) => s.name === name && matches(s, labels)).reduce((a, s) => a + s.value, 0),
  };
}

/**
 * A driver connected to the simulator's nodes directly (not through the proxy): what the cluster
 * really holds.
 */
export function directClient(info: SimulatorInfo): cassandra.Client {
  return new cassandra.Client({
    contactPoints: info.contactPoints.map((address) => `${address}:${info.port}`),
    localDataCenter: info.region,
    authProvider: new cassandra.auth.PlainTextAuthProvider('token', info.token),
    isMetadataSyncEnabled: false,
    socketOptions: { readTimeout: 10_000, connectTimeout: 5_000 },
  });
}

/** Every `k` of an `(k int PRIMARY KEY, ...)` table, read page by page from the simulator. */
export async function keysInCluster(info: SimulatorInfo, table: string): Promise<Set<number>> {
  const client = directClient(info);
  const keys = new Set<number>();
  try {
    await client.connect();
    let pageState: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      const rs = await client.execute(`SELECT k FROM ${table}`, [], {
        fetchSize: 5_000,
        ...(pageState === undefined ? {} : { pageState }),
      });
      for (const row of rs.rows) keys.add(row.get('k') as number);
      pageState = rs.pageState ?? undefined;
      if (pageState === undefined) break;
    }
  } finally {
    await client.shutdown();
  }
  return keys;
}
