// Backpressure on a node's connections, with real sockets: a client that pipelines large SELECTs
// and reads nothing stops being read once MAX_QUEUED_BYTES of answers wait for it; what the node
// holds for it stays within that bound plus one answer; other clients are served meanwhile; and
// once it reads, every answer arrives whole and in order. Likewise for delayed fault answers, for
// requests held by delays, and for EVENTs pushed to such a client. Oversized frames are refused
// as Cassandra refuses them.
//
// Waits are bounded polls of the node's own figures (connectionStats()), never fixed sleeps.

import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  EventType,
  HEADER_LENGTH,
  Opcode,
  ResultKind,
} from '../../../src/protocol/constants.js';
import { encodeHeader } from '../../../src/protocol/header.js';
import { encodeOptions } from '../../../src/protocol/messages/options.js';
import { encodeQuery } from '../../../src/protocol/messages/query.js';
import { encodeRegister } from '../../../src/protocol/messages/register.js';
import { encodeText } from '../../../src/protocol/values.js';
import { MAX_DELAYED_BYTES, MAX_QUEUED_BYTES } from '../../../sim/node/connection.js';
import type { ConnectionStats } from '../../../sim/node/connection.js';
import { handshake, startTestNode } from './fixture.js';
import type { TestNode } from './fixture.js';
import { errorOf, requestFrame, resultOf } from './raw-client.js';
import type { ReceivedFrame, RawClient } from './raw-client.js';

/** One answer's value: large enough that a few dozen fill every buffer on the way. */
const VALUE_BYTES = 200_000;
/** 30 MB of answers: more than the node's bound plus the kernel's socket buffers on loopback. */
const REQUESTS = 150;
/** Bound plus one answer (the one being produced when the bound is crossed) plus frame overhead. */
const QUEUE_CEILING = MAX_QUEUED_BYTES + VALUE_BYTES + 64 * 1024;
/** STARTUP and AUTH_RESPONSE. */
const HANDSHAKE_FRAMES = 2;
const READ_ALL_MS = 20_000;

const nodes: TestNode[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const node of nodes.splice(0)) await node.node.stop();
});

async function startNode(overrides: Parameters<typeof startTestNode>[0] = {}): Promise<TestNode> {
  const node = await startTestNode({ protocolVersions: [3, 4, 5], ...overrides });
  nodes.push(node);
  return node;
}

async function readyClient(node: TestNode, version: number): Promise<RawClient> {
  const client = await node.connect();
  clients.push(client);
  await handshake(client, version);
  return client;
}

/** The node's figures for this client's connection. */
function statsOf(node: TestNode, client: RawClient): ConnectionStats | undefined {
  const port = client.socket.localPort;
  return node.node.connectionStats().find((s) => s.remote.endsWith(`:${port}`));
}

/** Polls every 10 ms, at most 1000 times, until `probe` returns something. */
async function eventually<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`not within 10 s: ${what}`);
}

/** Polls until backpressure holds this client's connection; returns its figures then. */
function backpressured(node: TestNode, client: RawClient): Promise<ConnectionStats> {
  return eventually('connection held back by backpressure', () => {
    const stats = statsOf(node, client);
    return stats?.backpressured === true ? stats : undefined;
  });
}

function bigQuery(version: number, streamId: number): Buffer {
  const body = encodeQuery(version, `SELECT big ${VALUE_BYTES}`, { consistency: 1 });
  return requestFrame(version, Opcode.QUERY, body, streamId);
}

/** The single text cell of a `SELECT big` answer, checked whole. */
function expectWholeValue(frame: ReceivedFrame): void {
  const result = resultOf(frame);
  if (result.kind !== ResultKind.ROWS) throw new Error('rows expected');
  expect(result.rows).toHaveLength(1);
  expect(result.rows[0]![0]!.equals(encodeText('x'.repeat(VALUE_BYTES)))).toBe(true);
}

