// --workers 2: the proxy as real processes (`node --import tsx src/main.ts --workers 2`, a primary
// and two workers sharing the client port) in front of the simulator. Client connections spread
// over both workers; a statement prepared through one worker executes through the other with no
// UNPREPARED reaching the driver, even after every node forgot it; one /metrics and one /readiness
// for the whole process; a killed worker is restarted; SIGTERM drains every worker and exits 0.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../sim/simulator.js';
import { startProxyProcess, type LogLine, type ProxyProcess } from './helpers/proxy-process.js';
import {
  RawClient,
  executeFrame,
  prepareFrame,
  queryFrame,
  resultOf,
} from './helpers/raw-client.js';
import { admin, targetArgs, waitFor, withDeadline } from './helpers/stack.js';
import { Consistency, ResultKind } from '../../src/protocol/constants.js';

const KEYSPACE = 'workers';
const SELECT = `SELECT v FROM ${KEYSPACE}.kv WHERE k = ?`;
const CONNECTIONS = 8;

let sim: Simulator;
let proxy: ProxyProcess;
let client: cassandra.Client;
/** What the driver logged: it says "not prepared on" when it has to prepare again itself. */
const driverLogs: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({});
  proxy = await startProxyProcess([...targetArgs('astra-bundle', sim.info), '--workers', '2']);
  client = new cassandra.Client({
    contactPoints: [`127.0.0.1:${proxy.port}`],
    localDataCenter: sim.info.region,
    queryOptions: { consistency: cassandra.types.consistencies.localQuorum },
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: CONNECTIONS } },
    socketOptions: { readTimeout: 20_000, connectTimeout: 10_000 },
  });
  client.on('log', (_level: string, _className: string, message: string) =>
    driverLogs.push(message),
  );
  await client.connect();
  await client.execute(
    `CREATE KEYSPACE ${KEYSPACE} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}`,
  );
  await client.execute(`CREATE TABLE ${KEYSPACE}.kv (k int PRIMARY KEY, v text)`);
  for (let k = 0; k < 10; k++) {
    await client.execute(`INSERT INTO ${KEYSPACE}.kv (k, v) VALUES (?, ?)`, [k, `v${k}`], {
      prepare: true,
    });
  }
}, 90_000);

afterAll(async () => {
  await client?.shutdown();
  await proxy?.stop();
  await sim?.close();
});

