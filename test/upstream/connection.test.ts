import { subscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bodyCompressor } from '../../src/protocol/compression.js';
import type { BodyCompressionName } from '../../src/protocol/compression.js';
import {
  ErrorCode,
  EventType,
  HEADER_LENGTH,
  HeaderFlag,
  Opcode,
  ProtocolVersion,
  ResultKind,
} from '../../src/protocol/constants.js';
import { readHeader } from '../../src/protocol/header.js';
import { decodeEvent } from '../../src/protocol/messages/event.js';
import { encodeQuery } from '../../src/protocol/messages/query.js';
import { decodeResult } from '../../src/protocol/messages/result.js';
import type { ResultMessage } from '../../src/protocol/messages/result.js';
import { SchemaChangeTarget, SchemaChangeType } from '../../src/protocol/messages/schema-change.js';
import { ProxyError, ProxyErrorCode } from '../../src/errors.js';
import { UpstreamConnection, lowerVersion } from '../../src/upstream/connection.js';
import type { ResponseHandler, UpstreamConnectionOptions } from '../../src/upstream/connection.js';
import { CqlSessionError } from '../../src/upstream/contract.js';
import { CqlServerError } from '../../src/upstream/cql-server-error.js';
import { contactPointEndpoint } from '../../src/upstream/endpoint.js';
import { DRIVER_VERSION } from '../../src/upstream/handshake.js';
import type { Endpoint } from '../../src/upstream/endpoint.js';
import {
  DSE_AUTHENTICATOR,
  FAKE_CQL_VERSION,
  PASSWORD_AUTHENTICATOR,
  rawQueryFrame,
  startFakeNode,
} from './fake-node.js';
import type { FakeNode, FakeNodeOptions } from './fake-node.js';
import { until } from '../helpers/wait.js';

const nodes: FakeNode[] = [];
const connections: UpstreamConnection[] = [];

afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  for (const n of nodes.splice(0)) await n.close();
});

async function fakeNode(options: FakeNodeOptions = {}): Promise<FakeNode> {
  const node = await startFakeNode(options);
  nodes.push(node);
  return node;
}

function optionsFor(
  endpoint: Endpoint,
  overrides: Partial<UpstreamConnectionOptions> = {},
): UpstreamConnectionOptions {
  return {
    endpoint,
    version: ProtocolVersion.V4,
    connectTimeoutMs: 3000,
    heartbeatIntervalMs: 0,
    idleTimeoutMs: 0,
    maxFrameLength: 1 << 24,
    ...overrides,
  };
}

async function connect(
  node: FakeNode,
  overrides: Partial<UpstreamConnectionOptions> = {},
): Promise<UpstreamConnection> {
  const connection = await UpstreamConnection.connect(optionsFor(node.endpoint, overrides));
  connections.push(connection);
  return connection;
}

/** The error connect() rejects with (fails the test if it resolves). */
async function connectError(
  node: FakeNode | Endpoint,
  overrides: Partial<UpstreamConnectionOptions> = {},
): Promise<Error> {
  const endpoint = 'endpoint' in node ? node.endpoint : node;
  try {
    const connection = await UpstreamConnection.connect(optionsFor(endpoint, overrides));
    connections.push(connection);
  } catch (err) {
    return err as Error;
  }
  throw new Error('connect() resolved');
}

// Date.now(), not performance.now(): the heartbeat tests fake the latter.
/** One event-loop turn: setImmediate callbacks queued before this one (flushes) have run. */
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** QUERY frames the node has read on its connection `index`. */
function queriesAt(node: FakeNode, index = 0): number {
  return node.connections[index]!.received.filter((f) => f.opcode === Opcode.QUERY).length;
}

// Every TCP socket net.connect() creates, and its 'close' (its last event, after which nothing
// can reach the UpstreamConnection), listened for from the start: `socket.closed` turns true a
// tick before 'close' is emitted. Not events.once(): it rejects on the 'error' a refused connect
// emits before 'close', and nobody awaits the sockets of the tests that do not ask for them.
const clientSocketCloses: Promise<unknown>[] = [];
subscribe('net.client.socket', (message) => {
  const socket = (message as { socket: Socket }).socket;
  clientSocketCloses.push(new Promise((resolve) => socket.once('close', resolve)));
});

