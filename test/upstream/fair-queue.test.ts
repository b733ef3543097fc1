// The wait queue is fair between clients: when every stream id is taken, waiting requests are
// served round robin by owner (the client connection), and a full queue makes the client with the
// most requests waiting give up its newest one, not refuse the client that waits least. Fake
// connections with a single stream id make the queue fill deterministically.

import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Opcode } from '../../src/protocol/constants.js';
import { decodeError } from '../../src/protocol/messages/error.js';
import {
  FakeConnection,
  VERSION,
  client,
  closeSessions,
  requestFrame,
  setupSession,
  until,
  voidResult,
  type Client,
} from './fake-connection.js';

afterEach(closeSessions);

const NO_RETRY = { idempotent: false };

/** The client stream ids of the frames `connection` was sent, in order. */
function order(connection: FakeConnection, from = 0): number[] {
  // The fake records frames with the upstream id patched in; the client's id is in the body.
  return connection.log.slice(from).map((f) => f.readUInt8(9 + 4));
}

/** A QUERY whose one-byte body tells it apart (its client stream id is also `tag`). */
function tagged(tag: number): Buffer {
  return requestFrame(Opcode.QUERY, tag, Buffer.from([0, 0, 0, 1, tag]));
}

function errorCodeOf(c: Client): number | undefined {
  const frame = c.responses[0];
  return frame === undefined ? undefined : decodeError(frame.subarray(9), VERSION).code;
}

describe('the wait queue', () => {
  it('serves waiting requests round robin by owner', async () => {
    const conn = new FakeConnection('a', 1);
    const { session } = await setupSession([[conn]], { maxQueued: 100 });
    const flooder = {};
    const other = {};
    const quiet = {};
    // The flooder takes the only stream id and queues ten more; then two clients ask once each.
    for (let i = 0; i <= 10; i++) client(session, tagged(i), { owner: flooder });
    client(session, tagged(50), { owner: other });
    client(session, tagged(60), { owner: quiet });
    // Requests without an owner share one turn.
    client(session, tagged(70));
    client(session, tagged(71));
    expect(order(conn)).toEqual([0]);
    while (conn.inFlight > 0) conn.answer(voidResult);
    expect(order(conn)).toEqual([0, 1, 50, 60, 70, 2, 71, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('when full, takes the newest request of the longest queue for a client with fewer waiting', async () => {
    const conn = new FakeConnection('a', 1);
    const { session, metrics } = await setupSession([[conn]], { maxQueued: 4 });
    const flooder = {};
    const other = {};
    const flood = [0, 1, 2, 3, 4].map((i) => client(session, tagged(i), { owner: flooder }));
    // Queue full (1..4 wait): the flooder's next one is refused, as before.
    const refused = client(session, tagged(5), { owner: flooder });
    expect(errorCodeOf(refused)).toBe(ErrorCode.OVERLOADED);

    // Another client gets in: the flooder's newest waiting request (4) pays for it.
    const first = client(session, tagged(50), { owner: other });
    expect(first.responses).toHaveLength(0);
    expect(errorCodeOf(flood[4]!)).toBe(ErrorCode.OVERLOADED);
    expect(flood[4]!.responses[0]!.readInt16BE(2)).toBe(4);
    // And again (flooder 3 waiting, other 1).
    const second = client(session, tagged(51), { owner: other });
    expect(second.responses).toHaveLength(0);
    expect(errorCodeOf(flood[3]!)).toBe(ErrorCode.OVERLOADED);
    // Now both have two waiting: a fair share each, so the newcomer is the one refused.
    const third = client(session, tagged(52), { owner: other });
    expect(errorCodeOf(third)).toBe(ErrorCode.OVERLOADED);
    expect(metrics.overloaded).toBe(4);

    while (conn.inFlight > 0) conn.answer(voidResult);
    expect(order(conn)).toEqual([0, 1, 50, 2, 51]);
    for (const c of [flood[0]!, flood[1]!, flood[2]!, first, second])
      expect(c.responses[0]!.readUInt8(4)).toBe(Opcode.RESULT);
  });

  it('drops requests that timed out while waiting before refusing anyone', async () => {
    const conn = new FakeConnection('a', 1);
    const { session, timeouts, metrics } = await setupSession([[conn]], {
      maxQueued: 2,
      timeoutMs: 1_000,
    });
    const a = {};
    const b = {};
    const stale = [0, 1, 2].map((i) => client(session, tagged(i), { owner: a }));
    timeouts.sweep(Date.now() + 60_000);
    for (const c of stale)
      expect(decodeError(c.responses[0]!.subarray(9), VERSION).message).toMatch(/timed out/);
    // The queue still holds the two that timed out; they make room without anyone refused.
    const fresh = [10, 11].map((i) => client(session, tagged(i), { owner: b }));
    for (const c of fresh) expect(c.responses).toHaveLength(0);
    expect(metrics.overloaded).toBe(0);
    // The late answer to the request in flight frees the stream id: the fresh ones go out.
    conn.answer(voidResult);
    while (conn.inFlight > 0) conn.answer(voidResult);
    expect(order(conn)).toEqual([0, 10, 11]);
    for (const c of fresh) expect(c.responses[0]!.readUInt8(4)).toBe(Opcode.RESULT);
  });

  it('sends a waiting request as soon as a pool gains a connection', async () => {
    const lost = new FakeConnection('lost', 1);
    const fresh = new FakeConnection('fresh', 1);
    const { session, pools } = await setupSession([[lost]], { spares: [[fresh]] });
    client(session, tagged(0));
    const waiting = client(session, tagged(1), NO_RETRY);
    lost.close(); // the request in flight fails (nowhere to go); the waiting one stays queued
    expect(waiting.responses).toHaveLength(0);
    pools[0]!.reconnectNow();
    await until(() => fresh.log.length === 1, 'the waiting request to go out');
    expect(order(fresh)).toEqual([1]);
  });

  it('still fails everything waiting when the session closes', async () => {
    const conn = new FakeConnection('a', 1);
    const { session } = await setupSession([[conn]], { maxQueued: 10 });
    client(session, tagged(0), { owner: {} });
    const waiting = [1, 2, 3].map((i) => client(session, tagged(i), { owner: { i } }));
    session.close();
    for (const c of waiting)
      expect(decodeError(c.responses[0]!.subarray(9), VERSION).message).toMatch(/shutting down/);
    expect(session.idle).toBe(true);
  });
});
