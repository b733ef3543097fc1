// The real command line as a child process (src/main.ts through tsx) against the simulator:
// SIGTERM in the middle of a load of prepared INSERTs from the Node.js driver. Every INSERT the
// driver saw acknowledged must be in the cluster afterwards (read from the simulator directly),
// and the process must exit 0 within the drain timeout. A second signal exits at once with
// 128 + its number.
//
// The child is `node --import tsx src/main.ts`, the same program `npx tsx src/main.ts` runs, but
// one process: a signal sent to it reaches the proxy, not a wrapper that relays it.

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../sim/simulator.js';
import { driverClient, keysInCluster, scrape, waitFor, type LogLine } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DRAIN_TIMEOUT_MS = 5_000;
/** Bounds of the load: it stops at this many INSERTs even if nothing stops it before. */
const MAX_INSERTS = 50_000;
const CONCURRENCY = 16;
/** Of the workers, these send an INSERT the simulator answers late: always some in flight. */
const SLOW_WORKERS = 4;
const SLOW_DELAY_MS = 250;
const ACKED_BEFORE_SIGTERM = 400;

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator();
});

afterAll(async () => {
  await sim?.close();
});

interface Cli {
  child: ChildProcessByStdio<null, Readable, Readable>;
  stdout(): string;
  stderr(): string;
  lines(): LogLine[];
  /** Resolves with the exit code and signal. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** The client port and HTTP port from the start-up log lines. */
  port: number;
  httpPort: number;
}

async function startCli(extra: string[]): Promise<Cli> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/main.ts',
      '--astra-bundle',
      sim.info.bundle,
      '--astra-token',
      sim.info.token,
      '--bind',
      '127.0.0.1:0',
      '--http-bind',
      '127.0.0.1:0',
      '--health-check',
      '--metrics',
      '--drain-timeout',
      `${DRAIN_TIMEOUT_MS}ms`,
      '--log-level',
      'debug',
      ...extra,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines = (): LogLine[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  const find = (msg: string): LogLine | undefined => lines().find((l) => l.msg === msg);
  try {
    await waitFor(
      () => find('proxy is ready') !== undefined || child.exitCode !== null,
      30_000,
      'the proxy to start',
    );
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const ready = find('proxy is ready');
  const http = find('health and metrics are listening');
  if (ready === undefined || http === undefined) {
    child.kill('SIGKILL');
    throw new Error(`the proxy did not start:\n${out}\n${err}`);
  }
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    lines,
    exited,
    port: Number(String(ready.listen).split(':').pop()),
    httpPort: Number(String(http.http).split(':').pop()),
  };
}

/** Waits for the exit, killing the child if it overstays `ms`. */
async function exitWithin(
  cli: Cli,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const started = Date.now();
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), ms);
  try {
    const [code, signal] = await cli.exited;
    return { code, signal, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

describe('SIGTERM during a load', () => {
  it('loses no acknowledged INSERT and exits 0 within the drain timeout', async () => {
    const cli = await startCli([]);
    const table = 'default_keyspace.ops_sigterm';
    const client = driverClient(cli.port, { readTimeoutMs: 0 });
    const acked = new Set<number>();
    let ackedAtSignal = -1;
    let failed = 0;
    try {
      await client.connect();
      await client.execute(`CREATE TABLE IF NOT EXISTS ${table} (k int PRIMARY KEY, v text)`);
      const fast = `INSERT INTO ${table} (k, v) VALUES (?, ?)`;
      const slow = `INSERT INTO ${table} (k, v) VALUES (?, ?) USING TTL 86400`;
      sim.faults.add({ match: 'USING TTL 86400', delayMs: SLOW_DELAY_MS });
      let next = 0;
      let stop = false;
      const worker = async (insert: string): Promise<void> => {
        while (!stop && next < MAX_INSERTS) {
          const k = next++;
          try {
            await client.execute(insert, [k, `value ${k}`], { prepare: true });
            acked.add(k);
          } catch {
            // The proxy is going away: this INSERT was not acknowledged; stop this worker.
            failed++;
            return;
          }
        }
      };
      const workers = Array.from({ length: CONCURRENCY }, (_, i) =>
        worker(i < SLOW_WORKERS ? slow : fast),
      );
      await waitFor(() => acked.size >= ACKED_BEFORE_SIGTERM, 30_000, 'the load to get going');

      const sentAt = Date.now();
      expect(cli.child.kill('SIGTERM')).toBe(true);
      ackedAtSignal = acked.size;
      const exit = await exitWithin(cli, DRAIN_TIMEOUT_MS + 5_000);
      stop = true;
      await Promise.all(workers);

      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(Date.now() - sentAt).toBeLessThan(DRAIN_TIMEOUT_MS + 1_000);
      expect(acked.size).toBeGreaterThanOrEqual(ACKED_BEFORE_SIGTERM);
      expect(acked.size).toBeLessThan(MAX_INSERTS);

      const stored = await keysInCluster(sim.info, table);
      const lost = [...acked].filter((k) => !stored.has(k));
      expect(lost).toStrictEqual([]);

      // The INSERTs in flight at SIGTERM were answered, not cut off: the slow ones at least.
      const drained = cli.lines().find((l) => l.msg === 'drained: every request read was answered');
      expect(drained?.answered).toBeGreaterThanOrEqual(SLOW_WORKERS);
      expect(acked.size - ackedAtSignal).toBeGreaterThanOrEqual(SLOW_WORKERS);
      const messages = cli.lines().map((l) => l.msg);
      expect(messages).toContain('shutting down: draining client connections');
      expect(messages.at(-1)).toBe('stopped');
      expect(cli.stderr()).toBe('');
      // Not a byte of the token in anything the process wrote, at debug level.
      const secret = sim.info.token.split(':').pop()!;
      expect(cli.stdout()).not.toContain(secret);
    } finally {
      cli.child.kill('SIGKILL');
      await client.shutdown();
      sim.faults.clear();
    }
    // Each worker stops at its first failure.
    expect(failed).toBeLessThanOrEqual(CONCURRENCY);
  });
});

describe('a second signal', () => {
  it('exits at once with 128 + its number while the drain is still waiting', async () => {
    const cli = await startCli([]);
    const client = driverClient(cli.port, { readTimeoutMs: 0 });
    try {
      await client.connect();
      sim.faults.add({ match: 'ops_second_signal', delayMs: 20_000, times: 1 });
      const stuck = client
        .execute(`SELECT * FROM system_schema.keyspaces WHERE keyspace_name = 'ops_second_signal'`)
        .catch(() => undefined);
      const metrics = `http://127.0.0.1:${cli.httpPort}`;
      await waitFor(
        async () => (await scrape(metrics)).value('cqlproxy_client_requests_pending') === 1,
        10_000,
        'the request to be in flight',
      );
      cli.child.kill('SIGTERM');
      await waitFor(
        () => cli.lines().some((l) => l.msg === 'shutting down: draining client connections'),
        5_000,
        'the drain to begin',
      );
      const sentAt = Date.now();
      cli.child.kill('SIGINT');
      const exit = await exitWithin(cli, 5_000);
      expect(exit).toMatchObject({ code: 130, signal: null });
      // At once: well before the drain timeout would have ended.
      expect(Date.now() - sentAt).toBeLessThan(DRAIN_TIMEOUT_MS);
      expect(cli.lines().at(-1)).toMatchObject({
        msg: 'second signal: exiting without finishing the shutdown',
        signal: 'SIGINT',
      });
      await stuck;
    } finally {
      cli.child.kill('SIGKILL');
      await client.shutdown();
      sim.faults.clear();
    }
  });
});
