// Orphaned stream ids: a request that timed out still holds its upstream stream id until the node
// answers (reusing it earlier would hand the late answer to another request). The connection now
// counts such ids and drops the request for a shared no-op; past a limit the pool replaces the
// connection (the Java driver's max-orphan-requests), and the old one closes once only orphans
// remain on it. Request layer over fakes first, then a real connection against a scripted node.

import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Opcode, ProtocolVersion } from '../../src/protocol/constants.js';
import { decodeError, errorFrame } from '../../src/protocol/messages/error.js';
import { encodeQuery } from '../../src/protocol/messages/query.js';
import type { UpstreamConnection } from '../../src/upstream/connection.js';
import type { ResponseHandler } from '../../src/upstream/pooled-connection.js';
import { DEFAULT_MAX_ORPHANED_STREAMS } from '../../src/upstream/node-pool.js';
import {
  FakeConnection,
  VERSION,
  client,
  closeSessions,
  recordingLogger,
  requestFrame,
  setupSession,
  until,
  voidResult,
} from './fake-connection.js';
import { connectTo, rawQueryFrame, startFakeNode, type FakeNode } from './fake-node.js';

const nodes: FakeNode[] = [];
const connections: UpstreamConnection[] = [];

afterEach(async () => {
  closeSessions();
  for (const c of connections.splice(0)) c.close();
  for (const n of nodes.splice(0)) await n.close();
});

const FAR = 10 * 60_000;

describe('a request that times out', () => {
  it('leaves its stream id orphaned on the connection, which the late answer releases', async () => {
    const a = new FakeConnection('a');
    const { session, timeouts } = await setupSession([[a]]);
    const r = client(session, requestFrame(Opcode.QUERY, 5));
    const streamId = a.sent[0]!.streamId;
    timeouts.sweep(Date.now() + FAR);
    expect(decodeError(r.responses[0]!.subarray(9), VERSION).message).toMatch(/timed out/);
    // The id is still taken (the node may answer on it), counted, and no longer the request's.
    expect(a.sent).toMatchObject([{ streamId, orphaned: true }]);
    expect(a.orphanedStreams).toBe(1);
    expect(session.nodePools[0]!.orphanedStreams).toBe(1);
    a.answer(voidResult);
    expect(a.orphanedStreams).toBe(0);
    expect(a.inFlight).toBe(0);
    expect(r.responses).toHaveLength(1);
  });

  it('during the UNPREPARED repair orphans the stream id of the repair\u2019s PREPARE', async () => {
    const a = new FakeConnection('a');
    const { session, timeouts, cache } = await setupSession([[a]]);
    const id = Buffer.alloc(16, 9);
    cache.set(id, requestFrame(Opcode.PREPARE, 0, Buffer.from([0, 0, 0, 1, 0x50])), '4//');
    const r = client(session, requestFrame(Opcode.EXECUTE, 6));
    a.answer((s) => errorFrame(VERSION, s, { code: ErrorCode.UNPREPARED, message: 'u', id }));
    const prepare = a.sent[0]!;
    expect(prepare.frame.readUInt8(4)).toBe(Opcode.PREPARE);
    timeouts.sweep(Date.now() + FAR);
    expect(r.responses).toHaveLength(1);
    expect(a.sent).toMatchObject([{ streamId: prepare.streamId, orphaned: true }]);
  });
});

