// Warm-up never delays live requests more than necessary: a new connection prepares only the most
// recently used cached statements (WARM_UP_BEFORE_TRAFFIC) before it takes traffic, and for no
// longer than the request timeout; the older ones follow in the background, most recent first, a
// few at a time, until the connection closes.

import { afterEach, describe, expect, it } from 'vitest';
import { Opcode } from '../../src/protocol/constants.js';
import type { NodePool } from '../../src/upstream/node-pool.js';
import {
  WARM_UP_BACKGROUND_CONCURRENCY,
  WARM_UP_BEFORE_TRAFFIC,
} from '../../src/upstream/warm-up.js';
import {
  FakeConnection,
  client,
  closeSessions,
  recordingLogger,
  requestFrame,
  setupSession,
  until,
  voidResult,
} from './fake-connection.js';

afterEach(closeSessions);

const BACKGROUND_DONE = 'prepared older cached statements on a new connection in the background';

/** The statement numbers of the PREPAREs `connection` was sent, in order. */
function statements(connection: FakeConnection): number[] {
  return connection.log.map((f) => f.readUInt16BE(9 + 4));
}

function prepareOf(n: number): Buffer {
  const body = Buffer.alloc(6);
  body.writeInt32BE(2, 0);
  body.writeUInt16BE(n, 4);
  return requestFrame(Opcode.PREPARE, 0, body);
}

/** Answers what `connection` has in flight, turn after turn, until `done()` (5 s at most). */
async function answerUntil(connection: FakeConnection, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out answering the warm-up');
    if (connection.inFlight > 0) connection.answer(voidResult);
    else await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('warm-up of a new connection', () => {
  it('prepares the most recent statements before traffic, the rest in the background', async () => {
    const log = recordingLogger();
    const { session, cache } = await setupSession([[new FakeConnection('a')]], {
      logger: log.logger,
    });
    const total = WARM_UP_BEFORE_TRAFFIC + 40;
    for (let n = 0; n < total; n++) {
      const id = Buffer.alloc(16);
      id.writeUInt16BE(n, 0);
      cache.set(id, prepareOf(n), session.key);
    }
    const fresh = new FakeConnection('fresh', 1000);
    let ready = false;
    const warming = session.warmUp(fresh).then(() => {
      ready = true;
    });
    await answerUntil(fresh, () => ready);
    await warming;
    // Before traffic: exactly the most recently used ones, most recent first.
    const before = statements(fresh).slice(0, WARM_UP_BEFORE_TRAFFIC);
    expect(before).toEqual(Array.from({ length: WARM_UP_BEFORE_TRAFFIC }, (_, i) => total - 1 - i));
    // The background replay has begun, a few at a time.
    await until(() => fresh.inFlight === WARM_UP_BACKGROUND_CONCURRENCY, 'the background replay');
    expect(statements(fresh)).toHaveLength(WARM_UP_BEFORE_TRAFFIC + WARM_UP_BACKGROUND_CONCURRENCY);
    // Answer some, then the connection closes: the replay stops there.
    for (let i = 0; i < 6; i++) {
      fresh.answer(voidResult);
      await until(
        () => fresh.inFlight === WARM_UP_BACKGROUND_CONCURRENCY,
        'the next background PREPARE',
      );
    }
    fresh.close();
    await until(() => log.lines().some((l) => l.msg === BACKGROUND_DONE), 'the replay to stop');
    const sent = statements(fresh);
    expect(sent.slice(WARM_UP_BEFORE_TRAFFIC)).toEqual(
      Array.from({ length: 6 + WARM_UP_BACKGROUND_CONCURRENCY }, (_, i) => 39 - i),
    );
    expect(log.lines().find((l) => l.msg === BACKGROUND_DONE)).toMatchObject({
      statements: 40,
      prepared: 6,
    });
  });

  it('replays everything in the background to its end while the connection serves', async () => {
    const log = recordingLogger();
    const { session, cache } = await setupSession([[new FakeConnection('a')]], {
      logger: log.logger,
    });
    const total = WARM_UP_BEFORE_TRAFFIC + 9;
    for (let n = 0; n < total; n++) {
      const id = Buffer.alloc(16);
      id.writeUInt16BE(n, 0);
      cache.set(id, prepareOf(n), session.key);
    }
    const fresh = new FakeConnection('fresh', 1000);
    const warming = session.warmUp(fresh);
    await answerUntil(fresh, () => log.lines().some((l) => l.msg === BACKGROUND_DONE));
    await warming;
    expect(new Set(statements(fresh)).size).toBe(total);
    expect(log.lines().find((l) => l.msg === BACKGROUND_DONE)).toMatchObject({ prepared: 9 });
  });

  it('lets the connection take traffic after the request timeout even if the node never answers', async () => {
    const first = new FakeConnection('first');
    const silent = new FakeConnection('silent', 1000);
    const { session, cache, pools } = await setupSession([[first]], {
      timeoutMs: 30,
      spares: [[silent]],
    });
    cache.set(Buffer.alloc(16, 1), prepareOf(1), session.key);
    // The pool loses its connection and opens the silent one, which never answers the PREPARE.
    const pool: NodePool = pools[0]!;
    first.close();
    pool.reconnectNow();
    await until(() => pool.available && silent.log.length > 0, 'the new connection');
    const r = client(session, requestFrame(Opcode.QUERY, 9));
    expect(silent.log.at(-1)!.readUInt8(4)).toBe(Opcode.QUERY);
    silent.answerStream(silent.sent.at(-1)!.streamId, voidResult);
    expect(r.responses[0]!.readUInt8(4)).toBe(Opcode.RESULT);
  });
});
