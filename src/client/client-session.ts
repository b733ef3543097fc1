// One client connection: the proxy plays a whole cluster to the driver on the other end. This
// class holds the connection's state, reads and dispatches frames, forwards requests and accounts
// for their answers. Its parts live beside it:
// - session-handshake.ts: versions, OPTIONS, STARTUP, the login (--client-auth), REGISTER;
// - session-statements.ts: QUERY, PREPARE, EXECUTE, BATCH: what is answered here (USE, system
//   tables, statements prepared here) and what is forwarded (the frame as the client sent it, a
//   view of the socket chunk), the consistency rewrite and the lazy idempotency checks;
// - session-forwarding.ts: the forwarding path, top to bottom: the forwarded request, its cluster
//   session (opened by the first request, switched by USE), its answer whole or cut through, and
//   the counters the limits read;
// - session-limits.ts: the holds that pause reading and keep frames already read in order (set-up,
//   requests and bytes in flight, output, the memory budget: limits.ts, docs/design.md "Limits"),
//   and the sweep that closes connections for their timeouts;
// - session-shared.ts: the socket callbacks, the pause reasons, constants.

import type { Socket } from 'node:net';
import {
  type Backend,
  type BackendSession,
  type SessionCredentials,
} from '../upstream/contract.js';
import { errorMessage } from '../errors.js';
import { type BodyCompressionName, type BodyCompressor } from '../protocol/compression.js';
import {
  ErrorCode,
  HEADER_LENGTH,
  Opcode,
  isKnownOpcode,
  opcodeName,
  usesSegments,
  versionName,
} from '../protocol/constants.js';
import { ProtocolError, ProtocolErrorCode, malformed } from '../protocol/errors.js';
import type { Decompress } from '../protocol/frame-body.js';
import { errorFrame } from '../protocol/messages/error.js';
import { supportedFrame } from '../protocol/messages/supported.js';
import { FramedSocket } from '../transport/framed-socket.js';
import type { BoundedLru } from './bounded-lru.js';
import type { BurstLog } from './burst-log.js';
import type { ClientSideConfig } from './config.js';
import type { PauseReason } from './limit-stats.js';
import { CloseReason, type ClientLimitStats } from './limit-stats.js';
import {
  INITIAL_RESPONSE_ESTIMATE_FRACTION,
  PRE_HANDSHAKE_MAX_FRAME_LENGTH,
  type ClientLimits,
} from './limits.js';
import type { ClientLog } from './log.js';
import type { MemoryBudget } from './memory-budget.js';
import { type ClientAuth } from './auth/client-auth.js';
import { StreamSet } from './stream-set.js';
import type { PreparedRegistry } from './prepared-registry.js';
import { checkCompressionFlag } from './request-body.js';
import type { ProxyTopology } from './topology.js';
import {
  type LocalStatement,
  PAUSE_SHUTDOWN,
  PAUSE_OUTPUT,
  HOLD,
  PAUSE_REASON_BITS,
  CLOSE_GRACE_MS,
  SessionSocketEvents,
} from './session-shared.js';
import { batch, execute, prepare, query } from './session-statements.js';
import {
  authResponse,
  highestVersion,
  refuseVersion,
  register,
  startup,
  supportedOptions,
} from './session-handshake.js';
import {
  afterOutput,
  dropWaiting,
  holdForMemory,
  pause,
  refuseDuplicateStream,
  remote,
  updateHolds,
} from './session-limits.js';

/** What every client connection shares: the limits, the memory budget, counters, burst logs. */
export interface ClientGuards {
  limits: ClientLimits;
  budget: MemoryBudget;
  stats: ClientLimitStats;
  /** One rate-limited log line per reason a connection is closed (a storm must not flood logs). */
  closeLogs: Record<CloseReason, BurstLog>;
  /** Who may use the proxy (--client-auth). */
  auth: ClientAuth;
}

export interface ClientSessionOptions {
  socket: Socket;
  backend: Backend;
  config: ClientSideConfig;
  topology: ProxyTopology;
  /** Shared by all connections: what each forwarded prepared id is. */
  prepared: PreparedRegistry;
  guards: ClientGuards;
  log: ClientLog;
  onClose?: () => void;
}

