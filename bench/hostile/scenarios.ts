// The hostile-client scenarios. Each starts its own proxy child (so figures do not carry over from
// one scenario to the next), plays its clients against it for a bounded time, and returns its
// figures in order. Everything runs on 127.0.0.1.

import cassandra from 'cassandra-driver';
import type { Socket } from 'node:net';
import {
  CqlConnection,
  ConnectionClosed,
  Op,
  RequestTimeout,
  V4,
  describe,
  header,
  intValue,
  openSocket,
  queryFrame,
  type Response,
} from './cql.js';
import { ProxyProcess, RssWatch, httpGet, metricSum, sleep, type SimProcess } from './processes.js';

export type Value = string | number | boolean | null;
export type Figures = [figure: string, value: Value][];

export interface Context {
  readonly proxyPath: string;
  readonly sim: SimProcess;
  /** RSS beyond which the proxy is killed, in bytes. */
  readonly cap: number;
}

export interface Scenario {
  readonly id: number;
  readonly title: string;
  run(ctx: Context): Promise<Figures>;
}

export const BIG_ROWS = 4;
export const BIG_VALUE_BYTES = 100 * 1024;
const HEALTHY_QUERY = 'SELECT v FROM hostile.kv WHERE k = 1';
const BIG_QUERY = 'SELECT * FROM hostile.big';
const SLOW_QUERY = 'SELECT v FROM hostile.slow WHERE k = 1';

/** The keyspace and rows the scenarios read, written straight to the simulator. */
export async function createSchema(sim: SimProcess): Promise<void> {
  const node = sim.info.contactPoints[0] ?? '127.0.0.1';
  if (node !== '127.0.0.1') throw new Error(`expected the first node on 127.0.0.1, got ${node}`);
  const c = await CqlConnection.open(sim.info.port);
  try {
    await c.handshake({ user: 'token', password: sim.info.token });
    const statements: [string, Buffer[]?][] = [
      [
        "CREATE KEYSPACE IF NOT EXISTS hostile WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
      ],
      ['CREATE TABLE IF NOT EXISTS hostile.big (k int PRIMARY KEY, v blob)'],
      ['CREATE TABLE IF NOT EXISTS hostile.kv (k int PRIMARY KEY, v text)'],
      ['CREATE TABLE IF NOT EXISTS hostile.slow (k int PRIMARY KEY, v text)'],
      ["INSERT INTO hostile.kv (k, v) VALUES (1, 'one')"],
      ["INSERT INTO hostile.slow (k, v) VALUES (1, 'one')"],
    ];
    for (let k = 0; k < BIG_ROWS; k++) {
      statements.push([
        'INSERT INTO hostile.big (k, v) VALUES (?, ?)',
        [intValue(k), Buffer.alloc(BIG_VALUE_BYTES, 0x61 + k)],
      ]);
    }
    for (const [cql, values] of statements) {
      const r = await c.query(cql, 10_000, values);
      if (r.opcode !== Op.RESULT) throw new Error(`${cql.slice(0, 60)}: ${describe(r)}`);
    }
    const check = await c.query(BIG_QUERY, 10_000);
    if (check.body.length < BIG_ROWS * BIG_VALUE_BYTES) {
      throw new Error(`${BIG_QUERY} answered ${check.body.length} bytes: ${describe(check)}`);
    }
  } finally {
    c.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

const MB = 1024 * 1024;

function mb(bytes: number | undefined): Value {
  return bytes === undefined ? null : Math.round((bytes / MB) * 10) / 10;
}

function capText(watch: RssWatch): string {
  return `> ${Math.round(watch.cap / MB)} MB at ${watch.cappedAt?.toFixed(1)} s (killed)`;
}

function peak(watch: RssWatch): Value {
  return watch.cappedAt !== undefined ? capText(watch) : mb(watch.peak);
}

/** RSS now, or why there is none. */
function rssNow(proxy: ProxyProcess, watch: RssWatch | undefined): Value {
  if (proxy.alive) return mb(proxy.rss());
  if (watch?.cappedAt !== undefined) return 'killed at the cap';
  return `proxy exited (${exitText(proxy)})`;
}

function exitText(proxy: ProxyProcess): string {
  const e = proxy.exit;
  if (e === undefined) return 'running';
  return e.signal !== null ? `signal ${e.signal}` : `code ${e.code}`;
}

function aliveText(proxy: ProxyProcess, watch?: RssWatch): string {
  if (proxy.alive) return 'yes';
  if (watch?.cappedAt !== undefined) return 'no: killed at the RSS cap';
  return `no: ${exitText(proxy)}; ${proxy.otherOutput.trim().split('\n').slice(-1)[0] ?? ''}`;
}

function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function ms(n: number | undefined): Value {
  return n === undefined ? null : Math.round(n);
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function summary(map: Map<string, number>, limit = 3): string {
  if (map.size === 0) return 'none';
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, n]) => `${n} x ${k.length > 90 ? `${k.slice(0, 90)}...` : k}`)
    .join('; ');
}

