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
//   metrics.ts), plus its own: the workers, their restarts, per-worker client connections, and
//   cqlproxy_ready.
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

import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import { errorMessage } from '../errors.js';
import type { RunningProxy } from '../proxy.js';
import { goDuration, liveness, type HealthAnswer, type ReadinessBody } from './health.js';
import { startOpsHttpServer, type OpsHttpServer, type OpsRoutes } from './http-server.js';
import type { Logger } from './logger.js';
import { METRIC_PREFIX } from './metric-kinds.js';
import { interruptedExitCode } from './shutdown.js';

/** The environment variable that tells a forked worker its number (1..N). */
export const WORKER_ID_ENV = 'CQLPROXY_WORKER_ID';

/** How long the primary waits for a worker's answer to a health or metrics question. */
const ASK_TIMEOUT_MS = 2_000;
/** A worker that lived at least this long before dying is restarted at once. */
const STABLE_MS = 30_000;
/** Restart delays of a worker that keeps dying: doubled from this up to the maximum. */
const RESTART_BASE_MS = 500;
const RESTART_MAX_MS = 30_000;
/** Routing facts kept by the primary for replay (one small entry per prepared id). */
const ROUTING_CAPACITY = 10_000;
/** What one kept message costs beyond its strings (objects, map slot). */
const KEPT_OVERHEAD_BYTES = 128;
/** The shutdown watchdog's allowance past the drain timeout for workers to close. */
const SHUTDOWN_GRACE_MS = 10_000;

/** A PREPARE request frame of a session, and the id the cluster gave it. */
interface PreparedMessage {
  t: 'prepared';
  id: string;
  frame: string;
  sessionKey: string;
}
/** A prepared id's keyspace and partition key indexes (routing.ts). */
interface RoutingMessage {
  t: 'routing';
  id: string;
  keyspace: string;
  pkIndexes: number[];
}
type WorkerToPrimary =
  | { t: 'ready'; fields: Record<string, unknown> }
  | { t: 'answer'; seq: number; value: unknown }
  | PreparedMessage
  | RoutingMessage;
type PrimaryToWorker =
  | { t: 'ask'; seq: number; what: 'metrics' | 'readiness' }
  | { t: 'shutdown' }
  | PreparedMessage
  | RoutingMessage;

/** What getMetricsAsJSON() gives for one metric, as far as the primary reads it. */
interface MetricJson {
  name: string;
  values?: { value: number }[];
}

/** Every IPC message of ours carries this key (node:cluster and prom-client send their own). */
const TAG = 'cqlproxyWorkers';

function isOurs(message: unknown): message is { [TAG]: WorkerToPrimary | PrimaryToWorker } {
  return typeof message === 'object' && message !== null && TAG in message;
}

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

// ---------------------------------------------------------------------------------------------
// The worker side

export interface WorkerHandle {
  readonly id: number;
  /** Give to startProxy as ProxyTuning.worker. */
  readonly tuning: { ready(fields: Record<string, unknown>): void };
  /** Once the proxy runs: share prepares, answer the primary, tell it we are ready. */
  started(proxy: RunningProxy): void;
  /**
   * A signal source for handleShutdownSignals: process signals, plus the primary's shutdown
   * request as a SIGTERM unless a signal came first (Ctrl-C reaches every process of the group).
   */
  readonly signals: { on(signal: NodeJS.Signals, listener: (s: NodeJS.Signals) => void): unknown };
}

function send(message: WorkerToPrimary): void {
  if (process.connected) process.send?.({ [TAG]: message });
}

