// End-to-end load benchmark: the Node.js driver against the simulated Astra, directly and through
// the proxy, side by side. The simulator and the proxy run as child processes (as a user runs
// them); the load runs here. Bounded in requests and in time; prints its figures, asserts none.
// Run: npm run bench:e2e [-- --requests 20000 --concurrency 64]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import cassandra from 'cassandra-driver';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
    'time-limit': { type: 'string', default: '60' },
  },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const TIME_LIMIT_MS = Number(values['time-limit']) * 1000;

const children: ChildProcess[] = [];
/** Each child leads its own process group: killing the group leaves no grandchild behind. */
function killAll(signal: NodeJS.Signals): void {
  for (const c of children) {
    if (c.pid !== undefined) {
      try {
        process.kill(-c.pid, signal);
      } catch {
        // already gone
      }
    }
  }
}
process.on('exit', () => killAll('SIGKILL'));

function start(
  args: string[],
  readyWhen: (line: string) => boolean,
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) if (readyWhen(line)) resolve({ child, line });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (buffered += c.toString()));
    child.on('exit', (code) =>
      reject(new Error(`${args.join(' ')} exited with ${code}: ${buffered.slice(-2000)}`)),
    );
    setTimeout(
      () => reject(new Error(`${args.join(' ')} did not start: ${buffered.slice(-2000)}`)),
      60_000,
    ).unref();
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  return port;
}

interface Figures {
  label: string;
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(label: string, options: cassandra.ClientOptions): Promise<Figures> {
  const client = new cassandra.Client({
    ...options,
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: 1 } },
  });
  await client.connect();
  await client.execute(
    "CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
  );
  await client.execute('CREATE TABLE IF NOT EXISTS bench.kv (k int PRIMARY KEY, v text)');
  for (let k = 0; k < 100; k++) {
    await client.execute('INSERT INTO bench.kv (k, v) VALUES (?, ?)', [k, 'x'.repeat(100)], {
      prepare: true,
    });
  }
  // A warm-up pass (a tenth of the requests, not measured) so every process's JIT has settled.
  await run(client, Math.ceil(REQUESTS / 10));
  const { latencies, seconds, errors } = await run(client, REQUESTS);
  await client.shutdown();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { label, requests: latencies.length, seconds, p50: pct(0.5), p99: pct(0.99), errors };
}

/** `requests` requests from CONCURRENCY loops, bounded by the time limit too. */
async function run(
  client: cassandra.Client,
  requests: number,
): Promise<{ latencies: number[]; seconds: number; errors: number }> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const deadline = Date.now() + TIME_LIMIT_MS;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < requests && Date.now() < deadline) {
      const k = next++ % 100;
      const t0 = performance.now();
      try {
        if (k % 10 === 0)
          await client.execute('INSERT INTO bench.kv (k, v) VALUES (?, ?)', [k, 'y'.repeat(100)], {
            prepare: true,
          });
        else await client.execute('SELECT v FROM bench.kv WHERE k = ?', [k], { prepare: true });
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { latencies, seconds: (performance.now() - started) / 1000, errors };
}

function report(rows: Figures[]): void {
  console.log(
    `\nEnd-to-end: Node.js driver, ${CONCURRENCY} concurrent requests, 90% prepared SELECT / 10% INSERT`,
  );
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(50)} ${(r.requests / r.seconds).toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms   errors ${r.errors}   (${r.requests} requests)`,
    );
  }
}

const sim = await start(['sim/main.ts', '--nodes', '3'], (l) => l.startsWith('{'));
const info = JSON.parse(sim.line) as {
  bundle: string;
  token: string;
  region: string;
  port: number;
  contactPoints: string[];
};
const rows: Figures[] = [];

rows.push(
  await load('direct to the simulator (contact points)', {
    contactPoints: info.contactPoints.map((h) => `${h}:${info.port}`),
    localDataCenter: info.region,
    credentials: { username: 'token', password: info.token },
  }),
);
async function proxy(args: string[]): Promise<number> {
  const port = await freePort();
  await start(['src/main.ts', ...args, '--bind', `127.0.0.1:${port}`], (l) =>
    l.includes('proxy is ready'),
  );
  return port;
}

const viaContactPoints = await proxy([
  '--contact-points',
  info.contactPoints[0] ?? '127.0.0.1',
  '--port',
  String(info.port),
  '--username',
  'token',
  '--password',
  info.token,
]);
rows.push(
  await load('through the proxy (contact points upstream)', {
    contactPoints: [`127.0.0.1:${viaContactPoints}`],
    localDataCenter: info.region,
  }),
);
rows.push(
  await load('direct to the simulator (cloud bundle, TLS+SNI)', {
    cloud: { secureConnectBundle: info.bundle },
    credentials: { username: 'token', password: info.token },
  }),
);
const viaBundle = await proxy(['--astra-bundle', info.bundle, '--astra-token', info.token]);
rows.push(
  await load('through the proxy (bundle upstream, TLS+SNI)', {
    contactPoints: [`127.0.0.1:${viaBundle}`],
    localDataCenter: info.region,
  }),
);
report(rows);
killAll('SIGTERM');
process.exit(0);