function reason(err: unknown): string {
  if (err instanceof RequestTimeout || err instanceof ConnectionClosed) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  return code ?? (err instanceof Error ? err.message : String(err));
}

// ---------------------------------------------------------------------------------------------
// Building blocks

/** Opens `n` raw sockets to the proxy, `parallel` at a time; failures are counted, not thrown. */
async function openMany(
  port: number,
  n: number,
  parallel: number,
  then?: (socket: Socket) => Promise<void> | void,
): Promise<{ sockets: CqlConnection[]; failures: Map<string, number> }> {
  const sockets: CqlConnection[] = [];
  const failures = new Map<string, number>();
  for (let i = 0; i < n; i += parallel) {
    await Promise.all(
      Array.from({ length: Math.min(parallel, n - i) }, async () => {
        try {
          const c = new CqlConnection(await openSocket(port, 5_000));
          sockets.push(c);
          await then?.(c.socket);
        } catch (err) {
          count(failures, reason(err));
        }
      }),
    );
  }
  return { sockets, failures };
}

/**
 * Writes frames from `batches` (cycled) as fast as the socket takes them, for at most `durationMs`
 * or `maxRequests` requests; never reads. Returns the requests handed to the kernel.
 */
async function pipeline(
  socket: Socket,
  batches: readonly Buffer[],
  framesPerBatch: number,
  durationMs: number,
  maxRequests: number,
  gone: () => boolean,
): Promise<{ written: number; seconds: number; longestStall: number }> {
  const t0 = Date.now();
  const end = t0 + durationMs;
  const frameBytes = (batches[0]?.length ?? 1) / framesPerBatch;
  let accepted = 0;
  /** The longest wait for 'drain': the proxy was not reading this client meanwhile. */
  let longestStallMs = 0;
  for (let b = 0; accepted < maxRequests && Date.now() < end && !socket.destroyed && !gone(); b++) {
    const whole = batches[b % batches.length]!;
    const frames = Math.min(framesPerBatch, maxRequests - accepted);
    const batch = frames === framesPerBatch ? whole : whole.subarray(0, frames * frameBytes);
    const ok = socket.write(batch);
    accepted += frames;
    if (!ok) {
      const waitFrom = Date.now();
      // Until the socket drains, the time bound, or the proxy is gone (killed at the cap).
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearInterval(poll);
          socket.off('drain', done);
          resolve();
        };
        const poll = setInterval(() => {
          if (Date.now() >= end || gone()) done();
        }, 50);
        socket.once('drain', done);
      });
      longestStallMs = Math.max(longestStallMs, Date.now() - waitFrom);
    } else if (b % 16 === 15) {
      // Let the event loop breathe (timers of the healthy client, the RSS watch).
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const pending = socket.destroyed ? 0 : Math.floor(socket.writableLength / frameBytes);
  return {
    written: accepted - pending,
    seconds: (Date.now() - t0) / 1000,
    longestStall: longestStallMs / 1000,
  };
}

