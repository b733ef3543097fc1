// Session with a Router: an EXECUTE of a known statement goes to a replica of its partition, the
// least busy one when there are several; a replica without a connection, or a request the router
// cannot place, goes round robin; a retry after an error moves to another node.

import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Opcode, ProtocolVersion } from '../../src/protocol/constants.js';
import { errorFrame } from '../../src/protocol/messages/error.js';
import { encodeExecute } from '../../src/protocol/messages/execute.js';
import { silentLogger } from '../../src/ops/logger.js';
import { NodePool } from '../../src/upstream/node-pool.js';
import { PreparedCache } from '../../src/upstream/prepared-cache.js';
import { RequestTimeouts } from '../../src/upstream/request-timeouts.js';
import { Router } from '../../src/upstream/routing.js';
import { Session, newSessionMetrics } from '../../src/upstream/session.js';
import { FakeConnection, requestFrame, voidResult } from './fake-connection.js';

const ID = Buffer.alloc(16, 0x5a);
const SIMPLE = 'org.apache.cassandra.locator.SimpleStrategy';
const timeouts: RequestTimeouts[] = [];

afterEach(() => {
  for (const t of timeouts.splice(0)) t.close();
});

function tokens(i: number): string[] {
  const span = 2n ** 64n / 24n;
  return Array.from({ length: 8 }, (_, v) => (-(2n ** 63n) + span * BigInt(v * 3 + i)).toString());
}

async function setup(rf: number): Promise<{
  session: Session;
  router: Router;
  conns: FakeConnection[];
  pools: NodePool[];
}> {
  const router = new Router();
  router.setRing(
    [0, 1, 2].map((i) => ({ key: `node${i}`, dataCenter: 'dc1', rack: 'r', tokens: tokens(i) })),
  );
  router.setKeyspaceReplication(
    'ks',
    new Map([
      ['class', SIMPLE],
      ['replication_factor', String(rf)],
    ]),
  );
  router.notePrepared(ID, 'ks', [0]);
  const t = new RequestTimeouts(60_000);
  timeouts.push(t);
  const session = new Session({
    key: '4//',
    version: ProtocolVersion.V4,
    keyspace: undefined,
    compression: undefined,
    preparedCache: new PreparedCache(1 << 20),
    timeouts: t,
    requestTimeoutMs: 60_000,
    maxQueuedRequests: 16,
    maxFrameLength: 1 << 20,
    metrics: newSessionMetrics(),
    logger: silentLogger(),
    router,
  });
  const conns = [0, 1, 2].map((i) => new FakeConnection(`c${i}`, 64));
  const pools = conns.map(
    (c, i) =>
      new NodePool(
        { key: `node${i}` },
        {
          size: 1,
          backoff: { baseMs: 10_000, maxMs: 10_000 },
          logger: silentLogger(),
          warmUp: () => Promise.resolve(),
          connect: () => Promise.resolve(c),
        },
      ),
  );
  await Promise.all(pools.map((p) => p.fill()));
  session.setPools(pools);
  return { session, router, conns, pools };
}

function execute(stream: number, key: number): Buffer {
  const k = Buffer.alloc(4);
  k.writeInt32BE(key);
  const body = encodeExecute(ProtocolVersion.V4, {
    id: ID,
    parameters: { consistency: 1, values: [k] },
  });
  return requestFrame(Opcode.EXECUTE, stream, Buffer.from(body));
}

function send(session: Session, frame: Buffer, idempotent = true): Buffer[] {
  const responses: Buffer[] = [];
  session.send({ frame, idempotent: () => idempotent, onResponse: (f) => responses.push(f) });
  return responses;
}

/** The index of the node `router` says owns `key` (RF 1). */
function owner(router: Router, key: number): number {
  const replicas = router.replicasOf(execute(0, key), ProtocolVersion.V4)!;
  expect(replicas).toHaveLength(1);
  return [0, 1, 2].find((i) => router.ordinalOf(`node${i}`) === replicas[0])!;
}

describe('Session with token-aware routing', () => {
  it('sends each EXECUTE to the node that owns its key (RF 1)', async () => {
    const { session, router, conns } = await setup(1);
    for (let key = 0; key < 60; key++) {
      const node = owner(router, key);
      const before = conns[node]!.log.length;
      send(session, execute(key, key));
      expect(conns[node]!.log.length).toBe(before + 1);
    }
    // Keys spread over all three nodes.
    for (const c of conns) expect(c.log.length).toBeGreaterThan(5);
  });

  it('picks the least busy replica with RF 3', async () => {
    const { session, conns } = await setup(3);
    // Node 0 and 1 busy: the next requests go to node 2.
    for (let i = 0; i < 3; i++) {
      send(session, requestFrame(Opcode.QUERY, 100 + i));
    }
    const busy0 = conns[0]!.inFlight;
    const busy1 = conns[1]!.inFlight;
    const busy2 = conns[2]!.inFlight;
    expect(busy0 + busy1 + busy2).toBe(3);
    conns[2]!.answer(voidResult);
    send(session, execute(7, 7));
    expect(conns[2]!.log.length).toBe(2);
  });

  it('goes round robin when the replica has no connection, and for QUERY', async () => {
    const { session, router, conns } = await setup(1);
    const key = 11;
    const node = owner(router, key);
    conns[node]!.close();
    const answered = send(session, execute(1, key));
    const others = conns.filter((_, i) => i !== node);
    expect(others.reduce((n, c) => n + c.log.length, 0)).toBe(1);
    for (const c of others) if (c.inFlight > 0) c.answer(voidResult);
    expect(answered).toHaveLength(1);
    for (let i = 0; i < 3; i++) send(session, requestFrame(Opcode.QUERY, 20 + i));
    expect(others.reduce((n, c) => n + c.log.length, 0)).toBe(4);
  });

  it('retries on another node after an error that allows it', async () => {
    const { session, router, conns } = await setup(1);
    const key = 5;
    const node = owner(router, key);
    const answered = send(session, execute(3, key));
    conns[node]!.answer((stream) =>
      errorFrame(ProtocolVersion.V4, stream, {
        code: ErrorCode.OVERLOADED,
        message: 'busy',
      }),
    );
    const other = conns.findIndex((c, i) => i !== node && c.inFlight > 0);
    expect(other).toBeGreaterThanOrEqual(0);
    conns[other]!.answer(voidResult);
    expect(answered).toHaveLength(1);
  });
});
