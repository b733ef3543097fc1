// One connection from the proxy to one node: the handshake (handshake.ts), stream ids,
// heartbeats, orphaned ids, and two ways to send. Opening the socket and version negotiation are
// in connection-open.ts, the control path's frames in control-frames.ts.
//
// - send() is the forwarding path: a client's whole request frame goes out as it is, only its
//   stream id patched in place; the response frame comes back as it arrived (compressed or not,
//   the upstream stream id still in it) to the handler registered under that id. Handlers live
//   in an array indexed by stream id: no Map, no allocation per frame.
// - request()/query()/register() are the control path: the connection builds the frame in its
//   version, compresses it when STARTUP negotiated compression, and decompresses and decodes the
//   answer.
//
// Version negotiation is for the control connection (connection-open.ts); pool connections ask
// for one exact version.
//
// Closing, whatever the cause (socket error, peer close, protocol error, idle timeout, close()):
// every request in flight gets onClosed once, onClose fires once, and send() returns false.

import type { Socket } from 'node:net';
import { bodyCompressor } from '../protocol/compression.js';
import type { BodyCompressionName, BodyCompressor } from '../protocol/compression.js';
import { Consistency, Opcode, opcodeName, usesSegments } from '../protocol/constants.js';
import type { Decompress } from '../protocol/frame-body.js';
import type { FrameSink } from '../protocol/frame-decoder.js';
import { patchStreamId } from '../protocol/header.js';
import { encodeOptions } from '../protocol/messages/options.js';
import { encodeQuery } from '../protocol/messages/query.js';
import { decodeReady } from '../protocol/messages/ready.js';
import { encodeRegister } from '../protocol/messages/register.js';
import { decodeResult } from '../protocol/messages/result.js';
import type { ResultMessage } from '../protocol/messages/result.js';
import { encodeStartup } from '../protocol/messages/startup.js';
import { FramedSocket } from '../transport/framed-socket.js';
import type { ReadArena } from '../transport/read-arena.js';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';
import { CqlServerError } from './cql-server-error.js';
import type { Endpoint } from './endpoint.js';
import {
  connectNegotiating,
  connectTimeout,
  openSocket,
  type UpstreamConnectionOptions,
} from './connection-open.js';
import {
  controlRequestFrame,
  decompressedFrame,
  foreignVersionError,
  readControlResponse,
  strayAnswerError,
  unexpectedAnswer,
} from './control-frames.js';
import { DrainWaiters } from './drain-waiters.js';
import { handshake } from './handshake.js';
import type { ControlResponse, HandshakeChannel } from './handshake.js';
import { HeartbeatMonitor } from './heartbeat.js';
import type { ResponseHandler } from './pooled-connection.js';
import { InFlightTable } from './in-flight-table.js';

export { lowerVersion } from './connection-open.js';
export type { ConnectionLogLevel, UpstreamConnectionOptions } from './connection-open.js';
export type { ControlResponse } from './handshake.js';
export type { ResponseHandler } from './pooled-connection.js';

type State = 'connecting' | 'open' | 'closed';

export class UpstreamConnection {
  readonly endpoint: Endpoint;
  readonly version: number;
  /** The compression STARTUP negotiated (for v5: of segments). */
  readonly compression: BodyCompressionName | undefined;
  private readonly options: UpstreamConnectionOptions;
  private readonly framed: FramedSocket;
  private readonly table = new InFlightTable((fn, what) => this.callSafely(fn, what));
  private readonly heartbeat: HeartbeatMonitor;
  private state: State = 'connecting';
  private closeReason: Error | undefined;
  /** Set once STARTUP was answered with compression on (v3/v4/DSE). */
  private compressor: BodyCompressor | undefined;
  private decompress: Decompress | undefined;
  private supportedOptions = new Map<string, string[]>();
  private heartbeatPending = false;
  private readonly drainWaiters = new DrainWaiters(this);
  /** Set by retire(): the connection closes once only orphaned stream ids remain. */
  private retiring = false;
  private retireTimer: NodeJS.Timeout | undefined;

