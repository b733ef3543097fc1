// Fault rules (sim/faults.ts) on their own and as a node applies them before the engine; pausing
// a node's reading; and the node's own backpressure when a client stops reading.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchType,
  Consistency,
  ErrorCode,
  Opcode,
  ResultKind,
} from '../../../src/protocol/constants.js';
import { encodeBatch } from '../../../src/protocol/messages/batch.js';
import { encodeExecute } from '../../../src/protocol/messages/execute.js';
import { encodePrepare } from '../../../src/protocol/messages/prepare.js';
import { encodeQuery } from '../../../src/protocol/messages/query.js';
import {
  FaultRuleError,
  FaultSet,
  faultErrorMessage,
  parseFaultRule,
} from '../../../sim/faults.js';
import type { RawClient } from './raw-client.js';
import { errorOf, requestFrame, resultOf } from './raw-client.js';
import { handshake, startTestNode } from './fixture.js';
import type { TestNode } from './fixture.js';

describe('parseFaultRule', () => {
  it('accepts every field', () => {
    expect(
      parseFaultRule({
        match: 'x',
        error: 'overloaded',
        delayMs: 5,
        closeConnection: false,
        times: 2,
      }),
    ).toEqual({ match: 'x', error: 'overloaded', delayMs: 5, closeConnection: false, times: 2 });
    expect(parseFaultRule({ closeConnection: true })).toEqual({ closeConnection: true });
    expect(parseFaultRule({ delayMs: 0 })).toEqual({ delayMs: 0 });
    expect(parseFaultRule({ error: 'server_error', node: 1 }, ['node'])).toEqual({
      error: 'server_error',
    });
  });

  for (const [what, value] of [
    ['not an object', [1]],
    ['null', null],
    ['an unknown field', { error: 'overloaded', delay: 3 }],
    ['an unknown error', { error: 'meltdown' }],
    ['a non-string match', { match: 3, error: 'overloaded' }],
    ['a negative delay', { delayMs: -1 }],
    ['a fractional delay', { delayMs: 1.5 }],
    ['a huge delay', { delayMs: 10_000_000 }],
    ['zero times', { error: 'overloaded', times: 0 }],
    ['a string closeConnection', { closeConnection: 'yes' }],
    ['no effect at all', { match: 'x' }],
    ['closeConnection false alone', { closeConnection: false }],
  ] as const) {
    it(`refuses ${what}`, () => {
      expect(() => parseFaultRule(value)).toThrow(FaultRuleError);
    });
  }
});

describe('FaultSet', () => {
  it('fires the first matching rule, counts `times`, then drops it', () => {
    const set = new FaultSet();
    set.add({ match: 'users', error: 'overloaded', times: 2 });
    set.add({ error: 'server_error' });
    expect(set.take(['SELECT * FROM ks.users'])?.error).toBe('overloaded');
    expect(set.rules).toEqual([
      { match: 'users', error: 'overloaded', times: 1 },
      { error: 'server_error' },
    ]);
    expect(set.take(['SELECT * FROM ks.users'])?.error).toBe('overloaded');
    expect(set.take(['SELECT * FROM ks.users'])?.error).toBe('server_error');
    expect(set.take(['anything'])?.error).toBe('server_error');
    set.clear();
    expect(set.take(['anything'])).toBeUndefined();
    expect(set.size).toBe(0);
  });

  it('matches any of several query texts (a batch)', () => {
    const set = new FaultSet();
    set.add({ match: 'orders', error: 'write_timeout' });
    expect(set.take(['INSERT INTO a', 'INSERT INTO orders'])).toBeDefined();
    expect(set.take(['INSERT INTO a'])).toBeUndefined();
  });
});

describe('faultErrorMessage', () => {
  it('builds each error with realistic extra fields', () => {
    expect(faultErrorMessage('unavailable', Consistency.LOCAL_QUORUM)).toEqual({
      code: ErrorCode.UNAVAILABLE,
      message: 'Cannot achieve consistency level LOCAL_QUORUM',
      consistency: Consistency.LOCAL_QUORUM,
      required: 2,
      alive: 1,
    });
    expect(faultErrorMessage('read_timeout', Consistency.ALL)).toEqual({
      code: ErrorCode.READ_TIMEOUT,
      message: 'Operation timed out - received only 2 responses.',
      consistency: Consistency.ALL,
      received: 2,
      blockFor: 3,
      dataPresent: false,
    });
    expect(faultErrorMessage('write_timeout', Consistency.ONE)).toEqual({
      code: ErrorCode.WRITE_TIMEOUT,
      message: 'Operation timed out - received only 0 responses.',
      consistency: Consistency.ONE,
      received: 0,
      blockFor: 1,
      writeType: 'SIMPLE',
    });
    expect(faultErrorMessage('overloaded', 1).code).toBe(ErrorCode.OVERLOADED);
    expect(faultErrorMessage('server_error', 1).code).toBe(ErrorCode.SERVER_ERROR);
  });
});