export class ClientSession {
  readonly framed: FramedSocket;
  readonly backend: Backend;
  readonly config: ClientSideConfig;
  readonly topology: ProxyTopology;
  readonly prepared: PreparedRegistry;
  readonly log: ClientLog;
  private readonly onCloseCallback: (() => void) | undefined;
  readonly rewriteEnabled: boolean;

  /** The connection's protocol version; 0 until the first frame fixes it. */
  version = 0;
  v5 = false;
  /** STARTUP was received and accepted. */
  started = false;
  /** Requests are accepted: READY was sent, or, with client authentication, AUTH_SUCCESS. */
  ready = false;
  /** AUTHENTICATE was sent and the login has not succeeded yet. */
  authenticating = false;
  /** Passthrough: the client's own credentials, for every cluster session it uses. */
  credentials: SessionCredentials | undefined;
  /** v3/v4 body compression negotiated in STARTUP, and its decompression with our limit. */
  compressor: BodyCompressor | undefined;
  decompress: Decompress | undefined;
  /** Part of the cluster session key: the body compression (never set with v5, see startup()). */
  sessionCompression: BodyCompressionName | undefined;
  /** The current keyspace, normalised as the lexer does. */
  keyspace: string | undefined;
  backendSession: BackendSession | undefined;
  localStatements: BoundedLru<string, LocalStatement> | undefined;
  unsubscribeEvents: (() => void) | undefined;

  readonly guards: ClientGuards;
  readonly limits: ClientLimits;
  readonly budget: MemoryBudget;
  /** Frames read while a HOLD reason is set wait here, in order (the socket is paused meanwhile). */
  blocked = false;
  waiting: (Buffer | undefined)[] = [];
  waitingHead = 0;
  releasing = false;
  pausedFor = 0;
  /** Forwarded requests not answered yet, their bytes, and their stream ids. */
  inFlight = 0;
  requestBytes = 0;
  readonly streams = new StreamSet();
  /** A running estimate of this client's answer sizes: how many more requests would fit. */
  responseEstimate: number;
  /** Whether responseEstimate comes from an answer yet (or is still the initial guess). */
  estimated = false;
  readonly connectedAt = Date.now();
  /** Sweep state: the byte counts last seen and when they last moved. */
  seenRead = 0;
  seenFlushed = 0;
  lastActivity = this.connectedAt;
  stalledSince = 0;
  closing = false;
  private closeTimer: NodeJS.Timeout | undefined;
  /** The first header bytes, kept for a first frame whose version the decoder cannot read. */
  private firstBytes: Buffer | undefined;
  /** Given to the memory budget while PAUSE_MEMORY holds; made the first time it does. */
  onMemoryAvailable: (() => void) | undefined;

  constructor(options: ClientSessionOptions) {
    this.backend = options.backend;
    this.config = options.config;
    this.topology = options.topology;
    this.prepared = options.prepared;
    this.log = options.log;
    this.guards = options.guards;
    this.limits = options.guards.limits;
    this.budget = options.guards.budget;
    this.responseEstimate = this.limits.maxOutputBytes * INITIAL_RESPONSE_ESTIMATE_FRACTION;
    this.onCloseCallback = options.onClose;
    this.rewriteEnabled = options.config.unsupportedWriteConsistencies.size > 0;
    const socket = options.socket;
    // Registered before FramedSocket's own listener, so these bytes are known when its decoder
    // refuses the very first frame (a v1/v2/v6 header) and the reply wants its stream id.
    socket.once('data', (chunk: Buffer) => {
      this.firstBytes = Buffer.from(chunk.subarray(0, HEADER_LENGTH));
    });
    this.framed = new FramedSocket(
      socket,
      // Small until STARTUP is answered: an unidentified peer cannot make the proxy buffer much.
      new SessionSocketEvents(
        this,
        Math.min(PRE_HANDSHAKE_MAX_FRAME_LENGTH, options.config.maxFrameLength),
      ),
    );
  }

  // --- frames in -------------------------------------------------------------------------------

  /** A frame from the client (SessionSocketEvents: FramedSocket's onFrame). */
  onFrame(frame: Buffer): void {
    if (this.closing) return;
    if ((this.pausedFor & HOLD) !== 0 || this.waitingHead < this.waiting.length) {
      this.waiting.push(frame);
      return;
    }
    // The handshake is not held: its frames are small (PRE_HANDSHAKE_MAX_FRAME_LENGTH), and new
    // clients can still connect while the budget is spent; their first request waits.
    if (this.budget.exhausted && this.ready) {
      this.waiting.push(frame);
      holdForMemory(this);
      return;
    }
    this.process(frame);
  }

