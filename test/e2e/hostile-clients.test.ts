// Hostile and careless clients against the proxy as its own process, with the simulated cluster
// upstream: what the issue "no client can hurt the proxy or its neighbours" asks, measured from
// outside (RSS and file descriptors of the proxy process, what clients see, /metrics, the log).
// Every loop is bounded in count and time; everything listens on 127.0.0.1. Memory margins are
// generous (a shared 2-core machine): they tell "bounded" from "grows with the attack", which is
// hundreds of megabytes to gigabytes without the limits.

import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../sim/simulator.js';
import { Consistency, Opcode } from '../../src/protocol/constants.js';
import { encodeStartup } from '../../src/protocol/messages/startup.js';
import { scrape } from '../ops/helpers.js';
import { startProxyProcess, sampleMax, type ProxyProcess } from './helpers/proxy-process.js';
import { RawClient, queryFrame, requestFrame, resultOf } from './helpers/raw-client.js';
import { targetArgs, waitFor } from './helpers/stack.js';

const MiB = 1024 * 1024;
const KEYSPACE = 'hostile';
/** Rows of the big table: a SELECT of all of them answers about 1 MiB. */
const BIG_ROWS = 10;
const BIG_VALUE = 100 * 1024;

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({});
});

afterAll(async () => {
  await sim?.close();
});

async function proxy(extra: string[] = [], descriptorLimit?: number): Promise<ProxyProcess> {
  return startProxyProcess(
    [...targetArgs('contact-points', sim.info), ...extra],
    descriptorLimit === undefined ? {} : { descriptorLimit },
  );
}

