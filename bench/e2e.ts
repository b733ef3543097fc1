// End-to-end load benchmark: the Node.js driver against the simulated Astra (`npm run sim`, a
// child process), directly, through a byte pipe of our own and through the proxy, side by side.
// The simulator, the pipe and the proxies run as child processes, as a user runs them; the load
// runs here. Cases (docs: the README's Performance section):
//
//   direct         the driver to the first simulated node (an allow-list policy keeps it there)
//   pipe           through bench/helpers/byte-pipe.ts in front of that node: the least any proxy costs
//   proxy          through the proxy (contact points upstream), one process
//   workers        through the proxy with --workers N (default 2)
//   bundle-direct  the driver with the secure connect bundle (TLS, SNI proxy)
//   bundle-proxy   through the proxy with the bundle upstream
//
// Workloads: `small`, 90% prepared SELECT of one row (100 bytes of text) and 10% prepared INSERT;
// `large`, a prepared SELECT of one partition of LARGE_ROWS rows of LARGE_ROW_BYTES (an answer of
// about 80 KB). For each: requests/s, p50 and p99 latency, errors, and the CPU per request of the
// process in the middle (the pipe, the proxy and its workers: bench/helpers/cpu-time.ts). The
// cases alternate, round after round, and the medians are printed as Markdown tables.
//
// Run: npm run bench:e2e [-- --quick] [-- --seconds 3 --rounds 3 --concurrency 64
//        --connections 2 --workers 2 --cases direct,pipe,proxy,workers --workloads small,large]
// --quick: one round of 1.5 s, without the bundle cases (well under a minute).
import { parseArgs } from 'node:util';
import cassandra from 'cassandra-driver';
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
import { figure, loadAverage, markdownTable, measuredOn, timesOf } from './helpers/report.js';
import {
  alternate,
  boundRun,
  boundedNumber,
  parseCaseList,
  type BenchCase,
} from './helpers/rounds.js';

const CASES = ['direct', 'pipe', 'proxy', 'workers', 'bundle-direct', 'bundle-proxy'] as const;
const QUICK_CASES = ['direct', 'pipe', 'proxy', 'workers'];
const WORKLOADS = ['small', 'large'] as const;
type CaseName = (typeof CASES)[number];
type Workload = (typeof WORKLOADS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    cases: { type: 'string' },
    workloads: { type: 'string', default: WORKLOADS.join(',') },
    concurrency: { type: 'string', default: '64' },
    connections: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
  },
  strict: true,
});
const QUICK = values.quick;
const SECONDS = boundedNumber('seconds', values.seconds ?? (QUICK ? '1.5' : '3'), 0.5, 60);
const ROUNDS = boundedNumber('rounds', values.rounds ?? (QUICK ? '1' : '3'), 1, 15);
const CONCURRENCY = boundedNumber('concurrency', values.concurrency, 1, 2048);
const CONNECTIONS = boundedNumber('connections', values.connections, 1, 16);
const WORKERS = boundedNumber('workers', values.workers, 2, 64);
const cases = parseCaseList(
  values.cases ?? (QUICK ? QUICK_CASES : CASES).join(','),
  CASES,
) as CaseName[];
const workloads = parseCaseList(values.workloads, WORKLOADS) as Workload[];

const SMALL_KEYS = 100;

const plannedSeconds =
  cases.length * workloads.length * ROUNDS * (SECONDS + WARM_UP_MS / 1000 + 0.1) +
  cases.length * (FIRST_WARM_UP_MS / 1000 + 1);
boundRun(
  'bench:e2e',
  { cases: cases.length, workloads: workloads.length, rounds: ROUNDS, seconds: SECONDS },
  plannedSeconds,
  15,
);

const loadAtStart = loadAverage();
const simulator = await startChild(['sim/main.ts', '--nodes', '3'], (l) => l.startsWith('{'));
const info = JSON.parse(simulator.readyLine) as {
  bundle: string;
  token: string;
  region: string;
  port: number;
  contactPoints: string[];
};
const firstNode = { host: info.contactPoints[0] ?? '127.0.0.1', port: info.port };
const credentials = { username: 'token', password: info.token };

/** A driver client of a case, and the process in the middle, if any. */
interface Target {
  client: cassandra.Client;
  middle: Child | undefined;
}

/** Driver options that keep every request on one endpoint (the node, the pipe, the proxy). */
function onlyTo(endpoint: string): cassandra.ClientOptions {
  const policies = cassandra.policies.loadBalancing;
  return {
    contactPoints: [endpoint],
    localDataCenter: info.region,
    policies: {
      loadBalancing: new policies.AllowListPolicy(
        new policies.DCAwareRoundRobinPolicy(info.region),
        [endpoint],
      ),
    },
  };
}

const proxyUpstream = upstreamArgs(firstNode, info.token);
async function target(name: CaseName): Promise<Target> {
  let options: cassandra.ClientOptions;
  let middle: Child | undefined;
  switch (name) {
    case 'direct':
      options = { ...onlyTo(`${firstNode.host}:${firstNode.port}`), credentials };
      break;
    case 'pipe': {
      const pipe = await startBytePipe(firstNode);
      middle = pipe;
      options = { ...onlyTo(`127.0.0.1:${pipe.port}`), credentials };
      break;
    }
    case 'proxy':
    case 'workers': {
      const workers = name === 'proxy' ? 1 : WORKERS;
      const proxy = await startProxy([...proxyUpstream, '--workers', String(workers)]);
      middle = proxy;
      options = onlyTo(`127.0.0.1:${proxy.port}`);
      break;
    }
    case 'bundle-direct':
      options = { cloud: { secureConnectBundle: info.bundle }, credentials };
      break;
    case 'bundle-proxy': {
      const proxy = await startProxy(['--astra-bundle', info.bundle, '--astra-token', info.token]);
      middle = proxy;
      options = onlyTo(`127.0.0.1:${proxy.port}`);
      break;
    }
  }
  const client = new cassandra.Client({
    ...options,
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: CONNECTIONS } },
  });
  await client.connect();
  return { client, middle };
}