/** connect(), and the 'close' of the TCP socket under the connection. */
async function connectWithSocket(
  node: FakeNode,
  overrides: Partial<UpstreamConnectionOptions> = {},
): Promise<{ connection: UpstreamConnection; socketClosed: Promise<unknown> }> {
  const first = clientSocketCloses.length;
  const connection = await connect(node, overrides);
  expect(clientSocketCloses.length).toBe(first + 1);
  return { connection, socketClosed: clientSocketCloses[first]! };
}

/** The text of the single cell the fake node answers every plain QUERY with. */
function echoed(result: ResultMessage): string {
  if (result.kind !== ResultKind.ROWS) throw new Error(`expected rows, got kind ${result.kind}`);
  return result.rows[0]![0]!.toString('utf8');
}

function firstVersions(node: FakeNode): number[] {
  return node.connections.map((c) => c.received[0]?.version ?? -1);
}

function opcodes(node: FakeNode, index = 0): number[] {
  return node.connections[index]!.received.map((f) => f.opcode);
}

/** A handler that records what happened to one forwarded request. */
function recorder(): ResponseHandler & { responses: Buffer[]; closes: Error[] } {
  const responses: Buffer[] = [];
  const closes: Error[] = [];
  return {
    responses,
    closes,
    onResponse: (frame) => responses.push(Buffer.from(frame)),
    onClosed: (error) => closes.push(error),
  };
}

describe('UpstreamConnection handshake', () => {
  it.each([ProtocolVersion.V4, ProtocolVersion.V3])(
    'sends OPTIONS, then STARTUP with the node CQL version (v%i)',
    async (version) => {
      const node = await fakeNode();
      const connection = await connect(node, { version });
      expect(connection.version).toBe(version);
      expect(connection.closed).toBe(false);
      expect(connection.inFlight).toBe(0);
      expect(opcodes(node)).toEqual([Opcode.OPTIONS, Opcode.STARTUP]);
      expect(node.connections[0]!.received.every((f) => f.version === version)).toBe(true);
      const startup = node.connections[0]!.startup!;
      expect(Object.fromEntries(startup)).toEqual({
        CQL_VERSION: FAKE_CQL_VERSION,
        DRIVER_NAME: 'cql-proxy-ts',
        DRIVER_VERSION: DRIVER_VERSION,
      });
      expect(connection.supported.get('PRODUCT_TYPE')).toEqual(['FAKE_NODE']);
      expect(connection.supported.get('CQL_VERSION')).toEqual([FAKE_CQL_VERSION]);
      expect(echoed(await connection.query('SELECT 1'))).toBe('SELECT 1');
    },
  );

  it('falls back to CQL_VERSION 3.0.0 when SUPPORTED names none', async () => {
    const node = await fakeNode({ supported: { CQL_VERSION: [] } });
    await connect(node);
    expect(node.connections[0]!.startup!.get('CQL_VERSION')).toBe('3.0.0');
  });

  it('rejects with CONNECTION_FAILED when nothing listens', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await connectError(contactPointEndpoint('127.0.0.1', port));
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONNECTION_FAILED);
    expect(error.message).toContain(`127.0.0.1:${port}`);
  });

  it('times out a node that accepts but never answers, within connectTimeoutMs', async () => {
    const node = await fakeNode();
    node.silence();
    const started = performance.now();
    const error = await connectError(node, { connectTimeoutMs: 200 });
    const elapsed = performance.now() - started;
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONNECTION_FAILED);
    expect(error.message).toContain('within 200 ms');
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(5000);
    await until(() => node.connections[0]!.socket.destroyed, 'the socket to close');
  });
});

