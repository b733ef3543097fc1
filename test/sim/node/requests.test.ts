// Statements on a ready connection: what reaches the engine (context, options), what comes back
// (RESULT kinds, SKIP_METADATA, v5 result metadata ids), per-node prepared caches and UNPREPARED.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchType,
  ErrorCode,
  HeaderFlag,
  Opcode,
  ResultKind,
} from '../../../src/protocol/constants.js';
import { encodeBatch } from '../../../src/protocol/messages/batch.js';
import { encodeExecute } from '../../../src/protocol/messages/execute.js';
import { encodePrepare } from '../../../src/protocol/messages/prepare.js';
import { encodeQuery } from '../../../src/protocol/messages/query.js';
import type { PreparedResult } from '../../../src/protocol/messages/result.js';
import { CqlWriter } from '../../../src/protocol/writer.js';
import { decodeInt, decodeText, decodeUuid, encodeInt } from '../../../src/protocol/values.js';
import type { NodeIdentity } from '../../../sim/engine/contract.js';
import type { RawClient } from './raw-client.js';
import { errorOf, requestFrame, resultOf } from './raw-client.js';
import { handshake, startTestNode } from './fixture.js';
import type { TestNode } from './fixture.js';
import { createStubEngine } from './stub-engine.js';

const engine = createStubEngine();
let a: TestNode;
let b: TestNode;
let v5: TestNode;
const peer: NodeIdentity = {
  hostId: randomUUID(),
  address: '127.0.0.9',
  port: 9042,
  dataCenter: 'dc1',
  rack: 'rack1',
  token: '1',
};

beforeAll(async () => {
  // Two nodes over one engine, as in the simulator: they share data but not prepared caches.
  a = await startTestNode({ engine, cluster: { peers: () => [peer] } });
  b = await startTestNode({ engine });
  v5 = await startTestNode({ engine, protocolVersions: [4, 5] });
});

afterAll(async () => {
  for (const n of [a, b, v5]) await n.node.stop();
});

async function ready(node: TestNode, version = 4): Promise<RawClient> {
  const client = await node.connect();
  await handshake(client, version);
  return client;
}

async function prepare(client: RawClient, version: number, query: string): Promise<PreparedResult> {
  client.request(version, Opcode.PREPARE, encodePrepare(version, { query }), 50);
  const result = resultOf(await client.next());
  if (result.kind !== ResultKind.PREPARED) throw new Error('not PREPARED');
  return result;
}

