import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { bodyCompressor } from '../../src/protocol/compression.js';
import {
  BatchType,
  Consistency,
  DataType,
  ErrorCode,
  HeaderFlag,
  Opcode,
  ResultKind,
} from '../../src/protocol/constants.js';
import { encodeBatch, decodeBatch } from '../../src/protocol/messages/batch.js';
import { decodeError } from '../../src/protocol/messages/error.js';
import { decodeExecute, encodeExecute } from '../../src/protocol/messages/execute.js';
import { encodePrepare } from '../../src/protocol/messages/prepare.js';
import { decodeQuery, encodeQuery } from '../../src/protocol/messages/query.js';
import { type ResultMessage, decodeResult } from '../../src/protocol/messages/result.js';
import { CqlWriter } from '../../src/protocol/writer.js';
import { decodeInet, decodeText, decodeUuid } from '../../src/protocol/values.js';
import { nameBasedUuid } from '../../src/client/uuids.js';
import { DEFAULT_CLIENT_LIMITS } from '../../src/client/limits.js';
import { BIG_CELL_LENGTH, type FakeSession, MISSING_KEYSPACE_MESSAGE } from './fake-backend.js';
import {
  type TestConnection,
  type TestProxy,
  queryFrame,
  requestFrame,
  startTestProxy,
} from './test-connection.js';

const proxies: TestProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

async function proxy(...args: Parameters<typeof startTestProxy>): Promise<TestProxy> {
  const p = await startTestProxy(...args);
  proxies.push(p);
  return p;
}

function body(frame: Buffer): Buffer {
  return frame.subarray(9);
}

function result(frame: Buffer, version = 4): ResultMessage {
  expect(frame.readUInt8(4)).toBe(Opcode.RESULT);
  return decodeResult(body(frame), version);
}

function errorOf(frame: Buffer): { code: number; message: string } {
  expect(frame.readUInt8(4)).toBe(Opcode.ERROR);
  return decodeError(body(frame), frame.readUInt8(0) & 0x7f);
}

function prepareFrame(version: number, stream: number, query: string): Buffer {
  return requestFrame(version, stream, Opcode.PREPARE, encodePrepare(version, { query }));
}

function executeFrame(
  version: number,
  stream: number,
  id: Uint8Array,
  consistency: number = Consistency.ONE,
  resultMetadataId?: Uint8Array,
): Buffer {
  return requestFrame(
    version,
    stream,
    Opcode.EXECUTE,
    encodeExecute(version, {
      id,
      ...(resultMetadataId === undefined ? {} : { resultMetadataId }),
      parameters: { consistency, values: [] },
    }),
  );
}

async function preparedId(c: TestConnection, stream: number, query: string): Promise<Buffer> {
  const prepared = result(await c.request(prepareFrame(4, stream, query)));
  if (prepared.kind !== ResultKind.PREPARED) throw new Error('not a PREPARED result');
  return Buffer.from(prepared.id);
}

