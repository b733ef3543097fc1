// Requests that were never written: when a connection to a node closes, the frames still queued in
// the proxy (FramedSocket writes once per event-loop turn) never reached the node. Their requests
// are sent elsewhere whatever their idempotency, and when nothing can take them the client is
// told they were not sent. Frames already handed to the socket count as sent: they may have
// reached the node.

import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Opcode, ProtocolVersion, ResultKind } from '../../src/protocol/constants.js';
import { decodeError, errorFrame } from '../../src/protocol/messages/error.js';
import { encodeQuery } from '../../src/protocol/messages/query.js';
import { resultFrame } from '../../src/protocol/messages/result.js';
import { silentLogger } from '../../src/ops/logger.js';
import { FramedSocket } from '../../src/transport/framed-socket.js';
import type { UpstreamConnection } from '../../src/upstream/connection.js';
import { NodePool } from '../../src/upstream/node-pool.js';
import type { ResponseHandler } from '../../src/upstream/pooled-connection.js';
import { PreparedCache } from '../../src/upstream/prepared-cache.js';
import { RequestTimeouts } from '../../src/upstream/request-timeouts.js';
import { Session, newSessionMetrics } from '../../src/upstream/session.js';
import {
  FakeConnection,
  VERSION,
  client,
  closeSessions,
  requestFrame,
  setupSession,
  until,
  voidResult,
} from './fake-connection.js';
import { connectTo, rawQueryFrame, startFakeNode } from './fake-node.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  closeSessions();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const query = (text: string): Buffer =>
  rawQueryFrame(ProtocolVersion.V4, encodeQuery(ProtocolVersion.V4, text, { consistency: 1 }));

const NOT_IDEMPOTENT = { idempotent: false };

function messageOf(frame: Buffer | undefined): string {
  if (frame === undefined) throw new Error('no answer');
  return decodeError(frame.subarray(9), VERSION).message;
}

describe('FramedSocket.takeUnwritten', () => {
  async function pair(): Promise<{ local: Socket; remote: Socket }> {
    const server: Server = createServer();
    cleanups.push(() => void server.close());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const local = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const [remote] = await accepted;
    await once(local, 'connect');
    cleanups.push(() => {
      local.destroy();
      remote.destroy();
    });
    return { local, remote };
  }

  it('hands back the queued frames, their bytes given back, and only those', async () => {
    const { local } = await pair();
    let queued = 0;
    const framed = new FramedSocket(local, {
      incoming: 'response',
      maxFrameLength: 1 << 20,
      onFrame: () => undefined,
      onError: () => undefined,
      onClose: () => undefined,
      onQueuedBytes: (delta) => (queued += delta),
    });
    const a = query('a');
    const b = query('b');
    framed.write(a);
    framed.flush();
    framed.write(b);
    expect(framed.takeUnwritten()).toStrictEqual([b]);
    expect(framed.takeUnwritten()).toStrictEqual([]);
    await until(() => queued === 0, 'the written frame to leave');
  });

  it('after the socket closed, hands back what its close dropped', async () => {
    const { local } = await pair();
    let unwritten: Buffer[] | undefined;
    const framed: FramedSocket = new FramedSocket(local, {
      incoming: 'response',
      maxFrameLength: 1 << 20,
      onFrame: () => undefined,
      onError: () => undefined,
      onClose: () => {
        unwritten = framed.takeUnwritten();
      },
    });
    const frame = query('never written');
    framed.write(frame);
    local.destroy(); // the flush after this turn finds the socket gone
    await until(() => unwritten !== undefined, 'the close');
    expect(unwritten).toStrictEqual([frame]);
  });
});

describe('UpstreamConnection closing', () => {
  it('tells each request whether its frame was written', async () => {
    const node = await startFakeNode();
    cleanups.push(() => node.close());
    const connection = await connectTo(node);
    cleanups.push(() => connection.close());
    node.pauseReading();
    const closes: { what: string; unsent: boolean | undefined }[] = [];
    const handler = (what: string): ResponseHandler => ({
      onResponse: () => closes.push({ what, unsent: undefined }),
      onClosed: (_err, unsent) => closes.push({ what, unsent }),
    });
    connection.send(query('written'), handler('written'));
    // The flush happens at the end of this turn; then the frame is the socket's.
    await new Promise((resolve) => setImmediate(resolve));
    connection.send(query('queued'), handler('queued'));
    connection.close();
    expect(closes).toStrictEqual([
      { what: 'written', unsent: false },
      { what: 'queued', unsent: true },
    ]);
  });
});