describe('a connection with too many orphaned stream ids', () => {
  it('is replaced: the replacement takes the traffic, the old one closes once only orphans remain on it', async () => {
    const old = new FakeConnection('old', 16);
    const replacement = new FakeConnection('replacement', 16);
    const log = recordingLogger();
    let replaced = 0;
    const { session, timeouts, pools } = await setupSession([[old]], {
      maxOrphanedStreams: 2,
      logger: log.logger,
      onConnectionReplaced: () => replaced++,
      spares: [[replacement]],
      maxQueued: 10,
    });
    for (let i = 0; i < 3; i++) client(session, requestFrame(Opcode.QUERY, i));
    timeouts.sweep(Date.now() + FAR);
    expect(old.orphanedStreams).toBe(3);
    expect(replaced).toBe(1);
    const warnings = log.lines().filter((l) => l.level === 40);
    expect(warnings).toStrictEqual([
      expect.objectContaining({
        msg: 'upstream connection replaced: too many orphaned stream ids',
        node: 'node0',
        orphanedStreams: 3,
      }),
    ]);

    // Until the replacement is open, the old connection still serves.
    const live = client(session, requestFrame(Opcode.QUERY, 10));
    expect(old.inFlight).toBe(4);
    await until(() => old.retiredWith !== undefined, 'the replacement to open');
    expect(old.closed).toBe(false); // a live request is still on it
    expect(pools[0]!.openConnections).toBe(2);

    const next = client(session, requestFrame(Opcode.QUERY, 11));
    expect(replacement.sent).toHaveLength(1);
    replacement.answer(voidResult);
    expect(next.responses[0]!.readInt16BE(2)).toBe(11);

    const liveStream = old.sent.find((s) => !s.orphaned)!.streamId;
    old.answerStream(liveStream, voidResult);
    expect(live.responses[0]!.readInt16BE(2)).toBe(10);
    expect(old.closed).toBe(true);
    // More orphans on the replacement do not count twice for the old one.
    expect(replaced).toBe(1);
    expect(DEFAULT_MAX_ORPHANED_STREAMS).toBe(256);
  });
});

describe('UpstreamConnection against a node', () => {
  async function open(): Promise<{ node: FakeNode; connection: UpstreamConnection }> {
    const node = await startFakeNode();
    nodes.push(node);
    const connection = await connectTo(node);
    connections.push(connection);
    return { node, connection };
  }

  const query = (text: string): Buffer =>
    rawQueryFrame(ProtocolVersion.V4, encodeQuery(ProtocolVersion.V4, text, { consistency: 1 }));

  function recorder(): ResponseHandler & { answers: Buffer[]; closed: Error[] } {
    const answers: Buffer[] = [];
    const closed: Error[] = [];
    return {
      answers,
      closed,
      onResponse: (f) => answers.push(Buffer.from(f)),
      onClosed: (e) => closed.push(e),
    };
  }

  it('drops an orphaned request and counts its id until the late answer comes', async () => {
    const { node, connection } = await open();
    node.pauseReading();
    const gone = recorder();
    const frame = query('late');
    expect(connection.send(frame, gone)).toBe(true);
    const streamId = frame.readInt16BE(2);
    expect(connection.orphan(streamId, recorder())).toBe(false); // not that handler's id
    let lateAnswers = 0;
    expect(connection.orphan(streamId, gone, () => lateAnswers++)).toBe(true);
    expect([connection.orphanedStreams, connection.inFlight]).toEqual([1, 1]);

    node.resumeReading();
    await until(() => connection.inFlight === 0, 'the late answer');
    expect([connection.orphanedStreams, lateAnswers]).toEqual([0, 1]);
    expect(gone.answers).toHaveLength(0);
    // The id is in use again, for a new request.
    const again = recorder();
    expect(connection.send(query('again'), again)).toBe(true);
    await until(() => again.answers.length === 1, 'the answer');
  });

  it('once retired, closes when only orphans remain, after its live requests are answered', async () => {
    const { node, connection } = await open();
    node.pauseReading();
    const orphaned = recorder();
    const frame = query('orphaned');
    connection.send(frame, orphaned);
    connection.orphan(frame.readInt16BE(2), orphaned);
    const live = recorder();
    connection.send(query('live'), live);
    connection.retire(FAR);
    expect(connection.closed).toBe(false);

    node.resumeReading();
    await until(() => connection.closed, 'the retired connection to close');
    expect(live.answers).toHaveLength(1);
    expect(live.closed).toHaveLength(0);
    expect(orphaned.answers).toHaveLength(0);
  });

  it('once retired, closes after the timeout at the latest', async () => {
    const { node, connection } = await open();
    node.pauseReading();
    const live = recorder();
    connection.send(query('never answered'), live);
    connection.retire(20);
    await until(() => connection.closed, 'the retire timeout');
    expect(live.closed[0]?.message).toMatch(/replaced: too many orphaned stream ids/);
  });

  it('with nothing in flight, closes at once when retired', async () => {
    const { connection } = await open();
    connection.retire(FAR);
    expect(connection.closed).toBe(true);
    expect(connection.orphanedStreams).toBe(0);
  });
});
