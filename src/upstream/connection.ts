// One connection from the proxy to one node: TCP or TLS, the handshake (handshake.ts), version
// negotiation, stream ids, heartbeats, and two ways to send.
//
// - send() is the forwarding path: a client's whole request frame goes out as it is, only its
//   stream id patched in place; the response frame comes back as it arrived (compressed or not,
//   the upstream stream id still in it) to the handler registered under that id. Handlers live
//   in an array indexed by stream id: no Map, no allocation per frame.
// - request()/query()/register() are the control path: the connection builds the frame in its
//   version, compresses it when STARTUP negotiated compression, and decompresses and decodes the
//   answer.
//
// Version negotiation (for the control connection): a node that does not speak the requested
// version answers an ERROR "Invalid or unsupported protocol version" (or "Beta version of the
// protocol used", Cassandra 3.x asked for v5), often in another version's frame, and closes. Then
// a new socket tries one step lower: DSE_V2 → DSE_V1 → v5 → v4 → v3
// (docs/cql-proxy-compat.md §2.7, docs/drivers.md §4). Pool connections ask for one exact version.
//
// Closing, whatever the cause (socket error, peer close, protocol error, idle timeout, close()):
// every request in flight gets onClosed once, onClose fires once, and send() returns false.

import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { bodyCompressor } from '../protocol/compression.js';
import type { BodyCompressionName, BodyCompressor } from '../protocol/compression.js';
import {
  Consistency,
  HEADER_LENGTH,
  HeaderFlag,
  Opcode,
  ProtocolVersion,
  isKnownVersion,
  opcodeName,
  usesSegments,
  versionName,
} from '../protocol/constants.js';
import { ProtocolError, ProtocolErrorCode, malformed } from '../protocol/errors.js';
import type { FrameSink } from '../protocol/frame-decoder.js';
import { patchStreamId, writeHeader } from '../protocol/header.js';
import { decodeError } from '../protocol/messages/error.js';
import { readBodyExtras } from '../protocol/messages/frame-extras.js';
import { encodeOptions } from '../protocol/messages/options.js';
import { encodeQuery } from '../protocol/messages/query.js';
import { decodeReady } from '../protocol/messages/ready.js';
import { encodeRegister } from '../protocol/messages/register.js';
import { decodeResult } from '../protocol/messages/result.js';
import type { ResultMessage } from '../protocol/messages/result.js';
import { encodeStartup } from '../protocol/messages/startup.js';
import { CqlReader } from '../protocol/reader.js';
import { FramedSocket } from '../transport/framed-socket.js';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';
import type { Credentials } from './authenticator.js';
import { CqlSessionError } from './contract.js';
import { CqlServerError } from './cql-server-error.js';
import type { Endpoint } from './endpoint.js';
import { handshake } from './handshake.js';
import type { ControlResponse, HandshakeChannel } from './handshake.js';
import { HeartbeatMonitor } from './heartbeat.js';
import type { ResponseHandler } from './pooled-connection.js';
import { MAX_STREAM_IDS, StreamIdAllocator } from './stream-ids.js';

export type { ControlResponse } from './handshake.js';
export type { ResponseHandler } from './pooled-connection.js';

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

type State = 'connecting' | 'open' | 'closed';

export class UpstreamConnection {
  readonly endpoint: Endpoint;
  readonly version: number;
  /** The compression STARTUP negotiated (for v5: of segments). */
  readonly compression: BodyCompressionName | undefined;
  private readonly options: UpstreamConnectionOptions;
  private readonly framed: FramedSocket;
  private readonly ids = new StreamIdAllocator(MAX_STREAM_IDS);
  private readonly handlers: (ResponseHandler | undefined)[] = new Array<
    ResponseHandler | undefined
  >(MAX_STREAM_IDS).fill(undefined);
  private readonly heartbeat: HeartbeatMonitor;
  private state: State = 'connecting';
  private closeReason: Error | undefined;
  /** Set once STARTUP was answered with compression on (v3/v4/DSE). */
  private compressor: BodyCompressor | undefined;
  private supportedOptions = new Map<string, string[]>();
  private heartbeatPending = false;
  private drainListeners: (() => void)[] = [];
  private drainCheckScheduled = false;
  /** Stream ids whose request timed out and whose answer has not arrived yet (orphan()). */
  private orphans = 0;
  /** Told when an orphaned id's answer arrives (its session may send a waiting request). */
  private onOrphanAnswered: (() => void) | undefined;
  /**
   * The handler of every orphaned stream id of this connection, made once: orphaning allocates
   * nothing, and the timed-out request it replaces can be garbage-collected.
   */
  private readonly orphanHandler: ResponseHandler = {
    onResponse: () => this.orphanAnswered(),
    onClosed: () => undefined,
  };
  /** Set by retire(): the connection closes once only orphaned stream ids remain. */
  private retiring = false;
  private retireTimer: NodeJS.Timeout | undefined;