/** `count` frames of `query`, stream ids 0..count-1 (mod 32768), in batches of `perBatch`. */
function queryBatches(query: string, total: number, perBatch: number): Buffer[] {
  const batches: Buffer[] = [];
  for (let i = 0; i < total; i += perBatch) {
    const frames: Buffer[] = [];
    for (let j = i; j < Math.min(total, i + perBatch); j++)
      frames.push(queryFrame(j & 0x7fff, query));
    batches.push(Buffer.concat(frames));
  }
  return batches;
}

interface HealthyStats {
  sent: number;
  ok: number;
  failed: number;
  latencies: number[];
  failures: Map<string, number>;
}

/** One small query every `everyMs` on `c` for `durationMs`; waits for the last answers. */
async function healthyClient(
  c: CqlConnection,
  durationMs: number,
  everyMs: number,
  timeoutMs: number,
): Promise<HealthyStats> {
  const stats: HealthyStats = { sent: 0, ok: 0, failed: 0, latencies: [], failures: new Map() };
  const pending: Promise<void>[] = [];
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    const t0 = performance.now();
    stats.sent++;
    pending.push(
      c.query(HEALTHY_QUERY, timeoutMs).then(
        (r) => {
          if (r.opcode === Op.RESULT) {
            stats.ok++;
            stats.latencies.push(performance.now() - t0);
          } else {
            stats.failed++;
            count(stats.failures, describe(r));
          }
        },
        (err: unknown) => {
          stats.failed++;
          count(stats.failures, reason(err));
        },
      ),
    );
    await sleep(everyMs);
  }
  await Promise.all(pending);
  stats.latencies.sort((a, b) => a - b);
  return stats;
}

function healthyFigures(stats: HealthyStats): Figures {
  return [
    ['healthy client: queries sent', stats.sent],
    ['healthy client: successes', stats.ok],
    ['healthy client: failures', stats.failed],
    ['healthy client: failure kinds', summary(stats.failures)],
    ['healthy client: p50 latency (ms)', ms(quantile(stats.latencies, 0.5))],
    ['healthy client: max latency of successes (ms)', ms(stats.latencies.at(-1))],
  ];
}

/** Waits until every connection is closed, or `capMs`; returns close delays from `t0`. */
async function waitClosed(
  conns: readonly CqlConnection[],
  t0: number,
  capMs: number,
): Promise<number[]> {
  const end = t0 + capMs;
  while (Date.now() < end && conns.some((c) => !c.isClosed)) await sleep(50);
  return conns
    .filter((c) => c.closedAt !== undefined)
    .map((c) => c.closedAt! - t0)
    .sort((a, b) => a - b);
}

function closeFigures(
  conns: readonly CqlConnection[],
  delays: readonly number[],
  capMs: number,
  prefix = '',
): Figures {
  const notClosed = conns.length - delays.length;
  const reasons = new Map<string, number>();
  for (const c of conns) if (c.closeReason !== undefined) count(reasons, c.closeReason);
  return [
    [`${prefix}connections closed by the proxy`, `${delays.length} of ${conns.length}`],
    [
      `${prefix}time until closed: first / median / last (ms)`,
      delays.length === 0
        ? `not closed within ${capMs / 1000} s`
        : `${ms(delays[0])} / ${ms(quantile(delays, 0.5))} / ${ms(delays.at(-1))}` +
          (notClosed > 0 ? ` (${notClosed} not closed within ${capMs / 1000} s)` : ''),
    ],
    [`${prefix}how they were closed`, summary(reasons)],
  ];
}

async function withProxy(
  ctx: Context,
  body: (proxy: ProxyProcess) => Promise<Figures>,
  options: { nofile?: number; args?: string[] } = {},
): Promise<Figures> {
  const proxy = await ProxyProcess.start({
    proxyPath: ctx.proxyPath,
    sim: ctx.sim.info,
    ...(options.args === undefined ? {} : { extraArgs: options.args }),
    ...(options.nofile === undefined ? {} : { nofile: options.nofile }),
  });
  try {
    return await body(proxy);
  } finally {
    await proxy.stop();
  }
}

