// What the proxy itself costs, with real sockets: raw clients pipeline prepared EXECUTEs (128 in
// flight per connection) directly to the simulated nodes, then through the proxy, against a
// simulator whose EXECUTEs cost nothing (bench/helpers/sim-void.ts), so the figures show the
// forwarding path rather than the storage engine. Bounded in time; prints its figures.
// Run: npm run bench:overhead [-- --seconds 3 --connections 4 --workers 2]
// --workers N (> 1) also measures a proxy started with --workers N, next to the one-process one.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Consistency, Opcode, ResultKind } from '../src/protocol/constants.js';
import { encodeExecute } from '../src/protocol/messages/execute.js';
import { encodePrepare } from '../src/protocol/messages/prepare.js';
import { encodeQuery } from '../src/protocol/messages/query.js';
import { decodeResult } from '../src/protocol/messages/result.js';
import { encodeInt } from '../src/protocol/values.js';
import { RawBenchClient } from './helpers/raw-bench-client.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '4' },
    workers: { type: 'string', default: '1' },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const WORKERS = Number(values.workers);
const IN_FLIGHT = 128;

const children: ChildProcess[] = [];
function killAll(): void {
  for (const c of children) {
    try {
      if (c.pid !== undefined) process.kill(-c.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);

function start(args: string[], ready: (line: string) => boolean): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find(ready);
      if (line !== undefined) resolve(line);
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    setTimeout(() => reject(new Error(`${args.join(' ')} did not start`)), 60_000).unref();
  });
}

async function prepareExecute(client: RawBenchClient): Promise<Buffer> {
  const prepared = decodeResult(
    (
      await client.request(
        Opcode.PREPARE,
        encodePrepare(4, { query: 'SELECT v FROM bench.kv WHERE k = ?' }),
      )
    ).subarray(9),
    4,
  );
  if (prepared.kind !== ResultKind.PREPARED) throw new Error('PREPARE failed');
  const body = encodeExecute(4, {
    id: Buffer.from(prepared.id),
    parameters: { consistency: Consistency.LOCAL_QUORUM, values: [encodeInt(1)] },
  });
  const header = Buffer.alloc(9);
  header.writeUInt8(4, 0);
  header.writeUInt8(Opcode.EXECUTE, 4);
  header.writeInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

async function measure(
  label: string,
  targets: { host: string; port: number }[],
  token: string | undefined,
): Promise<string> {
  const clients = await Promise.all(
    Array.from({ length: CONNECTIONS }, (_, i) => {
      const t = targets[i % targets.length]!;
      return RawBenchClient.open(t.host, t.port, token);
    }),
  );
  const frames = await Promise.all(clients.map(prepareExecute));
  // Warm-up, then the measured run.
  await Promise.all(clients.map((c, i) => c.run(frames[i]!, Date.now() + 500, IN_FLIGHT)));
  const before = clients.reduce((n, c) => n + c.answered, 0);
  const t0 = performance.now();
  await Promise.all(
    clients.map((c, i) => c.run(frames[i]!, Date.now() + SECONDS * 1000, IN_FLIGHT)),
  );
  const seconds = (performance.now() - t0) / 1000;
  const answered = clients.reduce((n, c) => n + c.answered, 0) - before;
  for (const c of clients) c.close();
  return `${label.padEnd(44)} ${Math.round(answered / seconds)
    .toString()
    .padStart(8)} EXECUTE/s  (${answered} in ${seconds.toFixed(1)} s)`;
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  return port;
}

const info = JSON.parse(await start(['bench/helpers/sim-void.ts'], (l) => l.startsWith('{'))) as {
  token: string;
  port: number;
  contactPoints: string[];
  bundle: string;
};
const nodes = info.contactPoints.map((host) => ({ host, port: info.port }));
const setup = await RawBenchClient.open(nodes[0]!.host, nodes[0]!.port, info.token);
await setup.request(
  Opcode.QUERY,
  encodeQuery(
    4,
    "CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    { consistency: Consistency.ONE },
  ),
);
await setup.request(
  Opcode.QUERY,
  encodeQuery(4, 'CREATE TABLE IF NOT EXISTS bench.kv (k int PRIMARY KEY, v text)', {
    consistency: Consistency.ONE,
  }),
);
setup.close();

async function startProxy(extra: string[]): Promise<number> {
  const port = await freePort();
  await start(
    [
      'src/main.ts',
      '--contact-points',
      nodes[0]!.host,
      '--port',
      String(info.port),
      '--username',
      'token',
      '--password',
      info.token,
      '--bind',
      `127.0.0.1:${port}`,
      ...extra,
    ],
    (l) => l.includes('proxy is ready'),
  );
  return port;
}
const proxyPort = await startProxy([]);
const workersPort = WORKERS > 1 ? await startProxy(['--workers', String(WORKERS)]) : undefined;

const rows = [
  await measure('direct to the simulated nodes', nodes, info.token),
  await measure(
    'through the proxy (contact points)',
    [{ host: '127.0.0.1', port: proxyPort }],
    undefined,
  ),
];
if (workersPort !== undefined) {
  rows.push(
    await measure(
      `through the proxy, --workers ${WORKERS}`,
      [{ host: '127.0.0.1', port: workersPort }],
      undefined,
    ),
  );
}
console.log(
  `\nProxy overhead: ${CONNECTIONS} raw connections x ${IN_FLIGHT} EXECUTEs in flight, nodes answer Void at once`,
);
for (const r of rows) console.log(r);
killAll();
process.exit(0);