export function workerHandle(parent: Logger): WorkerHandle {
  const id = Number(process.env[WORKER_ID_ENV]);
  const logger = parent.child({ worker: id });
  let readyFields: Record<string, unknown> = {};
  const listeners = new Map<NodeJS.Signals, ((s: NodeJS.Signals) => void)[]>();
  let signalled = false;
  const emit = (signal: NodeJS.Signals): void => {
    for (const l of listeners.get(signal) ?? []) l(signal);
  };
  const signals = {
    on(signal: NodeJS.Signals, listener: (s: NodeJS.Signals) => void) {
      const list = listeners.get(signal) ?? [];
      if (list.length === 0) {
        process.on(signal, (s: NodeJS.Signals) => {
          signalled = true;
          emit(s);
        });
      }
      list.push(listener);
      listeners.set(signal, list);
      return signals;
    },
  };
  let proxy: RunningProxy | undefined;
  const answer = async (what: 'metrics' | 'readiness'): Promise<unknown> => {
    if (proxy === undefined) return undefined;
    if (what === 'readiness') return proxy.operations.readinessBody();
    return (await proxy.operations.metrics?.registry.getMetricsAsJSON()) ?? [];
  };
  let shares: PrepareSharing | undefined;
  process.on('message', (raw: unknown) => {
    if (!isOurs(raw)) return;
    const m = raw[TAG] as PrimaryToWorker;
    switch (m.t) {
      case 'ask':
        answer(m.what).then(
          (value) => send({ t: 'answer', seq: m.seq, value }),
          (err: unknown) => {
            logger.warn({ err: errorMessage(err) }, 'cannot answer the primary');
            send({ t: 'answer', seq: m.seq, value: undefined });
          },
        );
        return;
      case 'shutdown':
        if (!signalled) {
          signalled = true;
          emit('SIGTERM');
        }
        return;
      case 'prepared':
      case 'routing':
        shares?.learn(m);
        return;
    }
  });
  // A primary that is gone cannot restart or drain us: stop serving.
  process.on('disconnect', () => {
    if (!signalled) {
      logger.warn('the primary process is gone: shutting down');
      signalled = true;
      emit('SIGTERM');
    }
  });
  return {
    id,
    tuning: {
      ready(fields) {
        readyFields = fields;
        logger.info({ ...fields, pid: process.pid }, 'worker is ready');
      },
    },
    started(running) {
      proxy = running;
      shares = sharePrepares(running);
      send({ t: 'ready', fields: readyFields });
    },
    signals,
  };
}

interface PrepareSharing {
  learn(message: PreparedMessage | RoutingMessage): void;
}

/**
 * Hooks the cluster's prepared statement cache and router: what this worker learns from a client
 * goes to the primary; what the primary relays is added without being sent back.
 */
function sharePrepares(proxy: RunningProxy): PrepareSharing {
  // The cache is the cluster's own (one per process, shared by its sessions): sharing must see
  // exactly the entries Session.rememberPrepared adds.
  const cache = proxy.cluster.preparedCache;
  const set = cache.set.bind(cache);
  cache.set = (id, frame, sessionKey) => {
    const known = cache.get(id, sessionKey) !== undefined;
    set(id, frame, sessionKey);
    if (known || !shareable(sessionKey)) return;
    send({
      t: 'prepared',
      id: Buffer.from(id).toString('base64'),
      frame: frame.toString('base64'),
      sessionKey,
    });
  };
  const router = proxy.cluster.router;
  const notePrepared = router.notePrepared.bind(router);
  // A client preparing the same statement again tells the router again: relay it once.
  const relayed = new KeptMessages<true>(Infinity, ROUTING_CAPACITY);
  router.notePrepared = (id, keyspace, pkIndexes) => {
    notePrepared(id, keyspace, pkIndexes);
    if (pkIndexes.length === 0) return;
    const key = Buffer.from(id).toString('base64');
    if (relayed.has(key)) return;
    relayed.set(key, true, 0);
    send({ t: 'routing', id: key, keyspace, pkIndexes: [...pkIndexes] });
  };
  return {
    learn(m) {
      const id = Buffer.from(m.id, 'base64');
      if (m.t === 'prepared') set(id, Buffer.from(m.frame, 'base64'), m.sessionKey);
      else notePrepared(id, m.keyspace, m.pkIndexes);
    },
  };
}

/** version/keyspace/compression; a fourth part names per-process credentials (passthrough). */
function shareable(sessionKey: string): boolean {
  return sessionKey.split('/').length === 3;
}

// ---------------------------------------------------------------------------------------------
// The primary side

export interface PrimaryOptions {
  /** Ends the process (main.ts passes process.exit). */
  exit: (code: number) => void;
}

