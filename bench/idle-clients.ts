// Memory per idle client: a measurement, not a test. The simulator runs in this process, the proxy
// as a child process (`node --import tsx src/main.ts`, test/e2e/helpers/proxy-process.ts), so its
// RSS and descriptors are its own. N client connections on 127.0.0.1 each complete STARTUP ->
// READY (v4) and then stay idle; the proxy's RSS is sampled before and after (median of a few
// samples after a settle of about 2 s, each after a full GC: the proxy is started with
// --expose-gc and a preload that collects on SIGUSR2), with its descriptors.
//
//   npx tsx bench/idle-clients.ts [--clients 10000] [--concurrency 200] [--settle-ms 2000]
//
// Every client socket is a descriptor in this process too: `ulimit -n` must exceed the client
// count plus a few hundred (the simulator's). The whole run is bounded (RUN_DEADLINE_MS).

import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { startSimulator } from '../sim/simulator.js';
import { startProxyProcess, type ProxyProcess } from '../test/e2e/helpers/proxy-process.js';
import { targetArgs } from '../test/e2e/helpers/stack.js';

/** The proxy process is killed after 120 s whatever happens (proxy-process.ts); stay below it. */
const RUN_DEADLINE_MS = 100_000;
const CONNECT_TIMEOUT_MS = 10_000;

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '200' },
    'settle-ms': { type: 'string', default: '2000' },
  },
  strict: true,
});
const clients = Number(values.clients);
const concurrency = Number(values.concurrency);
const settleMs = Number(values['settle-ms']);
if (!Number.isInteger(clients) || clients < 1 || clients > 50_000) {
  throw new Error('--clients must be an integer in [1, 50000]');
}
if (!Number.isInteger(concurrency) || concurrency < 1) {
  throw new Error('--concurrency must be a positive integer');
}

/** STARTUP v4, stream 0, body {CQL_VERSION: 3.0.0}. */
function startupFrame(): Buffer {
  const entries: [string, string][] = [['CQL_VERSION', '3.0.0']];
  const parts: Buffer[] = [];
  const short = (n: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  };
  parts.push(short(entries.length));
  for (const [k, v] of entries) {
    for (const s of [k, v]) {
      const bytes = Buffer.from(s, 'utf8');
      parts.push(short(bytes.length), bytes);
    }
  }
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(9);
  header.writeUInt8(0x04, 0);
  header.writeUInt8(0, 1);
  header.writeInt16BE(0, 2);
  header.writeUInt8(0x01, 4); // STARTUP
  header.writeInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}
const STARTUP = startupFrame();
const READY_OPCODE = 0x02;

/** Opens one connection and resolves once READY arrived; the socket then stays open and idle. */
function openReady(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no READY in time'));
    }, CONNECT_TIMEOUT_MS);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('connect', () => socket.write(STARTUP));
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 9) return;
      clearTimeout(timer);
      socket.off('data', onData);
      const opcode = got.readUInt8(4);
      if (opcode !== READY_OPCODE) {
        socket.destroy();
        reject(new Error(`expected READY, got opcode ${opcode}`));
        return;
      }
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Median of a few RSS samples, after `settleMs`, each after a full GC in the proxy. */
async function settledRss(proxy: ProxyProcess): Promise<number> {
  await sleep(settleMs);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    process.kill(proxy.pid, 'SIGUSR2');
    await sleep(300);
    samples.push(proxy.rss());
  }
  samples.sort((a, b) => a - b);
  return samples[2]!;
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

const deadline = setTimeout(() => {
  process.stderr.write(`idle-clients: gave up after ${RUN_DEADLINE_MS} ms\n`);
  process.exit(1);
}, RUN_DEADLINE_MS);
deadline.unref();

// The proxy inherits this environment: a full GC on SIGUSR2. The preload is plain JavaScript in a
// data: URL, since NODE_OPTIONS preloads run before the proxy's own `--import tsx`.
const GC_ON_SIGNAL = `data:text/javascript,${encodeURIComponent(
  "process.on('SIGUSR2',()=>globalThis.gc?.())",
)}`;
process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, '--expose-gc', `--import=${GC_ON_SIGNAL}`]
  .filter((o) => o !== undefined && o !== '')
  .join(' ');

const sim = await startSimulator({ nodes: 1 });
let proxy: ProxyProcess | undefined;
const sockets: Socket[] = [];
try {
  proxy = await startProxyProcess([
    ...targetArgs('contact-points', sim.info),
    '--max-client-connections',
    String(clients + 1000),
    '--handshake-timeout',
    '0',
  ]);
  const port = proxy.port;
  // Warm up: one client through the handshake, so the cluster session and lazy modules exist.
  sockets.push(await openReady(port));
  const rssBefore = await settledRss(proxy);
  const fdsBefore = proxy.descriptors();

  const started = Date.now();
  let next = 0;
  let failures = 0;
  let firstFailure: string | undefined;
  const worker = async (): Promise<void> => {
    while (next < clients) {
      next++;
      try {
        sockets.push(await openReady(port));
      } catch (err) {
        failures++;
        firstFailure ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, clients) }, worker));
  const connectMs = Date.now() - started;
  const rssAfter = await settledRss(proxy);
  const fdsAfter = proxy.descriptors();
  const opened = sockets.length - 1;

  const perClientKb = (rssAfter - rssBefore) / 1024 / Math.max(opened, 1);
  const rows: [string, string][] = [
    ['clients ready', `${opened} of ${clients} (${failures} failed) in ${connectMs} ms`],
    ['proxy RSS before', `${mb(rssBefore)} MB`],
    ['proxy RSS after', `${mb(rssAfter)} MB`],
    ['per client', `${perClientKb.toFixed(2)} KB`],
    ['proxy descriptors', `${fdsBefore} -> ${fdsAfter}`],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(20)} ${v}\n`);
  if (firstFailure !== undefined) {
    process.stdout.write(`first failure: ${firstFailure}\n`);
  }
  process.stdout.write(
    `${JSON.stringify({
      clients: opened,
      failures,
      rssBeforeBytes: rssBefore,
      rssAfterBytes: rssAfter,
      perClientKb: Number(perClientKb.toFixed(2)),
      fdsBefore,
      fdsAfter,
    })}\n`,
  );
} finally {
  for (const s of sockets) s.destroy();
  await proxy?.stop();
  await sim.close();
  clearTimeout(deadline);
}