describe('UpstreamConnection version negotiation', () => {
  it('steps down from DSE_V2 through DSE_V1 and v5 to v4 on new sockets', async () => {
    const node = await fakeNode({ versions: [3, 4] });
    const connection = await connect(node, { version: ProtocolVersion.DSE_V2, negotiate: true });
    expect(connection.version).toBe(4);
    expect(firstVersions(node)).toEqual([0x42, 0x41, 5, 4]);
    // Each refused socket was closed.
    await until(
      () => node.connections.slice(0, 3).every((c) => c.socket.destroyed),
      'refused sockets to close',
    );
  });

  it('steps down from v5 to v4 against a node that offers only v3 and v4', async () => {
    const node = await fakeNode({ versions: [3, 4] });
    const connection = await connect(node, { version: 5, negotiate: true });
    expect(connection.version).toBe(4);
    expect(firstVersions(node)).toEqual([5, 4]);
  });

  it('steps down to v3 against a v3-only node', async () => {
    const node = await fakeNode({ versions: [3] });
    const connection = await connect(node, { version: 4, negotiate: true });
    expect(connection.version).toBe(3);
    expect(echoed(await connection.query('SELECT v3'))).toBe('SELECT v3');
  });

  it('steps down when the refusal comes on a stream nobody asked on', async () => {
    const node = await fakeNode({ versions: [3, 4], refusalStreamId: 77 });
    const connection = await connect(node, { version: 5, negotiate: true });
    expect(connection.version).toBe(4);
  });

  it('steps down on "Beta version of the protocol used" (Cassandra 3.x asked for v5)', async () => {
    const node = await fakeNode({ versions: [3, 4], betaVersions: [5] });
    const connection = await connect(node, { version: 5, negotiate: true });
    expect(connection.version).toBe(4);
    expect(firstVersions(node)).toEqual([5, 4]);
  });

  it('skips v5 when snappy is asked for', async () => {
    expect(lowerVersion(ProtocolVersion.DSE_V1, 'snappy')).toBe(4);
    expect(lowerVersion(ProtocolVersion.DSE_V1, 'lz4')).toBe(5);
    expect(lowerVersion(3, undefined)).toBeUndefined();
    const node = await fakeNode({ versions: [3, 4] });
    const connection = await connect(node, {
      version: ProtocolVersion.DSE_V1,
      negotiate: true,
      compression: 'snappy',
    });
    expect(connection.version).toBe(4);
    expect(firstVersions(node)).toEqual([0x41, 4]);
  });

  it('gives up with PROTOCOL_VERSION_REFUSED below v3', async () => {
    const node = await fakeNode({ versions: [5] });
    const error = await connectError(node, { version: 4, negotiate: true });
    expect(ProxyError.isProxyError(error) && error.code).toBe(
      ProxyErrorCode.PROTOCOL_VERSION_REFUSED,
    );
    expect(error.message).toContain('every protocol version from v4 down to v3');
    expect(error.message).toContain('Invalid or unsupported protocol version (3)');
    expect(firstVersions(node)).toEqual([4, 3]);
  });

  it('requires the exact version without negotiate', async () => {
    const node = await fakeNode({ versions: [3, 4] });
    const error = await connectError(node, { version: 5 });
    expect(ProxyError.isProxyError(error) && error.code).toBe(
      ProxyErrorCode.PROTOCOL_VERSION_REFUSED,
    );
    expect(error.message).toContain(`${node.endpoint.key} refused protocol v5`);
    expect(error.message).toContain('Invalid or unsupported protocol version (5)');
    expect(node.connections).toHaveLength(1);
  });
});

describe('UpstreamConnection v5', () => {
  it.each([undefined, 'lz4'] as const)(
    'switches to segments after STARTUP (compression %s)',
    async (compression) => {
      const node = await fakeNode({ versions: [3, 4, 5] });
      const connection = await connect(
        node,
        compression === undefined ? { version: 5 } : { version: 5, compression },
      );
      expect(connection.version).toBe(5);
      expect(node.connections[0]!.segments).toBe(compression ?? 'none');
      expect(node.connections[0]!.startup!.get('COMPRESSION')).toBe(compression);
      const long = `SELECT '${'x'.repeat(200_000)}'`;
      expect(echoed(await connection.query(long))).toBe(long);
      // Raw frames travel inside segments too.
      const handler = recorder();
      const body = encodeQuery(5, 'SELECT raw', { consistency: 1 });
      expect(connection.send(rawQueryFrame(5, body), handler)).toBe(true);
      await until(() => handler.responses.length === 1, 'the raw response');
      const response = handler.responses[0]!;
      expect(echoed(decodeResult(response.subarray(HEADER_LENGTH), 5))).toBe('SELECT raw');
    },
  );

  it('negotiates v5 from DSE_V2 when the node offers it', async () => {
    const node = await fakeNode({ versions: [3, 4, 5] });
    const connection = await connect(node, {
      version: ProtocolVersion.DSE_V2,
      negotiate: true,
      compression: 'lz4',
    });
    expect(connection.version).toBe(5);
    expect(echoed(await connection.query('SELECT 5'))).toBe('SELECT 5');
  });

  it('refuses v5 with snappy before connecting', async () => {
    const node = await fakeNode({ versions: [3, 4, 5] });
    const error = await connectError(node, { version: 5, compression: 'snappy' });
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONFIG_INVALID);
    expect(error.message).toContain('snappy');
    // Connections are accepted in order: had the refused one reached the node, the node would
    // list it before this one.
    await connect(node);
    expect(firstVersions(node)).toEqual([ProtocolVersion.V4]);
  });
});