describe('USE', () => {
  it('moves the connection to the keyspace session and answers Set_keyspace with the normalised name', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    expect(result(await c.request(queryFrame(4, 1, 'USE "MyKs"')))).toEqual({
      kind: ResultKind.SET_KEYSPACE,
      keyspace: 'MyKs',
    });
    expect(result(await c.request(queryFrame(4, 2, 'use Other;')))).toEqual({
      kind: ResultKind.SET_KEYSPACE,
      keyspace: 'other',
    });
    await c.request(queryFrame(4, 3, 'SELECT k FROM t'));
    expect(p.backend.received[0]?.session.keyspace).toBe('other');
    expect(p.backend.sessionCalls.map((s) => s.keyspace)).toEqual(['MyKs', 'other']);
  });

  it('holds later frames until the USE is done, so they go to the new session', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    c.send(queryFrame(4, 1, 'USE ks'), queryFrame(4, 2, 'SELECT k FROM t'));
    await c.response(1);
    await c.response(2);
    expect(p.backend.received.map((r) => r.session.keyspace)).toEqual(['ks']);
  });

  it('keeps the cluster error code and message, and the previous keyspace', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    await c.request(queryFrame(4, 1, 'USE ks'));
    expect(errorOf(await c.request(queryFrame(4, 2, 'USE missing')))).toEqual({
      code: ErrorCode.INVALID,
      message: MISSING_KEYSPACE_MESSAGE,
    });
    await c.request(queryFrame(4, 3, 'SELECT k FROM t'));
    expect(p.backend.received[0]?.session.keyspace).toBe('ks');
  });

  it('reports a cluster that cannot be reached as a server error', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    expect(errorOf(await c.request(queryFrame(4, 1, 'USE unreachable')))).toEqual({
      code: ErrorCode.SERVER_ERROR,
      message: 'Proxy unable to use keyspace unreachable: connection refused',
    });
  });

  it('answers a first request the session cannot be had for, and recovers later', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    p.backend.sessionFailure = new Error('no node answers');
    expect(errorOf(await c.request(queryFrame(4, 1, 'SELECT k FROM ks.t')))).toEqual({
      code: ErrorCode.SERVER_ERROR,
      message: 'Proxy unable to reach the cluster: no node answers',
    });
    p.backend.sessionFailure = undefined;
    expect(result(await c.request(queryFrame(4, 2, 'SELECT k FROM ks.t'))).kind).toBe(
      ResultKind.ROWS,
    );
  });

  it('refuses a USE it cannot read instead of forwarding it onto a shared connection', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    expect(errorOf(await c.request(queryFrame(4, 1, 'USE a b'))).code).toBe(ErrorCode.SYNTAX_ERROR);
    expect(p.backend.received).toHaveLength(0);
  });

  it('makes a bare `local` mean system.local after USE system', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    await c.request(queryFrame(4, 1, 'USE system'));
    const rows = result(await c.request(queryFrame(4, 2, 'SELECT key FROM local')));
    expect(rows.kind === ResultKind.ROWS && decodeText(rows.rows[0]?.[0] ?? null)).toBe('local');
    expect(p.backend.received).toHaveLength(0);
  });
});

describe('system tables over the wire', () => {
  it('answers system.local, peers and peers_v2 without the cluster', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    const local = result(
      await c.request(
        queryFrame(4, 1, "SELECT rpc_address AS addr, host_id FROM system.local WHERE key='local'"),
      ),
    );
    expect(local.kind).toBe(ResultKind.ROWS);
    if (local.kind !== ResultKind.ROWS) return;
    expect(local.metadata.columns?.map((col) => [col.name, col.type.id])).toEqual([
      ['addr', DataType.INET],
      ['host_id', DataType.UUID],
    ]);
    expect(decodeInet(local.rows[0]?.[0] ?? null)).toBe('127.0.0.1');
    expect(decodeUuid(local.rows[0]?.[1] ?? null)).toBe(nameBasedUuid('127.0.0.1'));

    const peers = result(await c.request(queryFrame(4, 2, 'SELECT * FROM system.peers')));
    expect(peers.kind === ResultKind.ROWS && peers.rows).toEqual([]);
    // The fake cluster reports Cassandra 4.0.11, which has peers_v2.
    const peersV2 = result(await c.request(queryFrame(4, 3, 'SELECT * FROM system.peers_v2')));
    expect(peersV2.kind === ResultKind.ROWS && peersV2.rows).toEqual([]);
    expect(errorOf(await c.request(queryFrame(4, 4, 'SELECT nope FROM system.local')))).toEqual({
      code: ErrorCode.INVALID,
      message: 'Undefined column name nope',
    });
    expect(p.backend.received).toHaveLength(0);
  });

  it('lists configured peer proxies', async () => {
    const p = await proxy(
      {},
      { rpcAddress: '10.0.0.1', peers: [{ rpcAddress: '10.0.0.2', dataCenter: 'other' }] },
    );
    const c = await p.ready(4);
    const peers = result(
      await c.request(queryFrame(4, 1, 'SELECT peer, data_center FROM system.peers')),
    );
    expect(peers.kind).toBe(ResultKind.ROWS);
    if (peers.kind !== ResultKind.ROWS) return;
    expect(peers.rows.map((r) => [decodeInet(r[0] ?? null), decodeText(r[1] ?? null)])).toEqual([
      ['10.0.0.2', 'other'],
    ]);
  });
});

