// Sessions and the nodes they reach, against the simulator:
//   - a node that accepts TCP but never answers the handshake holds nothing up: a USE of a new
//     keyspace is answered as soon as one node is connected, the silent node joins (or not) in
//     the background;
//   - a keyspace session that wakes up while nodes are added and removed ends with the nodes of
//     now, not those of the moment it started to wake.

import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../sim/engine/index.js';
import type { Engine, ExecutionContext } from '../../sim/engine/contract.js';
import { Consistency, EventType, Opcode } from '../../src/protocol/constants.js';
import { TopologyChangeType } from '../../src/protocol/messages/event.js';
import type { Session } from '../../src/upstream/session.js';
import { RawClient, queryFrame, resultOf, type RawResponse } from '../e2e/helpers/raw-client.js';
import { startStack, type Stack } from '../e2e/helpers/stack.js';

const PARAMS = { consistency: Consistency.LOCAL_QUORUM };
const V4 = 4;

let stack: Stack | undefined;
let client: RawClient | undefined;
let silent: { server: Server; sockets: Set<Socket> } | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  if (silent !== undefined) {
    for (const s of silent.sockets) s.destroy();
    silent.server.close();
    silent = undefined;
  }
  await stack?.close();
  stack = undefined;
});

let stream = 1;
async function query(cql: string): Promise<RawResponse> {
  if (client === undefined) throw new Error('no client');
  const [response] = await client.send([queryFrame(stream++, cql, PARAMS)]);
  if (response === undefined) throw new Error('no response');
  return response;
}

async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A TCP server on `host:port` that accepts connections and never says a word. */
async function listenSilently(host: string, port: number): Promise<void> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(port, host);
  await once(server, 'listening');
  silent = { server, sockets };
}

function sessionOf(s: Stack, keyspace: string): Promise<Session> {
  return s.proxy.cluster.session(V4, keyspace, undefined);
}

describe('a node that does not answer', () => {
  it('does not hold up a USE of a new keyspace: the session serves once one node is connected', async () => {
    stack = await startStack('contact-points', { proxyArgs: ['--connect-timeout', '5s'] });
    client = await RawClient.connect(stack.port);
    resultOf(
      await query(
        "CREATE KEYSPACE IF NOT EXISTS silent_ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
      ),
    );
    resultOf(await query('CREATE TABLE IF NOT EXISTS silent_ks.t (k int PRIMARY KEY, v text)'));

    // The third node stops; in its place, something that accepts TCP and never answers.
    const address = '127.0.0.3';
    await stack.sim.stopNode(2);
    await listenSilently(address, stack.sim.info.port);

    const started = Date.now();
    const use = await query('USE silent_ks');
    const took = Date.now() - started;
    expect(resultOf(use).kind).toBe(0x0003); // SET_KEYSPACE
    // Far below the 5 s connect timeout the silent node's connection attempt waits out.
    expect(took).toBeLessThan(2_000);
    resultOf(await query("INSERT INTO t (k, v) VALUES (1, 'one')"));
    const rows = resultOf(await query('SELECT v FROM t WHERE k = 1'));
    expect(rows.kind).toBe(0x0002);

    // The silent node is in the session, still trying: it joins if it ever answers.
    const session = await sessionOf(stack, 'silent_ks');
    expect(session.nodePools).toHaveLength(3);
    const pool = session.nodePools.find((p) => p.node.key.startsWith(`${address}:`));
    expect(pool?.available).toBe(false);
    expect(silent?.sockets.size ?? 0).toBeGreaterThan(0);
  }, 30_000);
});

describe('a keyspace session waking during a topology change', () => {
  it('ends with the nodes of now: a node removed meanwhile is dropped, one added is joined', async () => {
    // system.peers as the engine answers it, minus the nodes hidden here: the test adds and
    // removes nodes by hiding them (the simulator itself has no decommission).
    const hidden = new Set<string>(['127.0.0.3']);
    const inner = createEngine();
    const filtered = (context: ExecutionContext): ExecutionContext => ({
      ...context,
      peers: () => context.peers().filter((p) => !hidden.has(p.address)),
    });
    const engine = new Proxy(inner, {
      get(target, key, receiver) {
        if (key === 'execute') {
          return ((query, options, context) =>
            target.execute(query, options, filtered(context))) satisfies Engine['execute'];
        }
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    stack = await startStack('contact-points', {
      simulator: { engine },
      proxyArgs: ['--session-idle-timeout', '200ms'],
    });
    const s = stack;
    const port = s.sim.info.port;
    const keys = (nodes: readonly { key: string }[]): string[] => nodes.map((n) => n.key).sort();
    expect(keys(s.proxy.cluster.nodeList)).toEqual([`127.0.0.1:${port}`, `127.0.0.2:${port}`]);

    client = await RawClient.connect(s.port);
    resultOf(
      await query(
        "CREATE KEYSPACE IF NOT EXISTS wake_ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
      ),
    );
    resultOf(await query('CREATE TABLE IF NOT EXISTS wake_ks.t (k int PRIMARY KEY, v text)'));
    resultOf(await query('USE wake_ks'));
    resultOf(await query("INSERT INTO t (k, v) VALUES (1, 'one')"));
    const session = await sessionOf(s, 'wake_ks');
    await waitFor(() => session.asleep, 'the keyspace session to sleep');

    // Waking takes a while: every new connection's USE is answered 2.5 s late.
    s.sim.faults.add({ match: 'USE "wake_ks"', delayMs: 2_500 });
    const answer = query('SELECT v FROM t WHERE k = 1');
    await waitFor(() => session.asleep, 'the session to start waking');

    // Meanwhile node 2 leaves and node 3 arrives; the control connection (node 1) says so.
    hidden.clear();
    hidden.add('127.0.0.2');
    s.sim.nodes[0]?.sendEvent({
      type: EventType.TOPOLOGY_CHANGE,
      change: TopologyChangeType.NEW_NODE,
      address: { address: '127.0.0.3', port },
    });
    await waitFor(
      () => keys(s.proxy.cluster.nodeList).includes(`127.0.0.3:${port}`),
      'the proxy to see the new node',
    );
    expect(session.asleep).toBe(true); // still waking: this change was not applied to it

    const rows = resultOf(await answer);
    expect(rows.kind).toBe(0x0002);
    s.sim.faults.clear();
    expect(session.asleep).toBe(false);
    expect(keys(session.nodePools.map((p) => p.node))).toEqual([
      `127.0.0.1:${port}`,
      `127.0.0.3:${port}`,
    ]);
    // And the new node's pool connects.
    await waitFor(
      () => session.nodePools.every((p) => p.available),
      "the new node's pool to connect",
    );
    expect((await query('SELECT v FROM t WHERE k = 1')).opcode).toBe(Opcode.RESULT);
  }, 30_000);
});