  process(frame: Buffer): void {
    try {
      this.dispatch(frame);
    } catch (err) {
      const streamId = frame.readInt16BE(2);
      if (ProtocolError.isProtocolError(err)) {
        this.fatal(streamId, err.message);
      } else {
        this.log.warn({ err: errorMessage(err) }, 'unexpected error on a client request');
        // The details are for the log: a client that has not logged in learns nothing inside.
        const detail = this.ready ? `: ${errorMessage(err)}` : '';
        this.fatal(streamId, `Proxy internal error${detail}`, ErrorCode.SERVER_ERROR);
      }
    }
  }

  private dispatch(frame: Buffer): void {
    const version = frame.readUInt8(0) & 0x7f;
    const streamId = frame.readInt16BE(2);
    if (this.version === 0) {
      if (!this.backend.info.clientVersions.includes(version)) {
        refuseVersion(this, version, streamId);
        return;
      }
      this.version = version;
      this.v5 = usesSegments(version);
      // Only a first frame the decoder refuses needs them (onConnectionError).
      this.firstBytes = undefined;
    } else if (version !== this.version) {
      throw malformed(
        `Invalid message version. Got ${versionName(version)} but previous messages on this ` +
          `connection had version ${versionName(this.version)}`,
      );
    }
    const opcode = frame.readUInt8(4);
    if (this.streams.has(streamId)) {
      refuseDuplicateStream(this, streamId);
      return;
    }
    switch (opcode) {
      case Opcode.OPTIONS:
        // Drivers' heartbeats too: answered here, the body (empty, maybe compressed) unread.
        this.write(supportedFrame(this.version, streamId, supportedOptions(this)));
        return;
      case Opcode.STARTUP:
        startup(this, frame, streamId);
        return;
      case Opcode.AUTH_RESPONSE:
        if (!this.authenticating) {
          this.error(
            streamId,
            ErrorCode.PROTOCOL_ERROR,
            this.guards.auth.required
              ? 'Unexpected AUTH_RESPONSE: no authentication is in progress'
              : 'Unexpected AUTH_RESPONSE: the proxy does not ask for authentication',
          );
          return;
        }
        authResponse(this, frame, streamId);
        return;
      case Opcode.QUERY:
      case Opcode.PREPARE:
      case Opcode.EXECUTE:
      case Opcode.BATCH:
      case Opcode.REGISTER:
        if (!this.ready) {
          this.error(
            streamId,
            ErrorCode.PROTOCOL_ERROR,
            `Unexpected message ${opcodeName(opcode)}, expecting ${this.started ? 'AUTH_RESPONSE' : 'STARTUP or OPTIONS'}`,
          );
          return;
        }
        checkCompressionFlag(frame, this.compressor, this.v5);
        this.request(opcode, frame, streamId);
        return;
      default:
        if (!isKnownOpcode(opcode)) {
          throw malformed(`Unknown opcode 0x${opcode.toString(16).padStart(2, '0')}`);
        }
        this.error(
          streamId,
          ErrorCode.PROTOCOL_ERROR,
          `Unexpected message ${opcodeName(opcode)}: it is not a request`,
        );
    }
  }

  private request(opcode: number, frame: Buffer, streamId: number): void {
    switch (opcode) {
      case Opcode.QUERY:
        query(this, frame, streamId);
        return;
      case Opcode.PREPARE:
        prepare(this, frame, streamId);
        return;
      case Opcode.EXECUTE:
        execute(this, frame, streamId);
        return;
      case Opcode.BATCH:
        batch(this, frame);
        return;
      case Opcode.REGISTER:
        register(this, frame, streamId);
        return;
    }
  }

  /** The kernel took a flush's bytes (SessionSocketEvents: FramedSocket's onWritten). */
  onOutputWritten(): void {
    if ((this.pausedFor & PAUSE_OUTPUT) !== 0) updateHolds(this);
  }

  /** The budget's share of this connection's queued output (FramedSocket's onQueuedBytes). */
  onQueuedBytes(delta: number): void {
    this.budget.add(delta);
  }