describe('UpstreamConnection body compression (v4)', () => {
  it.each(['lz4', 'snappy'] as const)(
    '%s: its own requests are compressed, answers decompressed',
    async (compression) => {
      const node = await fakeNode();
      const connection = await connect(node, { compression });
      expect(connection.compression).toBe(compression);
      expect(node.connections[0]!.startup!.get('COMPRESSION')).toBe(compression);
      const query = `SELECT '${'abc'.repeat(1000)}'`;
      expect(echoed(await connection.query(query))).toBe(query);
      const sent = node.connections[0]!.received.at(-1)!;
      expect(sent.opcode).toBe(Opcode.QUERY);
      expect(sent.flags & HeaderFlag.COMPRESSION).toBe(HeaderFlag.COMPRESSION);
    },
  );

  it.each(['lz4', 'snappy'] as const)(
    '%s: frames relayed through send() pass raw in both directions',
    async (compression: BodyCompressionName) => {
      const node = await fakeNode();
      const connection = await connect(node, { compression });
      const codec = bodyCompressor(compression);
      const body = codec.compress(encodeQuery(4, 'SELECT relayed', { consistency: 1 }));
      const frame = rawQueryFrame(4, body, HeaderFlag.COMPRESSION, 999);
      const handler = recorder();
      expect(connection.send(frame, handler)).toBe(true);
      await until(() => handler.responses.length === 1, 'the response');
      const response = handler.responses[0]!;
      const header = readHeader(response);
      expect(header.flags & HeaderFlag.COMPRESSION).toBe(HeaderFlag.COMPRESSION);
      expect(header.streamId).toBe(frame.readInt16BE(2));
      const plain = codec.decompress(response.subarray(HEADER_LENGTH), 1 << 20);
      expect(echoed(decodeResult(plain, 4))).toBe('SELECT relayed');
    },
  );

  it('fails clearly when the node does not offer the compression', async () => {
    const node = await fakeNode({ compressions: ['snappy'] });
    const error = await connectError(node, { compression: 'lz4' });
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONNECTION_FAILED);
    expect(error.message).toContain('does not offer lz4 compression');
  });
});

describe('UpstreamConnection authentication', () => {
  const credentials = { username: 'token', password: 'AstraCS:s3cret-Pa55' };

  it.each([
    PASSWORD_AUTHENTICATOR,
    'org.apache.cassandra.auth.AstraAuthenticator',
    'com.example.SomeOtherAuthenticator',
  ])('sends the SASL PLAIN token at once for %s', async (authenticator) => {
    const node = await fakeNode({ authenticator, password: credentials.password });
    const logs: string[] = [];
    const connection = await connect(node, {
      credentials,
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
    expect(connection.closed).toBe(false);
    expect(node.connections[0]!.authTokens).toEqual([`\0token\0${credentials.password}`]);
    const unknown = authenticator.startsWith('com.example');
    expect(logs.some((l) => l.startsWith('info:') && l.includes(authenticator))).toBe(unknown);
    expect(echoed(await connection.query('SELECT authed'))).toBe('SELECT authed');
  });

  it('DseAuthenticator: PLAIN, then the token after PLAIN-START', async () => {
    const node = await fakeNode({
      authenticator: DSE_AUTHENTICATOR,
      password: credentials.password,
    });
    await connect(node, { credentials });
    expect(node.connections[0]!.authTokens).toEqual(['PLAIN', `\0token\0${credentials.password}`]);
  });

  it('bad credentials: AUTHENTICATION_FAILED with the node message, never the password', async () => {
    const node = await fakeNode({ authenticator: PASSWORD_AUTHENTICATOR, password: 'other' });
    const error = await connectError(node, { credentials });
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.AUTHENTICATION_FAILED);
    expect(error.message).toBe(
      `authentication to ${node.endpoint.key} failed: Provided username token and/or password are incorrect`,
    );
    expect(JSON.stringify({ m: error.message, s: error.stack })).not.toContain(
      credentials.password,
    );
    await until(() => node.connections[0]!.socket.destroyed, 'the socket to close');
  });

  it('authentication required but no credentials: names the authenticator', async () => {
    const node = await fakeNode({ authenticator: PASSWORD_AUTHENTICATOR });
    const error = await connectError(node);
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.AUTHENTICATION_FAILED);
    expect(error.message).toContain('requires authentication');
    expect(error.message).toContain(PASSWORD_AUTHENTICATOR);
    expect(error.message).toContain('no credentials');
  });

  it('authenticates with compression on (the AUTH exchange is compressed)', async () => {
    const node = await fakeNode({
      authenticator: DSE_AUTHENTICATOR,
      password: credentials.password,
    });
    await connect(node, { credentials, compression: 'lz4' });
    const auth = node.connections[0]!.received.filter((f) => f.opcode === Opcode.AUTH_RESPONSE);
    expect(auth.map((f) => f.flags & HeaderFlag.COMPRESSION)).toEqual([1, 1]);
    expect(node.connections[0]!.authTokens).toHaveLength(2);
  });
});

