// A scripted CQL node for the upstream connection tests: just enough of the server side of the
// protocol (version refusal, OPTIONS, STARTUP with compression and v5 segments, SASL PLAIN with
// the DSE mechanism step, USE, REGISTER, QUERY, EVENT) to drive one UpstreamConnection, plus the
// misbehaviours a real node only shows on a bad day: refusing on a stream nobody asked on,
// answering out of order, falling silent, not reading at all.
//
// Every QUERY that is not USE is answered with one row holding the query text, so a test can
// tell which request a response belongs to.

import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { bodyCompressor } from '../../src/protocol/compression.js';
import type { BodyCompressor } from '../../src/protocol/compression.js';
import {
  DataType,
  ErrorCode,
  HEADER_LENGTH,
  HeaderFlag,
  Opcode,
  ProtocolVersion,
  ResultKind,
  versionName,
} from '../../src/protocol/constants.js';
import { readHeader, setFrameFlags } from '../../src/protocol/header.js';
import {
  authChallengeFrame,
  authSuccessFrame,
  authenticateFrame,
} from '../../src/protocol/messages/auth.js';
import { decodeAuthResponse } from '../../src/protocol/messages/auth-response.js';
import { errorFrame } from '../../src/protocol/messages/error.js';
import { eventFrame } from '../../src/protocol/messages/event.js';
import type { CqlEvent } from '../../src/protocol/messages/event.js';
import { decodeQuery } from '../../src/protocol/messages/query.js';
import { readyFrame } from '../../src/protocol/messages/ready.js';
import { decodeRegister } from '../../src/protocol/messages/register.js';
import { resultFrame, rowsFrame } from '../../src/protocol/messages/result.js';
import { decodeStartup } from '../../src/protocol/messages/startup.js';
import { supportedFrame } from '../../src/protocol/messages/supported.js';
import { FramedSocket } from '../../src/transport/framed-socket.js';
import { contactPointEndpoint } from '../../src/upstream/endpoint.js';
import type { Endpoint } from '../../src/upstream/endpoint.js';
import {
  UpstreamConnection,
  type UpstreamConnectionOptions,
} from '../../src/upstream/connection.js';

export const DSE_AUTHENTICATOR = 'com.datastax.bdp.cassandra.auth.DseAuthenticator';
export const PASSWORD_AUTHENTICATOR = 'org.apache.cassandra.auth.PasswordAuthenticator';
export const FAKE_CQL_VERSION = '3.4.5';

export interface FakeNodeOptions {
  /** Versions served; default v3 and v4. */
  versions?: readonly number[];
  /** Versions refused, in their own version, with Cassandra 3.x's "Beta version" text. */
  betaVersions?: readonly number[];
  /** Stream id of version refusals; default the request's own. */
  refusalStreamId?: number;
  /** AUTHENTICATE with this class after STARTUP; no authentication when absent. */
  authenticator?: string;
  username?: string;
  password?: string;
  /** Keyspaces USE accepts. */
  keyspaces?: readonly string[];
  /** Extra SUPPORTED entries (e.g. a marker to tell nodes apart). */
  supported?: Readonly<Record<string, string[]>>;
  /** SUPPORTED COMPRESSION; default lz4 and snappy. */
  compressions?: readonly string[];
  /** Answer each batch of requests read in one chunk in reverse order. */
  reorder?: boolean;
}

export interface ReceivedFrame {
  version: number;
  opcode: number;
  streamId: number;
  flags: number;
  /** The body, decompressed. */
  body: Buffer;
  /** performance.now() when it arrived. */
  at: number;
}

export interface FakeConnection {
  readonly socket: Socket;
  version: number;
  startup: Map<string, string> | undefined;
  readonly received: ReceivedFrame[];
  readonly registered: Set<string>;
  ready: boolean;
  /** Set after STARTUP when (v3/v4) body compression is on. */
  compressor: BodyCompressor | undefined;
  segments: 'none' | 'lz4' | undefined;
  /** AUTH_RESPONSE tokens as received. */
  readonly authTokens: string[];
}

export interface FakeNode {
  readonly host: string;
  readonly port: number;
  readonly endpoint: Endpoint;
  readonly connections: readonly FakeConnection[];
  /** Stop answering anything (requests are still read). */
  silence(): void;
  /** Stop reading every connection's socket (nothing is read, nothing answered). */
  pauseReading(): void;
  resumeReading(): void;
  /** EVENT to every ready connection registered for its type. */
  pushEvent(event: CqlEvent): void;
  close(): Promise<void>;
}