describe('faults on a node', () => {
  const clusterFaults = new FaultSet();
  let node: TestNode;
  let client: RawClient;

  beforeAll(async () => {
    node = await startTestNode({ cluster: { peers: () => [], faults: clusterFaults } });
    client = await node.connect();
    await handshake(client, 4);
  });

  afterAll(async () => {
    client.close();
    await node.node.stop();
  });

  it('answers a matching QUERY with the error, once, before the engine sees it', async () => {
    node.node.faults.add({ match: 'SELECT keyspace', error: 'unavailable', times: 1 });
    const calls = node.engine.calls.length;
    client.query(4, 'SELECT keyspace', 1, { consistency: Consistency.QUORUM });
    expect(errorOf(await client.next())).toEqual(
      faultErrorMessage('unavailable', Consistency.QUORUM),
    );
    expect(node.engine.calls.length).toBe(calls);
    client.query(4, 'SELECT keyspace', 2);
    expect(resultOf(await client.next()).kind).toBe(ResultKind.ROWS);
    client.query(4, 'SELECT * FROM system.local', 3);
    expect(resultOf(await client.next()).kind).toBe(ResultKind.ROWS);
  });

  it('matches EXECUTE by the prepared text, not PREPARE itself', async () => {
    node.node.faults.add({ match: 'echo', error: 'read_timeout', times: 1 });
    client.request(4, Opcode.PREPARE, encodePrepare(4, { query: 'SELECT echo ?' }), 4);
    const prepared = resultOf(await client.next());
    if (prepared.kind !== ResultKind.PREPARED) throw new Error('PREPARED expected');
    client.request(
      4,
      Opcode.EXECUTE,
      encodeExecute(4, {
        id: prepared.id,
        parameters: { consistency: Consistency.LOCAL_QUORUM, values: [null] },
      }),
      5,
    );
    expect(errorOf(await client.next())).toMatchObject({
      code: ErrorCode.READ_TIMEOUT,
      consistency: Consistency.LOCAL_QUORUM,
      received: 1,
      blockFor: 2,
    });
  });

  it('answers a BATCH with a write timeout of type BATCH', async () => {
    node.node.faults.add({ match: 'INSERT', error: 'write_timeout', times: 1 });
    client.request(
      4,
      Opcode.BATCH,
      encodeBatch(4, {
        type: BatchType.LOGGED,
        statements: [{ kind: 'query', query: 'INSERT 1', values: [] }],
        consistency: Consistency.LOCAL_QUORUM,
      }),
      6,
    );
    expect(errorOf(await client.next())).toMatchObject({
      code: ErrorCode.WRITE_TIMEOUT,
      writeType: 'BATCH',
    });
  });

  it("applies cluster-wide rules after the node's own", async () => {
    clusterFaults.add({ match: 'system.local', error: 'overloaded', times: 1 });
    client.query(4, 'SELECT * FROM system.local', 7);
    expect(errorOf(await client.next()).code).toBe(ErrorCode.OVERLOADED);
    expect(clusterFaults.size).toBe(0);
  });

  it('delays a response: later requests overtake it', async () => {
    node.node.faults.add({ match: 'big 10', delayMs: 150, times: 1 });
    client.send(
      requestFrame(4, Opcode.QUERY, encodeQuery(4, 'SELECT big 10', { consistency: 1 }), 20),
      requestFrame(4, Opcode.QUERY, encodeQuery(4, 'SELECT keyspace', { consistency: 1 }), 21),
    );
    const started = Date.now();
    const first = await client.next();
    expect(first.header.streamId).toBe(21);
    const second = await client.next();
    expect(second.header.streamId).toBe(20);
    expect(resultOf(second).kind).toBe(ResultKind.ROWS);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('delays an error', async () => {
    node.node.faults.add({ match: 'big 11', delayMs: 50, error: 'server_error', times: 1 });
    client.query(4, 'SELECT big 11', 30);
    const frame = await client.next();
    expect(frame.header.streamId).toBe(30);
    expect(errorOf(frame).code).toBe(ErrorCode.SERVER_ERROR);
  });

  it('closes the connection without an answer', async () => {
    const victim = await node.connect();
    await handshake(victim, 4);
    node.node.faults.add({ match: 'big 12', closeConnection: true, times: 1 });
    victim.query(4, 'SELECT big 12', 1);
    await victim.waitClosed();
    expect(victim.pending).toBe(0);
    // Other connections live on.
    client.query(4, 'SELECT keyspace', 31);
    expect((await client.next()).header.streamId).toBe(31);
  });
});

/** Frames the node has handled on this client's connection (its connectionStats()). */
function requestsHandled(node: TestNode, client: RawClient): number | undefined {
  const port = client.socket.localPort;
  return node.node.connectionStats().find((s) => s.remote.endsWith(`:${port}`))?.requests;
}

/** Waits (polling, at most 5 s) until the node lists this client's connection. */
async function accepted(node: TestNode, client: RawClient): Promise<void> {
  for (let i = 0; i < 500 && requestsHandled(node, client) === undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(requestsHandled(node, client)).toBe(0);
}

describe('reading paused', () => {
  it('answers nothing while paused, everything once resumed, including new connections', async () => {
    const node = await startTestNode();
    const client = await node.connect();
    await handshake(client, 4);
    node.node.pauseReading();
    expect(node.node.readingPaused).toBe(true);
    const handled = requestsHandled(node, client);
    client.query(4, 'SELECT keyspace', 1);
    const late = await node.connect();
    late.request(4, Opcode.OPTIONS, Buffer.alloc(0), 2);
    // Both requests are in the node's socket buffers (loopback). A connection opened after them
    // being accepted shows the node has been through its sockets since: it handled neither.
    const probe = await node.connect();
    await accepted(node, probe);
    expect(requestsHandled(node, client)).toBe(handled);
    expect(requestsHandled(node, late)).toBe(0);
    expect(client.pending + late.pending).toBe(0);
    node.node.resumeReading();
    expect((await client.next()).header.streamId).toBe(1);
    expect((await late.next()).header.opcode).toBe(Opcode.SUPPORTED);
    client.close();
    late.close();
    probe.close();
    await node.node.stop();
  });
});