describe('UpstreamConnection keyspace', () => {
  it('runs USE "<keyspace>" after the handshake', async () => {
    const node = await fakeNode({ keyspaces: ['store', 'we"ird'] });
    await connect(node, { keyspace: 'store' });
    await connect(node, { keyspace: 'we"ird' });
    expect(opcodes(node, 0)).toEqual([Opcode.OPTIONS, Opcode.STARTUP, Opcode.QUERY]);
    expect(opcodes(node, 1)).toEqual([Opcode.OPTIONS, Opcode.STARTUP, Opcode.QUERY]);
  });

  it('USE of a missing keyspace rejects with the node code and message', async () => {
    const node = await fakeNode({ keyspaces: ['store'] });
    const error = await connectError(node, { keyspace: 'nope' });
    expect(CqlSessionError.isCqlSessionError(error)).toBe(true);
    expect((error as CqlSessionError).code).toBe(ErrorCode.INVALID);
    expect(error.message).toBe("Keyspace 'nope' does not exist");
    await until(() => node.connections[0]!.socket.destroyed, 'the socket to close');
  });

  it('query() rejects with CqlServerError when the node answers ERROR', async () => {
    const node = await fakeNode();
    const connection = await connect(node);
    const error = await connection.query('USE "nope"').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(CqlServerError.isCqlServerError(error)).toBe(true);
    expect((error as CqlServerError).code).toBe(ErrorCode.INVALID);
    expect((error as CqlServerError).serverMessage).toBe("Keyspace 'nope' does not exist");
    expect(connection.closed).toBe(false);
  });
});