describe('a request whose frame was never written', () => {
  it('goes to another node even when it is not idempotent', async () => {
    const a = new FakeConnection('a');
    const b = new FakeConnection('b');
    const { session } = await setupSession([[a], [b]]);
    const r = client(session, requestFrame(Opcode.QUERY, 3), NOT_IDEMPOTENT);
    const target = a.sent.length > 0 ? a : b;
    const other = target === a ? b : a;
    target.close(undefined, new Set([target.sent[0]!.streamId]));
    expect(other.sent).toHaveLength(1);
    other.answer(voidResult);
    expect(r.responses[0]!.readUInt8(4)).toBe(Opcode.RESULT);
    expect(r.responses[0]!.readInt16BE(2)).toBe(3);
  });

  it('goes to another connection of the same node when it is the only node', async () => {
    const a1 = new FakeConnection('a1');
    const a2 = new FakeConnection('a2');
    const { session } = await setupSession([[a1, a2]]);
    const r = client(session, requestFrame(Opcode.QUERY, 4), NOT_IDEMPOTENT);
    expect(a1.sent).toHaveLength(1);
    a1.close(undefined, new Set([a1.sent[0]!.streamId]));
    expect(a2.sent).toHaveLength(1);
    a2.answer(voidResult);
    expect(r.responses[0]!.readUInt8(4)).toBe(Opcode.RESULT);
  });

  it('is answered "not sent" when no connection can take it', async () => {
    const a = new FakeConnection('a');
    const { session, metrics } = await setupSession([[a]]);
    const r = client(session, requestFrame(Opcode.QUERY, 5), NOT_IDEMPOTENT);
    a.close(undefined, new Set([a.sent[0]!.streamId]));
    expect(r.responses[0]!.readInt16BE(2)).toBe(5);
    expect(decodeError(r.responses[0]!.subarray(9), VERSION).code).toBe(ErrorCode.SERVER_ERROR);
    expect(messageOf(r.responses[0])).toMatch(
      /closed before the request was written .* the request was not sent$/,
    );
    expect(metrics.retries).toBe(1);
  });

  it('a written request that is not idempotent still fails as before', async () => {
    const a = new FakeConnection('a');
    const b = new FakeConnection('b');
    const { session } = await setupSession([[a], [b]]);
    const r = client(session, requestFrame(Opcode.QUERY, 6), NOT_IDEMPOTENT);
    (a.sent.length > 0 ? a : b).close();
    expect(messageOf(r.responses[0])).toMatch(/unable to retry non-idempotent query/);
    expect(a.sent.length + b.sent.length).toBe(0);
  });

  it('nor is one whose UNPREPARED repair was lost: the node did not run it', async () => {
    const a = new FakeConnection('a');
    const b = new FakeConnection('b');
    const { session, cache } = await setupSession([[a], [b]]);
    const id = Buffer.alloc(16, 4);
    cache.set(id, requestFrame(Opcode.PREPARE, 0, Buffer.from([0, 0, 0, 1, 0x50])), '4//');
    const r = client(session, requestFrame(Opcode.EXECUTE, 8), NOT_IDEMPOTENT);
    const first = a.sent.length > 0 ? a : b;
    const other = first === a ? b : a;
    first.answer((s) => errorFrame(VERSION, s, { code: ErrorCode.UNPREPARED, message: 'u', id }));
    expect(first.sent[0]!.frame.readUInt8(4)).toBe(Opcode.PREPARE);
    first.close(); // written, but the EXECUTE itself was answered UNPREPARED: not applied
    expect(other.sent).toHaveLength(1);
    expect(other.sent[0]!.frame.readUInt8(4)).toBe(Opcode.EXECUTE);
    other.answer((s) => resultFrame(VERSION, s, { kind: ResultKind.VOID }));
    expect(r.responses[0]!.readUInt8(4)).toBe(Opcode.RESULT);
  });
});

describe('end to end over real connections', () => {
  it('a request queued on a connection that closes is answered by the other node', async () => {
    const fakeNodes = [await startFakeNode(), await startFakeNode()];
    const opened: UpstreamConnection[] = [];
    const timeouts = new RequestTimeouts(60_000);
    cleanups.push(async () => {
      timeouts.close();
      for (const c of opened) c.close();
      for (const n of fakeNodes) await n.close();
    });
    const session = new Session({
      key: '4//',
      version: VERSION,
      keyspace: undefined,
      compression: undefined,
      preparedCache: new PreparedCache(),
      timeouts,
      requestTimeoutMs: 60_000,
      maxQueuedRequests: 10,
      maxFrameLength: 1 << 20,
      metrics: newSessionMetrics(),
      logger: silentLogger(),
    });
    const pools = fakeNodes.map(
      (node, i) =>
        new NodePool(
          { key: `node${i}` },
          {
            size: 1,
            backoff: { baseMs: 60_000, maxMs: 60_000 },
            logger: silentLogger(),
            warmUp: () => Promise.resolve(),
            connect: async (onClose) => {
              const c = await connectTo(node, { onClose: (_c, error) => onClose(error) });
              opened.push(c);
              return c;
            },
          },
        ),
    );
    await Promise.all(pools.map((p) => p.fill()));
    session.setPools(pools);
    cleanups.push(() => session.close());

    const answers: Buffer[] = [];
    session.send({
      frame: query('INSERT once'),
      idempotent: () => false,
      onResponse: (f) => answers.push(Buffer.from(f)),
    });
    const busy = opened.find((c) => c.inFlight === 1)!;
    busy.close(); // same turn: the frame is still queued
    await until(() => answers.length === 1, 'the answer');
    expect(answers[0]!.readUInt8(4)).toBe(Opcode.RESULT);
    const receivedBy = fakeNodes.map(
      (n) =>
        n.connections.flatMap((c) => c.received).filter((f) => f.opcode === Opcode.QUERY).length,
    );
    expect(receivedBy.sort()).toEqual([0, 1]);
  });
});
