// The Cluster's limits against a one-node simulator on 127.0.0.1: the prepared cache and the
// orphaned stream ids as metrics read them, a connection replaced when its node stops answering
// some requests, and the control connection tried again as soon as a node's pool reconnects
// (after a whole-cluster outage it used to wait out its backoff, and readiness with it).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../sim/simulator.js';
import { Phase, readinessBody } from '../../src/ops/health.js';
import { ErrorCode, Opcode, ProtocolVersion } from '../../src/protocol/constants.js';
import { decodeError } from '../../src/protocol/messages/error.js';
import { encodePrepare } from '../../src/protocol/messages/prepare.js';
import { encodeQuery } from '../../src/protocol/messages/query.js';
import { Cluster } from '../../src/upstream/cluster.js';
import type { Session } from '../../src/upstream/session.js';
import { recordingLogger, until, type LogLine } from './fake-connection.js';

const V4 = ProtocolVersion.V4;
const REQUEST_TIMEOUT_MS = 300;

let sim: Simulator;
let cluster: Cluster;
let session: Session;
let lines: () => LogLine[];

beforeAll(async () => {
  sim = await startSimulator({ nodes: 1 });
  const log = recordingLogger();
  lines = log.lines;
  const host = sim.info.contactPoints[0]!;
  expect(host).toBe('127.0.0.1');
  cluster = await Cluster.connect({
    target: {
      kind: 'contact-points',
      contactPoints: [{ host, port: sim.info.port }],
      port: sim.info.port,
    },
    credentials: { username: 'token', password: sim.info.token },
    protocolVersion: V4,
    numConnections: 1,
    connectTimeoutMs: 5_000,
    heartbeatIntervalMs: 0,
    idleTimeoutMs: 0,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    maxQueuedRequests: 100,
    maxFrameLength: 16 << 20,
    maxOrphanedStreams: 1,
    refreshDebounceMs: 50,
    // Long enough that nothing in these tests comes back by its backoff.
    reconnect: { baseMs: 40_000, maxMs: 60_000 },
    logger: log.logger,
  });
  session = await cluster.session(V4, undefined, undefined);
});

afterAll(async () => {
  cluster?.close();
  await sim?.close();
});

function frame(opcode: number, body: Buffer): Buffer {
  const out = Buffer.alloc(9 + body.length);
  out[0] = V4;
  out[4] = opcode;
  out.writeInt32BE(body.length, 5);
  body.copy(out, 9);
  return out;
}

function send(opcode: number, body: Buffer): Promise<Buffer> {
  return new Promise((resolve) =>
    session.send({
      frame: frame(opcode, body),
      idempotent: () => true,
      onResponse: (f) => resolve(Buffer.from(f)),
    }),
  );
}

const query = (cql: string): Buffer => encodeQuery(V4, cql, { consistency: 1 });

describe('Cluster limits', () => {
  it('shows the prepared cache in entries and bytes', async () => {
    const before = cluster.upstreamLimits();
    const answer = await send(
      Opcode.PREPARE,
      encodePrepare(V4, { query: 'SELECT release_version FROM system.local' }),
    );
    expect(answer.readUInt8(4)).toBe(Opcode.RESULT);
    const after = cluster.upstreamLimits();
    expect(after.preparedCacheEntries).toBe(before.preparedCacheEntries + 1);
    expect(after.preparedCacheBytes).toBeGreaterThan(before.preparedCacheBytes + 128);
    expect(after.preparedCacheEvictions).toBe(0);
  });

  it('replaces a connection whose node leaves too many requests unanswered', async () => {
    sim.nodes[0]!.pauseReading();
    const answers = await Promise.all([
      send(Opcode.QUERY, query('SELECT key FROM system.local')),
      send(Opcode.QUERY, query('SELECT cluster_name FROM system.local')),
    ]);
    for (const a of answers)
      expect(decodeError(a.subarray(9), V4)).toMatchObject({ code: ErrorCode.SERVER_ERROR });
    expect(cluster.metrics.connectionsReplaced).toBe(1);
    expect(cluster.upstreamLimits()).toMatchObject({ orphanedStreams: 2, connectionsReplaced: 1 });
    expect(
      lines().filter((l) => l.msg === 'upstream connection replaced: too many orphaned stream ids'),
    ).toStrictEqual([expect.objectContaining({ level: 40, orphanedStreams: 2 })]);
    // The node reads again: the replacement finishes its handshake, the late answers release the
    // orphaned ids, and the old connection, with only orphans left, closes.
    sim.nodes[0]!.resumeReading();
    await until(
      () =>
        cluster.upstreamLimits().orphanedStreams === 0 &&
        session.nodePools[0]!.openConnections === 1,
      'the old connection to close',
    );
    const ok = await send(Opcode.QUERY, query('SELECT key FROM system.local'));
    expect(ok.readUInt8(4)).toBe(Opcode.RESULT);
  });

  it('tries the control connection again as soon as a node\u2019s pool reconnects', async () => {
    const ready = (): string =>
      readinessBody({ phase: Phase.RUNNING, cluster, clientConnections: 0 }, 1).status;
    const attemptsFailed = (): number =>
      lines().filter((l) => l.msg === 'control connection attempt failed').length;
    await sim.stopNode(0);
    // The immediate attempt after the loss fails too; the next would wait 20 s or more.
    await until(
      () => !cluster.controlConnected && attemptsFailed() >= 1 && cluster.controlOutageMs > 1,
      'the control connection to go down and its first retry to fail',
    );
    await until(() => ready() === 'DOWN', 'readiness to fail');

    await sim.startNode(0);
    // What the pool's own backoff timer (or a STATUS_CHANGE) would do.
    session.nodePools[0]!.reconnectNow();
    // Readiness follows the pool, and the control connection follows at once, not in 20 s.
    await until(() => ready() === 'UP', 'readiness to recover', 10_000);
    await until(() => cluster.controlConnected, 'the control connection', 10_000);
    expect(cluster.controlOutageMs).toBe(0);
    const ok = await send(Opcode.QUERY, query('SELECT key FROM system.local'));
    expect(ok.readUInt8(4)).toBe(Opcode.RESULT);
  });
});