  private constructor(socket: Socket, options: UpstreamConnectionOptions, version: number) {
    this.endpoint = options.endpoint;
    this.options = options;
    this.version = version;
    this.compression = options.compression;
    const framedOptions = {
      incoming: 'response' as const,
      maxFrameLength: options.maxFrameLength,
      onFrame: (frame: Buffer) => this.onFrame(frame),
      onFrameHead: (head: Buffer, frameLength: number) => this.onFrameHead(head, frameLength),
      onError: (err: Error) => this.close(this.wrapFailure(err)),
      onClose: () =>
        this.close(
          new ProxyError(
            ProxyErrorCode.CONNECTION_CLOSED,
            `${this.endpoint.key} closed the connection`,
          ),
        ),
      onDrain: () => this.checkDrain(),
    };
    this.framed = new FramedSocket(
      socket,
      options.highWaterMark === undefined
        ? framedOptions
        : { ...framedOptions, highWaterMark: options.highWaterMark },
    );
    this.heartbeat = new HeartbeatMonitor(options.heartbeatIntervalMs, options.idleTimeoutMs, {
      sendHeartbeat: () => this.sendHeartbeat(),
      idleTimeout: () =>
        this.close(
          new ProxyError(
            ProxyErrorCode.CONNECTION_CLOSED,
            `no response from ${this.endpoint.key} within ${options.idleTimeoutMs} ms`,
          ),
        ),
    });
  }