// Every process and client is up before the first round, and stays up to the end.
const targets = new Map<CaseName, Target>();
for (const name of cases) targets.set(name, await target(name));

const setup = targets.values().next().value!.client;
for (const statement of BENCH_SCHEMA) await setup.execute(statement);
for (let k = 0; k < SMALL_KEYS; k++) {
  await setup.execute(
    'INSERT INTO bench.kv (k, v) VALUES (?, ?)',
    [k, 'x'.repeat(SMALL_VALUE_BYTES)],
    {
      prepare: true,
    },
  );
}
for (let c = 0; c < LARGE_ROWS; c++) {
  await setup.execute(
    'INSERT INTO bench.big (k, c, v) VALUES (1, ?, ?)',
    [c, 'x'.repeat(LARGE_ROW_BYTES)],
    {
      prepare: true,
    },
  );
}

/** One request of the workload; the n-th of the run. */
function request(client: cassandra.Client, workload: Workload, n: number): Promise<unknown> {
  if (workload === 'large') {
    return client.execute(LARGE_SELECT, [1], { prepare: true });
  }
  const k = n % SMALL_KEYS;
  return k % 10 === 0
    ? client.execute(
        'INSERT INTO bench.kv (k, v) VALUES (?, ?)',
        [k, 'y'.repeat(SMALL_VALUE_BYTES)],
        {
          prepare: true,
        },
      )
    : client.execute('SELECT v FROM bench.kv WHERE k = ?', [k], { prepare: true });
}

/** CONCURRENCY loops of requests until `until` (a performance.now() value). */
async function drive(
  client: cassandra.Client,
  workload: Workload,
  until: number,
): Promise<{ latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        await request(client, workload, n++);
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  return { latencies, errors };
}

interface Measured extends Record<string, number> {
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
  middleMicros: number;
}

async function measure(name: CaseName, workload: Workload): Promise<Measured> {
  const t = targets.get(name)!;
  await drive(t.client, workload, performance.now() + warmUpMs(`${name}/${workload}`));
  const meter = cpuMeter(t.middle === undefined ? [] : [t.middle.pid]);
  const t0 = performance.now();
  const { latencies, errors } = await drive(t.client, workload, t0 + SECONDS * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const [middle] = meter.stop();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? Number.NaN;
  return {
    perSecond: latencies.length / seconds,
    p50: pct(0.5),
    p99: pct(0.99),
    errors,
    middleMicros:
      middle === undefined ? Number.NaN : (middle.user + middle.system) / latencies.length,
  };
}

const LABELS: Record<CaseName, string> = {
  direct: 'direct to a node',
  pipe: 'byte pipe',
  proxy: 'proxy, --workers 1',
  workers: `proxy, --workers ${WORKERS}`,
  'bundle-direct': 'direct, bundle (TLS, SNI)',
  'bundle-proxy': 'proxy, bundle upstream',
};
const DESCRIPTIONS: Record<Workload, string> = {
  small: `**Small requests**: 90% prepared SELECT of one row (${SMALL_VALUE_BYTES} bytes), 10% prepared INSERT`,
  large: `**Large results**: prepared SELECT of ${LARGE_ROWS} rows of ${LARGE_ROW_BYTES} bytes (about ${Math.round((LARGE_ROWS * LARGE_ROW_BYTES) / 1000)} KB)`,
};

const command = QUICK
  ? 'npm run bench:e2e -- --quick'
  : `npm run bench:e2e -- --seconds ${SECONDS} --rounds ${ROUNDS} --concurrency ${CONCURRENCY} --connections ${CONNECTIONS} --workers ${WORKERS} --cases ${cases.join(',')} --workloads ${workloads.join(',')}`;
const tables: string[] = [];
for (const workload of workloads) {
  const benchCases: BenchCase<Measured>[] = cases.map((name) => ({
    name,
    run: () => measure(name, workload),
  }));
  const medians = await alternate(benchCases, ROUNDS, (round, name, f) =>
    console.error(
      `  ${workload} round ${round}/${ROUNDS} ${name.padEnd(13)} ${Math.round(f.perSecond)} requests/s, middle ${figure(f.middleMicros, 1)} µs/request`,
    ),
  );
  const pipe = medians.get('pipe');
  tables.push(
    `${DESCRIPTIONS[workload]}; the Node.js driver, ${CONCURRENCY} requests in flight on ${CONNECTIONS} connections; ` +
      `medians of ${ROUNDS} alternating round${ROUNDS > 1 ? 's' : ''} of ${SECONDS} s`,
    '',
    markdownTable(
      ['case', 'requests/s', 'p50 ms', 'p99 ms', 'middle µs CPU/request', 'CPU vs pipe', 'errors'],
      cases.map((name) => {
        const m = medians.get(name)!;
        return [
          LABELS[name],
          figure(m.perSecond),
          figure(m.p50, 2),
          figure(m.p99, 2),
          figure(m.middleMicros, 1),
          timesOf(m.middleMicros, pipe?.middleMicros),
          figure(m.errors),
        ];
      }),
    ),
    '',
  );
}

for (const t of targets.values()) await t.client.shutdown();
for (const t of targets.values()) if (t.middle !== undefined) await stopChild(t.middle);
await stopChild(simulator);
console.log(`\n${measuredOn(command, loadAtStart)}\n`);
console.log(tables.join('\n'));
process.exit(0);
