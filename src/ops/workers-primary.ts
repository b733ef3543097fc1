// The primary of --workers N (workers.ts): serves no CQL. It forks the workers, serves the one
// HTTP server (health and metrics for all of them, primary-http.ts), relays prepared statements
// between them, restarts a worker that dies, and on SIGTERM/SIGINT has every worker drain
// (src/ops/shutdown.ts) and exits when all have.

import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/config.js';
import { liveness } from './health.js';
import { startOpsHttpServer, type OpsHttpServer, type OpsRoutes } from './http-server.js';
import type { Logger } from './logger.js';
import {
  primaryMetrics,
  primaryReadiness,
  type PrimaryPhase,
  type PrimaryView,
} from './primary-http.js';
import { interruptedExitCode } from './shutdown.js';
import {
  KeptMessages,
  ROUTING_CAPACITY,
  TAG,
  WORKER_ID_ENV,
  isOurs,
  type PreparedMessage,
  type PrimaryToWorker,
  type RoutingMessage,
  type WorkerToPrimary,
} from './worker-ipc.js';

/** How long the primary waits for a worker's answer to a health or metrics question. */
const ASK_TIMEOUT_MS = 2_000;
/** A worker that lived at least this long before dying is restarted at once. */
const STABLE_MS = 30_000;
/** Restart delays of a worker that keeps dying: doubled from this up to the maximum. */
const RESTART_BASE_MS = 500;
const RESTART_MAX_MS = 30_000;
/** The shutdown watchdog's allowance past the drain timeout for workers to close. */
const SHUTDOWN_GRACE_MS = 10_000;

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
  let phase: PrimaryPhase = 'STARTING';
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

  // Health and metrics, for every worker (primary-http.ts).
  const view: PrimaryView = {
    slots,
    phase: () => phase,
    ask,
    readinessTimeoutMs: config.readinessTimeoutMs,
  };

  let server: OpsHttpServer | undefined;
  if (config.healthCheck || config.metrics) {
    const routes: OpsRoutes = {};
    if (config.healthCheck) {
      routes.health = { liveness, readiness: async () => (await primaryReadiness(view)).answer };
    }
    if (config.metrics) routes.metrics = primaryMetrics(view);
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
