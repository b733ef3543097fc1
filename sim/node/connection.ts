// One client connection to a simulated node: the state machine Cassandra runs per channel
// (ServerConnection: ESTABLISHED → AUTHENTICATION → READY), with its exact refusals, stream ids
// echoed on every answer, answers possibly out of order (delayed faults), EVENTs pushed to
// registered connections, and backpressure.
//
// Backpressure: a client that pipelines large SELECTs and never reads its answers once made the
// node queue every answer (a 9.2 GB Buffer.concat). Now, once more than MAX_QUEUED_BYTES of answers
// wait for the peer (queued here or in the socket's buffer), the connection stops between two
// requests: the requests already read stay queued as bytes in the framing, the socket is paused
// (the kernel's buffers fill and TCP stops the client), and reading resumes when the socket drains.
// The answer to a request already taken is always produced whole, so the queue stays under the
// bound plus one answer. Delayed fault answers wait for room like the others and, with their
// requests, count towards MAX_DELAYED_BYTES; EVENTs for a peer that is that far behind are dropped.
//
//   first bytes ─ version offered? ── no ─▶ ERROR 0x000A "Invalid or unsupported protocol
//        │                                  version (N); ...", frame version = highest offered,
//       yes                                 then close
//        ▼
//   ESTABLISHED: OPTIONS → SUPPORTED; STARTUP → AUTHENTICATE (or READY); else "Unexpected message"
//        ▼        (v5: both directions switch to segments once that answer is out)
//   AUTHENTICATION: AUTH_RESPONSE → AUTH_CHALLENGE | AUTH_SUCCESS | ERROR 0x0100
//        ▼
//   READY: OPTIONS, QUERY, PREPARE, EXECUTE, BATCH, REGISTER

import type { Socket } from 'node:net';
import { bodyCompressor } from '../../src/protocol/compression.js';
import type { BodyCompressionName } from '../../src/protocol/compression.js';
import {
  ErrorCode,
  HeaderFlag,
  Opcode,
  ProtocolVersion,
  isKnownOpcode,
  opcodeName,
} from '../../src/protocol/constants.js';
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js';
import { readHeader } from '../../src/protocol/header.js';
import {
  authChallengeFrame,
  authSuccessFrame,
  authenticateFrame,
} from '../../src/protocol/messages/auth.js';
import { decodeAuthResponse } from '../../src/protocol/messages/auth-response.js';
import { errorFrame } from '../../src/protocol/messages/error.js';
import type { CqlErrorMessage } from '../../src/protocol/messages/error.js';
import { eventFrame } from '../../src/protocol/messages/event.js';
import type { CqlEvent } from '../../src/protocol/messages/event.js';
import { readBodyExtras } from '../../src/protocol/messages/frame-extras.js';
import { decodeOptions } from '../../src/protocol/messages/options.js';
import { readyFrame } from '../../src/protocol/messages/ready.js';
import { decodeRegister } from '../../src/protocol/messages/register.js';
import { decodeStartup } from '../../src/protocol/messages/startup.js';
import { supportedFrame } from '../../src/protocol/messages/supported.js';
import { CqlReader } from '../../src/protocol/reader.js';
import type { Engine, ExecutionContext, NodeIdentity } from '../engine/contract.js';
import { faultErrorMessage } from '../faults.js';
import type { FaultAction } from '../faults.js';
import { SaslExchange } from './authenticator.js';
import type { UserDirectory } from './users.js';
import { WireFraming } from './framing.js';
import type { TooBigFrame } from './framing.js';
import {
  StartupRefused,
  acceptStartup,
  refusalVersion,
  supportedOptions,
  unsupportedVersionMessage,
} from './negotiation.js';
import type { PreparedCache } from './prepared-cache.js';
import { planRequest } from './request-handler.js';
import type { PlannedRequest, RequestScope } from './request-handler.js';

/** Cassandra's AllowAllAuthenticator: STARTUP is answered with READY, no SASL exchange. */
export const ALLOW_ALL_AUTHENTICATOR = 'org.apache.cassandra.auth.AllowAllAuthenticator';