describe('QUERY', () => {
  it('hands the engine this node, its peers, the keyspace and the version', async () => {
    const client = await ready(a);
    client.query(4, 'SELECT * FROM system.local', 1);
    const result = resultOf(await client.next());
    expect(result.kind).toBe(ResultKind.ROWS);
    if (result.kind !== ResultKind.ROWS) return;
    expect(decodeUuid(result.rows[0]![1]!)).toBe(a.node.identity.hostId);
    client.query(4, 'SELECT * FROM system.peers', 2);
    const peers = resultOf(await client.next());
    if (peers.kind !== ResultKind.ROWS) throw new Error('rows expected');
    expect(peers.rows.map((r) => decodeUuid(r[1]!))).toEqual([peer.hostId]);
    const call = engine.calls.at(-1)!;
    expect(call.context).toMatchObject({ node: a.node.identity, protocolVersion: 4 });
    expect(call.context.keyspace).toBeUndefined();
    client.close();
  });

  it('passes the query parameters through', async () => {
    const client = await ready(a);
    const pagingState = Buffer.from('cafe', 'hex');
    client.request(
      4,
      Opcode.QUERY,
      encodeQuery(4, 'SELECT echo', {
        consistency: 0x0004,
        values: [encodeInt(7), null],
        pageSize: 100,
        pagingState,
        serialConsistency: 0x0009,
        defaultTimestamp: 123n,
      }),
      1,
    );
    await client.next();
    expect(engine.calls.at(-1)!.options).toEqual({
      consistency: 0x0004,
      values: [encodeInt(7), null],
      pageSize: 100,
      pagingState,
      serialConsistency: 0x0009,
      timestamp: 123n,
    });
    client.close();
  });

  it('USE changes the keyspace of that connection only', async () => {
    const first = await ready(a);
    const second = await ready(a);
    first.query(4, 'USE ks1', 1);
    const set = resultOf(await first.next());
    expect(set).toEqual({ kind: ResultKind.SET_KEYSPACE, keyspace: 'ks1' });
    first.query(4, 'SELECT keyspace', 2);
    second.query(4, 'SELECT keyspace', 2);
    const [r1, r2] = [resultOf(await first.next()), resultOf(await second.next())];
    if (r1.kind !== ResultKind.ROWS || r2.kind !== ResultKind.ROWS) throw new Error('rows');
    expect(decodeText(r1.rows[0]![0]!)).toBe('ks1');
    expect(r2.rows[0]![0]).toBeNull();
    first.close();
    second.close();
  });

  it('answers engine errors with their ERROR, on the stream, keeping the connection', async () => {
    const client = await ready(a);
    client.query(4, 'SELECT * FROM system.peers_v2', 77);
    const frame = await client.next();
    expect(frame.header.streamId).toBe(77);
    expect(errorOf(frame)).toEqual({
      code: ErrorCode.INVALID,
      message: 'unconfigured table peers_v2',
    });
    client.query(4, 'BOGUS', 78);
    expect(errorOf(await client.next()).code).toBe(ErrorCode.SYNTAX_ERROR);
    client.query(4, 'SELECT keyspace', 79);
    expect(resultOf(await client.next()).kind).toBe(ResultKind.ROWS);
    client.close();
  });

  it('honours SKIP_METADATA on QUERY', async () => {
    const client = await ready(a);
    client.request(
      4,
      Opcode.QUERY,
      encodeQuery(4, 'SELECT keyspace', { consistency: 1, skipMetadata: true }),
      1,
    );
    const result = resultOf(await client.next());
    if (result.kind !== ResultKind.ROWS) throw new Error('rows');
    expect(result.metadata.columns).toBeUndefined();
    expect(result.metadata.columnCount).toBe(1);
    client.close();
  });

  it('skips a custom payload in front of the message (flag 0x04)', async () => {
    const client = await ready(a);
    const payload = new CqlWriter(32).writeBytesMap(new Map([['k', Buffer.from('v')]])).finish();
    const body = Buffer.concat([payload, encodeQuery(4, 'SELECT keyspace', { consistency: 1 })]);
    client.request(4, Opcode.QUERY, body, 3, HeaderFlag.CUSTOM_PAYLOAD);
    expect(resultOf(await client.next()).kind).toBe(ResultKind.ROWS);
    client.close();
  });

  it('answers many requests in flight, each on its own stream', async () => {
    const client = await ready(a);
    const frames = Array.from({ length: 500 }, (_, i) =>
      requestFrame(4, Opcode.QUERY, encodeQuery(4, 'SELECT keyspace', { consistency: 1 }), i),
    );
    client.write(Buffer.concat(frames));
    const answers = await client.nextFrames(500);
    expect(answers.map((f) => f.header.streamId)).toEqual(frames.map((_, i) => i));
    client.close();
  });

  it('answers STARTUP and AUTH_RESPONSE on a ready connection with protocol errors', async () => {
    const client = await ready(a);
    client.startup(4, {}, 4);
    expect(errorOf(await client.next()).message).toBe(
      'Unexpected message STARTUP, the connection is already initialized',
    );
    client.authenticate(4, 'token', 'x', 5);
    expect(errorOf(await client.next()).code).toBe(ErrorCode.PROTOCOL_ERROR);
    client.close();
  });
});

