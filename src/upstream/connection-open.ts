// Opening a connection to a node, before the UpstreamConnection exists: its options, the
// socket (TCP, or TLS when the endpoint has it) under the connect deadline, and version
// negotiation. A node that does not speak the requested version answers an ERROR "Invalid or
// unsupported protocol version" (or "Beta version of the protocol used", Cassandra 3.x asked for
// v5), often in another version's frame, and closes; then a new socket tries one step lower:
// DSE_V2 → DSE_V1 → v5 → v4 → v3 (docs/cql-proxy-compat.md §2.7, docs/drivers.md §4).

import { connect as netConnect } from 'node:net';
import type { Socket, TcpSocketConnectOpts } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { BodyCompressionName } from '../protocol/compression.js';
import { ProtocolVersion, isKnownVersion, versionName } from '../protocol/constants.js';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';
import type { Credentials } from './authenticator.js';
import { CqlSessionError } from './contract.js';
import { CqlServerError } from './cql-server-error.js';
import type { Endpoint } from './endpoint.js';
import { flushAllQueued } from '../transport/framed-socket.js';
import { ReadArena } from '../transport/read-arena.js';
import type { UpstreamConnection } from './connection.js';

export type ConnectionLogLevel = 'debug' | 'info' | 'warn';

export interface UpstreamConnectionOptions {
  endpoint: Endpoint;
  /** The version to ask for; with `negotiate`, the highest to try. */
  version: number;
  /** Step down on a version refusal (control connection); otherwise the exact version is required. */
  negotiate?: boolean;
  /** Body compression for v3/v4/DSE; segment compression for v5 (lz4 only). */
  compression?: BodyCompressionName;
  credentials?: Credentials;
  /** The exact (case-sensitive) keyspace name: the connection runs USE "<keyspace>". */
  keyspace?: string;
  /** Bounds connect(): TCP, TLS, handshake and any negotiation retries together. */
  connectTimeoutMs: number;
  /** OPTIONS after this long without a write; 0 disables. */
  heartbeatIntervalMs: number;
  /** Close after this long without a read; 0 disables. Should exceed the heartbeat interval. */
  idleTimeoutMs: number;
  maxFrameLength: number;
  /** EVENT frames (stream id -1), whole, with the body decompressed. */
  onEvent?: (frame: Buffer) => void;
  /** After connect() resolved: called once when the connection closes; `error` unless close() had none. */
  onClose?: (connection: UpstreamConnection, error?: Error) => void;
  log?: (level: ConnectionLogLevel, message: string) => void;
  /** Queued bytes beyond which `congested` is true; FramedSocket's default when absent. */
  highWaterMark?: number;
}

/** Versions tried by negotiation, highest first (cql-proxy's order, with v5 added). */
const NEGOTIATION_LADDER: readonly number[] = [
  ProtocolVersion.DSE_V2,
  ProtocolVersion.DSE_V1,
  ProtocolVersion.V5,
  ProtocolVersion.V4,
  ProtocolVersion.V3,
];

/** Server texts that mean "not this version" (Cassandra ProtocolVersion.decode, Envelope.Decoder). */
const VERSION_REFUSALS: readonly string[] = [
  'Invalid or unsupported protocol version',
  'Beta version of the protocol used',
];

/** The next version to try after `version` was refused, if any. */
export function lowerVersion(
  version: number,
  compression: BodyCompressionName | undefined,
): number | undefined {
  const index = NEGOTIATION_LADDER.indexOf(version);
  if (index < 0) return undefined;
  for (const next of NEGOTIATION_LADDER.slice(index + 1)) {
    // v5 compresses segments with LZ4 only: skip it rather than refuse a snappy session.
    if (next === ProtocolVersion.V5 && compression === 'snappy') continue;
    return next;
  }
  return undefined;
}

/** The node's message when `err` is a version refusal. */
function versionRefusal(err: unknown): string | undefined {
  if (!CqlServerError.isCqlServerError(err)) return undefined;
  const message = err.serverMessage;
  return VERSION_REFUSALS.some((text) => message.includes(text)) ? message : undefined;
}

/**
 * Opens a connection through `attempt` (the socket, the handshake) with the version asked for and,
 * with `negotiate`, each lower one in turn while the node refuses the version. Rejects with a
 * ProxyError (CONNECTION_FAILED, AUTHENTICATION_FAILED, PROTOCOL_VERSION_REFUSED, CONFIG_INVALID)
 * or, when USE was refused, with a CqlSessionError carrying the node's code and message.
 */