describe('PREPARE and EXECUTE', () => {
  it('prepares system queries locally and answers their EXECUTE locally', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    const query = 'SELECT rpc_address, host_id FROM system.local';
    const prepared = result(await c.request(prepareFrame(4, 1, query)));
    expect(prepared.kind).toBe(ResultKind.PREPARED);
    if (prepared.kind !== ResultKind.PREPARED) return;
    expect(prepared.id).toEqual(createHash('md5').update(query).digest());
    expect(prepared.metadata.columns).toEqual([]);
    expect(prepared.resultMetadata.columns?.map((col) => col.name)).toEqual([
      'rpc_address',
      'host_id',
    ]);
    const rows = result(await c.request(executeFrame(4, 2, prepared.id)));
    expect(rows.kind === ResultKind.ROWS && decodeInet(rows.rows[0]?.[0] ?? null)).toBe(
      '127.0.0.1',
    );
    expect(p.backend.received).toHaveLength(0);

    expect(result(await c.request(prepareFrame(4, 3, 'SELECT * FROM system.peers_v2'))).kind).toBe(
      ResultKind.PREPARED,
    );
  });

  it('prepares USE locally; its EXECUTE switches the keyspace', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    const id = await preparedId(c, 1, 'USE ks');
    expect(result(await c.request(executeFrame(4, 2, id)))).toEqual({
      kind: ResultKind.SET_KEYSPACE,
      keyspace: 'ks',
    });
    expect(p.backend.sessionCalls.map((s) => s.keyspace)).toEqual(['ks']);
  });

  it('gives local prepared results a result metadata id in v5', async () => {
    const p = await proxy({ clientVersions: [5, 4, 3] });
    const c = await p.ready(5);
    const prepared = result(
      await c.request(prepareFrame(5, 1, 'SELECT now() FROM system.local')),
      5,
    );
    expect(prepared.kind).toBe(ResultKind.PREPARED);
    if (prepared.kind !== ResultKind.PREPARED) return;
    expect(prepared.resultMetadataId).toHaveLength(16);
    const rows = result(
      await c.request(executeFrame(5, 2, prepared.id, Consistency.ONE, prepared.resultMetadataId)),
      5,
    );
    expect(rows.kind === ResultKind.ROWS && rows.metadata.columns?.[0]?.name).toBe('system.now()');
  });

  it('forwards other statements and remembers whether their EXECUTE may be retried', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    const select = await preparedId(c, 1, 'SELECT k FROM ks.t WHERE k = ?');
    const insert = await preparedId(c, 2, 'INSERT INTO ks.t (k) VALUES (?)');
    const lwt = await preparedId(c, 3, 'INSERT INTO ks.t (k) VALUES (?) IF NOT EXISTS');
    // A second connection executes what the first prepared, as drivers do.
    const other = await p.ready(4);
    for (const [stream, id] of [
      [4, select],
      [5, insert],
      [6, lwt],
    ] as const) {
      await other.request(executeFrame(4, stream, id));
    }
    const executes = p.backend.received.filter((r) => r.opcode === Opcode.EXECUTE);
    expect(executes.map((r) => r.idempotent())).toEqual([true, true, false]);
    // PREPARE itself may always be retried.
    const prepares = p.backend.received.filter((r) => r.opcode === Opcode.PREPARE);
    expect(prepares.map((r) => r.idempotent())).toEqual([true, true, true]);
  });

  it('works out the idempotency of QUERY and BATCH', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    const insert = await preparedId(c, 1, 'INSERT INTO ks.t (k) VALUES (?)');
    await c.request(queryFrame(4, 2, 'SELECT k FROM ks.t'));
    await c.request(queryFrame(4, 3, 'UPDATE ks.t SET c = c + 1 WHERE k = 1'));
    const batch = (stream: number, type: BatchType, query: string, id: Buffer): Buffer =>
      requestFrame(
        4,
        stream,
        Opcode.BATCH,
        encodeBatch(4, {
          type,
          consistency: Consistency.QUORUM,
          statements: [
            { kind: 'query', query, values: [] },
            { kind: 'prepared', id, values: [Buffer.from('x')] },
          ],
        }),
      );
    const unknown = Buffer.alloc(16, 7);
    await c.request(batch(4, BatchType.LOGGED, 'INSERT INTO ks.t (k) VALUES (1)', insert));
    await c.request(batch(5, BatchType.LOGGED, 'INSERT INTO ks.t (k) VALUES (now())', insert));
    await c.request(batch(6, BatchType.UNLOGGED, 'INSERT INTO ks.t (k) VALUES (1)', unknown));
    await c.request(batch(7, BatchType.COUNTER, 'UPDATE ks.c SET n = n + 1 WHERE k = 1', insert));
    const answers = p.backend.received
      .filter((r) => r.opcode !== Opcode.PREPARE)
      .map((r) => r.idempotent());
    expect(answers).toEqual([true, false, true, false, false, false]);
  });
});

