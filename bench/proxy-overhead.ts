// What the proxy itself costs, with real sockets and the cheapest load generator we have: raw
// clients (bench/helpers/raw-bench-client.ts) keep prepared EXECUTEs in flight, against simulated
// nodes whose EXECUTEs cost almost nothing (bench/helpers/cached-answers-engine.ts), so that the
// figures show what lies between client and node. Each workload is measured four ways, side by
// side (docs: the README's Performance section):
//
//   direct   the raw clients to the simulated nodes: the ceiling of this machine
//   pipe     through a byte pipe of our own (bench/helpers/byte-pipe.ts): the least any proxy costs
//   proxy    through the proxy, one process (--workers 1)
//   workers  through the proxy with --workers N (default 2): the primary and its N workers
//
// Workloads: `small`, a prepared single-row read (an answer of about 150 bytes, IN_FLIGHT per
// connection); `large`, a prepared read of a partition of LARGE_ROWS rows of LARGE_ROW_BYTES (an
// answer of about 80 KB, LARGE_IN_FLIGHT per connection).
//
// For each: answers per second, and the CPU per answer of the middle process (the pipe, the
// proxy; a process tree summed from /proc, bench/helpers/cpu-time.ts), of the simulated nodes and
// of this process (the load generator). The cases alternate, round after round, and the medians
// are printed as Markdown tables (bench/helpers/rounds.ts, bench/helpers/report.ts).
//
// Run: npm run bench:overhead [-- --seconds 2 --rounds 3 --connections 4 --workers 2
//        --cases direct,pipe,proxy,workers --workloads small,large]
import { parseArgs } from 'node:util';
import { encodeInt } from '../src/protocol/values.js';
import {
  startBytePipe,
  startChild,
  startProxy,
  stopChild,
  upstreamArgs,
  type Child,
} from './helpers/children.js';
import {
  BENCH_SCHEMA,
  FIRST_WARM_UP_MS,
  LARGE_ROWS,
  LARGE_ROW_BYTES,
  LARGE_SELECT,
  SMALL_VALUE_BYTES,
  WARM_UP_MS,
  warmUpMs,
} from './helpers/bench-keyspace.js';
import { cpuMeter } from './helpers/cpu-time.js';
import { RawBenchClient } from './helpers/raw-bench-client.js';
import { figure, loadAverage, markdownTable, measuredOn, timesOf } from './helpers/report.js';
import {
  alternate,
  boundRun,
  boundedNumber,
  parseCaseList,
  type BenchCase,
} from './helpers/rounds.js';

const CASES = ['direct', 'pipe', 'proxy', 'workers'] as const;
const WORKLOADS = ['small', 'large'] as const;
type CaseName = (typeof CASES)[number];
type Workload = (typeof WORKLOADS)[number];

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '4' },
    workers: { type: 'string', default: '2' },
    'in-flight': { type: 'string', default: '128' },
    cases: { type: 'string', default: CASES.join(',') },
    workloads: { type: 'string', default: WORKLOADS.join(',') },
  },
  strict: true,
});
const SECONDS = boundedNumber('seconds', values.seconds, 0.5, 60);
const ROUNDS = boundedNumber('rounds', values.rounds, 1, 15);
const CONNECTIONS = boundedNumber('connections', values.connections, 1, 64);
const WORKERS = boundedNumber('workers', values.workers, 2, 64);
const IN_FLIGHT = boundedNumber('in-flight', values['in-flight'], 1, 1024);
const cases = parseCaseList(values.cases, CASES) as CaseName[];
const workloads = parseCaseList(values.workloads, WORKLOADS) as Workload[];

/** 80 KB answers: fewer in flight, or the sockets' buffers rather than the processes set the pace. */
const LARGE_IN_FLIGHT = 16;

// The whole run is bounded: what the plan should take, twice over, plus the start-ups.
const plannedSeconds =
  cases.length *
  workloads.length *
  (ROUNDS * (SECONDS + WARM_UP_MS / 1000 + 0.2) + FIRST_WARM_UP_MS / 1000);
boundRun(
  'bench:overhead',
  { cases: cases.length, workloads: workloads.length, rounds: ROUNDS, seconds: SECONDS },
  plannedSeconds,
  10,
);

const loadAtStart = loadAverage();
const simulator = await startChild(['bench/helpers/sim-cached-answers.ts'], (l) =>
  l.startsWith('{'),
);
const info = JSON.parse(simulator.readyLine) as {
  token: string;
  port: number;
  contactPoints: string[];
};
const nodes = info.contactPoints.map((host) => ({ host, port: info.port }));
const firstNode = nodes[0]!;

const setup = await RawBenchClient.open(firstNode.host, firstNode.port, info.token);
for (const statement of BENCH_SCHEMA) await setup.query(statement);
await setup.query(`INSERT INTO bench.kv (k, v) VALUES (1, '${'x'.repeat(SMALL_VALUE_BYTES)}')`);
const rowText = 'x'.repeat(LARGE_ROW_BYTES);
for (let c = 0; c < LARGE_ROWS; c++) {
  await setup.query(`INSERT INTO bench.big (k, c, v) VALUES (1, ${c}, '${rowText}')`);
}
setup.close();

/** Where a case's clients connect, whether they log in, and the process in the middle. */
interface Target {
  endpoints: { host: string; port: number }[];
  token: string | undefined;
  middle: Child | undefined;
}