export async function connectNegotiating(
  options: UpstreamConnectionOptions,
  attempt: (version: number, deadline: number) => Promise<UpstreamConnection>,
): Promise<UpstreamConnection> {
  checkOptions(options);
  const key = options.endpoint.key;
  const deadline = performance.now() + options.connectTimeoutMs;
  const first = options.version;
  let version = first;
  for (;;) {
    let refusal: string | undefined;
    try {
      return await attempt(version, deadline);
    } catch (err) {
      refusal = versionRefusal(err);
      if (refusal === undefined) throw connectFailure(key, err);
    }
    const next =
      options.negotiate === true ? lowerVersion(version, options.compression) : undefined;
    if (next === undefined) {
      const tried =
        version === first
          ? `protocol ${versionName(version)}`
          : `every protocol version from ${versionName(first)} down to ${versionName(version)}`;
      throw new ProxyError(
        ProxyErrorCode.PROTOCOL_VERSION_REFUSED,
        `${key} refused ${tried}: ${refusal}`,
      );
    }
    options.log?.(
      'debug',
      `${key} refused ${versionName(version)} (${refusal}); trying ${versionName(next)}`,
    );
    version = next;
  }
}

function checkOptions(options: UpstreamConnectionOptions): void {
  const { version, compression } = options;
  if (!isKnownVersion(version)) {
    throw new ProxyError(
      ProxyErrorCode.CONFIG_INVALID,
      `protocol version ${version} is not one the proxy speaks (3, 4, 5, DSE_V1, DSE_V2)`,
    );
  }
  if (version === ProtocolVersion.V5 && compression === 'snappy') {
    throw new ProxyError(
      ProxyErrorCode.CONFIG_INVALID,
      'protocol v5 compresses with lz4 only: snappy cannot be used with v5',
    );
  }
}

export function connectTimeout(key: string, timeoutMs: number): ProxyError {
  return new ProxyError(
    ProxyErrorCode.CONNECTION_FAILED,
    `cannot connect to ${key}: no connection within ${timeoutMs} ms`,
  );
}

/** What connect() rejects with: errors with a meaning of their own pass, the rest is wrapped. */
function connectFailure(key: string, err: unknown): Error {
  if (ProxyError.isProxyError(err) && err.code !== ProxyErrorCode.CONNECTION_CLOSED) return err;
  if (CqlSessionError.isCqlSessionError(err)) return err;
  // A connection lost during the handshake: name what happened, not the wrapper.
  const cause = ProxyError.isProxyError(err) && err.cause !== undefined ? err.cause : err;
  return new ProxyError(
    ProxyErrorCode.CONNECTION_FAILED,
    `cannot connect to ${key}: ${errorMessage(cause)}`,
    { cause },
  );
}

/** A socket to a node, and the arena it reads into. */
export interface OpenedSocket {
  socket: Socket;
  readArena: ReadArena;
}

/** tls.connect's options with net's `onread`, which TLSSocket honours. */
type TlsOptions = ConnectionOptions & Pick<TcpSocketConnectOpts, 'onread'>;

/**
 * TCP, then TLS when the endpoint has it; rejects when `timeoutMs` passes first. The socket reads
 * into an arena of reused memory (src/transport/read-arena.ts: no allocation per read, which keeps
 * large answers from driving the garbage collector).
 */
export function openSocket(
  endpoint: Endpoint,
  timeoutMs: number,
  configuredMs: number,
): Promise<OpenedSocket> {
  return new Promise((resolve, reject) => {
    if (timeoutMs <= 0) {
      reject(connectTimeout(endpoint.key, configuredMs));
      return;
    }
    const readArena = new ReadArena(flushAllQueued);
    const onread = readArena.onread;
    const socket =
      endpoint.tls === undefined
        ? netConnect({ host: endpoint.host, port: endpoint.port, onread })
        : // TLSSocket takes `onread` as net.Socket does (the decrypted bytes land in the arena),
          // though @types/node leaves it out of tls.ConnectionOptions.
          tlsConnect({
            ...endpoint.tls,
            host: endpoint.host,
            port: endpoint.port,
            onread,
          } as TlsOptions);
    const ready = endpoint.tls === undefined ? 'connect' : 'secureConnect';
    const timer = setTimeout(() => {
      socket.off('error', onError);
      socket.on('error', () => undefined);
      socket.destroy();
      reject(connectTimeout(endpoint.key, configuredMs));
    }, timeoutMs);
    timer.unref();
    const onError = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve({ socket, readArena });
    });
  });
}