describe('DSE Graph queries', () => {
  /** A QUERY carrying a custom payload with the given keys (spec v4 §2.2: payload before the message). */
  function payloadQuery(stream: number, query: string, keys: string[]): Buffer {
    const w = new CqlWriter(64);
    w.writeBytesMap(new Map(keys.map((k) => [k, Buffer.from('g')])));
    const frame = queryFrame(4, stream, query);
    const out = Buffer.concat([frame.subarray(0, 9), w.finish(), frame.subarray(9)]);
    out.writeUInt8(HeaderFlag.CUSTOM_PAYLOAD, 1);
    out.writeInt32BE(out.length - 9, 5);
    return out;
  }

  for (const idempotentGraph of [false, true]) {
    it(`retries graph-source queries only with --idempotent-graph (${idempotentGraph})`, async () => {
      const p = await proxy({}, { idempotentGraph });
      const c = await p.ready(4);
      await c.request(payloadQuery(2, 'g.V().count()', ['graph-source']));
      await c.request(payloadQuery(3, 'SELECT k FROM ks.t', ['other-key']));
      const answers = p.backend.received.map((r) => r.idempotent());
      expect(answers).toEqual([idempotentGraph, true]);
    });
  }
});

describe('write consistency rewrite', () => {
  const rewriting = {
    unsupportedWriteConsistencies: new Set<number>([
      Consistency.ANY,
      Consistency.ONE,
      Consistency.LOCAL_ONE,
    ]),
  };

  function receivedQueryConsistency(p: TestProxy, index: number): number | undefined {
    const r = p.backend.received[index];
    return r === undefined ? undefined : decodeQuery(r.body, 4).parameters.consistency;
  }

  it('rewrites non-SELECT QUERY writes in place, and nothing else in the frame', async () => {
    const p = await proxy({}, rewriting);
    const c = await p.ready(4);
    const insert = queryFrame(4, 1, 'INSERT INTO ks.t (k) VALUES (1)', {
      consistency: Consistency.ONE,
      values: [],
      serialConsistency: Consistency.LOCAL_SERIAL,
    });
    await c.request(insert);
    const received = p.backend.received[0]?.frame;
    const expected = Buffer.from(insert);
    const offset = 9 + 4 + 'INSERT INTO ks.t (k) VALUES (1)'.length;
    expected.writeUInt16BE(Consistency.LOCAL_QUORUM, offset);
    expect(received).toEqual(expected);

    await c.request(queryFrame(4, 2, 'SELECT k FROM ks.t', { consistency: Consistency.ONE }));
    await c.request(
      queryFrame(4, 3, 'DELETE FROM ks.t WHERE k = 1', { consistency: Consistency.QUORUM }),
    );
    await c.request(
      queryFrame(4, 4, 'UPDATE ks.t SET v = 1 WHERE k = 1', { consistency: Consistency.ANY }),
    );
    expect([1, 2, 3].map((i) => receivedQueryConsistency(p, i))).toEqual([
      Consistency.ONE,
      Consistency.QUORUM,
      Consistency.LOCAL_QUORUM,
    ]);
  });

  it('finds the consistency after a custom payload', async () => {
    const p = await proxy({}, rewriting);
    const c = await p.ready(4);
    const payload = new CqlWriter(32).writeBytesMap(new Map([['k', Buffer.from('v')]])).finish();
    const message = encodeQuery(4, 'INSERT INTO ks.t (k) VALUES (1)', {
      consistency: Consistency.LOCAL_ONE,
    });
    await c.request(
      requestFrame(
        4,
        1,
        Opcode.QUERY,
        Buffer.concat([payload, message]),
        HeaderFlag.CUSTOM_PAYLOAD,
      ),
    );
    const received = p.backend.received[0];
    expect(received?.body.subarray(0, payload.length)).toEqual(payload);
    expect(decodeQuery(received?.message ?? Buffer.alloc(0), 4).parameters.consistency).toBe(
      Consistency.LOCAL_QUORUM,
    );
  });

  it('rewrites a compressed write: decompress, rewrite, compress into a fresh frame', async () => {
    const p = await proxy({}, rewriting);
    const c = await p.ready(4, { COMPRESSION: 'lz4' });
    const lz4 = bodyCompressor('lz4');
    const plain = queryFrame(4, 1, 'INSERT INTO ks.t (k) VALUES (1)', {
      consistency: Consistency.ONE,
    });
    const compressed = lz4.compress(body(plain));
    await c.request(requestFrame(4, 1, Opcode.QUERY, compressed, HeaderFlag.COMPRESSION));
    const received = p.backend.received[0];
    expect(received?.flags).toBe(HeaderFlag.COMPRESSION);
    expect(received?.frame.readInt32BE(5)).toBe((received?.frame.length ?? 0) - 9);
    expect(decodeQuery(received?.body ?? Buffer.alloc(0), 4).parameters.consistency).toBe(
      Consistency.LOCAL_QUORUM,
    );
  });

  it('rewrites EXECUTE of writes and of unknown ids, never of SELECTs; and every BATCH', async () => {
    const p = await proxy({}, rewriting);
    const c = await p.ready(4);
    const select = await preparedId(c, 1, 'SELECT k FROM ks.t');
    const insert = await preparedId(c, 2, 'INSERT INTO ks.t (k) VALUES (1)');
    await c.request(executeFrame(4, 3, select));
    await c.request(executeFrame(4, 4, insert));
    await c.request(executeFrame(4, 5, Buffer.alloc(16, 9)));
    await c.request(
      requestFrame(
        4,
        6,
        Opcode.BATCH,
        encodeBatch(4, {
          type: BatchType.UNLOGGED,
          consistency: Consistency.ANY,
          statements: [{ kind: 'query', query: 'INSERT INTO ks.t (k) VALUES (2)', values: [] }],
        }),
      ),
    );
    const consistencies = p.backend.received
      .filter((r) => r.opcode === Opcode.EXECUTE || r.opcode === Opcode.BATCH)
      .map((r) =>
        r.opcode === Opcode.BATCH
          ? decodeBatch(r.body, 4).consistency
          : decodeExecute(r.body, 4).parameters.consistency,
      );
    expect(consistencies).toEqual([
      Consistency.ONE,
      Consistency.LOCAL_QUORUM,
      Consistency.LOCAL_QUORUM,
      Consistency.LOCAL_QUORUM,
    ]);
  });

  it('leaves every request alone without the setting', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    const insert = queryFrame(4, 1, 'INSERT INTO ks.t (k) VALUES (1)', {
      consistency: Consistency.ONE,
    });
    await c.request(insert);
    expect(p.backend.received[0]?.frame).toEqual(insert);
  });
});