/** What a connection needs from its node. */
export interface ConnectionHost {
  /** Offered protocol versions, sorted. */
  readonly versions: readonly number[];
  readonly authenticatorClass: string;
  /** The accounts SASL PLAIN checks (`token` and the extra users), and each user's role. */
  readonly users: UserDirectory;
  readonly engine: Engine;
  readonly prepared: PreparedCache;
  readonly maxFrameLength: number;
  identity(): NodeIdentity;
  peers(): readonly NodeIdentity[];
  /** The fault rule that fires for a request with these query texts, if any. */
  fault(queries: readonly string[]): FaultAction | undefined;
  log(message: string): void;
  /** A single-partition statement runs here (RequestScope.notePartition). */
  notePartition?(keyspace: string, partitionKey: Buffer): void;
}

type State = 'initial' | 'established' | 'authentication' | 'ready' | 'closing';

/**
 * Answer bytes a connection may have waiting for its peer (queued here plus the socket's own
 * buffer) before it stops reading that peer's requests. A few MiB keeps a fast client's pipeline
 * full; the kernel's socket buffers add their own few MiB beyond it.
 */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/**
 * Request bytes a connection may hold in answers waiting out a fault's delay before it stops
 * reading: without it, a delayed rule that matches everything would hold every request sent.
 */
export const MAX_DELAYED_BYTES = 4 * 1024 * 1024;

/** What a delayed answer holds besides its request's body (timer, closures), for that bound. */
const DELAYED_ANSWER_OVERHEAD = 512;

/** One connection's figures, for tests and the admin API (`GET /nodes/{i}/connections`). */
export interface ConnectionStats {
  /** The peer, `address:port`. */
  readonly remote: string;
  /** 0 until the first frame. */
  readonly protocolVersion: number;
  /** Answer bytes not yet taken by the kernel: queued in the node plus the socket's buffer. */
  readonly queuedBytes: number;
  /** The most queuedBytes ever was. */
  readonly peakQueuedBytes: number;
  /** Request bytes read from the socket and not yet handled (reading stopped between frames). */
  readonly heldRequestBytes: number;
  /** Answers waiting out a fault's delay, or for room in the queue once their delay is over. */
  readonly delayedAnswers: number;
  /** Not reading requests, for whatever reason (backpressure or the admin pause). */
  readonly readingPaused: boolean;
  /** Not reading because the peer is too far behind (not because of the admin pause). */
  readonly backpressured: boolean;
  /** How many times backpressure stopped reading. */
  readonly backpressurePauses: number;
  /** EVENTs not sent because the peer was too far behind. */
  readonly droppedEvents: number;
  /** Frames handled. */
  readonly requests: number;
}

/** Bytes needed to read the version and the stream id: 8-byte v1/v2 headers have a 1-byte id. */
function prefixLength(firstByte: number): number {
  return (firstByte & 0x7f) < 3 ? 3 : 4;
}

const REQUEST_OPCODES: ReadonlySet<number> = new Set([
  Opcode.STARTUP,
  Opcode.OPTIONS,
  Opcode.QUERY,
  Opcode.PREPARE,
  Opcode.EXECUTE,
  Opcode.REGISTER,
  Opcode.BATCH,
  Opcode.AUTH_RESPONSE,
]);

export class CqlConnection {
  private readonly socket: Socket;
  private readonly host: ConnectionHost;
  private readonly framing: WireFraming;
  private state: State = 'initial';
  private version = 0;
  /** The first bytes (fewer than 4), held until the version and stream id can be read. */
  private prefix: Buffer = Buffer.alloc(0);
  private sasl: SaslExchange | undefined;
  private keyspace: string | undefined;
  /** Who logged in; its role is looked up per request (users.ts). Unset with AllowAll. */
  private user: string | undefined;
  private readonly registered = new Set<string>();
  /** Answers not yet written to the socket (one write per turn) and their size. */
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private peakQueuedBytes = 0;
  private flushScheduled = false;
  private recheckScheduled = false;
  private pausedByAdmin = false;
  /** Whether the framing and the socket are paused right now. */
  private readingStopped = false;
  private backpressurePauses = 0;
  private droppedEvents = 0;
  private requests = 0;
  /** Delayed answers whose delay is running. */
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Delayed answers whose delay is over, waiting for room in the queue, oldest first. */
  private deferred: (() => void)[] = [];
  /** Request bytes (and overhead) held by both kinds of delayed answers. */
  private delayedBytes = 0;
  /** Made on first use, once the version is known (it never changes afterwards). */
  private scope: RequestScope | undefined;