describe('UpstreamConnection.send', () => {
  it('pipelines 1000 raw frames, each answer on its own handler, ids patched in place', async () => {
    const node = await fakeNode({ reorder: true });
    const connection = await connect(node);
    const count = 1000;
    const frames: Buffer[] = [];
    const got: (string | undefined)[] = new Array<string | undefined>(count);
    const answeredOn: number[] = new Array<number>(count);
    let closes = 0;
    for (let i = 0; i < count; i++) {
      const body = encodeQuery(4, `SELECT ${i}`, { consistency: 1 });
      // The client's own stream id, which must be overwritten.
      const frame = rawQueryFrame(4, body, 0, 5000 + i);
      frames.push(frame);
      const ok = connection.send(frame, {
        onResponse: (response) => {
          answeredOn[i] = response.readInt16BE(2);
          got[i] = echoed(decodeResult(response.subarray(HEADER_LENGTH), 4));
        },
        onClosed: () => {
          closes += 1;
        },
      });
      expect(ok).toBe(true);
    }
    expect(connection.inFlight).toBe(count);
    const ids = frames.map((f) => f.readInt16BE(2));
    expect(new Set(ids).size).toBe(count);
    expect(ids.every((id) => id >= 0 && id < count)).toBe(true);
    await until(() => connection.inFlight === 0, 'every answer');
    for (let i = 0; i < count; i++) {
      expect(got[i]).toBe(`SELECT ${i}`);
      expect(answeredOn[i]).toBe(ids[i]);
    }
    expect(closes).toBe(0);
    // The node saw every request with the patched id.
    const seen = node.connections[0]!.received.filter((f) => f.opcode === Opcode.QUERY);
    expect(seen.map((f) => f.streamId).sort((a, b) => a - b)).toEqual(
      [...ids].sort((a, b) => a - b),
    );
  });

  it('returns false without side effects when every stream id is taken', async () => {
    const node = await fakeNode();
    const connection = await connect(node);
    node.silence();
    const body = encodeQuery(4, 'SELECT 1', { consistency: 1 });
    let closes = 0;
    const handler: ResponseHandler = {
      onResponse: () => {
        throw new Error('no response expected');
      },
      onClosed: () => {
        closes += 1;
      },
    };
    let accepted = 0;
    for (let i = 0; i < 32768; i++) {
      if (connection.send(rawQueryFrame(4, body), handler)) accepted += 1;
    }
    expect(accepted).toBe(32768);
    expect(connection.inFlight).toBe(32768);
    expect(connection.availableStreams).toBe(0);
    const extra = rawQueryFrame(4, body, 0, 4242);
    expect(connection.send(extra, handler)).toBe(false);
    expect(extra.readInt16BE(2)).toBe(4242);
    expect(connection.inFlight).toBe(32768);
    const control = await connection.request(Opcode.OPTIONS, Buffer.alloc(0)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(ProxyError.isProxyError(control) && control.code).toBe(ProxyErrorCode.STREAMS_EXHAUSTED);
    // Every one of them is failed exactly once on close.
    connection.close();
    expect(closes).toBe(32768);
    expect(connection.inFlight).toBe(0);
    expect(connection.send(rawQueryFrame(4, body), handler)).toBe(false);
  });

  it('keeps serving when a handler throws', async () => {
    const node = await fakeNode();
    const logs: string[] = [];
    const connection = await connect(node, { log: (_l, m) => logs.push(m) });
    const body = encodeQuery(4, 'SELECT boom', { consistency: 1 });
    connection.send(rawQueryFrame(4, body), {
      onResponse: () => {
        throw new Error('handler bug');
      },
      onClosed: () => undefined,
    });
    await until(() => logs.some((l) => l.includes('handler bug')), 'the log line');
    expect(connection.closed).toBe(false);
    expect(echoed(await connection.query('SELECT after'))).toBe('SELECT after');
  });
});

describe('UpstreamConnection close', () => {
  it('fails every in-flight request exactly once, fires onClose once, refuses sends', async () => {
    const node = await fakeNode();
    const closes: (Error | undefined)[] = [];
    const { connection, socketClosed } = await connectWithSocket(node, {
      onClose: (closed, error) => {
        expect(closed).toBe(connection);
        closes.push(error);
      },
    });
    node.silence();
    const handlers = Array.from({ length: 50 }, () => recorder());
    const body = encodeQuery(4, 'SELECT 1', { consistency: 1 });
    for (const h of handlers) expect(connection.send(rawQueryFrame(4, body), h)).toBe(true);
    const pending = connection.query('SELECT pending').then(
      () => undefined,
      (err: unknown) => err,
    );
    await until(() => queriesAt(node) === 51, 'the requests at the node');
    connection.close();
    connection.close();
    expect(closes).toEqual([undefined]);
    for (const h of handlers) {
      expect(h.closes).toHaveLength(1);
      expect(h.responses).toHaveLength(0);
      const error = h.closes[0]!;
      expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONNECTION_CLOSED);
    }
    expect(ProxyError.isProxyError(await pending)).toBe(true);
    expect(connection.closed).toBe(true);
    expect(connection.send(rawQueryFrame(4, body), recorder())).toBe(false);
    const later = await connection.query('SELECT later').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(ProxyError.isProxyError(later) && later.code).toBe(ProxyErrorCode.CONNECTION_CLOSED);
    // Every listener of the socket's 'close' has run: the UpstreamConnection's included.
    await socketClosed;
    expect(closes).toHaveLength(1);
  });

  it('reports a node that closes the connection', async () => {
    const node = await fakeNode();
    const closes: (Error | undefined)[] = [];
    const { connection, socketClosed } = await connectWithSocket(node, {
      onClose: (_c, error) => closes.push(error),
    });
    node.silence();
    const handler = recorder();
    connection.send(rawQueryFrame(4, encodeQuery(4, 'SELECT 1', { consistency: 1 })), handler);
    await until(() => queriesAt(node) === 1, 'the request at the node');
    node.connections[0]!.socket.destroy();
    await until(() => closes.length === 1, 'onClose');
    expect(ProxyError.isProxyError(closes[0]) && closes[0].code).toBe(
      ProxyErrorCode.CONNECTION_CLOSED,
    );
    expect(closes[0]!.message).toBe(`${node.endpoint.key} closed the connection`);
    expect(handler.closes).toEqual([closes[0]]);
    expect(connection.closed).toBe(true);
    // Every listener of the socket's 'close' has run: the UpstreamConnection's included.
    await socketClosed;
    expect(closes).toHaveLength(1);
    expect(handler.closes).toHaveLength(1);
  });
});