describe('malformed frames', () => {
  it('close the offending connection only, answering on its stream', async () => {
    const p = await proxy();
    const good = await p.ready(4);
    const bad = await p.ready(4);
    // QUERY whose [long string] claims more bytes than the body has.
    bad.send(requestFrame(4, 9, Opcode.QUERY, Buffer.from('000000ff41', 'hex')));
    await bad.waitClosed();
    const error = errorOf(await bad.response(9));
    expect(error.code).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(error.message).toContain('truncated');
    expect(result(await good.request(queryFrame(4, 1, 'SELECT k FROM ks.t'))).kind).toBe(
      ResultKind.ROWS,
    );
  });

  it.each([
    ['a response frame', Buffer.from('840000010500000000', 'hex'), 'response frame'],
    ['an oversized frame', Buffer.from('0400000107003fffff', 'hex'), 'exceeds the limit'],
    ['an unknown opcode', Buffer.from('040000012000000000', 'hex'), 'Unknown opcode 0x20'],
  ])('%s: error on stream 0 or its own, then close', async (_name, frame, text) => {
    const p = await proxy();
    const c = await p.ready(4);
    c.sendRaw(frame);
    await c.waitClosed();
    const error = errorOf(c.frames[c.frames.length - 1] ?? Buffer.alloc(0));
    expect(error.code).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(error.message).toContain(text);
  });

  it('answers a non-request opcode with an error but keeps the connection', async () => {
    const p = await proxy();
    const c = await p.ready(4);
    expect(errorOf(await c.request(requestFrame(4, 2, Opcode.READY))).message).toBe(
      'Unexpected message READY: it is not a request',
    );
    expect(result(await c.request(queryFrame(4, 3, 'SELECT k FROM ks.t'))).kind).toBe(
      ResultKind.ROWS,
    );
  });
});

