// The request layer over fake connections: routing, queueing, retries, UNPREPARED repair and
// timeouts, with every frame checked byte for byte where it matters.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Opcode } from '../../src/protocol/constants.js';
import {
  decodeError,
  errorFrame,
  type CqlErrorMessage,
} from '../../src/protocol/messages/error.js';
import { resultFrame } from '../../src/protocol/messages/result.js';
import { ResultKind } from '../../src/protocol/constants.js';
import { silentLogger } from '../../src/ops/logger.js';
import { NodePool } from '../../src/upstream/node-pool.js';
import type { PooledConnection, ResponseHandler } from '../../src/upstream/pooled-connection.js';
import { PreparedCache } from '../../src/upstream/prepared-cache.js';
import { RequestTimeouts } from '../../src/upstream/request-timeouts.js';
import { Session, newSessionMetrics } from '../../src/upstream/session.js';

/** A connection with `capacity` stream ids that records what it is sent. */
class FakeConnection implements PooledConnection {
  readonly sent: { frame: Buffer; streamId: number; handler: ResponseHandler }[] = [];
  private readonly free: number[];
  closed = false;
  congested = false;
  readonly name: string;
  constructor(name: string, capacity = 8) {
    this.name = name;
    this.free = Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
  }
  get inFlight(): number {
    return this.sent.length;
  }
  send(frame: Buffer, handler: ResponseHandler): boolean {
    if (this.closed) return false;
    const id = this.free.pop();
    if (id === undefined) return false;
    frame.writeInt16BE(id, 2);
    this.sent.push({ frame: Buffer.from(frame), streamId: id, handler });
    return true;
  }
  /** Answers the oldest request with `make(streamId)`. */
  answer(make: (streamId: number, request: Buffer) => Buffer): void {
    const first = this.sent.shift();
    if (first === undefined) throw new Error(`${this.name}: nothing in flight`);
    this.free.push(first.streamId);
    first.handler.onResponse(make(first.streamId, first.frame));
  }
  close(): void {
    this.closed = true;
    for (const s of this.sent.splice(0)) s.handler.onClosed(new Error(`${this.name} closed`));
  }
}

const VERSION = 4;
const voidResult = (streamId: number): Buffer =>
  resultFrame(VERSION, streamId, { kind: ResultKind.VOID });
const errorOf =
  (error: CqlErrorMessage) =>
  (streamId: number): Buffer =>
    errorFrame(VERSION, streamId, error);

function requestFrame(
  opcode: number,
  clientStream: number,
  body = Buffer.from([0, 0, 0, 1, 0x41]),
): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt8(VERSION, 0);
  header.writeInt16BE(clientStream, 2);
  header.writeUInt8(opcode, 4);
  header.writeInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

const timeouts: RequestTimeouts[] = [];
afterEach(() => {
  for (const t of timeouts.splice(0)) t.close();
});

async function setup(
  nodes: FakeConnection[][],
  {
    maxQueued = 4,
    timeoutMs = 60_000,
    reopen,
  }: {
    maxQueued?: number;
    timeoutMs?: number;
    reopen?: (session: Session) => Promise<readonly NodePool[]>;
  } = {},
): Promise<{
  session: Session;
  cache: PreparedCache;
  timeouts: RequestTimeouts;
  metrics: ReturnType<typeof newSessionMetrics>;
}> {
  const cache = new PreparedCache(1 << 20);
  const t = new RequestTimeouts(timeoutMs);
  timeouts.push(t);
  const metrics = newSessionMetrics();
  const session = new Session({
    key: '4//',
    version: VERSION,
    keyspace: undefined,
    compression: undefined,
    preparedCache: cache,
    timeouts: t,
    requestTimeoutMs: timeoutMs,
    maxQueuedRequests: maxQueued,
    maxFrameLength: 1 << 20,
    metrics,
    logger: silentLogger(),
    ...(reopen === undefined ? {} : { reopen }),
  });
  const pools = nodes.map((conns, i) => {
    const queue = [...conns];
    return new NodePool(
      { key: `node${i}` },
      {
        size: conns.length,
        backoff: { baseMs: 10_000, maxMs: 10_000 },
        logger: silentLogger(),
        warmUp: (c) => session.warmUp(c),
        connect: () => {
          const c = queue.shift();
          return c === undefined ? Promise.reject(new Error('no more fakes')) : Promise.resolve(c);
        },
      },
    );
  });
  await Promise.all(pools.map((p) => p.fill()));
  session.setPools(pools);
  return { session, cache, timeouts: t, metrics };
}

function client(session: Session, frame: Buffer, idempotent = true): { responses: Buffer[] } {
  const responses: Buffer[] = [];
  session.send({
    frame,
    idempotent: () => idempotent,
    onResponse: (f) => responses.push(Buffer.from(f)),
  });
  return { responses };
}