interface Slot {
  readonly id: number;
  worker: Worker | undefined;
  pid: number | undefined;
  startedAt: number;
  ready: boolean;
  /** Deaths in a row, each soon after its start. */
  failures: number;
  restarts: number;
  timer: NodeJS.Timeout | undefined;
}

type Phase = 'STARTING' | 'RUNNING' | 'DRAINING';

/** Runs the primary: never serves CQL; resolves once the workers are forked. */
export async function runPrimary(
  config: Config,
  logger: Logger,
  options: PrimaryOptions,
): Promise<void> {
  const n = config.workers;
  const slots: Slot[] = Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    worker: undefined,
    pid: undefined,
    startedAt: 0,
    ready: false,
    failures: 0,
    restarts: 0,
    timer: undefined,
  }));
  let phase: Phase = 'STARTING';
  let seq = 0;
  const pending = new Map<number, (value: unknown) => void>();
  // What the workers learned, for a worker that starts later: bounded like their caches (the
  // same byte budget, least recently learned out) and the routing facts by count.
  const prepared = new KeptMessages<PreparedMessage>(config.maxPreparedCacheBytes, Infinity);
  const routing = new KeptMessages<RoutingMessage>(Infinity, ROUTING_CAPACITY);

  const ask = (slot: Slot, what: 'metrics' | 'readiness'): Promise<unknown> => {
    const worker = slot.worker;
    if (worker === undefined || !worker.isConnected()) return Promise.resolve(undefined);
    const n = ++seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(n);
        resolve(undefined);
      }, ASK_TIMEOUT_MS);
      pending.set(n, (value) => {
        clearTimeout(timer);
        pending.delete(n);
        resolve(value);
      });
      tell(worker, { t: 'ask', seq: n, what });
    });
  };

  // Health and metrics, for every worker.
  const readinessNow = async (): Promise<{ ready: boolean; answer: HealthAnswer }> => {
    const bodies = await Promise.all(
      slots.map(async (s) => (s.ready ? await ask(s, 'readiness') : undefined)),
    );
    const workers = slots.map((s, i) => {
      const body = bodies[i] as ReadinessBody | undefined;
      const status = body?.status ?? (phase === 'DRAINING' ? 'DRAINING' : 'STARTING');
      return { worker: s.id, pid: s.pid, status, body };
    });
    const ready = phase === 'RUNNING' && workers.every((w) => w.status === 'UP');
    const outageMs = Math.max(0, ...workers.map((w) => w.body?.outageMs ?? 0));
    const up = Math.min(...workers.map((w) => w.body?.nodes.up ?? 0));
    const down = Math.max(0, ...workers.map((w) => w.body?.nodes.down ?? 0));
    const status = ready
      ? 'UP'
      : phase !== 'RUNNING'
        ? phase
        : workers.some((w) => w.status === 'DOWN')
          ? 'DOWN'
          : 'STARTING';
    const body = {
      OutageDuration: goDuration(outageMs),
      status,
      controlConnection: workers.every((w) => w.body?.controlConnection === 'UP') ? 'UP' : 'DOWN',
      outageMs,
      readinessTimeoutMs: config.readinessTimeoutMs,
      nodes: { up, down },
      clientConnections: workers.reduce((sum, w) => sum + (w.body?.clientConnections ?? 0), 0),
      workers: workers.map((w) => ({
        worker: w.worker,
        pid: w.pid,
        status: w.status,
        clientConnections: w.body?.clientConnections ?? 0,
      })),
    };
    return {
      ready,
      answer: {
        statusCode: ready ? 200 : 503,
        contentType: 'application/json',
        body: JSON.stringify(body),
      },
    };
  };

  const own = new Registry();
  const p = METRIC_PREFIX;
  new Gauge({
    name: `${p}workers`,
    help: 'Worker processes configured (--workers)',
    registers: [own],
    collect() {
      this.set(n);
    },
  });
  new Gauge({
    name: `${p}workers_up`,
    help: 'Worker processes running and ready to serve',
    registers: [own],
    collect() {
      this.set(slots.filter((s) => s.ready).length);
    },
  });
  new Counter({
    name: `${p}worker_restarts_total`,
    help: 'Worker processes restarted after they died',
    registers: [own],
    collect() {
      this.reset();
      this.inc(slots.reduce((sum, s) => sum + s.restarts, 0));
    },
  });
  new Gauge({
    name: `${p}ready`,
    help: 'Whether /readiness answers 200',
    registers: [own],
    async collect() {
      this.set((await readinessNow()).ready ? 1 : 0);
    },
  });
  const metricsNow = async (): Promise<{ contentType: string; body: string }> => {
    const answers = await Promise.all(slots.map((s) => ask(s, 'metrics')));
    const perWorker: MetricJson[][] = [];
    const connections = new Gauge({
      name: `${p}worker_client_connections`,
      help: 'Client connections open, by worker',
      labelNames: ['worker'],
      registers: [],
    });
    answers.forEach((a, i) => {
      if (!Array.isArray(a)) return;
      const metrics = (a as MetricJson[]).filter((m) => m.name !== `${p}ready`);
      perWorker.push(metrics);
      const open = metrics.find((m) => m.name === `${p}client_connections`);
      connections.set({ worker: String(i + 1) }, open?.values?.[0]?.value ?? 0);
    });
    const registries = [own];
    if (perWorker.length > 0) registries.unshift(AggregatorRegistry.aggregate(perWorker));
    const perWorkerRegistry = new Registry();
    perWorkerRegistry.registerMetric(connections);
    registries.push(perWorkerRegistry);
    const merged = Registry.merge(registries);
    return { contentType: merged.contentType, body: await merged.metrics() };
  };

  let server: OpsHttpServer | undefined;
  if (config.healthCheck || config.metrics) {
    const routes: OpsRoutes = {};
    if (config.healthCheck) {
      routes.health = { liveness, readiness: async () => (await readinessNow()).answer };
    }
    if (config.metrics) routes.metrics = metricsNow;
    server = await startOpsHttpServer(config.httpBind, routes, logger);
    logger.info(
      { http: `${server.host}:${server.port}`, paths: server.paths, workers: n },
      'health and metrics are listening',
    );
  }

  const tell = (worker: Worker, message: PrimaryToWorker): void => {
    if (worker.isConnected()) worker.send({ [TAG]: message });
  };
  const others = (from: Slot, message: PrimaryToWorker): void => {
    for (const s of slots) if (s !== from && s.ready && s.worker) tell(s.worker, message);
  };
  const replay = (slot: Slot): void => {
    const worker = slot.worker;
    if (worker === undefined) return;
    for (const m of prepared.values()) tell(worker, m);
    for (const m of routing.values()) tell(worker, m);
    if (prepared.size > 0) {
      logger.info({ worker: slot.id, statements: prepared.size }, 'prepared statements sent');
    }
  };

  let readyLogged = false;
  const onMessage = (slot: Slot, raw: unknown): void => {
    if (!isOurs(raw)) return;
    const m = raw[TAG] as WorkerToPrimary;
    switch (m.t) {
      case 'answer':
        pending.get(m.seq)?.(m.value);
        return;
      case 'ready':
        slot.ready = true;
        replay(slot);
        if (!readyLogged && slots.every((s) => s.ready)) {
          readyLogged = true;
          if (phase === 'STARTING') phase = 'RUNNING';
          logger.info({ ...m.fields, workers: n, pids: slots.map((s) => s.pid) }, 'proxy is ready');
        }
        return;
      case 'prepared':
        prepared.set(`${m.id} ${m.sessionKey}`, m, m.frame.length + m.sessionKey.length);
        others(slot, m);
        return;
      case 'routing':
        routing.set(m.id, m, 0);
        others(slot, m);
        return;
    }
  };

  const fork = (slot: Slot): void => {
    slot.timer = undefined;
    const worker = cluster.fork({ [WORKER_ID_ENV]: String(slot.id) });
    slot.worker = worker;
    slot.pid = worker.process.pid;
    slot.startedAt = Date.now();
    slot.ready = false;
    logger.info({ worker: slot.id, pid: slot.pid }, 'worker started');
    worker.on('message', (message: unknown) => onMessage(slot, message));
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
  };

  let exitCode = 0;
  const finishIfAllExited = (): void => {
    if (slots.some((s) => s.worker !== undefined)) return;
    for (const s of slots) clearTimeout(s.timer);
    void (server?.close() ?? Promise.resolve()).then(() => {
      logger.info({ exitCode }, 'stopped');
      logger.flush();
      options.exit(exitCode);
    });
  };

  const onExit = (slot: Slot, worker: Worker, code: number, signal: string | null): void => {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.ready = false;
    if (phase === 'DRAINING') {
      if (code !== 0) exitCode = 1;
      logger.info({ worker: slot.id, pid: slot.pid, code, signal }, 'worker stopped');
      finishIfAllExited();
      return;
    }
    if (phase === 'STARTING' && !readyLogged) {
      // A worker that cannot start (a refused login, a port in use) has said why on stderr; the
      // others would fail alike: stop, as one process would.
      logger.error({ worker: slot.id, pid: slot.pid, code, signal }, 'a worker failed to start');
      phase = 'DRAINING';
      exitCode = 1;
      for (const s of slots) s.worker?.process.kill('SIGKILL');
      finishIfAllExited();
      return;
    }
    const lived = Date.now() - slot.startedAt;
    slot.failures = lived >= STABLE_MS ? 1 : slot.failures + 1;
    const delay = restartDelayMs(slot.failures);
    slot.restarts++;
    logger.warn(
      { worker: slot.id, pid: slot.pid, code, signal, restartInMs: delay, failures: slot.failures },
      'worker died: restarting it',
    );
    slot.timer = setTimeout(() => fork(slot), delay);
  };

  // SIGTERM/SIGINT: every worker drains, then the primary exits; a second signal ends them all.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      for (const s of slots) s.worker?.process.kill(signal);
      logger.flush();
      options.exit(interruptedExitCode(signal));
      return;
    }
    stopping = true;
    phase = 'DRAINING';
    logger.info(
      { signal, drainTimeoutMs: config.drainTimeoutMs, workers: n },
      'shutting down: draining every worker',
    );
    for (const s of slots) {
      clearTimeout(s.timer);
      s.timer = undefined;
      if (s.worker !== undefined) tell(s.worker, { t: 'shutdown' });
    }
    const watchdog = setTimeout(() => {
      logger.error({ drainTimeoutMs: config.drainTimeoutMs }, 'workers did not stop in time');
      for (const s of slots) s.worker?.process.kill('SIGKILL');
      logger.flush();
      options.exit(1);
    }, config.drainTimeoutMs + SHUTDOWN_GRACE_MS);
    watchdog.unref();
    finishIfAllExited();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // SIGHUP re-reads the client TLS files in each worker (src/tls/reload-signal.ts).
  if (config.proxyCertFile !== undefined) {
    process.on('SIGHUP', () => {
      for (const s of slots) s.worker?.process.kill('SIGHUP');
    });
  }

  for (const slot of slots) fork(slot);
}