function streamIds(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

describe.each([4, 5])('v%i: a client that reads none of its answers', (version) => {
  it('stops being read, within the bound; others are served; then it gets every answer in order', async () => {
    const node = await startNode();
    const hog = await readyClient(node, version);
    hog.socket.pause();
    // Every request in one write: the node reads them all at once and must stop between them.
    hog.send(...streamIds(100, REQUESTS).map((id) => bigQuery(version, id)));

    const stalled = await backpressured(node, hog);
    expect(stalled.readingPaused).toBe(true);
    expect(stalled.requests).toBeLessThan(HANDSHAKE_FRAMES + REQUESTS);
    // Requests read from the socket but not handled: the node stopped between frames.
    expect(stalled.heldRequestBytes).toBeGreaterThan(0);
    expect(stalled.queuedBytes).toBeLessThanOrEqual(QUEUE_CEILING);

    // Another client of the same node gets its answers meanwhile.
    const other = await readyClient(node, version);
    other.send(bigQuery(version, 7));
    const answer = await other.next();
    expect(answer.header.streamId).toBe(7);
    expectWholeValue(answer);

    const still = await backpressured(node, hog);
    expect(still.requests).toBeLessThan(HANDSHAKE_FRAMES + REQUESTS);
    expect(still.queuedBytes).toBeLessThanOrEqual(QUEUE_CEILING);
    expect(still.peakQueuedBytes).toBeLessThanOrEqual(QUEUE_CEILING);
    expect(still.peakQueuedBytes).toBeGreaterThan(MAX_QUEUED_BYTES);

    hog.socket.resume();
    const answers = await hog.nextFrames(REQUESTS, READ_ALL_MS);
    expect(answers.map((f) => f.header.streamId)).toEqual(streamIds(100, REQUESTS));
    for (const frame of answers) expectWholeValue(frame);

    const after = statsOf(node, hog)!;
    expect(after.requests).toBe(HANDSHAKE_FRAMES + REQUESTS);
    expect(after.heldRequestBytes).toBe(0);
    expect(after.backpressurePauses).toBeGreaterThanOrEqual(1);
    expect(after.peakQueuedBytes).toBeLessThanOrEqual(QUEUE_CEILING);
    expect(after.readingPaused).toBe(false);
  }, 30_000);
});

describe('delayed fault answers', () => {
  it('wait for room like the others once their delay is over', async () => {
    const node = await startNode();
    node.node.faults.add({ match: 'SELECT big', delayMs: 50 });
    const hog = await readyClient(node, 4);
    hog.socket.pause();
    hog.send(...streamIds(1, REQUESTS).map((id) => bigQuery(4, id)));

    // Delays over, answers produced up to the bound: the rest wait for room.
    const stalled = await eventually('delayed answers waiting for room', () => {
      const stats = statsOf(node, hog);
      return stats?.backpressured === true &&
        stats.delayedAnswers > 0 &&
        stats.delayedAnswers < REQUESTS
        ? stats
        : undefined;
    });
    expect(stalled.queuedBytes).toBeLessThanOrEqual(QUEUE_CEILING);

    hog.socket.resume();
    const answers = await hog.nextFrames(REQUESTS, READ_ALL_MS);
    expect(answers.map((f) => f.header.streamId).sort((a, b) => a - b)).toEqual(
      streamIds(1, REQUESTS),
    );
    for (const frame of answers) expectWholeValue(frame);
    const after = statsOf(node, hog)!;
    expect(after.delayedAnswers).toBe(0);
    expect(after.peakQueuedBytes).toBeLessThanOrEqual(QUEUE_CEILING);
  }, 30_000);

  it('stop reading while the requests they hold exceed the bound', async () => {
    const node = await startNode();
    node.node.faults.add({ match: 'INSERT', delayMs: 500 });
    const client = await readyClient(node, 4);
    const valueBytes = 100_000;
    // Twice the bound of request bytes, every request delayed; this client reads its answers.
    const count = Math.ceil((2 * MAX_DELAYED_BYTES) / valueBytes);
    const insert = `INSERT ${'v'.repeat(valueBytes)}`;
    client.send(
      ...streamIds(1, count).map((id) =>
        requestFrame(4, Opcode.QUERY, encodeQuery(4, insert, { consistency: 1 }), id),
      ),
    );
    const stalled = await backpressured(node, client);
    // Only the requests that fit in the bound (plus the one that crossed it) are waiting.
    expect(stalled.delayedAnswers).toBeLessThanOrEqual(MAX_DELAYED_BYTES / valueBytes + 1);
    expect(stalled.delayedAnswers).toBeLessThan(count);

    const answers = await client.nextFrames(count, READ_ALL_MS);
    expect(answers.map((f) => f.header.streamId).sort((a, b) => a - b)).toEqual(
      streamIds(1, count),
    );
    for (const frame of answers) expect(resultOf(frame).kind).toBe(ResultKind.VOID);
    expect(statsOf(node, client)!.backpressurePauses).toBeGreaterThanOrEqual(1);
  }, 30_000);
});

describe('EVENTs', () => {
  it('are dropped for a client that far behind, and counted', async () => {
    const node = await startNode();
    const hog = await readyClient(node, 4);
    hog.request(4, Opcode.REGISTER, encodeRegister([EventType.SCHEMA_CHANGE]), 2);
    expect((await hog.next()).header.opcode).toBe(Opcode.READY);
    hog.socket.pause();
    hog.send(...streamIds(100, REQUESTS).map((id) => bigQuery(4, id)));
    await backpressured(node, hog);

    // Pushed until one is dropped: while the node's queue is still over the bound with a drain to
    // come, none is queued.
    let sent = 0;
    const dropped = await eventually('an EVENT dropped', () => {
      node.node.sendEvent({
        type: EventType.SCHEMA_CHANGE,
        change: { changeType: 'CREATED', target: 'KEYSPACE', keyspace: `ks${sent}` },
      });
      sent += 1;
      const stats = statsOf(node, hog)!;
      return stats.droppedEvents > 0 ? stats : undefined;
    });
    expect(dropped.queuedBytes).toBeLessThanOrEqual(QUEUE_CEILING);

    hog.socket.resume();
    const frames: ReceivedFrame[] = [];
    let results = 0;
    for (let i = 0; i < REQUESTS + sent && results < REQUESTS; i++) {
      const frame = await hog.next(READ_ALL_MS);
      frames.push(frame);
      if (frame.header.opcode === Opcode.RESULT) results += 1;
    }
    const answers = frames.filter((f) => f.header.opcode === Opcode.RESULT);
    expect(answers.map((f) => f.header.streamId)).toEqual(streamIds(100, REQUESTS));
    // What was not dropped arrives (before the last answer; none after it).
    const events = frames.filter((f) => f.header.opcode === Opcode.EVENT).length;
    const after = statsOf(node, hog)!;
    expect(events + after.droppedEvents).toBe(sent);
    expect(hog.pending).toBe(0);
  }, 30_000);
});

describe('frames over the limit', () => {
  const LIMIT = 64 * 1024;

  /** A QUERY header declaring a frame of `length` bytes, header included. */
  function oversizedHeader(version: number, streamId: number, length: number): Buffer {
    return encodeHeader({
      version,
      response: false,
      flags: 0,
      streamId,
      opcode: Opcode.QUERY,
      bodyLength: length - HEADER_LENGTH,
    });
  }

  it('v4: skipped, refused on their stream with "Request is too big", the connection kept', async () => {
    const node = await startNode({ maxFrameLength: LIMIT });
    const client = await readyClient(node, 4);
    const length = LIMIT + 1;
    const body = Buffer.alloc(length - HEADER_LENGTH, 0x41);
    // In three writes, the last one with the next request behind the skipped bytes.
    client.write(Buffer.concat([oversizedHeader(4, 9, length), body.subarray(0, 1000)]));
    client.write(body.subarray(1000, 40_000));
    client.write(
      Buffer.concat([body.subarray(40_000), requestFrame(4, Opcode.OPTIONS, encodeOptions(), 10)]),
    );
    const refusal = await client.next();
    expect(refusal.header.streamId).toBe(9);
    expect(errorOf(refusal)).toEqual({
      code: ErrorCode.INVALID,
      message: `Request is too big: length ${length} exceeds maximum allowed length ${LIMIT}.`,
    });
    const next = await client.next();
    expect(next.header).toMatchObject({ streamId: 10, opcode: Opcode.SUPPORTED });
    expect(client.isOpen).toBe(true);
    expect(statsOf(node, client)!.heldRequestBytes).toBe(0);
  });

  it('v5: fatal inside segments (ERROR 0x000A, then closed)', async () => {
    const node = await startNode({ maxFrameLength: LIMIT });
    const client = await readyClient(node, 5);
    client.send(
      requestFrame(
        5,
        Opcode.QUERY,
        encodeQuery(5, `INSERT ${'v'.repeat(LIMIT)}`, { consistency: 1 }),
        3,
      ),
    );
    const refusal = await client.next();
    expect(errorOf(refusal).code).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(errorOf(refusal).message).toMatch(/exceeds the limit of 65536/);
    await client.waitClosed();
  });

  it('a frame declaring 256 MiB holds only the bytes that arrived', async () => {
    const node = await startNode();
    const client = await readyClient(node, 4);
    const declared = 256 * 1024 * 1024;
    client.write(Buffer.concat([oversizedHeader(4, 4, declared), Buffer.alloc(1000)]));
    const held = await eventually('the bytes sent held by the node', () => {
      const stats = statsOf(node, client);
      return stats !== undefined && stats.heldRequestBytes >= HEADER_LENGTH + 1000
        ? stats.heldRequestBytes
        : undefined;
    });
    expect(held).toBe(HEADER_LENGTH + 1000);
  });
});