  // --- limits ----------------------------------------------------------------------------------

  /** Why this connection is not being read now (for the metrics). */
  get pauseReasons(): PauseReason[] {
    const reasons: PauseReason[] = [];
    for (const [bit, reason] of PAUSE_REASON_BITS)
      if ((this.pausedFor & bit) !== 0) reasons.push(reason);
    return reasons;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  get requestBytesInFlight(): number {
    return this.requestBytes;
  }

  get queuedOutputBytes(): number {
    return this.framed.queuedBytes;
  }

  // --- graceful shutdown -----------------------------------------------------------------------

  /** Requests read from the client and not answered yet (0 when none is left). */
  get pendingRequests(): number {
    return this.inFlight + (this.waiting.length - this.waitingHead) + (this.blocked ? 1 : 0);
  }

  /** Reads no more requests: the ones already read are still answered. */
  stopReading(): void {
    pause(this, PAUSE_SHUTDOWN);
  }

  /** Closes the connection once what is queued for the client is written. */
  shutdown(): void {
    if (this.closing) return;
    this.closeAfterFlush();
  }

  // --- frames out, errors, closing -------------------------------------------------------------

  /** A frame the proxy answers itself: queued, then the output limits looked at. */
  write(frame: Buffer): void {
    this.framed.write(frame);
    afterOutput(this, frame.length);
  }

  error(streamId: number, code: number, message: string): void {
    this.write(errorFrame(this.version, streamId, { code, message }));
  }

  /** Answers with an error, then closes the connection once the answer is out. */
  fatal(streamId: number, message: string, code: number = ErrorCode.PROTOCOL_ERROR): void {
    if (this.closing) return;
    const version = this.version === 0 ? highestVersion(this) : this.version;
    try {
      this.framed.write(errorFrame(version, streamId, { code, message }));
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not encode an error for a client');
    }
    this.closeAfterFlush();
  }

  private closeAfterFlush(): void {
    this.closing = true;
    dropWaiting(this);
    this.framed.end();
    // Keep reading (and dropping) what the client still sends: closing with unread bytes would
    // reset the connection, and the client could lose the error before reading it.
    this.framed.resumeReading();
    this.closeTimer = setTimeout(() => this.framed.destroy(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
  }

  /** A framing or socket error (SessionSocketEvents: FramedSocket's onError). */
  onConnectionError(err: Error): void {
    if (this.closing) {
      this.framed.destroy();
      return;
    }
    if (!ProtocolError.isProtocolError(err)) {
      this.log.debug({ err: err.message }, 'client connection error');
      this.framed.destroy();
      return;
    }
    // The framing is lost: answer on the first frame's stream if it was the first frame.
    const streamId = this.version === 0 ? this.firstStreamId() : 0;
    if (err.code === ProtocolErrorCode.UNSUPPORTED_VERSION) {
      const version = err.version ?? (this.firstBytes?.readUInt8(0) ?? 0) & 0x7f;
      refuseVersion(this, version, streamId);
      return;
    }
    const reason =
      err.code === ProtocolErrorCode.FRAME_TOO_LARGE
        ? CloseReason.FRAME_TOO_LARGE
        : CloseReason.PROTOCOL_ERROR;
    this.guards.stats.closed[reason]++;
    this.guards.closeLogs[reason].note({ remote: remote(this), err: err.message });
    this.fatal(streamId, err.message);
  }

  /** The stream id of the first frame, read by its version's header layout; 0 if unknown. */
  private firstStreamId(): number {
    const bytes = this.firstBytes;
    if (bytes === undefined || bytes.length < 3) return 0;
    // v1/v2 headers have a one-byte stream id (spec v2 §2.3); the others two bytes.
    if ((bytes.readUInt8(0) & 0x7f) <= 2) return bytes.readInt8(2);
    return bytes.length >= 4 ? bytes.readInt16BE(2) : 0;
  }

  /** The socket closed (SessionSocketEvents: FramedSocket's onClose). */
  onClosed(): void {
    this.closing = true;
    dropWaiting(this);
    if (this.onMemoryAvailable !== undefined) this.budget.cancel(this.onMemoryAvailable);
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.unsubscribeEvents?.();
    this.unsubscribeEvents = undefined;
    this.onCloseCallback?.();
  }
}