async function openSocket(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Resolves when the proxy closed the socket (it reads what comes meanwhile). */
function closedByProxy(socket: Socket): Promise<void> {
  socket.resume();
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

const STARTUP = requestFrame(0, Opcode.STARTUP, encodeStartup({ CQL_VERSION: '3.0.0' }));

async function createSchema(port: number): Promise<void> {
  const client = await RawClient.connect(port);
  const run = async (cql: string, values: Buffer[] = []): Promise<void> => {
    const [answer] = await client.send([
      queryFrame(1, cql, { consistency: Consistency.LOCAL_QUORUM, values }),
    ]);
    resultOf(answer!);
  };
  await run(
    `CREATE KEYSPACE IF NOT EXISTS ${KEYSPACE} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
  );
  await run(`CREATE TABLE IF NOT EXISTS ${KEYSPACE}.big (k int PRIMARY KEY, v blob)`);
  await run(`CREATE TABLE IF NOT EXISTS ${KEYSPACE}.small (k int PRIMARY KEY, v text)`);
  for (let k = 0; k < BIG_ROWS; k++) {
    const key = Buffer.alloc(4);
    key.writeInt32BE(k);
    await run(`INSERT INTO ${KEYSPACE}.big (k, v) VALUES (?, ?)`, [
      key,
      Buffer.alloc(BIG_VALUE, k),
    ]);
  }
  await run(`INSERT INTO ${KEYSPACE}.small (k, v) VALUES (1, 'one')`);
  client.close();
}

describe('a client that never reads its large results', () => {
  let p: ProxyProcess;
  beforeAll(async () => {
    p = await proxy(['--client-write-timeout', '3s']);
    await createSchema(p.port);
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('keeps the proxy’s RSS growth under 64 MB while a healthy client is served, then is closed', async () => {
    const healthy = await RawClient.connect(p.port);
    const ask = async (stream: number): Promise<void> => {
      const [answer] = await healthy.send([
        queryFrame(stream, `SELECT v FROM ${KEYSPACE}.small WHERE k = 1`, {
          consistency: Consistency.LOCAL_ONE,
        }),
      ]);
      resultOf(answer!);
    };
    await ask(1);
    const before = p.rss();
    const peak = sampleMax(() => p.rss());

    const hog = await openSocket(p.port);
    hog.write(STARTUP);
    hog.pause();
    // 2,000 SELECTs of ~1 MiB each (2 GB of answers), written in bursts for up to 4 s.
    const select = (stream: number): Buffer =>
      queryFrame(stream, `SELECT * FROM ${KEYSPACE}.big`, { consistency: Consistency.LOCAL_ONE });
    let stream = 1;
    let healthyAnswers = 0;
    const until = Date.now() + 4000;
    while (Date.now() < until && stream <= 2000) {
      const burst: Buffer[] = [];
      for (let i = 0; i < 100 && stream <= 2000; i++) burst.push(select(stream++));
      hog.write(Buffer.concat(burst));
      await ask(2 + (healthyAnswers % 1000));
      healthyAnswers++;
    }
    // The hog has taken nothing for the write timeout by now, or will soon: it is closed.
    await waitFor(
      () =>
        p.find('client connection closed: it took none of its answers for the write timeout')
          .length === 1,
      15_000,
      'the write-timeout log line',
    );
    const grown = peak.stop() - before;
    console.log(
      `non-reading client: RSS before ${(before / MiB).toFixed(1)} MiB, peak growth ${(grown / MiB).toFixed(1)} MiB; healthy client answered ${healthyAnswers} times meanwhile`,
    );
    expect(grown).toBeLessThan(64 * MiB);
    expect(healthyAnswers).toBeGreaterThan(0);
    await ask(3000);
    const m = await scrape(p.httpUrl);
    expect(m.value('cqlproxy_client_connections_closed_total', { reason: 'write_timeout' })).toBe(
      1,
    );
    expect(m.value('cqlproxy_client_pauses_total', { reason: 'output' })).toBeGreaterThanOrEqual(1);
    hog.destroy();
    healthy.close();
  });
});

describe('connections that never finish STARTUP', () => {
  let p: ProxyProcess;
  beforeAll(async () => {
    p = await proxy(['--handshake-timeout', '1s']);
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('refuses 200 connections that declare 250 MB frames before STARTUP, without holding the memory', async () => {
    const before = p.rss();
    const peak = sampleMax(() => p.rss());
    const started = Date.now();
    const sockets = await Promise.all(Array.from({ length: 200 }, () => openSocket(p.port)));
    const header = requestFrame(0, Opcode.QUERY, Buffer.alloc(0));
    header.writeInt32BE(250_000_000, 5);
    for (const s of sockets) s.write(Buffer.concat([header, Buffer.alloc(4096, 1)]));
    await Promise.all(sockets.map(closedByProxy));
    const closeMs = Date.now() - started;
    const grown = peak.stop() - before;
    console.log(
      `250 MB frame headers: 200 connections closed in ${closeMs} ms, RSS growth ${(grown / MiB).toFixed(1)} MiB`,
    );
    expect(grown).toBeLessThan(32 * MiB);
    const m = await scrape(p.httpUrl);
    expect(m.value('cqlproxy_client_connections_closed_total', { reason: 'frame_too_large' })).toBe(
      200,
    );
    expect(p.find('client connection closed: frame too large').length).toBeGreaterThanOrEqual(1);
  });

  it('closes 1,000 silent connections after the handshake timeout', async () => {
    const started = Date.now();
    const sockets: Socket[] = [];
    for (let i = 0; i < 10; i++) {
      sockets.push(...(await Promise.all(Array.from({ length: 100 }, () => openSocket(p.port)))));
    }
    await waitFor(() => sockets.every((s) => s.destroyed || s.readableEnded), 20_000, 'all closed');
    await Promise.all(sockets.map(closedByProxy));
    const closeMs = Date.now() - started;
    console.log(`1,000 silent connections: all closed ${closeMs} ms after the first opened`);
    const m = await scrape(p.httpUrl);
    expect(
      m.value('cqlproxy_client_connections_closed_total', { reason: 'handshake_timeout' }),
    ).toBe(1000);
    expect(m.value('cqlproxy_client_connections')).toBe(0);
    expect(
      p.find('client connection closed: no STARTUP or login within the handshake timeout').length,
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('file descriptors running out', () => {
  let p: ProxyProcess;
  beforeAll(async () => {
    // 256 descriptors: 128 kept back, 128 for clients.
    p = await proxy([], 256);
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('refuses clients beyond the reserve with a log line, and /readiness and /metrics keep answering', async () => {
    const [limited] = p.find('client connections limited by the file descriptor limit');
    expect(limited).toEqual(
      expect.objectContaining({ descriptorLimit: 256, maxClientConnections: 128 }),
    );
    const sockets: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      sockets.push(...(await Promise.all(Array.from({ length: 100 }, () => openSocket(p.port)))));
    }
    await waitFor(
      () => sockets.filter((s) => s.destroyed || s.readableEnded).length >= 172,
      10_000,
      'refusals',
    );
    const readiness = await fetch(`${p.httpUrl}/readiness`, { signal: AbortSignal.timeout(5000) });
    expect(readiness.status).toBe(200);
    const m = await scrape(p.httpUrl);
    expect(
      m.value('cqlproxy_client_connections_refused_total', { reason: 'descriptors' }),
    ).toBeGreaterThanOrEqual(172);
    expect(
      p.find('client connection refused: file descriptors are running out').length,
    ).toBeGreaterThanOrEqual(1);
    console.log(`descriptor limit 256: ${p.descriptors()} descriptors open with 128 clients`);
    for (const s of sockets) s.destroy();
    // Room again: a client gets in and is served.
    await waitFor(() => p.descriptors() < 100, 10_000, 'the sockets to close');
    const client = await RawClient.connect(p.port);
    const [answer] = await client.send([
      queryFrame(1, 'SELECT * FROM system.local', { consistency: Consistency.ONE }),
    ]);
    expect(answer?.opcode).toBe(Opcode.RESULT);
    client.close();
  });
});

describe('connection churn with requests in flight', () => {
  let p: ProxyProcess;
  beforeAll(async () => {
    p = await proxy();
    await createSchema(p.port);
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('leaves no sockets, requests or memory behind after 1,000 connect/disconnect loops', async () => {
    const warm = await RawClient.connect(p.port);
    warm.close();
    await waitFor(() => p.descriptors() > 0, 1000, 'the proxy');
    const fdsBefore = p.descriptors();
    const rssBefore = p.rss();
    const select = (stream: number): Buffer =>
      queryFrame(stream, `SELECT * FROM ${KEYSPACE}.small`, { consistency: Consistency.LOCAL_ONE });
    const once = async (): Promise<void> => {
      const socket = await openSocket(p.port);
      socket.write(Buffer.concat([STARTUP, select(1), select(2), select(3), select(4)]));
      // Gone before the answers: they arrive for a client that left.
      await new Promise((r) => setImmediate(r));
      socket.destroy();
    };
    const started = Date.now();
    for (let round = 0; round < 20; round++) await Promise.all(Array.from({ length: 50 }, once));
    await waitFor(() => p.descriptors() <= fdsBefore, 15_000, `descriptors back to ${fdsBefore}`);
    // A socket's descriptor is gone a moment before its 'close' event is handled, and answers to
    // the requests left behind may still be on their way: poll until the proxy says so too.
    const left = [
      'cqlproxy_client_connections',
      'cqlproxy_client_requests_in_flight',
      'cqlproxy_memory_in_flight_bytes',
      'cqlproxy_client_requests_pending',
    ];
    let m = await scrape(p.httpUrl);
    for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
      if (left.every((name) => m.value(name) === 0)) break;
      await new Promise((r) => setTimeout(r, 100));
      m = await scrape(p.httpUrl);
    }
    for (const name of left) expect(m.value(name), name).toBe(0);
    const grown = p.rss() - rssBefore;
    console.log(
      `1,000 connect/disconnect loops in ${Date.now() - started} ms: descriptors ${fdsBefore} -> ${p.descriptors()}, RSS growth ${(grown / MiB).toFixed(1)} MiB`,
    );
    expect(grown).toBeLessThan(32 * MiB);
  });
});