/** Every sample of /metrics: `name{labels}` to value. */
async function metrics(): Promise<Map<string, number>> {
  const text = await (await fetch(`${proxy.httpUrl}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

async function readiness(): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${proxy.httpUrl}/readiness`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The pid of each worker, from its latest "worker started" line. */
function workerPids(): Map<number, number> {
  const pids = new Map<number, number>();
  for (const line of proxy.find('worker started')) pids.set(Number(line.worker), Number(line.pid));
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('--workers 2', () => {
  it('starts two workers behind one port, and says so once', () => {
    expect([...workerPids().keys()].sort()).toEqual([1, 2]);
    const [ready] = proxy.find('proxy is ready') as (LogLine & { pids?: number[] })[];
    expect(ready?.workers).toBe(2);
    expect(ready?.pids).toHaveLength(2);
    expect(proxy.find('worker is ready')).toHaveLength(2);
  });

  it('spreads client connections over both workers, and /metrics sums them', async () => {
    const m = await metrics();
    const one = m.get('cqlproxy_worker_client_connections{worker="1"}') ?? 0;
    const two = m.get('cqlproxy_worker_client_connections{worker="2"}') ?? 0;
    expect(one).toBeGreaterThan(0);
    expect(two).toBeGreaterThan(0);
    // The driver's pool plus its control connection.
    expect(one + two).toBeGreaterThanOrEqual(CONNECTIONS);
    expect(m.get('cqlproxy_client_connections')).toBe(one + two);
    expect(m.get('cqlproxy_workers')).toBe(2);
    expect(m.get('cqlproxy_workers_up')).toBe(2);
    expect(m.get('cqlproxy_ready')).toBe(1);
    // Each worker has its own upstream connections: node_up stays a flag, connections add up.
    const nodeUp = [...m].filter(([k]) => k.startsWith('cqlproxy_node_up{'));
    expect(nodeUp).toHaveLength(3);
    for (const [, v] of nodeUp) expect(v).toBe(1);
    const upstream = [...m].filter(([k]) => k.startsWith('cqlproxy_upstream_connections{'));
    for (const [, v] of upstream) expect(v).toBeGreaterThanOrEqual(2);
  });

  it('answers /readiness 200 when both workers are ready', async () => {
    const { status, body } = await readiness();
    expect(status).toBe(200);
    expect(body.status).toBe('UP');
    const workers = body.workers as { worker: number; status: string }[];
    expect(workers.map((w) => [w.worker, w.status])).toEqual([
      [1, 'UP'],
      [2, 'UP'],
    ]);
  });

  it('executes a statement prepared through one worker on connections of the other, with no UNPREPARED for the driver', async () => {
    // The driver prepares once, on one connection, then executes on all of them.
    for (let k = 0; k < 10; k++) {
      const row = (await client.execute(SELECT, [k], { prepare: true })).first();
      expect(row.get('v')).toBe(`v${k}`);
    }
    // Every node forgets it: only the proxy's cache (relayed between workers) can repair it.
    for (let n = 0; n < sim.info.nodes.length; n++) {
      await admin(sim.info, 'POST', `/nodes/${n}/forget-prepared`);
    }
    const before = (await metrics()).get('cqlproxy_unprepared_recovered_total') ?? 0;
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const row = (await client.execute(SELECT, [i % 10], { prepare: true })).first();
        expect(row.get('v')).toBe(`v${i % 10}`);
      }),
    );
    expect(driverLogs.filter((l) => l.includes('not prepared on'))).toEqual([]);
    const after = (await metrics()).get('cqlproxy_unprepared_recovered_total') ?? 0;
    expect(after).toBeGreaterThan(before);
  });

  it('repairs on raw connections of either worker a statement prepared on one connection', async () => {
    const preparing = await RawClient.connect(proxy.port);
    const others: RawClient[] = [];
    try {
      const [prepared] = await preparing.send([prepareFrame(1, `${SELECT} LIMIT 1`)]);
      const result = resultOf(prepared!);
      if (result.kind !== ResultKind.PREPARED) throw new Error('not PREPARED');
      for (let n = 0; n < sim.info.nodes.length; n++) {
        await admin(sim.info, 'POST', `/nodes/${n}/forget-prepared`);
      }
      const before = await metrics();
      for (let i = 0; i < 6; i++) others.push(await RawClient.connect(proxy.port));
      const after = await metrics();
      // New connections alternate between the workers: both got some.
      for (const w of ['1', '2']) {
        const key = `cqlproxy_worker_client_connections{worker="${w}"}`;
        expect(after.get(key) ?? 0).toBeGreaterThan(before.get(key) ?? 0);
      }
      for (const [i, raw] of others.entries()) {
        const [answer] = await withDeadline(
          raw.send([
            executeFrame(2, result.id, {
              consistency: Consistency.LOCAL_QUORUM,
              values: [Buffer.from([0, 0, 0, i])],
            }),
          ]),
          10_000,
          'EXECUTE',
        );
        const rows = resultOf(answer!);
        expect(rows.kind).toBe(ResultKind.ROWS);
      }
    } finally {
      preparing.close();
      for (const raw of others) raw.close();
    }
  });

  it('restarts a worker that was killed, with a log line, and is ready again', async () => {
    const pids = workerPids();
    const victim = pids.get(1)!;
    process.kill(victim, 'SIGKILL');
    await waitFor(
      () => proxy.find('worker died: restarting it').some((l) => l.pid === victim),
      10_000,
      'the primary to notice the dead worker',
    );
    await waitFor(
      () => (workerPids().get(1) ?? victim) !== victim,
      10_000,
      'the worker to be started again',
    );
    await waitFor(() => proxy.find('worker is ready').length >= 3, 30_000, 'the new worker');
    let answer = await readiness();
    const end = Date.now() + 10_000;
    while (answer.status !== 200 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      answer = await readiness();
    }
    expect(answer.status).toBe(200);
    const m = await metrics();
    expect(m.get('cqlproxy_worker_restarts_total')).toBe(1);
    expect(m.get('cqlproxy_workers_up')).toBe(2);
    // The driver still works, through whichever worker.
    const row = (await client.execute(SELECT, [3], { prepare: true })).first();
    expect(row.get('v')).toBe('v3');
  }, 60_000);

  it('drains every worker on SIGTERM and exits 0, answering the requests in flight', async () => {
    const pids = [...workerPids().values()];
    // Two raw connections (one per worker, as connections alternate), each with a slow request.
    await admin(sim.info, 'POST', '/faults', { match: 'drain_probe', delayMs: 700, times: 2 });
    const raws = [await RawClient.connect(proxy.port), await RawClient.connect(proxy.port)];
    const answers = raws.map((raw) =>
      raw.send([
        queryFrame(3, `SELECT v FROM ${KEYSPACE}.kv WHERE k = 1 /* drain_probe */`, {
          consistency: Consistency.LOCAL_QUORUM,
        }),
      ]),
    );
    // Both requests are in flight once the simulator has applied the rule to each (it is then
    // no longer armed): the moment SIGTERM must not lose them.
    const armed = async (): Promise<boolean> => {
      const rules = (await admin(sim.info, 'GET', '/faults')) as { cluster: { match?: string }[] };
      return rules.cluster.some((rule) => rule.match === 'drain_probe');
    };
    for (let i = 0; i < 400 && (await armed()); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await armed()).toBe(false);
    process.kill(proxy.pid, 'SIGTERM');
    for (const answer of answers) {
      const [response] = await withDeadline(answer, 10_000, 'the request in flight');
      expect(resultOf(response!).kind).toBe(ResultKind.ROWS);
    }
    for (const raw of raws) raw.close();
    await waitFor(() => proxy.find('stopped').some((l) => l.exitCode === 0), 20_000, 'the stop');
    expect(proxy.find('worker stopped').map((l) => l.code)).toEqual([0, 0]);
    expect(proxy.find('drained: every request read was answered').length).toBe(2);
    await waitFor(() => !alive(proxy.pid) && pids.every((p) => !alive(p)), 10_000, 'the exits');
  }, 30_000);
});

describe('--workers 2 that cannot start', () => {
  it('exits 1 with the reason, as one process would, rather than restarting forever', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/main.ts',
        '--contact-points',
        '127.0.0.1',
        '--port',
        '1',
        '--connect-timeout',
        '1s',
        '--bind',
        '127.0.0.1:0',
        '--workers',
        '2',
      ],
      { cwd: fileURLToPath(new URL('../../', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(killer);
    expect(code).toBe(1);
    expect(err).toContain('cql-proxy-ts: unable to connect to the cluster');
    expect(out).toContain('a worker failed to start');
    expect(out).not.toContain('worker died: restarting it');
  }, 40_000);
});