describe('UpstreamConnection heartbeats', () => {
  // Time is the subject: the monitor's timer and clock are faked, sockets and setImmediate stay
  // real. A heartbeat takes a stream id when it is queued, so inFlight shows it at once.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
  });
  afterEach(() => {
    for (const c of connections.splice(0)) c.close();
    vi.useRealTimers();
  });

  const heartbeatsAfterHandshake = (node: FakeNode): number =>
    node.connections[0]!.received.slice(2).filter((f) => f.opcode === Opcode.OPTIONS).length;

  it('sends OPTIONS when nothing was written for the interval, and not before', async () => {
    const node = await fakeNode();
    // Ticks every 10 ms (a quarter of the interval).
    const connection = await connect(node, { heartbeatIntervalMs: 40, idleTimeoutMs: 1000 });
    for (let beat = 1; beat <= 3; beat++) {
      vi.advanceTimersByTime(30);
      expect(connection.inFlight).toBe(0);
      vi.advanceTimersByTime(20);
      expect(connection.inFlight).toBe(1);
      await until(
        () => heartbeatsAfterHandshake(node) === beat && connection.inFlight === 0,
        `heartbeat ${beat} answered`,
      );
    }
    expect(connection.closed).toBe(false);
  });

  it('sends none while traffic flows', async () => {
    const node = await fakeNode();
    const connection = await connect(node, { heartbeatIntervalMs: 250, idleTimeoutMs: 2000 });
    const body = encodeQuery(4, 'SELECT busy', { consistency: 1 });
    // A request every 10 ms for 500 ms: twice the interval, never an interval without a write.
    for (let i = 0; i < 50; i++) {
      connection.send(rawQueryFrame(4, body), recorder());
      vi.advanceTimersByTime(10);
    }
    expect(connection.inFlight).toBe(50);
    await until(() => connection.inFlight === 0, 'every answer');
    expect(heartbeatsAfterHandshake(node)).toBe(0);
    // Once quiet, heartbeats resume: within an interval and a tick (62 ms).
    vi.advanceTimersByTime(250 + 62);
    expect(connection.inFlight).toBe(1);
    await until(() => heartbeatsAfterHandshake(node) === 1, 'a heartbeat once idle');
  });

  it('closes a connection to a node that stops answering, not before the idle timeout', async () => {
    const node = await fakeNode();
    const closes: (Error | undefined)[] = [];
    // Ticks every 7 ms (a quarter of the heartbeat interval).
    const connection = await connect(node, {
      heartbeatIntervalMs: 30,
      idleTimeoutMs: 400,
      onClose: (_c, error) => closes.push(error),
    });
    const handler = recorder();
    node.silence();
    connection.send(rawQueryFrame(4, encodeQuery(4, 'SELECT 1', { consistency: 1 })), handler);
    vi.advanceTimersByTime(50);
    // The silent node gets a heartbeat before the connection gives up.
    await until(() => heartbeatsAfterHandshake(node) === 1, 'a heartbeat');
    vi.advanceTimersByTime(349);
    expect(closes).toEqual([]);
    vi.advanceTimersByTime(10);
    expect(closes).toHaveLength(1);
    const error = closes[0]!;
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONNECTION_CLOSED);
    expect(error.message).toBe(`no response from ${node.endpoint.key} within 400 ms`);
    expect(handler.closes).toEqual([error]);
  });

  it('closes a busy connection whose node stops reading', async () => {
    const node = await fakeNode();
    const closes: (Error | undefined)[] = [];
    // Ticks every 30 ms (a quarter of the idle timeout).
    const connection = await connect(node, {
      heartbeatIntervalMs: 1000,
      idleTimeoutMs: 120,
      onClose: (_c, error) => closes.push(error),
    });
    node.pauseReading();
    const body = encodeQuery(4, 'SELECT 1', { consistency: 1 });
    // Writing all along is no sign of life: only reads are.
    let sent = 0;
    for (; sent < 20 && closes.length === 0; sent++) {
      connection.send(rawQueryFrame(4, body), recorder());
      await nextTurn();
      vi.advanceTimersByTime(10);
    }
    expect(closes).toHaveLength(1);
    // Closed at the idle timeout, give or take the monitor's tick (docs: within one tick).
    expect(sent * 10).toBeGreaterThanOrEqual(120);
    expect(sent * 10).toBeLessThanOrEqual(120 + 30);
    expect(closes[0]!.message).toContain('within 120 ms');
  });
});