export async function startFakeNode(options: FakeNodeOptions = {}): Promise<FakeNode> {
  const versions = options.versions ?? [ProtocolVersion.V3, ProtocolVersion.V4];
  const connections: FakeConnection[] = [];
  const sockets = new Set<Socket>();
  let silent = false;
  let paused = false;

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (paused) socket.pause();
    serve(socket);
  });

  const serve = (socket: Socket): void => {
    const conn: FakeConnection = {
      socket,
      version: 0,
      startup: undefined,
      received: [],
      registered: new Set(),
      ready: false,
      compressor: undefined,
      segments: undefined,
      authTokens: [],
    };
    connections.push(conn);
    let batch: Buffer[] | undefined;
    const framed = new FramedSocket(socket, {
      incoming: 'request',
      maxFrameLength: 16 * 1024 * 1024,
      onFrame: (frame) => onFrame(frame),
      onError: () => socket.destroy(),
      onClose: () => undefined,
    });

    /** Sends a response frame, compressing its body when negotiated. */
    const reply = (frame: Buffer, compress = true): void => {
      let out = frame;
      if (compress && conn.compressor !== undefined && frame.length > HEADER_LENGTH) {
        const body = conn.compressor.compress(frame.subarray(HEADER_LENGTH));
        out = Buffer.alloc(HEADER_LENGTH + body.length);
        frame.copy(out, 0, 0, HEADER_LENGTH);
        setFrameFlags(out, frame[1]! | HeaderFlag.COMPRESSION);
        out.writeInt32BE(body.length, 5);
        body.copy(out, HEADER_LENGTH);
      }
      if (batch !== undefined) batch.push(out);
      else framed.write(out);
    };

    const onFrame = (frame: Buffer): void => {
      const header = readHeader(frame);
      let body = frame.subarray(HEADER_LENGTH);
      if ((header.flags & HeaderFlag.COMPRESSION) !== 0) {
        if (conn.compressor === undefined) throw new Error('compressed frame before STARTUP');
        body = conn.compressor.decompress(body, 16 * 1024 * 1024);
      }
      conn.received.push({
        version: header.version,
        opcode: header.opcode,
        streamId: header.streamId,
        flags: header.flags,
        body: Buffer.from(body),
        at: performance.now(),
      });
      if (conn.version === 0) {
        if (options.betaVersions?.includes(header.version) === true) {
          framed.write(
            errorFrame(header.version, header.streamId, {
              code: ErrorCode.PROTOCOL_ERROR,
              message: `Beta version of the protocol used (${header.version}/${versionName(header.version)}-beta), but USE_BETA flag is unset`,
            }),
          );
          framed.end();
          return;
        }
        if (!versions.includes(header.version)) {
          const highest = Math.max(...versions);
          const offered = versions.map((v) => `${v}/${versionName(v)}`).join(', ');
          framed.write(
            errorFrame(highest, options.refusalStreamId ?? header.streamId, {
              code: ErrorCode.PROTOCOL_ERROR,
              message: `Invalid or unsupported protocol version (${header.version}); supported versions are (${offered})`,
            }),
          );
          framed.end();
          return;
        }
        conn.version = header.version;
      }
      if (silent) return;
      const v = conn.version;
      const id = header.streamId;
      switch (header.opcode) {
        case Opcode.OPTIONS:
          reply(
            supportedFrame(v, id, {
              CQL_VERSION: [FAKE_CQL_VERSION],
              COMPRESSION: [...(options.compressions ?? ['lz4', 'snappy'])],
              PROTOCOL_VERSIONS: versions.map((x) => `${x}/${versionName(x)}`),
              PRODUCT_TYPE: ['FAKE_NODE'],
              ...options.supported,
            }),
          );
          return;
        case Opcode.STARTUP: {
          conn.startup = decodeStartup(body);
          const compression = conn.startup.get('COMPRESSION');
          if (options.authenticator === undefined) {
            conn.ready = true;
            framed.write(readyFrame(v, id));
          } else {
            framed.write(authenticateFrame(v, id, options.authenticator));
          }
          if (v === ProtocolVersion.V5) {
            conn.segments = compression === 'lz4' ? 'lz4' : 'none';
            framed.startSegments(conn.segments);
          } else if (compression === 'lz4' || compression === 'snappy') {
            conn.compressor = bodyCompressor(compression);
          }
          return;
        }
        case Opcode.AUTH_RESPONSE: {
          const token = decodeAuthResponse(body) ?? Buffer.alloc(0);
          conn.authTokens.push(token.toString('utf8'));
          if (options.authenticator === DSE_AUTHENTICATOR && token.toString('utf8') === 'PLAIN') {
            reply(authChallengeFrame(v, id, Buffer.from('PLAIN-START')));
            return;
          }
          const [, user, pass] = token.toString('utf8').split('\0');
          if (user === (options.username ?? 'token') && pass === (options.password ?? 'secret')) {
            conn.ready = true;
            reply(authSuccessFrame(v, id, null));
          } else {
            reply(
              errorFrame(v, id, {
                code: ErrorCode.AUTHENTICATION_ERROR,
                message: `Provided username ${user ?? ''} and/or password are incorrect`,
              }),
            );
          }
          return;
        }
        case Opcode.REGISTER:
          for (const type of decodeRegister(body)) conn.registered.add(type);
          reply(readyFrame(v, id));
          return;
        case Opcode.QUERY: {
          const query = decodeQuery(body, v).query;
          const use = /^USE "((?:[^"]|"")*)"$/.exec(query);
          if (use !== null) {
            const keyspace = use[1]!.replace(/""/g, '"');
            if (options.keyspaces?.includes(keyspace) === true) {
              reply(resultFrame(v, id, { kind: ResultKind.SET_KEYSPACE, keyspace }));
            } else {
              reply(
                errorFrame(v, id, {
                  code: ErrorCode.INVALID,
                  message: `Keyspace '${keyspace}' does not exist`,
                }),
              );
            }
            return;
          }
          if (batch === undefined && options.reorder === true) {
            batch = [];
            const pending = batch;
            setImmediate(() => {
              batch = undefined;
              for (const out of pending.reverse()) framed.write(out);
            });
          }
          reply(
            rowsFrame(v, id, {
              columns: [
                { keyspace: 'fake', table: 'echo', name: 'q', type: { id: DataType.VARCHAR } },
              ],
              rows: [[Buffer.from(query, 'utf8')]],
            }),
          );
          return;
        }
        default:
          reply(
            errorFrame(v, id, {
              code: ErrorCode.PROTOCOL_ERROR,
              message: `fake node: unexpected opcode ${header.opcode}`,
            }),
          );
      }
    };

    eventTargets.set(conn, (event) => {
      if (!conn.ready || !conn.registered.has(event.type)) return;
      reply(eventFrame(conn.version, event));
    });
  };

  const eventTargets = new Map<FakeConnection, (event: CqlEvent) => void>();

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    endpoint: contactPointEndpoint('127.0.0.1', port),
    connections,
    silence: () => {
      silent = true;
    },
    pauseReading: () => {
      paused = true;
      for (const socket of sockets) socket.pause();
    },
    resumeReading: () => {
      paused = false;
      for (const socket of sockets) socket.resume();
    },
    pushEvent: (event) => {
      for (const send of eventTargets.values()) send(event);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** A whole QUERY request frame, as a client would send it (stream id to be patched). */
export function rawQueryFrame(version: number, body: Buffer, flags = 0, streamId = 0): Buffer {
  const frame = Buffer.alloc(HEADER_LENGTH + body.length);
  frame[0] = version;
  frame[1] = flags;
  frame.writeInt16BE(streamId, 2);
  frame[4] = Opcode.QUERY;
  frame.writeInt32BE(body.length, 5);
  body.copy(frame, HEADER_LENGTH);
  return frame;
}

/**
 * A v4 UpstreamConnection to `node` without heartbeats or idle timeout, frames up to 1 MiB;
 * `options` adds to or overrides that.
 */
export function connectTo(
  node: FakeNode,
  options: Partial<UpstreamConnectionOptions> = {},
): Promise<UpstreamConnection> {
  return UpstreamConnection.connect({
    endpoint: node.endpoint,
    version: ProtocolVersion.V4,
    connectTimeoutMs: 3000,
    heartbeatIntervalMs: 0,
    idleTimeoutMs: 0,
    maxFrameLength: 1 << 20,
    ...options,
  });
}