describe('PREPARE and EXECUTE', () => {
  it('PREPARED carries the variables, the pk indexes and the result columns (v4)', async () => {
    const client = await ready(a);
    const prepared = await prepare(client, 4, 'SELECT echo ?');
    expect(prepared.id).toEqual(engine.preparedInfo(prepared.id)!.id);
    expect(prepared.resultMetadataId).toBeUndefined();
    expect(prepared.metadata.pkIndexes).toEqual([0]);
    expect(prepared.metadata.columns.map((c) => c.name)).toEqual(['v0']);
    expect(prepared.resultMetadata.columns?.map((c) => c.name)).toEqual(['v']);
    client.close();
  });

  it('v3 PREPARED has no pk indexes; INSERT has no result columns (No_metadata)', async () => {
    const client = await a.connect();
    await handshake(client, 3);
    const prepared = await prepare(client, 3, 'INSERT ?');
    expect(prepared.metadata.pkIndexes).toEqual([]);
    expect(prepared.resultMetadata).toEqual({ columnCount: 0 });
    client.close();
  });

  it('EXECUTE runs the prepared statement, honouring SKIP_METADATA', async () => {
    const client = await ready(a);
    const { id } = await prepare(client, 4, 'SELECT echo ?');
    client.request(
      4,
      Opcode.EXECUTE,
      encodeExecute(4, {
        id,
        parameters: { consistency: 6, values: [encodeInt(42)], skipMetadata: true },
      }),
      9,
    );
    const result = resultOf(await client.next());
    if (result.kind !== ResultKind.ROWS) throw new Error('rows');
    expect(result.metadata.columns).toBeUndefined();
    expect(decodeInt(result.rows[0]![0]!)).toBe(42);
    client.close();
  });

  it('EXECUTE of an id prepared only on another node gets UNPREPARED, then works once prepared there', async () => {
    const onA = await ready(a);
    const onB = await ready(b);
    const { id } = await prepare(onA, 4, 'SELECT echo ? -- node b test');
    const execute = encodeExecute(4, {
      id,
      parameters: { consistency: 6, values: [encodeInt(1)] },
    });
    onB.request(4, Opcode.EXECUTE, execute, 12);
    const frame = await onB.next();
    expect(frame.header.streamId).toBe(12);
    const error = errorOf(frame);
    expect(error.code).toBe(ErrorCode.UNPREPARED);
    expect(error).toMatchObject({ id });
    expect(error.message).toContain(id.toString('hex'));
    // What drivers do next: prepare on that node, execute again.
    await prepare(onB, 4, 'SELECT echo ? -- node b test');
    onB.request(4, Opcode.EXECUTE, execute, 13);
    expect(resultOf(await onB.next()).kind).toBe(ResultKind.ROWS);
    onA.close();
    onB.close();
  });

  it('forgetPrepared() makes the next EXECUTE on that node UNPREPARED', async () => {
    const client = await ready(a);
    const { id } = await prepare(client, 4, 'INSERT ? -- forget');
    const execute = encodeExecute(4, {
      id,
      parameters: { consistency: 6, values: [encodeInt(1)] },
    });
    client.request(4, Opcode.EXECUTE, execute, 1);
    expect(resultOf(await client.next()).kind).toBe(ResultKind.VOID);
    a.node.forgetPrepared();
    client.request(4, Opcode.EXECUTE, execute, 2);
    expect(errorOf(await client.next()).code).toBe(ErrorCode.UNPREPARED);
    client.close();
  });

  it('BATCH with an id this node never prepared gets UNPREPARED; with known ids it runs', async () => {
    const onA = await ready(a);
    const onB = await ready(b);
    const { id } = await prepare(onA, 4, 'INSERT ? -- batch');
    const batch = encodeBatch(4, {
      type: BatchType.LOGGED,
      statements: [
        { kind: 'query', query: 'INSERT 1', values: [] },
        { kind: 'prepared', id, values: [encodeInt(5)] },
      ],
      consistency: 6,
    });
    onB.request(4, Opcode.BATCH, batch, 3);
    expect(errorOf(await onB.next())).toMatchObject({ code: ErrorCode.UNPREPARED, id });
    onA.request(4, Opcode.BATCH, batch, 4);
    expect(resultOf(await onA.next()).kind).toBe(ResultKind.VOID);
    const call = engine.calls.at(-1)!;
    expect(call.method).toBe('batch');
    expect(call.children).toEqual([
      { kind: 'query', query: 'INSERT 1', values: [] },
      { kind: 'prepared', id, values: [encodeInt(5)] },
    ]);
    expect(call.options).toEqual({ consistency: 6, values: [] });
    onA.close();
    onB.close();
  });
});

describe('v5 result metadata ids', () => {
  it('PREPARED carries the result metadata id; a stale id in EXECUTE gets Metadata_changed', async () => {
    const client = await v5.connect();
    await handshake(client, 5);
    const prepared = await prepare(client, 5, 'SELECT echo ? -- v5');
    const current = engine.preparedInfo(prepared.id)!.resultMetadataId;
    expect(prepared.resultMetadataId).toEqual(current);

    const execute = (resultMetadataId: Buffer, stream: number): void =>
      client.request(
        5,
        Opcode.EXECUTE,
        encodeExecute(5, {
          id: prepared.id,
          resultMetadataId,
          parameters: { consistency: 6, values: [encodeInt(3)], skipMetadata: true },
        }),
        stream,
      );
    execute(current, 1);
    const same = resultOf(await client.next());
    if (same.kind !== ResultKind.ROWS) throw new Error('rows');
    expect(same.metadata.columns).toBeUndefined();
    expect(same.metadata.newMetadataId).toBeUndefined();

    execute(Buffer.from('00112233445566778899aabbccddeeff', 'hex'), 2);
    const changed = resultOf(await client.next());
    if (changed.kind !== ResultKind.ROWS) throw new Error('rows');
    expect(changed.metadata.newMetadataId).toEqual(current);
    expect(changed.metadata.columns?.map((c) => c.name)).toEqual(['v']);
    client.close();
  });

  it('PREPARE with a keyspace (v5 flag) prepares in that keyspace', async () => {
    const client = await v5.connect();
    await handshake(client, 5);
    client.request(
      5,
      Opcode.PREPARE,
      encodePrepare(5, { query: 'SELECT keyspace', keyspace: 'other' }),
      1,
    );
    resultOf(await client.next());
    expect(engine.calls.at(-1)).toMatchObject({ method: 'prepare' });
    expect(engine.calls.at(-1)!.context.keyspace).toBe('other');
    client.close();
  });
});