  /**
   * Opens a connection and runs the handshake. Rejects with a ProxyError (CONNECTION_FAILED,
   * AUTHENTICATION_FAILED, PROTOCOL_VERSION_REFUSED, CONFIG_INVALID) or, when USE was refused,
   * with a CqlSessionError carrying the node's code and message.
   */
  static async connect(options: UpstreamConnectionOptions): Promise<UpstreamConnection> {
    checkOptions(options);
    const key = options.endpoint.key;
    const deadline = performance.now() + options.connectTimeoutMs;
    const first = options.version;
    let version = first;
    for (;;) {
      let refusal: string | undefined;
      try {
        return await UpstreamConnection.attempt(options, version, deadline);
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

  private static async attempt(
    options: UpstreamConnectionOptions,
    version: number,
    deadline: number,
  ): Promise<UpstreamConnection> {
    const socket = await openSocket(
      options.endpoint,
      deadline - performance.now(),
      options.connectTimeoutMs,
    );
    const connection = new UpstreamConnection(socket, options, version);
    const timer = setTimeout(
      () => connection.close(connectTimeout(options.endpoint.key, options.connectTimeoutMs)),
      Math.max(0, deadline - performance.now()),
    );
    timer.unref();
    try {
      const result = await handshake(connection.channel(), {
        compression: options.compression,
        credentials: options.credentials,
        keyspace: options.keyspace,
        log: options.log,
      });
      connection.supportedOptions = result.supported;
    } catch (err) {
      connection.close(err instanceof Error ? err : new Error(String(err)));
      throw err;
    } finally {
      clearTimeout(timer);
    }
    // The timer may have fired between the last answer and here.
    if (connection.state === 'closed') throw connection.closedError();
    connection.state = 'open';
    connection.heartbeat.start();
    return connection;
  }

  /** The node's SUPPORTED options (CQL_VERSION, COMPRESSION, PRODUCT_TYPE, ...). */
  get supported(): ReadonlyMap<string, readonly string[]> {
    return this.supportedOptions;
  }

  /** Requests sent and not yet answered (control requests and heartbeats included). */
  /** Bytes read from / written to the node's socket (TLS records included). */
  get bytesRead(): number {
    return this.framed.socket.bytesRead;
  }

  get bytesWritten(): number {
    return this.framed.socket.bytesWritten;
  }

  get inFlight(): number {
    return this.state === 'closed' ? 0 : this.ids.inFlight;
  }

  /** Stream ids held by timed-out requests whose answer has not arrived (see orphan()). */
  get orphanedStreams(): number {
    return this.state === 'closed' ? 0 : this.orphans;
  }

  /** Stream ids still free. */
  get availableStreams(): number {
    return this.state === 'open' ? this.ids.available : 0;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** True while the socket is backed up: stop feeding it until onceDrained fires. */
  get congested(): boolean {
    return this.state !== 'closed' && this.framed.needsDrain;
  }

  /**
   * Forwards a whole request frame: takes a stream id, patches it into `frame` in place and
   * queues the frame. The frame must be in this connection's version (and compression); the
   * caller keeps it unchanged until the handler is called. Returns false, having done nothing,
   * when every stream id is taken or the connection is not open.
   */
  send(frame: Buffer, handler: ResponseHandler): boolean {
    if (this.state !== 'open') return false;
    return this.enqueue(frame, handler);
  }

  /**
   * Sends a message this connection builds itself (compressed when negotiated) and resolves with
   * the answer, decompressed. ERROR answers resolve too: the caller decides what they mean.
   */
  request(opcode: number, body: Buffer): Promise<ControlResponse> {
    return this.exchange(opcode, body, false);
  }

  /** A QUERY at `consistency`; rejects with CqlServerError when the node answers ERROR. */
  async query(cql: string, consistency: number = Consistency.ONE): Promise<ResultMessage> {
    const response = await this.request(
      Opcode.QUERY,
      encodeQuery(this.version, cql, { consistency }),
    );
    if (response.opcode === Opcode.RESULT) return decodeResult(response.body, this.version);
    throw this.unexpectedAnswer(response, 'QUERY');
  }

  /** REGISTER for events (spec v4 §4.1.8); they arrive through onEvent. */
  async register(types: readonly string[]): Promise<void> {
    const response = await this.request(Opcode.REGISTER, encodeRegister(types));
    if (response.opcode !== Opcode.READY) throw this.unexpectedAnswer(response, 'REGISTER');
    decodeReady(response.body, this.version);
  }

  /** Calls `listener` once the connection is no longer congested (or closed). */
  onceDrained(listener: () => void): void {
    this.drainListeners.push(listener);
    this.scheduleDrainCheck();
  }

  /**
   * The request that registered `handler` on `streamId` gave up waiting (it timed out). The id
   * stays taken until the node answers (the answer carries the request's stream id, spec v4 §2.3:
   * reusing the id earlier would hand that late answer to another request), but the handler is dropped for a shared
   * no-op, so the request and the client frame it holds can be collected, and the id is counted
   * as orphaned until the answer comes; then `onLateAnswer` is called, the id free again. False
   * when `streamId` is not `handler`'s.
   */
  orphan(streamId: number, handler: ResponseHandler, onLateAnswer?: () => void): boolean {
    if (this.state === 'closed' || !(streamId >= 0 && streamId < MAX_STREAM_IDS)) return false;
    if (this.handlers[streamId] !== handler) return false;
    this.handlers[streamId] = this.orphanHandler;
    this.orphans++;
    if (onLateAnswer !== undefined) this.onOrphanAnswered = onLateAnswer;
    return true;
  }

  /**
   * The pool replaced this connection (too many orphaned stream ids): it closes as soon as every
   * id still taken is an orphan, so that no live request is cut off, or after `timeoutMs` at the
   * latest (by then every request sent on it has timed out anyway). Requests sent meanwhile are
   * still served.
   */
  retire(timeoutMs: number): void {
    if (this.state === 'closed' || this.retiring) return;
    this.retiring = true;
    this.retireTimer = setTimeout(() => this.closeRetired(), Math.max(0, timeoutMs));
    this.retireTimer.unref();
    this.closeIfOnlyOrphans();
  }

  private orphanAnswered(): void {
    this.orphans--;
    const listener = this.onOrphanAnswered;
    if (listener !== undefined) this.callSafely(listener, 'late answer listener');
  }

  private closeIfOnlyOrphans(): void {
    if (this.ids.inFlight <= this.orphans) this.closeRetired();
  }

  private closeRetired(): void {
    this.close(
      new ProxyError(
        ProxyErrorCode.CONNECTION_CLOSED,
        `connection to ${this.endpoint.key} replaced: too many orphaned stream ids`,
      ),
    );
  }

  /** Closes at once; requests in flight fail with `error` (or a CONNECTION_CLOSED error). */
  close(error?: Error): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    const reason =
      error ??
      new ProxyError(
        ProxyErrorCode.CONNECTION_CLOSED,
        `connection to ${this.endpoint.key} was closed`,
      );
    this.closeReason = reason;
    this.heartbeat.stop();
    if (this.retireTimer !== undefined) clearTimeout(this.retireTimer);
    // Frames still queued never reached the node: their requests may go elsewhere, whatever they
    // are (the handlers are told so).
    const unsent = unsentStreamIds(this.framed.takeUnwritten());
    this.framed.destroy();
    this.orphans = 0;
    for (let id = 0; id < MAX_STREAM_IDS; id++) {
      const handler = this.handlers[id];
      if (handler === undefined) continue;
      this.handlers[id] = undefined;
      this.ids.release(id);
      const notSent = unsent?.has(id) === true;
      this.callSafely(() => handler.onClosed(reason, notSent), 'onClosed');
    }
    this.fireDrainListeners();
    if (wasOpen) this.callSafely(() => this.options.onClose?.(this, error), 'onClose');
  }

  // --- sending ----------------------------------------------------------------------------------

  private enqueue(frame: Buffer, handler: ResponseHandler): boolean {
    const id = this.ids.acquire();
    if (id < 0) return false;
    this.handlers[id] = handler;
    patchStreamId(frame, id);
    this.framed.write(frame);
    this.heartbeat.noteWrite();
    return true;
  }

  private exchange(opcode: number, body: Buffer, startup: boolean): Promise<ControlResponse> {
    return new Promise<ControlResponse>((resolve, reject) => {
      if (this.state === 'closed') {
        reject(this.closedError());
        return;
      }
      const frame = this.buildFrame(opcode, body);
      const handler: ResponseHandler = {
        onResponse: (response) => {
          try {
            // STARTUP's answer is the last plain frame: what it negotiated applies from the very
            // next byte, so the switch happens here, before any later frame of this chunk is read.
            if (startup) this.afterStartup(response[4]!);
            resolve(this.readControlResponse(response));
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        },
        onClosed: reject,
      };
      if (!this.enqueue(frame, handler)) {
        reject(
          new ProxyError(
            ProxyErrorCode.STREAMS_EXHAUSTED,
            `every stream id of the connection to ${this.endpoint.key} is in use`,
          ),
        );
      }
    });
  }

  /** A whole request frame in this connection's version, the body compressed when negotiated. */
  private buildFrame(opcode: number, body: Buffer): Buffer {
    let flags = 0;
    let payload = body;
    // Empty bodies (OPTIONS) stay uncompressed: the flag is per frame (spec v4 §2.2).
    if (this.compressor !== undefined && body.length > 0) {
      payload = this.compressor.compress(body);
      flags |= HeaderFlag.COMPRESSION;
    }
    const frame = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
    writeHeader(frame, 0, {
      version: this.version,
      response: false,
      flags,
      streamId: 0,
      opcode,
      bodyLength: payload.length,
    });
    payload.copy(frame, HEADER_LENGTH);
    return frame;
  }

  private afterStartup(opcode: number): void {
    if (opcode !== Opcode.READY && opcode !== Opcode.AUTHENTICATE) return;
    if (usesSegments(this.version)) {
      // spec v5 §2.3.1: segments in both directions once the STARTUP answer is through.
      this.framed.startSegments(this.compression === 'lz4' ? 'lz4' : 'none');
    } else if (this.compression !== undefined) {
      this.compressor = bodyCompressor(this.compression);
    }
  }

  private sendHeartbeat(): void {
    if (this.state !== 'open' || this.heartbeatPending) return;
    const sent = this.enqueue(this.buildFrame(Opcode.OPTIONS, encodeOptions()), {
      onResponse: () => {
        this.heartbeatPending = false;
      },
      onClosed: () => {
        this.heartbeatPending = false;
      },
    });
    if (sent) this.heartbeatPending = true;
  }

  // --- receiving --------------------------------------------------------------------------------

  private onFrame(frame: Buffer): void {
    if (this.state === 'closed') return;
    this.heartbeat.noteRead();
    if ((frame[0]! & 0x7f) !== this.version) {
      this.onForeignVersion(frame);
      return;
    }
    const streamId = frame.readInt16BE(2);
    if (streamId < 0) {
      this.onServerPush(frame, streamId);
      return;
    }
    const handler = this.handlers[streamId];
    if (handler === undefined) {
      this.onStray(frame, streamId);
      return;
    }
    this.handlers[streamId] = undefined;
    this.ids.release(streamId);
    // No closure per frame here: this is the forwarding path.
    try {
      handler.onResponse(frame);
    } catch (err) {
      this.options.log?.(
        'warn',
        `a response handler for ${this.endpoint.key} threw: ${errorMessage(err)}`,
      );
    }
    if (this.retiring) this.closeIfOnlyOrphans();
  }

  /** Cut-through of a large response: its handler may take it before it is complete. */
  private onFrameHead(head: Buffer, frameLength: number): FrameSink | undefined {
    if (this.state === 'closed' || (head[0]! & 0x7f) !== this.version) return undefined;
    const streamId = head.readInt16BE(2);
    if (streamId < 0) return undefined;
    const handler = this.handlers[streamId];
    if (handler?.onResponseHead === undefined) return undefined;
    let sink: FrameSink | undefined;
    try {
      sink = handler.onResponseHead(head, frameLength);
    } catch (err) {
      this.options.log?.(
        'warn',
        `a response handler for ${this.endpoint.key} threw: ${errorMessage(err)}`,
      );
      return undefined;
    }
    if (sink === undefined) return undefined;
    this.heartbeat.noteRead();
    this.handlers[streamId] = undefined;
    this.ids.release(streamId);
    if (this.retiring) this.closeIfOnlyOrphans();
    return sink;
  }

  /**
   * A frame in another version: how nodes refuse the version asked for (Cassandra answers in its
   * own highest version, docs/drivers.md §4). Anything but an ERROR is a broken stream.
   */
  private onForeignVersion(frame: Buffer): void {
    const version = frame[0]! & 0x7f;
    const opcode = frame[4]!;
    if (opcode === Opcode.ERROR && isKnownVersion(version)) {
      try {
        const error = decodeError(frame.subarray(HEADER_LENGTH), version);
        this.close(
          new CqlServerError(
            error,
            `${this.endpoint.key} answered a ${versionName(this.version)} request in ${versionName(version)}`,
          ),
        );
        return;
      } catch (err) {
        this.close(this.wrapFailure(err));
        return;
      }
    }
    this.close(
      this.wrapFailure(
        malformed(
          `${this.endpoint.key} sent a ${versionName(version)} ${opcodeName(opcode)} frame on a ${versionName(this.version)} connection`,
        ),
      ),
    );
  }

  private onServerPush(frame: Buffer, streamId: number): void {
    if (frame[4] !== Opcode.EVENT || streamId !== -1) {
      this.options.log?.(
        'debug',
        `${this.endpoint.key} pushed ${opcodeName(frame[4]!)} on stream ${streamId}: ignored`,
      );
      return;
    }
    const onEvent = this.options.onEvent;
    if (onEvent === undefined) return;
    let event: Buffer;
    try {
      event = this.decompressedFrame(frame);
    } catch (err) {
      this.close(this.wrapFailure(err));
      return;
    }
    this.callSafely(() => onEvent(event), 'onEvent');
  }

  /**
   * A response on a stream id with nothing in flight: the stream accounting can no longer be
   * trusted, so the connection closes. An ERROR here is usually a node refusing the connection
   * (version, startup) before closing it; its message becomes the close reason.
   */
  private onStray(frame: Buffer, streamId: number): void {
    if (frame[4] === Opcode.ERROR) {
      try {
        const { body } = this.readControlResponse(frame);
        this.close(
          new CqlServerError(
            decodeError(body, this.version),
            `${this.endpoint.key} answered on stream ${streamId}, which has no request in flight`,
          ),
        );
      } catch (err) {
        this.close(this.wrapFailure(err));
      }
      return;
    }
    this.close(
      this.wrapFailure(
        malformed(
          `${this.endpoint.key} sent ${opcodeName(frame[4]!)} on stream ${streamId}, which has no request in flight`,
        ),
      ),
    );
  }

  private decompressBody(frame: Buffer): Buffer {
    const body = frame.subarray(HEADER_LENGTH);
    if ((frame[1]! & HeaderFlag.COMPRESSION) === 0) return body;
    if (this.compressor === undefined) {
      throw new ProtocolError(
        ProtocolErrorCode.COMPRESSION,
        `${this.endpoint.key} sent a compressed frame but no compression was negotiated`,
      );
    }
    return this.compressor.decompress(body, this.options.maxFrameLength);
  }

  /** The frame itself, or a copy with the body decompressed and the flag cleared. */
  private decompressedFrame(frame: Buffer): Buffer {
    if ((frame[1]! & HeaderFlag.COMPRESSION) === 0) return frame;
    const body = this.decompressBody(frame);
    const out = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
    frame.copy(out, 0, 0, HEADER_LENGTH);
    out[1] = frame[1]! & ~HeaderFlag.COMPRESSION;
    out.writeInt32BE(body.length, 5);
    body.copy(out, HEADER_LENGTH);
    return out;
  }

  private readControlResponse(frame: Buffer): ControlResponse {
    const flags = frame[1]! & ~HeaderFlag.COMPRESSION;
    const body = this.decompressBody(frame);
    const response: ControlResponse = { opcode: frame[4]!, flags, body };
    const extras = HeaderFlag.TRACING | HeaderFlag.WARNING | HeaderFlag.CUSTOM_PAYLOAD;
    if ((flags & extras) !== 0) {
      const reader = new CqlReader(body);
      const read = readBodyExtras(reader, flags, true, this.version);
      response.body = body.subarray(reader.pos);
      if (read.warnings !== undefined) response.warnings = read.warnings;
    }
    return response;
  }

  private unexpectedAnswer(response: ControlResponse, what: string): Error {
    if (response.opcode === Opcode.ERROR) {
      return new CqlServerError(
        decodeError(response.body, this.version),
        `${what} on ${this.endpoint.key}`,
      );
    }
    return malformed(`${this.endpoint.key} answered ${what} with ${opcodeName(response.opcode)}`);
  }

  // --- drain ------------------------------------------------------------------------------------

  private scheduleDrainCheck(): void {
    if (this.drainCheckScheduled) return;
    this.drainCheckScheduled = true;
    // After this turn's flush (FramedSocket writes in a setImmediate queued before this one).
    setImmediate(() => {
      this.drainCheckScheduled = false;
      this.checkDrain();
    });
  }

  private checkDrain(): void {
    if (this.drainListeners.length === 0) return;
    if (!this.congested) {
      this.fireDrainListeners();
      return;
    }
    // Backed up in the kernel: FramedSocket's onDrain calls back. Backed up only in our queue:
    // the next flush empties it, so look again after it.
    if (!this.framed.socket.writableNeedDrain) this.scheduleDrainCheck();
  }

  private fireDrainListeners(): void {
    const listeners = this.drainListeners;
    if (listeners.length === 0) return;
    this.drainListeners = [];
    for (const listener of listeners) this.callSafely(listener, 'drain listener');
  }

  // --- helpers ----------------------------------------------------------------------------------

  private channel(): HandshakeChannel {
    return {
      key: this.endpoint.key,
      version: this.version,
      request: (opcode, body) => this.exchange(opcode, body, false),
      startup: (options) => this.exchange(Opcode.STARTUP, encodeStartup(options), true),
    };
  }

  private closedError(): Error {
    return (
      this.closeReason ??
      new ProxyError(
        ProxyErrorCode.CONNECTION_CLOSED,
        `connection to ${this.endpoint.key} is closed`,
      )
    );
  }

  /** Socket and framing failures become CONNECTION_CLOSED errors naming the node. */
  private wrapFailure(err: unknown): Error {
    if (ProxyError.isProxyError(err) || CqlServerError.isCqlServerError(err)) return err;
    return new ProxyError(
      ProxyErrorCode.CONNECTION_CLOSED,
      `connection to ${this.endpoint.key} failed: ${errorMessage(err)}`,
      { cause: err },
    );
  }

  /** A callback's exception must not break the connection that serves every other request. */
  private callSafely(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      this.options.log?.('warn', `${what} for ${this.endpoint.key} threw: ${errorMessage(err)}`);
    }
  }
}

/** The stream ids patched into frames that were never written; undefined when there are none. */
function unsentStreamIds(frames: readonly Buffer[]): Set<number> | undefined {
  if (frames.length === 0) return undefined;
  const ids = new Set<number>();
  for (const frame of frames) ids.add(frame.readInt16BE(2));
  return ids;
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

function connectTimeout(key: string, timeoutMs: number): ProxyError {
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

/** TCP, then TLS when the endpoint has it; rejects when `timeoutMs` passes first. */
function openSocket(endpoint: Endpoint, timeoutMs: number, configuredMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (timeoutMs <= 0) {
      reject(connectTimeout(endpoint.key, configuredMs));
      return;
    }
    const socket =
      endpoint.tls === undefined
        ? netConnect({ host: endpoint.host, port: endpoint.port })
        : tlsConnect({ ...endpoint.tls, host: endpoint.host, port: endpoint.port });
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
      resolve(socket);
    });
  });
}