  constructor(socket: Socket, host: ConnectionHost, pausedByAdmin = false) {
    this.socket = socket;
    this.host = host;
    this.pausedByAdmin = pausedByAdmin;
    this.framing = new WireFraming(
      (frame) => this.onFrame(frame),
      (tooBig) => this.onTooBig(tooBig),
      host.maxFrameLength,
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // Fires once the socket's buffer is empty after a write that filled it: room again.
    socket.on('drain', () => this.onDrain());
    socket.on('error', (error) => {
      host.log(`connection ${this.remote}: ${error.message}`);
      socket.destroy();
    });
    socket.on('close', () => {
      this.state = 'closing';
      for (const timer of this.timers) clearTimeout(timer);
      this.timers.clear();
      this.deferred = [];
      this.delayedBytes = 0;
    });
    this.updateReading();
  }

  /** The peer, for logs. */
  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /** The negotiated protocol version, 0 before the first frame. */
  get protocolVersion(): number {
    return this.version;
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Admin pause (backpressure tests): stop reading until resumed. */
  setPausedByAdmin(paused: boolean): void {
    this.pausedByAdmin = paused;
    this.updateReading();
  }

  /** Pushes an EVENT (stream -1) if this connection registered for its type. */
  sendEvent(event: CqlEvent): void {
    if (this.state !== 'ready' || !this.registered.has(event.type)) return;
    if (this.outputFull()) {
      // Nothing stops other connections' DDL or node restarts, so queuing every EVENT for a peer
      // that reads nothing would grow without end. EVENTs are hints: drivers re-read schema and
      // topology when they reconnect, which such a client will have to do.
      this.droppedEvents += 1;
      // Once per connection: a stalled client under a stream of DDL would flood the log.
      if (this.droppedEvents === 1) {
        this.host.log(
          `connection ${this.remote}: EVENTs dropped while the peer reads nothing (counted in its stats)`,
        );
      }
      return;
    }
    this.send(eventFrame(this.version, event));
  }

  /** This connection's figures now. */
  stats(): ConnectionStats {
    return {
      remote: this.remote,
      protocolVersion: this.version,
      queuedBytes: this.pendingOutput(),
      peakQueuedBytes: this.peakQueuedBytes,
      heldRequestBytes: this.framing.bufferedBytes,
      delayedAnswers: this.timers.size + this.deferred.length,
      readingPaused: this.readingStopped,
      backpressured: this.readingStopped && !this.pausedByAdmin,
      backpressurePauses: this.backpressurePauses,
      droppedEvents: this.droppedEvents,
      requests: this.requests,
    };
  }

  /** Closes at once, as a node that goes down. */
  destroy(): void {
    this.state = 'closing';
    this.socket.destroy();
  }

  // --- input ------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === 'closing') return;
    try {
      if (this.state === 'initial') this.negotiateVersion(chunk);
      else this.framing.push(chunk);
    } catch (error) {
      this.onProtocolFailure(error, 0);
    }
  }

  /**
   * The first bytes decide the connection's version (Cassandra's ProtocolVersion.decode runs on
   * the first header); once it is accepted they go to the framing like any others.
   */
  private negotiateVersion(chunk: Buffer): void {
    const held = this.prefix;
    // Only the few bytes needed are joined, never the whole chunk.
    const head = held.length === 0 ? chunk : Buffer.concat([held, chunk.subarray(0, 4)]);
    if (head.length < prefixLength(head.readUInt8(0))) {
      this.prefix = Buffer.from(head);
      return;
    }
    this.prefix = Buffer.alloc(0);
    const version = head.readUInt8(0) & 0x7f;
    if (!this.host.versions.includes(version)) {
      const streamId = version < 3 ? head.readInt8(2) : head.readInt16BE(2);
      this.host.log(`connection ${this.remote}: refusing protocol version ${version}`);
      this.fatal(unsupportedVersionMessage(version, this.host.versions), streamId);
      return;
    }
    this.version = version;
    this.state = 'established';
    if (held.length > 0) this.framing.push(held);
    this.framing.push(chunk);
  }

  private onFrame(frame: Buffer): void {
    if (this.state === 'closing') return;
    this.requests += 1;
    this.handleFrame(frame);
    // The answer is queued (or on its way): too much waiting for the peer stops reading here,
    // before the next request already received.
    if (!this.mayRead()) this.stopReading();
  }

  /**
   * Cassandra's Envelope.Decoder for v3/v4: a frame over native_transport_max_frame_size is
   * skipped as it arrives, then refused with InvalidRequestException on its stream; the connection
   * lives on (the exception is not a fatal ProtocolException).
   */
  private onTooBig(tooBig: TooBigFrame): void {
    if (this.state === 'closing') return;
    this.host.log(`connection ${this.remote}: skipped a frame of ${tooBig.length} bytes`);
    this.sendError(tooBig.streamId, {
      code: ErrorCode.INVALID,
      message: `Request is too big: length ${tooBig.length} exceeds maximum allowed length ${tooBig.limit}.`,
    });
    if (!this.mayRead()) this.stopReading();
  }

  private handleFrame(frame: Buffer): void {
    const header = readHeader(frame);
    const streamId = header.streamId;
    try {
      if (header.version !== this.version) {
        throw new ProtocolError(
          ProtocolErrorCode.MALFORMED,
          `Invalid message version. Got ${header.version} but previous messages on this connection had version ${this.version}`,
        );
      }
      const { flags, body } = this.framing.inbound(frame);
      let message = body;
      if ((flags & HeaderFlag.CUSTOM_PAYLOAD) !== 0 && this.version !== ProtocolVersion.V3) {
        // spec v4 §2.2: a request's custom payload comes before the message; the node ignores it.
        const reader = new CqlReader(body);
        readBodyExtras(reader, flags, false, this.version);
        message = body.subarray(reader.pos);
      }
      this.dispatch(header.opcode, streamId, message);
    } catch (error) {
      if (ProtocolError.isProtocolError(error)) {
        this.onProtocolFailure(error, streamId);
      } else {
        // A bug in the simulator: answered like Cassandra answers its own bugs, connection kept.
        const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        this.host.log(`connection ${this.remote}: internal error: ${text}`);
        this.sendError(streamId, { code: ErrorCode.SERVER_ERROR, message: text });
      }
    }
  }

  private dispatch(opcode: number, streamId: number, body: Buffer): void {
    if (!REQUEST_OPCODES.has(opcode)) {
      // Cassandra's Message.Type.fromOpcode; the framing is suspect, so the connection is dropped.
      throw new ProtocolError(
        ProtocolErrorCode.MALFORMED,
        isKnownOpcode(opcode)
          ? `Wrong protocol direction (expected REQUEST, got RESPONSE) for opcode ${opcode} (${opcodeName(opcode)})`
          : `Unknown opcode ${opcode}`,
      );
    }
    switch (this.state) {
      case 'established':
        if (opcode === Opcode.OPTIONS) this.onOptions(streamId, body);
        else if (opcode === Opcode.STARTUP) this.onStartup(streamId, body);
        else
          this.unexpected(
            streamId,
            `Unexpected message ${opcodeName(opcode)}, expecting STARTUP or OPTIONS`,
          );
        return;
      case 'authentication':
        if (opcode === Opcode.AUTH_RESPONSE) this.onAuthResponse(streamId, body);
        else
          this.unexpected(
            streamId,
            `Unexpected message ${opcodeName(opcode)}, expecting SASL_RESPONSE`,
          );
        return;
      case 'ready':
        this.onReadyRequest(opcode, streamId, body);
        return;
      case 'initial':
      case 'closing':
        return;
    }
  }

  // --- handshake --------------------------------------------------------------------------------

  // native_protocol_v4.spec §4.1.3 OPTIONS → §4.2.4 SUPPORTED
  private onOptions(streamId: number, body: Buffer): void {
    decodeOptions(body);
    this.send(supportedFrame(this.version, streamId, supportedOptions(this.host.versions)));
  }

  // native_protocol_v4.spec §4.1.1 STARTUP → §4.2.3 AUTHENTICATE or §4.2.2 READY
  private onStartup(streamId: number, body: Buffer): void {
    const options = decodeStartup(body);
    let compression: BodyCompressionName | undefined;
    try {
      compression = acceptStartup(options, this.version).compression;
    } catch (error) {
      if (!(error instanceof StartupRefused)) throw error;
      this.unexpected(streamId, error.message);
      return;
    }
    const allowAll = this.host.authenticatorClass === ALLOW_ALL_AUTHENTICATOR;
    if (allowAll) {
      this.state = 'ready';
      this.send(readyFrame(this.version, streamId));
    } else {
      this.state = 'authentication';
      this.sasl = new SaslExchange(this.host.authenticatorClass, this.host.users);
      this.send(authenticateFrame(this.version, streamId, this.host.authenticatorClass));
    }
    // The answer to STARTUP goes out as it is (uncompressed, unframed); everything after it uses
    // what STARTUP negotiated (spec v4 §5, spec v5 §2.3.1).
    this.flush();
    if (this.version === ProtocolVersion.V5) {
      this.framing.useSegments(compression === 'lz4' ? 'lz4' : 'none');
    } else if (compression !== undefined) {
      this.framing.useBodyCompression(bodyCompressor(compression));
    }
  }

  // native_protocol_v4.spec §4.1.2 AUTH_RESPONSE → §4.2.7 AUTH_CHALLENGE | §4.2.8 AUTH_SUCCESS
  private onAuthResponse(streamId: number, body: Buffer): void {
    const token = decodeAuthResponse(body);
    const sasl = this.sasl ?? new SaslExchange(this.host.authenticatorClass, this.host.users);
    const step = sasl.evaluate(token);
    switch (step.kind) {
      case 'challenge':
        this.sasl = sasl;
        this.send(authChallengeFrame(this.version, streamId, step.token));
        return;
      case 'success':
        this.sasl = undefined;
        this.user = step.username;
        this.state = 'ready';
        this.send(authSuccessFrame(this.version, streamId, null));
        return;
      case 'failure':
        // A fresh exchange for a retry; drivers close the connection instead.
        this.sasl = undefined;
        this.host.log(`connection ${this.remote}: authentication failed: ${step.message}`);
        this.sendError(streamId, { code: ErrorCode.AUTHENTICATION_ERROR, message: step.message });
        return;
    }
  }

  // --- ready ------------------------------------------------------------------------------------

  private onReadyRequest(opcode: number, streamId: number, body: Buffer): void {
    switch (opcode) {
      case Opcode.OPTIONS:
        this.onOptions(streamId, body);
        return;
      case Opcode.STARTUP:
        this.unexpected(
          streamId,
          'Unexpected message STARTUP, the connection is already initialized',
        );
        return;
      case Opcode.AUTH_RESPONSE:
        this.unexpected(
          streamId,
          'Unexpected message AUTH_RESPONSE, the connection is already authenticated',
        );
        return;
      case Opcode.REGISTER:
        // native_protocol_v4.spec §4.1.8: "the response to a REGISTER message will be a READY".
        for (const type of decodeRegister(body)) this.registered.add(type);
        this.send(readyFrame(this.version, streamId));
        return;
      default:
        this.onStatement(opcode, streamId, body);
    }
  }

  private onStatement(opcode: number, streamId: number, body: Buffer): void {
    const planned = planRequest(opcode, body, streamId, this.requestScope());
    if (planned.kind === 'answer') {
      this.send(planned.frame);
      return;
    }
    const fault = planned.faultable ? this.host.fault(planned.queries) : undefined;
    if (fault === undefined) {
      this.send(planned.execute());
      return;
    }
    const delay = fault.delayMs ?? 0;
    if (delay <= 0) {
      this.suffer(fault, planned, streamId);
      return;
    }
    this.answerLater(delay, fault, opcode, body, planned, streamId);
  }

  /** Answers `delay` ms later, and no earlier than there is room for the answer. */
  private answerLater(
    delay: number,
    fault: FaultAction,
    opcode: number,
    body: Buffer,
    planned: PlannedRequest,
    streamId: number,
  ): void {
    // The request waits as a copy: a plan made from the socket's chunk would keep the whole chunk
    // alive for the delay. Planning again is only decoding; the fault rule has already fired.
    const copy = Buffer.from(body);
    const kept = planRequest(opcode, copy, streamId, this.requestScope());
    const plan = kept.kind === 'plan' ? kept : planned;
    const cost = copy.length + DELAYED_ANSWER_OVERHEAD;
    this.delayedBytes += cost;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const answer = (): void => {
        this.delayedBytes -= cost;
        this.suffer(fault, plan, streamId);
      };
      // Answers already waiting go first; this one waits for room like any other answer.
      if (this.deferred.length > 0 || this.outputFull()) this.deferred.push(answer);
      else answer();
      this.updateReading();
    }, delay);
    this.timers.add(timer);
  }

  /** What a faulted request gets once its delay, if any, is over. */
  private suffer(fault: FaultAction, planned: PlannedRequest, streamId: number): void {
    if (this.state === 'closing') return;
    if (fault.closeConnection === true) {
      this.host.log(`connection ${this.remote}: closed by a fault rule`);
      this.destroy();
    } else if (fault.error !== undefined) {
      this.sendError(
        streamId,
        faultErrorMessage(fault.error, planned.consistency, planned.writeType),
      );
    } else {
      this.send(planned.execute());
    }
  }

  private requestScope(): RequestScope {
    this.scope ??= {
      engine: this.host.engine,
      prepared: this.host.prepared,
      version: this.version,
      context: (keyspace) => this.context(keyspace),
      setKeyspace: (keyspace) => {
        this.keyspace = keyspace;
      },
      log: (message) => this.host.log(message),
      notePartition: (keyspace, key) => this.host.notePartition?.(keyspace, key),
    };
    return this.scope;
  }

  private context(keyspace?: string): ExecutionContext {
    const context: ExecutionContext = {
      node: this.host.identity(),
      peers: () => this.host.peers(),
      keyspace: keyspace ?? this.keyspace,
      protocolVersion: this.version,
    };
    // Per request, not at login: a user replaced or deleted since is checked as it is now.
    if (this.user !== undefined) context.role = this.host.users.role(this.user);
    return context;
  }

  // --- errors -----------------------------------------------------------------------------------

  /** A refusal that keeps the connection (Cassandra answers it from the message handler). */
  private unexpected(streamId: number, message: string): void {
    this.sendError(streamId, { code: ErrorCode.PROTOCOL_ERROR, message });
  }

  private sendError(streamId: number, error: CqlErrorMessage): void {
    this.send(errorFrame(this.version, streamId, error));
  }

  /** Framing or decoding failed: the stream of bytes cannot be trusted any more. */
  private onProtocolFailure(error: unknown, streamId: number): void {
    if (!ProtocolError.isProtocolError(error)) {
      const text = error instanceof Error ? error.message : String(error);
      this.host.log(`connection ${this.remote}: internal error: ${text}`);
      this.fatal(`internal error: ${text}`, streamId);
      return;
    }
    const message =
      error.code === ProtocolErrorCode.UNSUPPORTED_VERSION && error.version !== undefined
        ? unsupportedVersionMessage(error.version, this.host.versions)
        : error.message;
    this.host.log(`connection ${this.remote}: protocol error: ${message}`);
    this.fatal(message, streamId);
  }

  /** ERROR 0x000A, then close (Cassandra's fatal ProtocolException handling). */
  private fatal(message: string, streamId: number): void {
    if (this.state === 'closing') return;
    // Before a version is agreed the refusal is written in the highest offered version.
    const version = this.version === 0 ? refusalVersion(this.host.versions) : this.version;
    this.state = 'closing';
    this.framing.pause();
    this.queue.push(
      this.framing.outbound(
        errorFrame(version, streamId, { code: ErrorCode.PROTOCOL_ERROR, message }),
      ),
    );
    this.flush();
    // Nothing more is read; the socket closes once the error is written.
    this.socket.end(() => this.socket.destroy());
  }

  // --- output -----------------------------------------------------------------------------------

  /** Queues a whole response frame; all frames queued in one turn go out in one write. */
  private send(frame: Buffer): void {
    if (this.state === 'closing' || this.socket.destroyed) return;
    const bytes = this.framing.outbound(frame);
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    this.notePeak();
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.queue.length === 0) return;
    const frames = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.socket.destroyed || !this.socket.writable) return;
    // onFrame() decides from the byte count, not from write(): 'drain' follows a write that
    // filled the buffer. A write the kernel took whole at once is followed by no 'drain' (nor is
    // writableNeedDrain set), so reading stopped on the queue alone is looked at again here.
    const drainComing = !this.socket.write(this.framing.encode(frames));
    this.notePeak();
    if (!drainComing && (this.readingStopped || this.deferred.length > 0)) this.recheckSoon();
  }

  /** onDrain() on the next turn: other connections' I/O first, and no recursion from flush(). */
  private recheckSoon(): void {
    if (this.recheckScheduled) return;
    this.recheckScheduled = true;
    setImmediate(() => {
      this.recheckScheduled = false;
      this.onDrain();
    });
  }

  /** Answer bytes waiting for the peer: not yet written, or written and not taken by the kernel. */
  private pendingOutput(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  private notePeak(): void {
    const queued = this.pendingOutput();
    if (queued > this.peakQueuedBytes) this.peakQueuedBytes = queued;
  }

  /**
   * Over the bound, with a 'drain' to come: the queue will be written (and fill the socket's
   * buffer), or the buffer already filled. Without that second condition a connection could wait
   * for a 'drain' that never fires.
   */
  private outputFull(): boolean {
    return (
      this.pendingOutput() > MAX_QUEUED_BYTES &&
      (this.queue.length > 0 || this.socket.writableNeedDrain)
    );
  }

  /** Whether the next request may be handled now. */
  private mayRead(): boolean {
    return (
      !this.pausedByAdmin &&
      this.deferred.length === 0 &&
      this.delayedBytes <= MAX_DELAYED_BYTES &&
      !this.outputFull()
    );
  }

  /** Stops before the next frame, and stops the socket: what is unread stays in the kernel. */
  private stopReading(): void {
    this.framing.pause();
    this.socket.pause();
    if (!this.readingStopped && !this.pausedByAdmin) this.backpressurePauses += 1;
    this.readingStopped = true;
  }

  /** The socket's buffer is empty: delayed answers waiting for room first, then requests. */
  private onDrain(): void {
    if (!this.isOpen()) return;
    while (this.deferred.length > 0 && this.state !== 'closing' && !this.outputFull()) {
      this.deferred.shift()!();
    }
    this.updateReading();
  }

  /** Not closing (a method: the compiler would keep a narrowed `state` across calls). */
  private isOpen(): boolean {
    return this.state !== 'closing';
  }

  /** Reads again if nothing holds it back: first the requests already received, then the socket. */
  private updateReading(): void {
    if (this.state === 'closing' || this.socket.destroyed) return;
    if (!this.mayRead()) {
      this.stopReading();
      return;
    }
    this.readingStopped = false;
    try {
      // May stop again after any of them (onFrame).
      this.framing.resume();
    } catch (error) {
      this.onProtocolFailure(error, 0);
      return;
    }
    // A frame handled just now may have stopped reading again, or closed the connection.
    if (!this.readingStopped && !this.socket.destroyed && this.isOpen()) this.socket.resume();
  }
}