describe('Session', () => {
  it('spreads requests round robin and patches stream ids both ways', async () => {
    const a = new FakeConnection('a');
    const b = new FakeConnection('b');
    const { session } = await setup([[a], [b]]);
    const r1 = client(session, requestFrame(Opcode.QUERY, 100));
    const r2 = client(session, requestFrame(Opcode.QUERY, -5 + 32768)); // stream 32763
    expect(a.sent).toHaveLength(1);
    expect(b.sent).toHaveLength(1);
    expect(a.sent[0]?.frame.readInt16BE(2)).toBe(a.sent[0]?.streamId);
    const { timeouts: t } = { timeouts: timeouts[timeouts.length - 1]! };
    expect(t.size).toBe(2);
    a.answer(voidResult);
    b.answer(voidResult);
    // Answered requests leave the timeout list at once (nothing finished stays referenced).
    expect(t.size).toBe(0);
    expect(r1.responses[0]?.readInt16BE(2)).toBe(100);
    expect(r2.responses[0]?.readInt16BE(2)).toBe(32763);
    expect(r1.responses[0]?.subarray(9)).toEqual(voidResult(0).subarray(9));
  });

  it('picks the least busy connection of a node', async () => {
    const a1 = new FakeConnection('a1');
    const a2 = new FakeConnection('a2');
    const { session } = await setup([[a1, a2]]);
    for (let i = 0; i < 6; i++) client(session, requestFrame(Opcode.QUERY, i));
    expect([a1.sent.length, a2.sent.length]).toEqual([3, 3]);
  });

  it('queues when every stream id is taken, then OVERLOADED beyond the bound', async () => {
    const a = new FakeConnection('a', 1);
    const { session, metrics } = await setup([[a]], { maxQueued: 2 });
    const first = client(session, requestFrame(Opcode.QUERY, 1));
    const queued1 = client(session, requestFrame(Opcode.QUERY, 2));
    const queued2 = client(session, requestFrame(Opcode.QUERY, 3));
    const rejected = client(session, requestFrame(Opcode.QUERY, 4));
    expect(a.sent).toHaveLength(1);
    expect(rejected.responses).toHaveLength(1);
    const err = decodeError(rejected.responses[0]!.subarray(9), VERSION);
    expect(err.code).toBe(ErrorCode.OVERLOADED);
    expect(rejected.responses[0]!.readInt16BE(2)).toBe(4);
    expect(metrics.overloaded).toBe(1);
    a.answer(voidResult); // frees the id: the first queued request goes out
    expect(first.responses).toHaveLength(1);
    expect(a.sent[0]?.frame.subarray(4)).toEqual(requestFrame(Opcode.QUERY, 2).subarray(4));
    a.answer(voidResult);
    a.answer(voidResult);
    expect(queued1.responses[0]!.readInt16BE(2)).toBe(2);
    expect(queued2.responses[0]!.readInt16BE(2)).toBe(3);
  });

  it('retries an idempotent request on the next node after OVERLOADED, returns it otherwise', async () => {
    const a = new FakeConnection('a');
    const b = new FakeConnection('b');
    const { session, metrics } = await setup([[a], [b]]);
    const idem = client(session, requestFrame(Opcode.QUERY, 7), true);
    a.answer(errorOf({ code: ErrorCode.OVERLOADED, message: 'busy' }));
    expect(b.sent).toHaveLength(1); // the plan started at a; the retry went to b
    expect(metrics.retries).toBe(1);
    b.answer(voidResult);
    expect(idem.responses[0]!.readUInt8(4)).toBe(Opcode.RESULT);

    const nonIdem = client(session, requestFrame(Opcode.QUERY, 8), false);
    const target = a.sent.length > 0 ? a : b;
    target.answer(errorOf({ code: ErrorCode.OVERLOADED, message: 'busy' }));
    expect(decodeError(nonIdem.responses[0]!.subarray(9), VERSION)).toEqual({
      code: ErrorCode.OVERLOADED,
      message: 'busy',
    });
  });

  it('retries a read timeout once on the same node when enough replicas answered without data', async () => {
    const a = new FakeConnection('a');
    const { session } = await setup([[a]]);
    const r = client(session, requestFrame(Opcode.QUERY, 1));
    const timeout = errorOf({
      code: ErrorCode.READ_TIMEOUT,
      message: 't',
      consistency: 6,
      received: 2,
      blockFor: 2,
      dataPresent: false,
    });
    a.answer(timeout);
    expect(a.sent).toHaveLength(1);
    a.answer(timeout);
    expect(decodeError(r.responses[0]!.subarray(9), VERSION).code).toBe(ErrorCode.READ_TIMEOUT);
  });

  it('moves an idempotent request to another node when its connection closes, fails a non-idempotent one', async () => {
    const a = new FakeConnection('a');
    const b = new FakeConnection('b');
    const { session } = await setup([[a], [b]]);
    const idem = client(session, requestFrame(Opcode.QUERY, 1), true);
    const nonIdem = client(session, requestFrame(Opcode.QUERY, 2), false); // goes to b
    a.close();
    expect(b.sent).toHaveLength(2);
    b.close();
    expect(idem.responses).toHaveLength(1);
    expect(decodeError(idem.responses[0]!.subarray(9), VERSION)).toMatchObject({
      code: ErrorCode.SERVER_ERROR,
    });
    const err = decodeError(nonIdem.responses[0]!.subarray(9), VERSION);
    expect(err.message).toMatch(
      /unable to retry non-idempotent query after connection to backend cluster closed/,
    );
  });

  it('repairs UNPREPARED by preparing on that node and sending the request again', async () => {
    const a = new FakeConnection('a');
    const { session, metrics } = await setup([[a]]);
    const id = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const prepare = requestFrame(
      Opcode.PREPARE,
      3,
      Buffer.concat([Buffer.from([0, 0, 0, 8]), Buffer.from('SELECT 1')]),
    );
    const prepared = client(session, prepare);
    a.answer((s) =>
      resultFrame(VERSION, s, {
        kind: ResultKind.PREPARED,
        id,
        metadata: { columns: [], pkIndexes: [] },
        resultMetadata: { columnCount: 0, columns: [] },
      }),
    );
    expect(prepared.responses[0]!.readInt16BE(2)).toBe(3);

    const execute = client(
      session,
      requestFrame(
        Opcode.EXECUTE,
        9,
        Buffer.concat([Buffer.from([0, 16]), id, Buffer.from([0, 1, 0])]),
      ),
    );
    a.answer(errorOf({ code: ErrorCode.UNPREPARED, message: 'unknown', id }));
    // The proxy sent the cached PREPARE on the same connection...
    expect(a.sent[0]?.frame.readUInt8(4)).toBe(Opcode.PREPARE);
    expect(a.sent[0]?.frame.subarray(9)).toEqual(prepare.subarray(9));
    a.answer((s) =>
      resultFrame(VERSION, s, {
        kind: ResultKind.PREPARED,
        id,
        metadata: { columns: [], pkIndexes: [] },
        resultMetadata: { columnCount: 0, columns: [] },
      }),
    );
    // ...then the EXECUTE again, and the client only ever sees the result.
    expect(a.sent[0]?.frame.readUInt8(4)).toBe(Opcode.EXECUTE);
    a.answer(voidResult);
    expect(execute.responses).toHaveLength(1);
    expect(execute.responses[0]!.readUInt8(4)).toBe(Opcode.RESULT);
    expect(execute.responses[0]!.readInt16BE(2)).toBe(9);
    expect(metrics.unpreparedRecovered).toBe(1);
  });

  it('prepares on the other nodes in the background once one node prepared', async () => {
    const a = new FakeConnection('a');
    const b = new FakeConnection('b');
    const c = new FakeConnection('c');
    const { session } = await setup([[a], [b], [c]]);
    const id = Buffer.alloc(16, 3);
    const prepare = requestFrame(Opcode.PREPARE, 5, Buffer.from([0, 0, 0, 1, 0x51]));
    const client1 = client(session, prepare);
    a.answer((s) =>
      resultFrame(VERSION, s, {
        kind: ResultKind.PREPARED,
        id,
        metadata: { columns: [], pkIndexes: [] },
        resultMetadata: { columnCount: 0, columns: [] },
      }),
    );
    expect(client1.responses).toHaveLength(1);
    for (const other of [b, c]) {
      expect(other.sent).toHaveLength(1);
      expect(other.sent[0]?.frame.readUInt8(4)).toBe(Opcode.PREPARE);
      expect(other.sent[0]?.frame.subarray(9)).toEqual(prepare.subarray(9));
      other.answer(voidResult); // answers to background prepares go nowhere
    }
    expect(client1.responses).toHaveLength(1);
  });

  it('relays UNPREPARED when the statement is not cached', async () => {
    const a = new FakeConnection('a');
    const { session } = await setup([[a]]);
    const id = Buffer.alloc(16, 7);
    const r = client(session, requestFrame(Opcode.EXECUTE, 2));
    a.answer(errorOf({ code: ErrorCode.UNPREPARED, message: 'unknown', id }));
    expect(decodeError(r.responses[0]!.subarray(9), VERSION)).toMatchObject({
      code: ErrorCode.UNPREPARED,
    });
  });

  it('prepares cached statements on a new connection before it takes traffic', async () => {
    const a = new FakeConnection('a');
    const { session, cache } = await setup([[a]]);
    cache.set(Buffer.alloc(16, 1), requestFrame(Opcode.PREPARE, 0, Buffer.from('x')), '4//');
    cache.set(Buffer.alloc(16, 2), requestFrame(Opcode.PREPARE, 0, Buffer.from('y')), 'other');
    const fresh = new FakeConnection('fresh');
    const warming = session.warmUp(fresh);
    expect(fresh.sent.map((s) => s.frame.subarray(9).toString())).toEqual(['x']);
    fresh.answer(voidResult);
    await warming;
  });

  describe('idle sessions', () => {
    /** A pool over one fake connection, filled. */
    async function poolOf(connection: FakeConnection, session: Session): Promise<NodePool> {
      const pool = new NodePool(
        { key: connection.name },
        {
          size: 1,
          backoff: { baseMs: 10_000, maxMs: 10_000 },
          logger: silentLogger(),
          warmUp: (c) => session.warmUp(c),
          connect: () => Promise.resolve(connection),
        },
      );
      await pool.fill();
      return pool;
    }

    it('close their connections when idle and reopen them for the next request', async () => {
      const first = new FakeConnection('first');
      const second = new FakeConnection('second');
      let reopened = 0;
      const { session } = await setup([[first]], {
        reopen: async (s) => {
          reopened++;
          return [await poolOf(second, s)];
        },
      });
      const busy = client(session, requestFrame(Opcode.QUERY, 1));
      session.sleep(); // a request in flight: not idle, nothing closes
      expect(session.asleep).toBe(false);
      first.answer(voidResult);
      expect(busy.responses).toHaveLength(1);

      session.sleep();
      expect(session.asleep).toBe(true);
      expect(first.closed).toBe(true);
      expect(session.nodePools).toHaveLength(0);

      // Requests that arrive while the pools reopen wait, then go out in order.
      const a = client(session, requestFrame(Opcode.QUERY, 2));
      const b = client(session, requestFrame(Opcode.QUERY, 3));
      expect(reopened).toBe(1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(session.asleep).toBe(false);
      expect(second.sent).toHaveLength(2);
      second.answer(voidResult);
      second.answer(voidResult);
      expect(a.responses[0]!.readInt16BE(2)).toBe(2);
      expect(b.responses[0]!.readInt16BE(2)).toBe(3);
    });

    it('answer the waiting requests with an error when the cluster cannot be reached, and try again later', async () => {
      const first = new FakeConnection('first');
      let attempts = 0;
      const { session } = await setup([[first]], {
        reopen: () => {
          attempts++;
          return Promise.reject(new Error('no node of the cluster accepted a connection'));
        },
      });
      session.sleep();
      const r = client(session, requestFrame(Opcode.QUERY, 4));
      await new Promise((resolve) => setImmediate(resolve));
      const err = decodeError(r.responses[0]!.subarray(9), VERSION);
      expect(err.code).toBe(ErrorCode.SERVER_ERROR);
      expect(err.message).toMatch(/could not reopen connections to the cluster: no node/);
      expect(session.asleep).toBe(true);
      client(session, requestFrame(Opcode.QUERY, 5));
      expect(attempts).toBe(2);
    });

    it('never sleep without a way to reopen', async () => {
      const first = new FakeConnection('first');
      const { session } = await setup([[first]]);
      session.sleep();
      expect(session.asleep).toBe(false);
      expect(first.closed).toBe(false);
    });
  });

  it('answers a request that gets no response with a timeout error', async () => {
    const a = new FakeConnection('a');
    const { session, timeouts: t } = await setup([[a]], { timeoutMs: 1000 });
    const r = client(session, requestFrame(Opcode.QUERY, 11));
    t.sweep(Date.now() + 900);
    expect(r.responses).toHaveLength(0);
    t.sweep(Date.now() + 1001);
    const err = decodeError(r.responses[0]!.subarray(9), VERSION);
    expect(err.message).toMatch(/timed out after 1000 ms/);
    expect(r.responses[0]!.readInt16BE(2)).toBe(11);
    a.answer(voidResult); // the late answer is dropped
    expect(r.responses).toHaveLength(1);
  });

  it('fails fast when no node has a connection', async () => {
    const a = new FakeConnection('a');
    const { session } = await setup([[a]]);
    for (const p of session.nodePools) p.close();
    session.setPools(session.nodePools);
    const r = client(session, requestFrame(Opcode.QUERY, 1));
    expect(decodeError(r.responses[0]!.subarray(9), VERSION).message).toMatch(
      /no connection to any node/,
    );
  });
});