describe('UpstreamConnection events and backpressure', () => {
  it.each([undefined, 'lz4', 'snappy'] as const)(
    'delivers EVENT frames decompressed (compression %s)',
    async (compression) => {
      const node = await fakeNode();
      const events: Buffer[] = [];
      const connection = await connect(node, {
        ...(compression === undefined ? {} : { compression }),
        onEvent: (frame) => events.push(Buffer.from(frame)),
      });
      await connection.register([EventType.SCHEMA_CHANGE]);
      expect([...node.connections[0]!.registered]).toEqual([EventType.SCHEMA_CHANGE]);
      node.pushEvent({
        type: EventType.SCHEMA_CHANGE,
        change: {
          changeType: SchemaChangeType.CREATED,
          target: SchemaChangeTarget.TABLE,
          keyspace: 'ks',
          name: `t_${'x'.repeat(100)}`,
        },
      });
      await until(() => events.length === 1, 'the event');
      const header = readHeader(events[0]!);
      expect(header.streamId).toBe(-1);
      expect(header.opcode).toBe(Opcode.EVENT);
      expect(header.flags & HeaderFlag.COMPRESSION).toBe(0);
      expect(header.bodyLength).toBe(events[0]!.length - HEADER_LENGTH);
      expect(decodeEvent(events[0]!.subarray(HEADER_LENGTH), 4)).toEqual({
        type: EventType.SCHEMA_CHANGE,
        change: {
          changeType: SchemaChangeType.CREATED,
          target: SchemaChangeTarget.TABLE,
          keyspace: 'ks',
          name: `t_${'x'.repeat(100)}`,
        },
      });
      expect(connection.inFlight).toBe(0);
    },
  );

  it('reports congestion and calls onceDrained when the socket drains', async () => {
    const node = await fakeNode();
    const connection = await connect(node, { highWaterMark: 64 * 1024 });
    node.pauseReading();
    const body = encodeQuery(4, `SELECT '${'y'.repeat(64 * 1024)}'`, { consistency: 1 });
    // Fill the kernel buffers, 1 MiB per event-loop turn (at most 64 MiB), until the socket stays
    // backed up after a flush.
    let backedUp = false;
    for (let batch = 0; batch < 64 && !backedUp; batch++) {
      for (let i = 0; i < 16; i++) connection.send(rawQueryFrame(4, body), recorder());
      // Congested already: our own queue is above the high-water mark.
      expect(connection.congested).toBe(true);
      await nextTurn(); // after this turn's flush
      backedUp = connection.congested;
    }
    expect(backedUp).toBe(true);
    let drained = false;
    let congestedWhenDrained: boolean | undefined;
    connection.onceDrained(() => {
      drained = true;
      congestedWhenDrained = connection.congested;
    });
    // onceDrained looks at the socket after the turn's flush: that look has been, and found it full.
    await nextTurn();
    expect(drained).toBe(false);
    node.resumeReading();
    await until(() => drained, 'the drain notification');
    expect(congestedWhenDrained).toBe(false);
    expect(connection.closed).toBe(false);
  });
});