const upstream = upstreamArgs(firstNode, info.token);
async function target(name: CaseName): Promise<Target> {
  switch (name) {
    case 'direct':
      return { endpoints: nodes, token: info.token, middle: undefined };
    case 'pipe': {
      const pipe = await startBytePipe(firstNode);
      return {
        endpoints: [{ host: '127.0.0.1', port: pipe.port }],
        token: info.token,
        middle: pipe,
      };
    }
    case 'proxy':
    case 'workers': {
      const workers = name === 'proxy' ? 1 : WORKERS;
      const proxy = await startProxy([...upstream, '--workers', String(workers)]);
      return {
        endpoints: [{ host: '127.0.0.1', port: proxy.port }],
        token: undefined,
        middle: proxy,
      };
    }
  }
}
// Every middle process is up before the first round, and stays up to the end.
const targets = new Map<CaseName, Target>();
for (const name of cases) targets.set(name, await target(name));

interface Measured extends Record<string, number> {
  perSecond: number;
  answerBytes: number;
  middleMicros: number;
  middleCores: number;
  nodesMicros: number;
  loadMicros: number;
}

async function measure(name: CaseName, workload: Workload): Promise<Measured> {
  const t = targets.get(name)!;
  const warmUp = warmUpMs(`${name}/${workload}`);
  const clients = await Promise.all(
    Array.from({ length: CONNECTIONS }, (_, i) => {
      const e = t.endpoints[i % t.endpoints.length]!;
      return RawBenchClient.open(e.host, e.port, t.token);
    }),
  );
  const frames = await Promise.all(
    clients.map((c) =>
      workload === 'small'
        ? c.prepareExecute('SELECT v FROM bench.kv WHERE k = ?', [encodeInt(1)], true)
        : c.prepareExecute(LARGE_SELECT, [encodeInt(1)], true),
    ),
  );
  const inFlight = workload === 'small' ? IN_FLIGHT : LARGE_IN_FLIGHT;
  await Promise.all(clients.map((c, i) => c.run(frames[i]!, Date.now() + warmUp, inFlight)));

  const answeredBefore = clients.reduce((n, c) => n + c.answered, 0);
  const bytesBefore = clients.reduce((n, c) => n + c.bytes, 0);
  const pids = [t.middle?.pid ?? -1, simulator.pid].filter((p) => p > 0);
  const meter = cpuMeter(pids);
  const ownBefore = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    clients.map((c, i) => c.run(frames[i]!, Date.now() + SECONDS * 1000, inFlight)),
  );
  const wallMicros = (performance.now() - t0) * 1000;
  const own = process.cpuUsage(ownBefore);
  const cpu = meter.stop().map((c) => c.user + c.system);
  const answered = clients.reduce((n, c) => n + c.answered, 0) - answeredBefore;
  const bytes = clients.reduce((n, c) => n + c.bytes, 0) - bytesBefore;
  for (const c of clients) c.close();
  const middle = t.middle === undefined ? Number.NaN : cpu[0]!;
  const nodesCpu = cpu[cpu.length - 1]!;
  return {
    perSecond: (answered * 1e6) / wallMicros,
    answerBytes: bytes / answered,
    middleMicros: middle / answered,
    middleCores: middle / wallMicros,
    nodesMicros: nodesCpu / answered,
    loadMicros: (own.user + own.system) / answered,
  };
}

const LABELS: Record<CaseName, string> = {
  direct: 'direct to the nodes',
  pipe: 'byte pipe',
  proxy: 'proxy, --workers 1',
  workers: `proxy, --workers ${WORKERS}`,
};

const command = `npm run bench:overhead -- --seconds ${SECONDS} --rounds ${ROUNDS} --connections ${CONNECTIONS} --workers ${WORKERS} --cases ${cases.join(',')} --workloads ${workloads.join(',')}`;
const tables: string[] = [];
for (const workload of workloads) {
  const benchCases: BenchCase<Measured>[] = cases.map((name) => ({
    name,
    run: () => measure(name, workload),
  }));
  const medians = await alternate(benchCases, ROUNDS, (round, name, f) =>
    console.error(
      `  ${workload} round ${round}/${ROUNDS} ${name.padEnd(8)} ${Math.round(f.perSecond)} answers/s, middle ${figure(f.middleMicros, 1)} µs/answer`,
    ),
  );
  const pipe = medians.get('pipe');
  const first = medians.values().next().value;
  const inFlight = workload === 'small' ? IN_FLIGHT : LARGE_IN_FLIGHT;
  tables.push(
    `**${workload === 'small' ? 'Small reads' : 'Large results'}**: answers of ${Math.round(first?.answerBytes ?? 0)} bytes, ` +
      `${CONNECTIONS} connections x ${inFlight} EXECUTEs in flight, medians of ${ROUNDS} alternating rounds of ${SECONDS} s`,
    '',
    markdownTable(
      [
        'case',
        'answers/s',
        'middle µs CPU/answer',
        'middle cores busy',
        'CPU vs pipe',
        'nodes µs CPU/answer',
        'load generator µs CPU/answer',
      ],
      cases.map((name) => {
        const m = medians.get(name)!;
        return [
          LABELS[name],
          figure(m.perSecond),
          figure(m.middleMicros, 1),
          figure(m.middleCores, 2),
          timesOf(m.middleMicros, pipe?.middleMicros),
          figure(m.nodesMicros, 1),
          figure(m.loadMicros, 1),
        ];
      }),
    ),
    '',
  );
}

for (const t of targets.values()) if (t.middle !== undefined) await stopChild(t.middle);
await stopChild(simulator);
console.log(`\n${measuredOn(command, loadAtStart)}\n`);
console.log(tables.join('\n'));
process.exit(0);