  private constructor(
    socket: Socket,
    options: UpstreamConnectionOptions,
    version: number,
    readArena: ReadArena,
  ) {
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
      onDrain: () => this.drainWaiters.check(),
      readArena,
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
  static connect(options: UpstreamConnectionOptions): Promise<UpstreamConnection> {
    return connectNegotiating(options, (version, deadline) =>
      UpstreamConnection.attempt(options, version, deadline),
    );
  }

  private static async attempt(
    options: UpstreamConnectionOptions,
    version: number,
    deadline: number,
  ): Promise<UpstreamConnection> {
    const { socket, readArena } = await openSocket(
      options.endpoint,
      deadline - performance.now(),
      options.connectTimeoutMs,
    );
    const connection = new UpstreamConnection(socket, options, version, readArena);
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

  /** Bytes read from / written to the node's socket (TLS records included). */
  get bytesRead(): number {
    return this.framed.socket.bytesRead;
  }

  get bytesWritten(): number {
    return this.framed.socket.bytesWritten;
  }

  /** Requests sent and not yet answered (control requests and heartbeats included). */
  get inFlight(): number {
    return this.state === 'closed' ? 0 : this.table.inFlight;
  }

  /** Stream ids held by timed-out requests whose answer has not arrived (see orphan()). */
  get orphanedStreams(): number {
    return this.state === 'closed' ? 0 : this.table.orphaned;
  }

  /** Stream ids still free. */
  get availableStreams(): number {
    return this.state === 'open' ? this.table.available : 0;
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
    throw unexpectedAnswer(response, 'QUERY', this.version, this.endpoint.key);
  }

  /** REGISTER for events (spec v4 §4.1.8); they arrive through onEvent. */
  async register(types: readonly string[]): Promise<void> {
    const response = await this.request(Opcode.REGISTER, encodeRegister(types));
    if (response.opcode !== Opcode.READY)
      throw unexpectedAnswer(response, 'REGISTER', this.version, this.endpoint.key);
    decodeReady(response.body, this.version);
  }

  /** Calls `listener` once the connection is no longer congested (or closed). */
  onceDrained(listener: () => void): void {
    this.drainWaiters.add(listener);
  }

  /**
   * The request that registered `handler` on `streamId` gave up waiting (it timed out). The id
   * stays taken until the node answers (the answer carries the request's stream id, spec v4 §2.3:
   * reusing the id earlier would hand that late answer to another request), but the handler is
   * dropped for a shared no-op, so the request and the client frame it holds can be collected,
   * and the id is counted as orphaned until the answer comes; then `onLateAnswer` is called, the
   * id free again. False when `streamId` is not `handler`'s.
   */
  orphan(streamId: number, handler: ResponseHandler, onLateAnswer?: () => void): boolean {
    return this.state !== 'closed' && this.table.orphan(streamId, handler, onLateAnswer);
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

  private closeIfOnlyOrphans(): void {
    if (this.table.onlyOrphansLeft) this.closeRetired();
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
    this.table.clear((handler, id) => {
      const notSent = unsent?.has(id) === true;
      this.callSafely(() => handler.onClosed(reason, notSent), 'onClosed');
    });
    this.drainWaiters.fire();
    if (wasOpen) this.callSafely(() => this.options.onClose?.(this, error), 'onClose');
  }

  // --- sending ----------------------------------------------------------------------------------

  private enqueue(frame: Buffer, handler: ResponseHandler): boolean {
    const id = this.table.add(handler);
    if (id < 0) return false;
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
      const frame = controlRequestFrame(this.version, opcode, body, this.compressor);
      const handler: ResponseHandler = {
        onResponse: (response) => {
          try {
            // STARTUP's answer is the last plain frame: what it negotiated applies from the very
            // next byte, so the switch happens here, before any later frame of this chunk is read.
            if (startup) this.afterStartup(response[4]!);
            resolve(
              readControlResponse(response, this.version, this.decompress, this.endpoint.key),
            );
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

  private afterStartup(opcode: number): void {
    if (opcode !== Opcode.READY && opcode !== Opcode.AUTHENTICATE) return;
    if (usesSegments(this.version)) {
      // spec v5 §2.3.1: segments in both directions once the STARTUP answer is through.
      this.framed.startSegments(this.compression === 'lz4' ? 'lz4' : 'none');
    } else if (this.compression !== undefined) {
      const compressor = bodyCompressor(this.compression);
      const maxLength = this.options.maxFrameLength;
      this.compressor = compressor;
      this.decompress = (body) => compressor.decompress(body, maxLength);
    }
  }

  private sendHeartbeat(): void {
    if (this.state !== 'open' || this.heartbeatPending) return;
    const options = controlRequestFrame(this.version, Opcode.OPTIONS, encodeOptions(), undefined);
    const sent = this.enqueue(options, {
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
    const handler = this.table.take(streamId);
    if (handler === undefined) {
      this.onStray(frame, streamId);
      return;
    }
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
    const handler = this.table.peek(streamId);
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
    this.table.take(streamId);
    if (this.retiring) this.closeIfOnlyOrphans();
    return sink;
  }

  /**
   * A frame in another version: how nodes refuse the version asked for (Cassandra answers in its
   * own highest version, docs/drivers.md §4). Anything but an ERROR is a broken stream.
   */
  private onForeignVersion(frame: Buffer): void {
    this.close(this.wrapFailure(foreignVersionError(frame, this.version, this.endpoint.key)));
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
      event = decompressedFrame(frame, this.decompress, this.endpoint.key);
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
    const error = strayAnswerError(
      frame,
      streamId,
      this.version,
      this.decompress,
      this.endpoint.key,
    );
    this.close(this.wrapFailure(error));
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

  /** For DrainWaiters: the kernel's buffer is full (the socket's 'drain' will come). */
  get kernelBackedUp(): boolean {
    return this.framed.socket.writableNeedDrain;
  }

  /** A callback's exception must not break the connection that serves every other request. */
  callSafely(fn: () => void, what: string): void {
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