async function handshaken(port: number): Promise<CqlConnection> {
  const c = await CqlConnection.open(port);
  await c.handshake();
  return c;
}

/** Bytes the proxy read from the cluster since it started (its /metrics), in MB. */
async function upstreamMb(proxy: ProxyProcess): Promise<Value> {
  if (!proxy.alive) return null;
  const r = await httpGet(`http://127.0.0.1:${proxy.httpPort}/metrics`, 3_000);
  if (!('body' in r)) return `no /metrics: ${r.error}`;
  return mb(metricSum(r.body, 'cqlproxy_upstream_received_bytes_total'));
}

/** A new client: connect, OPTIONS, STARTUP, one small query; how long it took, or why not. */
async function probe(port: number): Promise<string> {
  const t0 = performance.now();
  let c: CqlConnection | undefined;
  try {
    c = await CqlConnection.open(port, 5_000);
    await c.handshake(undefined, 5_000);
    const r = await c.query(HEALTHY_QUERY, 5_000);
    const took = Math.round(performance.now() - t0);
    return r.opcode === Op.RESULT ? `ok in ${took} ms` : `${describe(r)} after ${took} ms`;
  } catch (err) {
    return `failed after ${Math.round(performance.now() - t0)} ms: ${reason(err)}`;
  } finally {
    c?.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// 1. A client that pipelines SELECTs of large rows and never reads, beside a healthy client.

const S1_SECONDS = 10;

async function nonReadingLarge(ctx: Context): Promise<Figures> {
  return withProxy(ctx, async (proxy) => {
    const healthy = await handshaken(proxy.port);
    const hostile = await handshaken(proxy.port);
    // Warm the session with one big answer so "before" includes the steady state of a reader.
    await hostile.query(BIG_QUERY, 10_000);
    await sleep(500);
    const before = proxy.rss();
    const upstreamBefore = await upstreamMb(proxy);
    const watch = new RssWatch(proxy, ctx.cap);
    hostile.socket.pause();
    const batches = queryBatches(BIG_QUERY, 32_768, 64);
    const healthyRun = healthyClient(healthy, S1_SECONDS * 1000, 100, 5_000);
    const sent = await pipeline(
      hostile.socket,
      batches,
      64,
      S1_SECONDS * 1000,
      Infinity,
      () => !proxy.alive,
    );
    const upstreamAtEnd = await upstreamMb(proxy);
    const stats = await healthyRun;
    const peakFigure = peak(watch);
    const atEnd = rssNow(proxy, watch);
    hostile.destroy();
    healthy.destroy();
    await sleep(3_000);
    const after = rssNow(proxy, watch);
    watch.stop();
    return [
      [
        'response size (KB)',
        Math.round((BIG_ROWS * BIG_VALUE_BYTES) / 1024) + ` (${BIG_ROWS} rows of 100 KB)`,
      ],
      ['hostile: SELECTs written in 10 s', sent.written],
      [
        'hostile: longest write stall, proxy not reading (s)',
        Math.round(sent.longestStall * 10) / 10,
      ],
      [
        'proxy: MB read from the cluster, before / at 10 s (its /metrics)',
        `${upstreamBefore} / ${upstreamAtEnd}`,
      ],
      ['proxy RSS before (MB)', mb(before)],
      ['proxy RSS peak (MB)', peakFigure],
      ['proxy RSS at 10 s (MB)', atEnd],
      ['proxy RSS 3 s after the hostile client left (MB)', after],
      ...healthyFigures(stats),
      ['proxy alive at the end', aliveText(proxy, watch)],
    ];
  });
}

// ---------------------------------------------------------------------------------------------
// 2. 500,000 pipelined system.local SELECTs (answered by the proxy itself), never read.

const S2_REQUESTS = 500_000;
const S2_SECONDS = 10;

async function nonReadingLocal(ctx: Context): Promise<Figures> {
  return withProxy(ctx, async (proxy) => {
    const hostile = await handshaken(proxy.port);
    const sample = await hostile.query('SELECT * FROM system.local', 5_000);
    await sleep(500);
    const before = proxy.rss();
    const watch = new RssWatch(proxy, ctx.cap);
    hostile.socket.pause();
    const batches = queryBatches('SELECT * FROM system.local', 32_768, 1024);
    const sent = await pipeline(
      hostile.socket,
      batches,
      1024,
      S2_SECONDS * 1000,
      S2_REQUESTS,
      () => !proxy.alive,
    );
    const probed = await probe(proxy.port);
    // Whatever the proxy still has to read and answer.
    await sleep(2_000);
    const peakFigure = peak(watch);
    const atEnd = rssNow(proxy, watch);
    hostile.destroy();
    await sleep(3_000);
    const after = rssNow(proxy, watch);
    watch.stop();
    return [
      ['one answer (bytes)', sample.body.length + 9],
      ['hostile: SELECTs written', sent.written],
      ['hostile: time spent writing (s)', Math.round(sent.seconds * 10) / 10],
      [
        'hostile: longest write stall, proxy not reading (s)',
        Math.round(sent.longestStall * 10) / 10,
      ],
      ['proxy RSS before (MB)', mb(before)],
      ['proxy RSS peak (MB)', peakFigure],
      ['new client right after the last write (handshake + query)', probed],
      ['proxy RSS 2 s after the last write (MB)', atEnd],
      ['proxy RSS 3 s after the client left (MB)', after],
      ['proxy alive at the end', aliveText(proxy, watch)],
    ];
  });
}

// ---------------------------------------------------------------------------------------------
// 3. 200 connections declaring a 250 MB body before STARTUP, then silent.

const S3_CONNECTIONS = 200;
const S3_BODY = 250 * 1024 * 1024;
const S3_WAIT_MS = 15_000;

async function hugeDeclaredFrames(ctx: Context): Promise<Figures> {
  return withProxy(ctx, async (proxy) => {
    await sleep(300);
    const before = proxy.rss();
    const fdsBefore = proxy.fds();
    const vmBefore = proxy.vmSize();
    const watch = new RssWatch(proxy, ctx.cap);
    const answers = new Map<string, number>();
    const t0 = Date.now();
    const head = Buffer.concat([header(Op.STARTUP, 0, S3_BODY), Buffer.alloc(16, 0x41)]);
    const { sockets, failures } = await openMany(proxy.port, S3_CONNECTIONS, 50, (socket) => {
      socket.write(head);
    });
    for (const c of sockets) c.onUnmatched = (r: Response) => count(answers, describe(r));
    await sleep(1_000);
    const fdsOpen = proxy.fds();
    const probed = await probe(proxy.port);
    const delays = await waitClosed(sockets, t0, S3_WAIT_MS);
    const atEnd = rssNow(proxy, watch);
    const closes = closeFigures(sockets, delays, S3_WAIT_MS);
    const vmPeak = proxy.vmPeak();
    for (const c of sockets) c.destroy();
    await sleep(1_000);
    watch.stop();
    return [
      ['connections opened', `${sockets.length} (${summary(failures)} failed)`],
      ['declared body per connection (MB)', S3_BODY / MB],
      ['proxy RSS before (MB)', mb(before)],
      ['proxy RSS peak (MB)', peak(watch)],
      [
        'proxy RSS growth at peak (MB)',
        watch.cappedAt === undefined ? mb(watch.peak - (before ?? 0)) : capText(watch),
      ],
      [`proxy RSS at the end of the wait (MB)`, atEnd],
      ['proxy fds before / with the connections open', `${fdsBefore} / ${fdsOpen}`],
      [
        'proxy virtual memory before / peak (VmSize / VmPeak, MB)',
        `${mb(vmBefore)} / ${mb(vmPeak)}`,
      ],
      ['new client 1 s after (handshake + query)', probed],
      ...closes,
      ['answers the clients got', summary(answers)],
      ['proxy alive at the end', aliveText(proxy, watch)],
    ];
  });
}

// ---------------------------------------------------------------------------------------------
// 4. 1,000 connections that send nothing; then 1,000 that send 3 bytes of a header.

const S4_CONNECTIONS = 1_000;
const S4_WAIT_MS = 15_000;

async function silentConnections(ctx: Context): Promise<Figures> {
  return withProxy(ctx, async (proxy) => {
    const figures: Figures = [];
    const variants: [string, Buffer | undefined][] = [
      ['silent: ', undefined],
      ['3 header bytes: ', Buffer.from([V4, 0x00, 0x00])],
    ];
    for (const [prefix, bytes] of variants) {
      await sleep(300);
      const before = proxy.rss();
      const fdsBefore = proxy.fds();
      const t0 = Date.now();
      const { sockets, failures } = await openMany(proxy.port, S4_CONNECTIONS, 100, (socket) => {
        if (bytes !== undefined) socket.write(bytes);
      });
      await sleep(1_000);
      const fdsOpen = proxy.fds();
      const rssOpen = proxy.rss();
      const probed = await probe(proxy.port);
      const delays = await waitClosed(sockets, t0, S4_WAIT_MS);
      figures.push(
        [`${prefix}connections opened`, `${sockets.length} (${summary(failures)} failed)`],
        [`${prefix}proxy fds before / 1 s after opening`, `${fdsBefore} / ${fdsOpen}`],
        [`${prefix}proxy RSS before / 1 s after opening (MB)`, `${mb(before)} / ${mb(rssOpen)}`],
        [`${prefix}new client 1 s after opening (handshake + query)`, probed],
        ...closeFigures(sockets, delays, S4_WAIT_MS, prefix),
      );
      for (const c of sockets) c.destroy();
      await sleep(500);
    }
    figures.push(['proxy alive at the end', aliveText(proxy)]);
    return figures;
  });
}

// ---------------------------------------------------------------------------------------------
// 5. Descriptor exhaustion: the proxy under a 256-descriptor limit, 400 client connections.

const S5_NOFILE = 256;
const S5_CONNECTIONS = 400;

async function driverWorks(port: number, dataCenter: string): Promise<string> {
  const client = new cassandra.Client({
    contactPoints: [`127.0.0.1:${port}`],
    localDataCenter: dataCenter,
    socketOptions: { connectTimeout: 4_000, readTimeout: 4_000 },
  });
  const t0 = performance.now();
  try {
    const work = (async () => {
      await client.connect();
      const rs = await client.execute(HEALTHY_QUERY);
      return rs.rows.length;
    })();
    const rows = await Promise.race([
      work,
      sleep(8_000).then(() => {
        throw new Error('no answer in 8 s');
      }),
    ]);
    return `yes: ${rows} row in ${Math.round(performance.now() - t0)} ms`;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const text = message.replace(/\s+/g, ' ').replace(/ at \S+ \(node:.*$/, '');
    return `no: ${text.slice(0, 150)}`;
  } finally {
    await Promise.race([client.shutdown().catch(() => undefined), sleep(3_000)]);
  }
}

function readinessText(r: Awaited<ReturnType<typeof httpGet>>): string {
  if ('error' in r) return `no answer: ${r.error} (${Math.round(r.ms)} ms)`;
  return `HTTP ${r.status} in ${Math.round(r.ms)} ms ${r.body.slice(0, 120)}`;
}

async function descriptorExhaustion(ctx: Context): Promise<Figures> {
  return withProxy(
    ctx,
    async (proxy) => {
      const ready = proxy.logs.find((l) => l.msg === 'proxy is ready');
      const dataCenter = typeof ready?.dataCenter === 'string' ? ready.dataCenter : 'dc1';
      const readinessUrl = `http://127.0.0.1:${proxy.httpPort}/readiness`;
      const fdsBefore = proxy.fds();
      const handshakes = new Map<string, number>();
      const { sockets, failures } = await openMany(proxy.port, S5_CONNECTIONS, 50);
      await Promise.all(
        sockets.map((c) =>
          c.handshake(undefined, 3_000).then(
            () => count(handshakes, 'READY'),
            (err: unknown) => count(handshakes, reason(err)),
          ),
        ),
      );
      await sleep(1_000);
      const fdsFull = proxy.fds();
      const closed = sockets.filter((c) => c.isClosed).length;
      const readiness = readinessText(await httpGet(readinessUrl, 3_000));
      const driver = await driverWorks(proxy.port, dataCenter);
      const warnings = proxy.warnings();
      const aboutFds = warnings.filter((l) =>
        /descriptor|EMFILE|ENFILE|too many open files|refus/i.test(JSON.stringify(l)),
      );
      const warnKinds = new Map<string, number>();
      for (const l of warnings) {
        const err = typeof l.err === 'string' ? l.err : JSON.stringify(l.err ?? '');
        count(warnKinds, `${l.msg ?? '?'}${err === '""' ? '' : ` (${err})`}`);
      }
      for (const c of sockets) c.destroy();
      await sleep(1_500);
      const readinessAfter = readinessText(await httpGet(readinessUrl, 3_000));
      const driverAfter = await driverWorks(proxy.port, dataCenter);
      return [
        ['descriptor limit of the proxy', `${S5_NOFILE} (prlimit --nofile)`],
        ['proxy fds before / with the clients', `${fdsBefore} / ${fdsFull}`],
        [
          'client connections: TCP connected',
          `${sockets.length} of ${S5_CONNECTIONS} (${summary(failures)} failed)`,
        ],
        ['client connections: handshake outcome', summary(handshakes)],
        ['client connections closed by the proxy (1 s after)', closed],
        ['/readiness with the clients connected', readiness],
        ['new driver connection with the clients connected', driver],
        ['proxy warn+ lines in all', warnings.length],
        ['proxy warn+ lines about descriptors / refusals', aboutFds.length],
        ['proxy warn+ messages', summary(warnKinds, 4)],
        ['/readiness after the clients left', readinessAfter],
        ['new driver connection after the clients left', driverAfter],
        ['proxy alive at the end', aliveText(proxy)],
      ];
    },
    { nofile: S5_NOFILE },
  );
}

// ---------------------------------------------------------------------------------------------
// 6. Churn: connect, handshake, a few requests, hang up without waiting.

const S6_LOOPS = 1_000;
const S6_PARALLEL = 50;

async function churn(ctx: Context): Promise<Figures> {
  return withProxy(ctx, async (proxy) => {
    const warm = await handshaken(proxy.port);
    await warm.query(HEALTHY_QUERY);
    await warm.query(BIG_QUERY, 10_000);
    warm.destroy();
    await sleep(1_000);
    const fdsBefore = proxy.fds();
    const rssBefore = proxy.rss();
    const outcomes = new Map<string, number>();
    const requests = Buffer.concat([
      queryFrame(100, 'SELECT * FROM system.local'),
      queryFrame(101, HEALTHY_QUERY),
      queryFrame(102, BIG_QUERY),
    ]);
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: S6_PARALLEL }, async () => {
        while (next < S6_LOOPS) {
          next++;
          try {
            const c = await handshaken(proxy.port);
            c.socket.write(requests);
            c.destroy();
            count(outcomes, 'ok');
          } catch (err) {
            count(outcomes, reason(err));
          }
        }
      }),
    );
    const seconds = (Date.now() - t0) / 1000;
    await sleep(3_000);
    const fdsAfter = proxy.fds();
    const rssAfter = proxy.rss();
    const readiness = await httpGet(`http://127.0.0.1:${proxy.httpPort}/readiness`, 3_000);
    let clients: Value = null;
    if ('body' in readiness) {
      try {
        const body = JSON.parse(readiness.body) as Record<string, unknown>;
        clients = typeof body.clientConnections === 'number' ? body.clientConnections : null;
      } catch {
        clients = null;
      }
    }
    return [
      [
        'loops (connect, OPTIONS, STARTUP, 3 QUERYs, hang up)',
        `${S6_LOOPS}, ${S6_PARALLEL} at a time, ${seconds.toFixed(1)} s`,
      ],
      ['loop outcomes', summary(outcomes)],
      ['proxy fds before / 3 s after', `${fdsBefore} / ${fdsAfter}`],
      ['proxy RSS before / 3 s after (MB)', `${mb(rssBefore)} / ${mb(rssAfter)}`],
      ['client connections the proxy reports 3 s after', clients],
      ['proxy alive at the end', aliveText(proxy)],
    ];
  });
}

