// What the primary of --workers N (workers.ts) serves on --http-bind: /readiness made of every
// worker's answer, and /metrics summed over the workers (prom-client's AggregatorRegistry; a
// gauge that is a flag takes min or max, see metric-kinds.ts) plus the primary's own: the
// workers, their restarts, per-worker client connections, and cqlproxy_ready.

import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { goDuration, type HealthAnswer, type ReadinessBody } from './health.js';
import { METRIC_PREFIX } from './metric-kinds.js';

/** The primary's phase: forking, every worker ready once, or draining on a signal. */
export type PrimaryPhase = 'STARTING' | 'RUNNING' | 'DRAINING';

/** One worker as the primary sees it. */
export interface WorkerView {
  readonly id: number;
  readonly pid: number | undefined;
  readonly ready: boolean;
  readonly restarts: number;
}

/** What the primary's answers are made of. */
export interface PrimaryView {
  readonly slots: readonly WorkerView[];
  phase(): PrimaryPhase;
  /** Asks a worker; undefined when it does not answer in time (or is not running). */
  ask(slot: WorkerView, what: 'metrics' | 'readiness'): Promise<unknown>;
  readonly readinessTimeoutMs: number;
}

export interface PrimaryReadiness {
  ready: boolean;
  answer: HealthAnswer;
}

/** What getMetricsAsJSON() gives for one metric, as far as the primary reads it. */
interface MetricJson {
  name: string;
  values?: { value: number }[];
}

/** /readiness of every worker: 200 when every one is ready and the primary is running. */
export async function primaryReadiness(view: PrimaryView): Promise<PrimaryReadiness> {
  const bodies = await Promise.all(
    view.slots.map(async (s) => (s.ready ? await view.ask(s, 'readiness') : undefined)),
  );
  const phase = view.phase();
  const workers = view.slots.map((s, i) => {
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
    readinessTimeoutMs: view.readinessTimeoutMs,
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
}

/** /metrics for every worker: call once, then the function renders a scrape. */
export function primaryMetrics(
  view: PrimaryView,
): () => Promise<{ contentType: string; body: string }> {
  const own = new Registry();
  const p = METRIC_PREFIX;
  new Gauge({
    name: `${p}workers`,
    help: 'Worker processes configured (--workers)',
    registers: [own],
    collect() {
      this.set(view.slots.length);
    },
  });
  new Gauge({
    name: `${p}workers_up`,
    help: 'Worker processes running and ready to serve',
    registers: [own],
    collect() {
      this.set(view.slots.filter((s) => s.ready).length);
    },
  });
  new Counter({
    name: `${p}worker_restarts_total`,
    help: 'Worker processes restarted after they died',
    registers: [own],
    collect() {
      this.reset();
      this.inc(view.slots.reduce((sum, s) => sum + s.restarts, 0));
    },
  });
  new Gauge({
    name: `${p}ready`,
    help: 'Whether /readiness answers 200',
    registers: [own],
    async collect() {
      this.set((await primaryReadiness(view)).ready ? 1 : 0);
    },
  });
  return async () => {
    const answers = await Promise.all(view.slots.map((s) => view.ask(s, 'metrics')));
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
}
