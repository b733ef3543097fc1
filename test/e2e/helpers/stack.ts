// One simulated Astra and one proxy in front of it, in this process: the end-to-end tests' fixture.
// The proxy's Config comes from the real command-line parser (parseConfig), so the flags these
// tests use are the flags a person types.

import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { startSimulator } from '../../../sim/simulator.js';
import type { Simulator, SimulatorInfo, SimulatorOptions } from '../../../sim/simulator.js';
import type { Config } from '../../../src/config/config.js';
import { parseConfig } from '../../../src/config/parse.js';
import { createLogger } from '../../../src/ops/logger.js';
import { startProxy } from '../../../src/proxy.js';
import type { ProxyTuning, RunningProxy } from '../../../src/proxy.js';

export const PROXY_MODES = ['astra-bundle', 'astra-token', 'contact-points'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

/** The flags that point the proxy at the simulator in `mode` (without --bind). */
export function targetArgs(mode: ProxyMode, info: SimulatorInfo): string[] {
  switch (mode) {
    case 'astra-bundle':
      return ['--astra-bundle', info.bundle, '--astra-token', info.token];
    case 'astra-token':
      return [
        '--astra-token',
        info.token,
        '--astra-database-id',
        info.databaseId,
        '--astra-api-url',
        info.devopsApiUrl,
      ];
    case 'contact-points':
      // The nodes' own addresses, plain TCP; the simulator's PasswordAuthenticator wants the token.
      return [
        '--contact-points',
        info.contactPoints.join(','),
        '--port',
        String(info.port),
        '--username',
        'token',
        '--password',
        info.token,
      ];
  }
}

/** parseConfig as main.ts calls it, with no environment; a refused flag fails the test. */
export function configFrom(argv: string[]): Config {
  const parsed = parseConfig(argv, {}, (path) => readFileSync(path, 'utf8'));
  if ('config' in parsed) return parsed.config;
  throw new Error(`parseConfig refused ${argv.join(' ')}: ${JSON.stringify(parsed)}`);
}

/** A log line of the proxy, as pino wrote it. */
export type LogLine = Record<string, unknown> & { msg?: string };

export interface Stack {
  readonly mode: ProxyMode;
  readonly sim: Simulator;
  readonly proxy: RunningProxy;
  /** The proxy's client port on 127.0.0.1. */
  readonly port: number;
  /** Every line the proxy logged at info and above. */
  readonly logs: LogLine[];
  /** Starts one more proxy on the same simulator (its own port); closed with the stack. */
  addProxy(extraArgs: string[]): Promise<RunningProxy>;
  close(): Promise<void>;
}

export interface StackOptions {
  readonly simulator?: SimulatorOptions;
  /** More proxy flags, e.g. `--num-conns 1`. */
  readonly proxyArgs?: readonly string[];
  /** Knobs without a flag (short idle times for tests). */
  readonly tuning?: ProxyTuning;
}

/** A logger that keeps its JSON lines in `into`. */
function collectingLogger(into: LogLine[]): ReturnType<typeof createLogger> {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line !== '') into.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  return createLogger({ level: 'info', destination });
}

export async function startStack(mode: ProxyMode, options: StackOptions = {}): Promise<Stack> {
  const sim = await startSimulator(options.simulator ?? {});
  const proxies: RunningProxy[] = [];
  const logs: LogLine[] = [];
  const logger = collectingLogger(logs);
  const start = async (extra: readonly string[]): Promise<RunningProxy> => {
    const config = configFrom([
      ...targetArgs(mode, sim.info),
      '--bind',
      '127.0.0.1:0',
      ...(options.proxyArgs ?? []),
      ...extra,
    ]);
    const proxy = await startProxy(config, logger, options.tuning);
    proxies.push(proxy);
    return proxy;
  };
  let proxy: RunningProxy;
  try {
    proxy = await start([]);
  } catch (err) {
    await sim.close();
    throw err;
  }
  return {
    mode,
    sim,
    proxy,
    port: proxy.address.port,
    logs,
    addProxy: start,
    close: async () => {
      for (const p of proxies.splice(0)) await p.close();
      await sim.close();
    },
  };
}

/** Resolves with `promise`, or rejects once `ms` have passed: no test step may hang. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 50 ms until it is true; fails after `ms`. */
export async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The simulator's admin HTTP API (sim/admin-api.ts), as another process would drive it. */
export async function admin(
  info: SimulatorInfo,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const response = await fetch(`${info.adminUrl}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(10_000),
  });
  const answer: unknown = await response.json();
  if (!response.ok) throw new Error(`admin ${method} ${path}: ${JSON.stringify(answer)}`);
  return answer;
}