describe('backpressure', () => {
  it('stops reading a client while its cluster session is congested', async () => {
    const p = await proxy();
    p.backend.congestNewSessions = true;
    const c = await p.ready(4);
    const other = await p.ready(4);
    await c.request(queryFrame(4, 1, 'SELECT k FROM ks.t'));
    c.send(queryFrame(4, 2, 'SELECT k FROM ks.t'));
    // Frame 2 is in the proxy's socket buffer now (loopback). A request sent after it on another
    // connection being answered proves the proxy has been through its sockets since: had it
    // still been reading `c`, frame 2 would have been forwarded first.
    await other.request(queryFrame(4, 77, 'SELECT k FROM ks.t'));
    expect(p.backend.received.map((r) => r.streamId)).toEqual([1, 77]);
    for (const session of p.backend.sessions.values()) session.setCongested(false);
    await c.response(2);
    expect(p.backend.received.map((r) => r.streamId)).toEqual([1, 77, 2]);
  });

  it('stops reading a client that does not read its responses, until it drains', async () => {
    // 1 MiB of output, and a first answer of 64 KiB: about sixteen such answers fit, so sixteen
    // requests are let through, not 100.
    const p = await proxy({}, { limits: { ...DEFAULT_CLIENT_LIMITS, maxOutputBytes: 1 << 20 } });
    const c = await p.ready(4);
    const first = await c.request(queryFrame(4, 0, 'SELECT BIG FROM ks.t'));
    const session = [...p.backend.sessions.values()][0];
    if (session === undefined) throw new Error('no session');
    session.holding = true;
    c.socket.pause();
    const count = 100;
    for (let i = 1; i <= count; i++) c.send(queryFrame(4, i, 'SELECT BIG FROM ks.t'));
    await waitFor(() => p.side.limitsReport().pausedNow.output === 1);
    expect(session.held).toHaveLength(Math.ceil((1 << 20) / first.length));
    // Sixteen answers of 64 KiB: 1 MiB for a client that reads nothing, so it stays paused.
    session.release();
    await waitFor(() => p.side.limitsReport().queuedOutputBytes > 1 << 20);
    expect(p.side.limitsReport().pausedNow.output).toBe(1);
    session.holding = false;
    c.socket.resume();
    c.send(queryFrame(4, 500, 'SELECT k FROM ks.t'));
    const last = await c.response(500);
    expect(result(last).kind).toBe(ResultKind.ROWS);
    const big = await c.response(count);
    const rows = result(big);
    expect(rows.kind === ResultKind.ROWS && rows.rows[0]?.[0]?.length).toBe(BIG_CELL_LENGTH);
    expect(p.backend.received).toHaveLength(count + 2);
    expect(p.side.limitsReport().pauses.output).toBeGreaterThanOrEqual(1);
  });

  it('gives a client of small answers its full concurrency after its first answer', async () => {
    // The initial guess (8 MiB / 32 = 256 KiB an answer) would hold 32 requests; one small answer
    // replaces it, so 500 slow requests are all in flight at once.
    const p = await proxy();
    const c = await p.ready(4);
    const session = await firstSession(p, c);
    session.holding = true;
    for (let i = 1; i <= 500; i++) c.send(queryFrame(4, i, 'SELECT k FROM ks.t'));
    await waitFor(() => session.held.length === 500);
    expect(p.side.limitsReport().pausedNow.output).toBe(0);
    session.release();
    for (let i = 1; i <= 500; i++) await c.response(i);
  });
});

/** Runs one query so the connection's session exists, and returns it. */
async function firstSession(p: TestProxy, c: TestConnection): Promise<FakeSession> {
  await c.request(queryFrame(4, 0, 'SELECT k FROM ks.t'));
  const session = [...p.backend.sessions.values()][0];
  if (session === undefined) throw new Error('no session');
  return session;
}

async function waitFor(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