// ---------------------------------------------------------------------------------------------
// 7. One client holds every upstream stream id with slow requests; another sends one query.

const S7_PER_CONNECTION = 20_000;
const S7_CONNECTIONS = 2;
const S7_DELAY_MS = 8_000;

async function admin(ctx: Context, method: 'POST' | 'DELETE', path: string, body?: unknown) {
  const response = await fetch(`${ctx.sim.info.adminUrl}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok)
    throw new Error(`admin ${method} ${path}: HTTP ${response.status} ${await response.text()}`);
  await response.text();
}

async function streamHog(ctx: Context): Promise<Figures> {
  return withProxy(
    ctx,
    async (proxy) => {
      const victim = await handshaken(proxy.port);
      await victim.query(HEALTHY_QUERY);
      const hogs = await Promise.all(
        Array.from({ length: S7_CONNECTIONS }, () => handshaken(proxy.port)),
      );
      const hogAnswers = new Map<string, number>();
      for (const h of hogs) {
        h.onUnmatched = (r) => count(hogAnswers, describe(r));
      }
      await admin(ctx, 'POST', '/faults', { match: 'hostile.slow', delayMs: S7_DELAY_MS });
      try {
        const t0 = Date.now();
        for (const h of hogs) {
          const frames: Buffer[] = [];
          for (let i = 0; i < S7_PER_CONNECTION; i++) frames.push(queryFrame(i, SLOW_QUERY));
          h.socket.write(Buffer.concat(frames));
        }
        await sleep(1_000);
        const hogAnswersBefore = summary(hogAnswers);
        const v0 = performance.now();
        let outcome: string;
        try {
          const r = await victim.query(HEALTHY_QUERY, 15_000);
          outcome = r.opcode === Op.RESULT ? 'answered (RESULT)' : describe(r);
        } catch (err) {
          outcome = reason(err);
        }
        const latency = performance.now() - v0;
        const rss = proxy.rss();
        // Let the slow requests come back (bounded), to count what the hog got.
        const total = S7_CONNECTIONS * S7_PER_CONNECTION;
        const answered = (): number => [...hogAnswers.values()].reduce((a, b) => a + b, 0);
        const end = t0 + S7_DELAY_MS + 8_000;
        while (answered() < total && Date.now() < end) await sleep(100);
        return [
          [
            'hostile: requests pipelined',
            `${total} (${S7_CONNECTIONS} connections x ${S7_PER_CONNECTION})`,
          ],
          ['simulator delay of each hostile request (ms)', S7_DELAY_MS],
          ['hostile answers 1 s in', hogAnswersBefore],
          ['second client: outcome', outcome],
          ['second client: latency (ms)', ms(latency)],
          ['proxy RSS with the requests in flight (MB)', mb(rss)],
          [
            `hostile answers by ${(S7_DELAY_MS + 8_000) / 1000} s`,
            `${summary(hogAnswers, 4)} (${answered()} of ${total})`,
          ],
          ['proxy alive at the end', aliveText(proxy)],
        ];
      } finally {
        for (const h of hogs) h.destroy();
        victim.destroy();
        await admin(ctx, 'DELETE', '/faults').catch(() => undefined);
      }
    },
    { args: ['--num-conns', '1'] },
  );
}

export const SCENARIOS: readonly Scenario[] = [
  { id: 1, title: 'non-reading client, large results', run: nonReadingLarge },
  { id: 2, title: 'non-reading client, locally answered', run: nonReadingLocal },
  { id: 3, title: 'huge declared frames before STARTUP', run: hugeDeclaredFrames },
  { id: 4, title: 'silent connections', run: silentConnections },
  { id: 5, title: 'descriptor exhaustion', run: descriptorExhaustion },
  { id: 6, title: 'churn', run: churn },
  { id: 7, title: 'one client holds all upstream stream ids', run: streamHog },
];