/**
 * How long to wait before restarting a worker that died, after `failures` deaths in a row each
 * within STABLE_MS of its start: at once the first time, then 0.5 s, 1 s, 2 s ... up to 30 s, so
 * a worker that cannot live costs a fork every 30 s rather than a busy loop.
 */
export function restartDelayMs(failures: number): number {
  return failures <= 1 ? 0 : Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (failures - 2));
}

/** Messages by key, bounded in bytes and in count, least recently set out first. */
class KeptMessages<T> {
  private readonly map = new Map<string, { message: T; cost: number }>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly maxCount: number;

  constructor(maxBytes: number, maxCount: number) {
    this.maxBytes = maxBytes;
    this.maxCount = maxCount;
  }

  get size(): number {
    return this.map.size;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, message: T, bytes: number): void {
    const cost = bytes + KEPT_OVERHEAD_BYTES;
    if (cost > this.maxBytes) return;
    const previous = this.map.get(key);
    if (previous !== undefined) {
      this.map.delete(key);
      this.bytes -= previous.cost;
    }
    this.map.set(key, { message, cost });
    this.bytes += cost;
    for (const [oldest, entry] of this.map) {
      if (this.bytes <= this.maxBytes && this.map.size <= this.maxCount) break;
      this.map.delete(oldest);
      this.bytes -= entry.cost;
    }
  }

  *values(): IterableIterator<T> {
    for (const entry of this.map.values()) yield entry.message;
  }
}
