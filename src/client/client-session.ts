// One client connection: the proxy plays a whole cluster to the driver on the other end.
//
// - Handshake: the first frame fixes the protocol version; a version the proxy cannot serve gets
//   the "Invalid or unsupported protocol version" error every driver steps down on. OPTIONS,
//   STARTUP and REGISTER are answered here. With --client-auth users or passthrough, STARTUP is
//   answered AUTHENTICATE and nothing but OPTIONS and AUTH_RESPONSE is accepted until the login
//   succeeds (auth/login.ts); the small pre-handshake frame limit holds until then.
// - Interception: QUERY and PREPARE strings go through the lexer once. USE switches this client
//   to the cluster session of that keyspace, system.local/peers are answered from
//   system-tables.ts, prepared system queries are answered here on EXECUTE too.
// - Forwarding: everything else goes to the BackendSession as the frame the client sent (a view
//   into the socket chunk, still compressed if it was), and the response frame comes back as is.
//   EXECUTE and BATCH bodies are read only when a consistency rewrite is configured, or lazily
//   when the upstream side asks whether a retry is safe.
// - Limits (limits.ts, docs/design.md "Limits"): the socket stops being read, and frames already
//   read are held, while a session is being set up (frames after a USE must follow it), while the
//   client has its maximum of requests or request bytes in flight, while its answers are not
//   taken (or those expected would not fit), and while the proxy-wide memory budget is spent.
//   Reading also pauses while the BackendSession is congested. A client that never completes
//   STARTUP, stays silent, or takes none of its answers for too long is closed.

import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import {
  CqlSessionError,
  type Backend,
  type BackendSession,
  type ForwardedRequest,
  type SessionCredentials,
} from '../upstream/contract.js';
import { errorMessage } from '../errors.js';
import {
  type BodyCompressionName,
  type BodyCompressor,
  bodyCompressor,
} from '../protocol/compression.js';
import {
  BatchType,
  ErrorCode,
  EventType,
  HEADER_LENGTH,
  HeaderFlag,
  Opcode,
  ResultKind,
  consistencyName,
  hasResultMetadataId,
  isKnownOpcode,
  opcodeName,
  usesSegments,
  versionName,
} from '../protocol/constants.js';
import { CqlScanner, type ForwardClass, classifyQuery } from '../protocol/cql-lexer.js';
import { ProtocolError, ProtocolErrorCode, malformed } from '../protocol/errors.js';
import type { FrameSink } from '../protocol/frame-decoder.js';
import { decodeBatch, decodeBatchHead } from '../protocol/messages/batch.js';
import { errorFrame } from '../protocol/messages/error.js';
import { eventFrame } from '../protocol/messages/event.js';
import { decodeExecute, decodeExecuteHead } from '../protocol/messages/execute.js';
import { decodePrepare } from '../protocol/messages/prepare.js';
import { decodeQuery, decodeQueryHead } from '../protocol/messages/query.js';
import { readyFrame } from '../protocol/messages/ready.js';
import { authenticateFrame, authSuccessFrame } from '../protocol/messages/auth.js';
import { decodeAuthResponse } from '../protocol/messages/auth-response.js';
import { decodeRegister } from '../protocol/messages/register.js';
import {
  type ColumnSpec,
  type PreparedMetadata,
  type PreparedResult,
  resultFrame,
  rowsFrame,
} from '../protocol/messages/result.js';
import { rewriteConsistency } from '../protocol/messages/rewrite-consistency.js';
import type { SchemaChange } from '../protocol/messages/schema-change.js';
import { decodeStartup } from '../protocol/messages/startup.js';
import { supportedFrame } from '../protocol/messages/supported.js';
import { CqlReader } from '../protocol/reader.js';
import { FramedSocket, type FramedSocketOptions } from '../transport/framed-socket.js';
import { BoundedLru } from './bounded-lru.js';
import type { BurstLog } from './burst-log.js';
import type { ClientSideConfig } from './config.js';
import { CloseReason, PauseReason, type ClientLimitStats } from './limit-stats.js';
import {
  INITIAL_RESPONSE_ESTIMATE_FRACTION,
  OUTPUT_CEILING_FACTOR,
  PRE_HANDSHAKE_MAX_FRAME_LENGTH,
  type ClientLimits,
} from './limits.js';
import type { ClientLog } from './log.js';
import type { MemoryBudget } from './memory-budget.js';
import { type ClientAuth, PASSWORD_AUTHENTICATOR } from './auth/client-auth.js';
import { login } from './auth/login.js';
import { StreamSet } from './stream-set.js';
import type { PreparedInfo, PreparedRegistry } from './prepared-registry.js';
import {
  type FrameMessage,
  checkCompressionFlag,
  frameMessage,
  recompressedFrame,
} from './request-body.js';
import {
  type BoundValues,
  type SystemStatement,
  type SystemTableContext,
  answerSystemStatement,
  prepareSystemSelect,
} from './system-tables.js';
import type { ProxyTopology } from './topology.js';

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

/** A statement prepared by the proxy itself: EXECUTE of its id is answered here too. */
type LocalStatement =
  { kind: 'system'; statement: SystemStatement } | { kind: 'use'; keyspace: string };

// Reasons to stop reading the client socket; reading resumes when none is left. The HOLD reasons
// also hold frames already read (the rest of the chunk) until they clear, so each limit is exact.
const PAUSE_BLOCKED = 1;
const PAUSE_CONGESTED = 2;
const PAUSE_SHUTDOWN = 4;
const PAUSE_REQUESTS = 8;
const PAUSE_REQUEST_BYTES = 16;
const PAUSE_OUTPUT = 32;
const PAUSE_MEMORY = 64;
const HOLD = PAUSE_BLOCKED | PAUSE_REQUESTS | PAUSE_REQUEST_BYTES | PAUSE_OUTPUT | PAUSE_MEMORY;
/** The holds updateHolds() recomputes from the connection's counters. */
const COUNTED_HOLDS = PAUSE_REQUESTS | PAUSE_REQUEST_BYTES | PAUSE_OUTPUT;
const PAUSE_REASON_BITS: readonly [number, PauseReason][] = [
  [PAUSE_REQUESTS, PauseReason.REQUESTS],
  [PAUSE_REQUEST_BYTES, PauseReason.REQUEST_BYTES],
  [PAUSE_OUTPUT, PauseReason.OUTPUT],
  [PAUSE_MEMORY, PauseReason.MEMORY],
];

/** The custom payload key that marks a DSE Graph query. */
const GRAPH_SOURCE = 'graph-source';

/** The weight of the newest answer in the running estimate of this client's answer sizes. */
const ESTIMATE_WEIGHT = 1 / 8;
/** Locally prepared statements kept per connection (drivers prepare a handful at most). */
export const LOCAL_STATEMENTS_CAPACITY = 256;
/** How long a connection being closed for a protocol error may take to hang up itself. */
const CLOSE_GRACE_MS = 5_000;

const ALWAYS = (): boolean => true;
const NEVER = (): boolean => false;

/** For the first word of a statement the lexer calls 'other' (TRUNCATE). */
const FIRST_WORD = new CqlScanner();

/**
 * A schema change (whatever the lexer calls DDL: CREATE/ALTER/DROP of anything) or TRUNCATE:
 * such a statement gets --schema-timeout rather than --request-timeout.
 */
function isLongRunning(cls: ForwardClass, query: string): boolean {
  if (cls.statement === 'ddl') return true;
  if (cls.statement !== 'other') return false;
  const s = FIRST_WORD.reset(query);
  s.next();
  return s.isWord('truncate');
}

/**
 * One forwarded request. Its answer comes back through the onResponse method (the upstream side
 * calls it as a method), so no closure is made per request.
 */
class ClientRequest implements ForwardedRequest {
  readonly frame: Buffer;
  readonly idempotent: () => boolean;
  /** The client connection: the upstream wait queue is fair between owners. */
  readonly owner: object;
  /** A schema change or TRUNCATE (--schema-timeout). */
  readonly longRunning: boolean;
  readonly streamId: number;
  readonly length: number;
  private readonly session: ClientSession;
  private readonly inspect: ((response: Buffer) => void) | undefined;

  constructor(
    session: ClientSession,
    frame: Buffer,
    idempotent: () => boolean,
    inspect: ((response: Buffer) => void) | undefined,
    longRunning: boolean,
  ) {
    this.session = session;
    this.owner = session;
    this.frame = frame;
    this.idempotent = idempotent;
    this.longRunning = longRunning;
    this.inspect = inspect;
    this.streamId = frame.readInt16BE(2);
    this.length = frame.length;
  }

  onResponse(response: Buffer): void {
    this.inspect?.(response);
    this.session.answered(this, response);
  }

  /** Cut-through of a large answer (ForwardedRequest.onResponseHead); not when inspected. */
  onResponseHead(head: Buffer, frameLength: number): FrameSink | undefined {
    return this.inspect === undefined
      ? this.session.answeredThrough(this, head, frameLength)
      : undefined;
  }
}

/**
 * A client connection's FramedSocket callbacks as methods on one small object, instead of a
 * closure each per connection (thousands of idle clients: docs/design.md "Limits").
 */
class SessionSocketEvents implements FramedSocketOptions {
  readonly incoming = 'request';
  private readonly session: ClientSession;
  readonly maxFrameLength: number;

  constructor(session: ClientSession, maxFrameLength: number) {
    this.session = session;
    this.maxFrameLength = maxFrameLength;
  }

  onFrame(frame: Buffer): void {
    this.session.onFrame(frame);
  }

  onError(err: Error): void {
    this.session.onConnectionError(err);
  }

  onClose(): void {
    this.session.onClosed();
  }

  onQueuedBytes(delta: number): void {
    this.session.onQueuedBytes(delta);
  }

  onWritten(): void {
    this.session.onOutputWritten();
  }
}

/** Error codes whose body ends after the message: the ones a session error may carry as is. */
const SIMPLE_ERROR_CODES: ReadonlySet<number> = new Set([
  ErrorCode.SERVER_ERROR,
  ErrorCode.PROTOCOL_ERROR,
  ErrorCode.AUTHENTICATION_ERROR,
  ErrorCode.OVERLOADED,
  ErrorCode.IS_BOOTSTRAPPING,
  ErrorCode.TRUNCATE_ERROR,
  ErrorCode.CDC_WRITE_FAILURE,
  ErrorCode.SYNTAX_ERROR,
  ErrorCode.UNAUTHORIZED,
  ErrorCode.INVALID,
  ErrorCode.CONFIG_ERROR,
]);
const KNOWN_ERROR_CODES: ReadonlySet<number> = new Set(Object.values(ErrorCode));

/** STARTUP's COMPRESSION value, if the proxy serves it with this framing. */
function allowedCompression(requested: string, v5: boolean): BodyCompressionName | undefined {
  if (requested === 'lz4') return 'lz4';
  // v5 compresses segments, and only with LZ4 (spec v5 §2.2).
  if (requested === 'snappy' && !v5) return 'snappy';
  return undefined;
}

/** An IPv4 address on a dual-stack socket shows as ::ffff:a.b.c.d; drivers want a.b.c.d. */
function plainAddress(address: string | undefined): string {
  if (address === undefined || address === '') return '127.0.0.1';
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

export class ClientSession {
  private readonly framed: FramedSocket;
  private readonly backend: Backend;
  private readonly config: ClientSideConfig;
  private readonly topology: ProxyTopology;
  private readonly prepared: PreparedRegistry;
  private readonly log: ClientLog;
  private readonly onCloseCallback: (() => void) | undefined;
  private readonly rewriteEnabled: boolean;

  /** The connection's protocol version; 0 until the first frame fixes it. */
  private version = 0;
  private v5 = false;
  /** STARTUP was received and accepted. */
  private started = false;
  /** Requests are accepted: READY was sent, or, with client authentication, AUTH_SUCCESS. */
  private ready = false;
  /** AUTHENTICATE was sent and the login has not succeeded yet. */
  private authenticating = false;
  /** Passthrough: the client's own credentials, for every cluster session it uses. */
  private credentials: SessionCredentials | undefined;
  /** v3/v4 body compression negotiated in STARTUP. */
  private compressor: BodyCompressor | undefined;
  /** Part of the cluster session key: the body compression (never set with v5, see startup()). */
  private sessionCompression: BodyCompressionName | undefined;
  /** The current keyspace, normalised as the lexer does. */
  private keyspace: string | undefined;
  private backendSession: BackendSession | undefined;
  private localStatements: BoundedLru<string, LocalStatement> | undefined;
  private unsubscribeEvents: (() => void) | undefined;

  private readonly guards: ClientGuards;
  private readonly limits: ClientLimits;
  private readonly budget: MemoryBudget;
  /** Frames read while a HOLD reason is set wait here, in order (the socket is paused meanwhile). */
  private blocked = false;
  private waiting: (Buffer | undefined)[] = [];
  private waitingHead = 0;
  private releasing = false;
  private pausedFor = 0;
  /** Forwarded requests not answered yet, their bytes, and their stream ids. */
  private inFlight = 0;
  private requestBytes = 0;
  private readonly streams = new StreamSet();
  /** A running estimate of this client's answer sizes: how many more requests would fit. */
  private responseEstimate: number;
  /** Whether responseEstimate comes from an answer yet (or is still the initial guess). */
  private estimated = false;
  private readonly connectedAt = Date.now();
  /** Sweep state: the byte counts last seen and when they last moved. */
  private seenRead = 0;
  private seenFlushed = 0;
  private lastActivity = this.connectedAt;
  private stalledSince = 0;
  private closing = false;
  private closeTimer: NodeJS.Timeout | undefined;
  /** The first header bytes, kept for a first frame whose version the decoder cannot read. */
  private firstBytes: Buffer | undefined;
  /** Given to the memory budget while PAUSE_MEMORY holds; made the first time it does. */
  private onMemoryAvailable: (() => void) | undefined;

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
      this.holdForMemory();
      return;
    }
    this.process(frame);
  }

  private process(frame: Buffer): void {
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
        this.refuseVersion(version, streamId);
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
      this.refuseDuplicateStream(streamId);
      return;
    }
    switch (opcode) {
      case Opcode.OPTIONS:
        // Drivers' heartbeats too: answered here, the body (empty, maybe compressed) unread.
        this.write(supportedFrame(this.version, streamId, this.supportedOptions()));
        return;
      case Opcode.STARTUP:
        this.startup(frame, streamId);
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
        this.authResponse(frame, streamId);
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
        this.query(frame, streamId);
        return;
      case Opcode.PREPARE:
        this.prepare(frame, streamId);
        return;
      case Opcode.EXECUTE:
        this.execute(frame, streamId);
        return;
      case Opcode.BATCH:
        this.batch(frame);
        return;
      case Opcode.REGISTER:
        this.register(frame, streamId);
        return;
    }
  }

  // --- handshake -------------------------------------------------------------------------------

  /** The versions clients may use, lowest first (worked out when asked: OPTIONS and refusals). */
  private clientVersions(): number[] {
    return [...this.backend.info.clientVersions].sort((a, b) => a - b);
  }

  /** The highest version clients may use: the version of errors sent before one is fixed. */
  private highestVersion(): number {
    const versions = this.clientVersions();
    return versions[versions.length - 1] ?? 4;
  }

  /** "3/v3, 4/v4": what the unsupported-version error and SUPPORTED list. */
  private versionList(): string[] {
    return this.clientVersions().map((v) => `${v}/${versionName(v)}`);
  }

  private supportedOptions(): Map<string, string[]> {
    const info = this.backend.info;
    const options = new Map<string, string[]>([
      ['CQL_VERSION', [info.cqlVersion]],
      // v5 compresses segments, with LZ4 only (spec v5 §2.2).
      ['COMPRESSION', this.v5 ? ['lz4'] : ['lz4', 'snappy']],
      ['PROTOCOL_VERSIONS', this.versionList()],
    ]);
    if (info.productType !== undefined && info.productType !== '') {
      options.set('PRODUCT_TYPE', [info.productType]);
    }
    return options;
  }

  /**
   * The error drivers step down on (docs/drivers.md §4, §6): Cassandra's text, in a frame of the
   * highest version the proxy serves, so the Node driver, which starts at DSE v2, retries with
   * that version at once; then the connection is closed, as Cassandra does.
   */
  private refuseVersion(version: number, streamId: number): void {
    this.fatal(
      streamId,
      `Invalid or unsupported protocol version (${version}); supported versions are ` +
        `(${this.versionList().join(', ')})`,
    );
  }

  // native_protocol_v4.spec §4.1.1 STARTUP; v5 §2.3.1: segments start right after READY.
  private startup(frame: Buffer, streamId: number): void {
    if (this.started) {
      this.error(streamId, ErrorCode.PROTOCOL_ERROR, 'STARTUP was already received');
      return;
    }
    if ((frame.readUInt8(1) & HeaderFlag.COMPRESSION) !== 0) {
      throw malformed('STARTUP cannot be compressed');
    }
    const message = frameMessage(frame, undefined, this.config.maxFrameLength, this.version);
    const options = decodeStartup(message.body.subarray(message.start));
    let requested: string | undefined;
    for (const [key, value] of options) {
      if (key.toUpperCase() === 'COMPRESSION') requested = value.toLowerCase();
    }
    let compression: BodyCompressionName | undefined;
    if (requested !== undefined) {
      compression = allowedCompression(requested, this.v5);
      if (compression === undefined) {
        // No READY after this (cql-proxy sent one anyway): the client must not think it is in.
        this.error(
          streamId,
          ErrorCode.PROTOCOL_ERROR,
          `Unsupported compression type: ${requested} (supported compression types` +
            `${this.v5 ? ' with protocol v5: lz4' : ': lz4, snappy'})`,
        );
        return;
      }
    }
    this.started = true;
    if (this.guards.auth.required) {
      // native_protocol_v4.spec §4.2.3: AUTHENTICATE names the authenticator; the client answers
      // with AUTH_RESPONSE. The frame limit stays small until the login succeeds.
      this.authenticating = true;
      this.write(authenticateFrame(this.version, streamId, PASSWORD_AUTHENTICATOR));
    } else {
      this.becomeReady();
      this.write(readyFrame(this.version, streamId));
    }
    if (this.v5) {
      // The frames inside segments are never compressed, so all v5 clients share the cluster
      // sessions without compression whatever their segments use.
      this.framed.startSegments(compression === 'lz4' ? 'lz4' : 'none');
    } else if (compression !== undefined) {
      this.compressor = bodyCompressor(compression);
      this.sessionCompression = compression;
    }
    this.log.debug(
      { version: versionName(this.version), compression: compression ?? 'none' },
      'client connection ready',
    );
  }

  private becomeReady(): void {
    this.ready = true;
    this.authenticating = false;
    this.framed.setMaxFrameLength(this.config.maxFrameLength);
  }

  // native_protocol_v4.spec §4.1.2 AUTH_RESPONSE, §4.2.8 AUTH_SUCCESS. Later frames wait while
  // the credentials are checked (a check may take tens of milliseconds, or a cluster round trip).
  private authResponse(frame: Buffer, streamId: number): void {
    const message = this.message(frame);
    let token: Buffer | null;
    try {
      token = decodeAuthResponse(message.body.subarray(message.start));
    } catch {
      token = null;
    }
    this.block();
    void this.completeLogin(token, streamId);
  }

  private async completeLogin(token: Buffer | null, streamId: number): Promise<void> {
    try {
      const result = await login(
        this.guards.auth,
        token,
        this.remote(),
        (credentials) =>
          this.backend.session(this.version, undefined, this.sessionCompression, credentials),
        this.log,
      );
      if (this.closing) return;
      if (result.ok) {
        this.credentials = result.credentials;
        if (result.session !== undefined) this.backendSession = result.session;
        this.becomeReady();
        this.write(authSuccessFrame(this.version, streamId, null));
        return;
      }
      if (result.delayMs > 0) await new Promise((r) => setTimeout(r, result.delayMs));
      if (this.closing) return;
      this.error(streamId, result.code, result.message);
    } finally {
      this.unblock();
    }
  }

  // native_protocol_v4.spec §4.1.8 REGISTER; only schema changes are passed on, the proxy's
  // topology being its own.
  private register(frame: Buffer, streamId: number): void {
    const message = this.message(frame);
    const types = decodeRegister(message.body.subarray(message.start));
    if (types.includes(EventType.SCHEMA_CHANGE) && this.unsubscribeEvents === undefined) {
      this.unsubscribeEvents = this.backend.onSchemaChange((change) => this.sendEvent(change));
    }
    this.write(readyFrame(this.version, streamId));
  }

  private sendEvent(change: SchemaChange): void {
    if (this.closing) return;
    try {
      this.write(eventFrame(this.version, { type: EventType.SCHEMA_CHANGE, change }));
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not pass a schema change event on');
    }
  }

  // --- QUERY, PREPARE, EXECUTE, BATCH ------------------------------------------------------------

  private message(frame: Buffer): FrameMessage {
    return frameMessage(frame, this.compressor, this.config.maxFrameLength, this.version);
  }

  private query(frame: Buffer, streamId: number): void {
    const message = this.message(frame);
    const head = decodeQueryHead(message.body.subarray(message.start), this.version);
    const cls = classifyQuery(head.query, this.keyspace);
    switch (cls.kind) {
      case 'use':
        this.use(streamId, cls.keyspace);
        return;
      case 'system':
        this.answerSystem(
          streamId,
          { table: cls.table, selectors: cls.selectors, query: head.query },
          () => decodeQuery(message.body.subarray(message.start), this.version).parameters,
          false,
        );
        return;
      case 'invalid':
        this.error(streamId, ErrorCode.INVALID, cls.message);
        return;
      case 'forward': {
        if (cls.statement === 'use') {
          this.refuseUse(streamId);
          return;
        }
        const out =
          cls.statement !== 'select' && this.rewrites(head.consistency)
            ? this.rewrite(frame, message, head.consistencyOffset, head.consistency)
            : frame;
        // DSE Graph queries are not CQL: the lexer cannot judge them, the flag decides
        // (docs/cql-proxy-compat.md §4.7).
        const idempotent =
          message.customPayload?.has(GRAPH_SOURCE) === true
            ? this.config.idempotentGraph === true
            : cls.idempotent;
        this.forward({
          frame: out,
          idempotent: idempotent ? ALWAYS : NEVER,
          longRunning: isLongRunning(cls, head.query),
        });
      }
    }
  }

  /**
   * A USE the lexer could not read (`USE a b`): forwarding it would move a pooled connection
   * shared with other clients to another keyspace, so it is refused here.
   */
  private refuseUse(streamId: number): void {
    this.error(streamId, ErrorCode.SYNTAX_ERROR, 'Invalid USE statement: expected USE <keyspace>');
  }

  private prepare(frame: Buffer, streamId: number): void {
    const message = this.message(frame);
    const prepare = decodePrepare(message.body.subarray(message.start), this.version);
    const keyspace = prepare.keyspace ?? this.keyspace;
    const cls = classifyQuery(prepare.query, keyspace);
    switch (cls.kind) {
      case 'use':
        this.prepareLocally(streamId, prepare.query, keyspace, cls, [], {
          columns: [],
          pkIndexes: [],
        });
        return;
      case 'system': {
        const system = { table: cls.table, selectors: cls.selectors, query: prepare.query };
        const answer = prepareSystemSelect(system, this.tableContext());
        if (answer.kind === 'invalid') {
          this.error(streamId, ErrorCode.INVALID, answer.message);
          return;
        }
        const statement: LocalStatement = { kind: 'system', statement: system };
        // Cassandra sends pk_indexes from v4 on.
        const pkIndexes = this.version >= 4 ? answer.pkIndexes : [];
        this.prepareLocally(streamId, prepare.query, keyspace, statement, answer.columns, {
          columns: answer.variables,
          pkIndexes,
        });
        return;
      }
      case 'invalid':
        this.error(streamId, ErrorCode.INVALID, cls.message);
        return;
      case 'forward': {
        if (cls.statement === 'use') {
          this.refuseUse(streamId);
          return;
        }
        const info: PreparedInfo = {
          idempotent: cls.idempotent,
          select: cls.statement === 'select',
          longRunning: isLongRunning(cls, prepare.query),
        };
        // Preparing twice is harmless: a PREPARE may always be retried.
        this.forward({ frame, idempotent: ALWAYS }, (response) =>
          this.notePrepared(response, info),
        );
      }
    }
  }

  /**
   * Answers PREPARE of a system query or USE with an id of the proxy's own, MD5(query + keyspace)
   * as cql-proxy: the same statement gets the same id on every connection, as from Cassandra.
   */
  private prepareLocally(
    streamId: number,
    query: string,
    keyspace: string | undefined,
    statement: LocalStatement,
    columns: ColumnSpec[],
    variables: PreparedMetadata,
  ): void {
    const id = createHash('md5')
      .update(query, 'utf8')
      .update(keyspace ?? '', 'utf8')
      .digest();
    this.localStatements ??= new BoundedLru(LOCAL_STATEMENTS_CAPACITY);
    this.localStatements.set(id.toString('hex'), statement);
    const result: PreparedResult = {
      kind: ResultKind.PREPARED,
      id,
      metadata: variables,
      // A USE has no result columns: Cassandra sends No_metadata with a count of 0.
      resultMetadata:
        statement.kind === 'use' ? { columnCount: 0 } : { columnCount: columns.length, columns },
    };
    if (hasResultMetadataId(this.version)) {
      result.resultMetadataId = createHash('md5')
        .update(columns.map((c) => `${c.name}:${JSON.stringify(c.type)}`).join(','))
        .digest();
    }
    this.write(resultFrame(this.version, streamId, result));
  }

  /** Remembers what a statement prepared by the cluster is, from the PREPARED result's id. */
  private notePrepared(response: Buffer, info: PreparedInfo): void {
    if (response.readUInt8(4) !== Opcode.RESULT) return;
    try {
      const message = frameMessage(
        response,
        this.compressor,
        this.config.maxFrameLength,
        this.version,
        true,
      );
      const reader = new CqlReader(message.body, message.start);
      if (reader.readInt() !== ResultKind.PREPARED) return;
      this.prepared.remember(reader.readShortBytes(), info);
    } catch (err) {
      this.log.debug({ err: errorMessage(err) }, 'unreadable PREPARED result from the cluster');
    }
  }

  private execute(frame: Buffer, streamId: number): void {
    let message: FrameMessage | undefined;
    if (this.localStatements !== undefined && this.localStatements.size > 0) {
      message = this.message(frame);
      const reader = new CqlReader(message.body, message.start);
      const id = reader.readShortBytes();
      const local = id.length === 16 ? this.localStatements.get(id.toString('hex')) : undefined;
      if (local !== undefined) {
        this.executeLocally(streamId, local, message);
        return;
      }
    }
    // Only once a schema change or TRUNCATE was prepared is the id read for it (no allocation).
    let longRunning = false;
    if (this.prepared.hasLongRunning) {
      message ??= this.message(frame);
      longRunning = this.prepared.isLongRunningAt(message.body, message.start);
    }
    let out = frame;
    if (this.rewriteEnabled) {
      message ??= this.message(frame);
      const head = decodeExecuteHead(message.body.subarray(message.start), this.version);
      // An id the proxy did not see prepared counts as a write: the rewrite errs on that side.
      if (this.rewrites(head.consistency) && this.prepared.lookup(head.id)?.select !== true) {
        out = this.rewrite(frame, message, head.consistencyOffset, head.consistency);
      }
    }
    this.forward({ frame: out, idempotent: () => this.executeIdempotent(out), longRunning });
  }

  private executeLocally(streamId: number, statement: LocalStatement, message: FrameMessage): void {
    if (statement.kind === 'use') {
      this.use(streamId, statement.keyspace);
    } else {
      const body = message.body.subarray(message.start);
      const bound = (): BoundValues => decodeExecute(body, this.version).parameters;
      this.answerSystem(streamId, statement.statement, bound, true);
    }
  }

  private executeIdempotent(frame: Buffer): boolean {
    try {
      const message = this.message(frame);
      const id = new CqlReader(message.body, message.start).readShortBytes();
      return this.prepared.lookup(id)?.idempotent ?? false;
    } catch {
      return false;
    }
  }

  private batch(frame: Buffer): void {
    let out = frame;
    if (this.rewriteEnabled) {
      const message = this.message(frame);
      const head = decodeBatchHead(message.body.subarray(message.start), this.version);
      // Every batch is a write (docs/cql-proxy-compat.md §4.9).
      if (this.rewrites(head.consistency)) {
        out = this.rewrite(frame, message, head.consistencyOffset, head.consistency);
      }
    }
    this.forward({ frame: out, idempotent: () => this.batchIdempotent(out) });
  }

  /**
   * A batch may be retried when each of its statements may (docs/cql-proxy-compat.md §4.7);
   * counters never.
   */
  private batchIdempotent(frame: Buffer): boolean {
    try {
      const message = this.message(frame);
      const batch = decodeBatch(message.body.subarray(message.start), this.version);
      if (batch.type === BatchType.COUNTER) return false;
      return batch.statements.every((statement) => {
        if (statement.kind === 'prepared') {
          return this.prepared.lookup(statement.id)?.idempotent === true;
        }
        const cls = classifyQuery(statement.query, this.keyspace);
        return cls.kind === 'forward' && cls.idempotent;
      });
    } catch {
      return false;
    }
  }

  private rewrites(consistency: number): boolean {
    return this.rewriteEnabled && this.config.unsupportedWriteConsistencies.has(consistency);
  }

  /**
   * Replaces the request's consistency with the override. An uncompressed body is rewritten in
   * place (two bytes of the frame); a compressed one was decompressed to be read, so it is
   * rewritten there and compressed again into a fresh frame.
   */
  private rewrite(
    frame: Buffer,
    message: FrameMessage,
    consistencyOffset: number,
    previous: number,
  ): Buffer {
    const level = this.config.writeConsistencyOverride;
    rewriteConsistency(message.body, message.start + consistencyOffset, level);
    this.log.debug(
      { from: consistencyName(previous), to: consistencyName(level) },
      'write consistency rewritten',
    );
    if (!message.copied || this.compressor === undefined) return frame;
    return recompressedFrame(frame, message.body, this.compressor);
  }

  private answerSystem(
    streamId: number,
    statement: SystemStatement,
    bound: () => BoundValues,
    prepared: boolean,
  ): void {
    const answer = answerSystemStatement(statement, this.tableContext(), bound, prepared);
    if (answer.kind === 'invalid') {
      this.error(streamId, ErrorCode.INVALID, answer.message);
      return;
    }
    this.write(rowsFrame(this.version, streamId, { columns: answer.columns, rows: answer.rows }));
  }

  private tableContext(): SystemTableContext {
    // Read off the socket when a system table is asked for, not kept per connection: the socket
    // is open while its requests are answered.
    const socket = this.framed.socket;
    const connectionPort = socket.localPort;
    return {
      info: this.backend.info,
      topology: this.topology,
      connectionAddress: plainAddress(socket.localAddress),
      ...(connectionPort === undefined ? {} : { connectionPort }),
      version: this.version,
    };
  }

  // --- sessions and forwarding -----------------------------------------------------------------

  /** USE: this client's requests go to that keyspace's session from now on. */
  private use(streamId: number, keyspace: string): void {
    this.block();
    void this.switchKeyspace(streamId, keyspace);
  }

  private async switchKeyspace(streamId: number, keyspace: string): Promise<void> {
    try {
      const session = await this.backend.session(
        this.version,
        keyspace,
        this.sessionCompression,
        this.credentials,
      );
      if (this.closing) return;
      this.backendSession = session;
      this.keyspace = keyspace;
      this.write(resultFrame(this.version, streamId, { kind: ResultKind.SET_KEYSPACE, keyspace }));
    } catch (err) {
      this.write(this.sessionErrorFrame(streamId, err, keyspace));
    } finally {
      this.unblock();
    }
  }

  /**
   * Sends a request to the cluster; `inspect` sees the response before the client does. The
   * first request of a connection waits for its session, holding later frames back meanwhile.
   */
  private forward(
    request: Omit<ForwardedRequest, 'onResponse'>,
    inspect?: (response: Buffer) => void,
  ): void {
    const forwarded = new ClientRequest(
      this,
      request.frame,
      request.idempotent,
      inspect,
      request.longRunning === true,
    );
    this.inFlight++;
    this.requestBytes += forwarded.length;
    this.budget.add(forwarded.length);
    this.streams.add(forwarded.streamId);
    this.updateHolds();
    const session = this.backendSession;
    if (session !== undefined) {
      this.send(session, forwarded);
      return;
    }
    this.block();
    void this.openSessionThenSend(forwarded);
  }

  private async openSessionThenSend(request: ForwardedRequest): Promise<void> {
    try {
      // No USE has succeeded yet (it would have set a session), so no keyspace.
      const session = await this.backend.session(
        this.version,
        undefined,
        this.sessionCompression,
        this.credentials,
      );
      if (this.closing) {
        // Never sent: answered into the closed socket, so its accounting is given back.
        request.onResponse(
          errorFrame(this.version, request.frame.readInt16BE(2), {
            code: ErrorCode.SERVER_ERROR,
            message: 'Client connection closed',
          }),
        );
        return;
      }
      this.backendSession = session;
      this.send(session, request);
    } catch (err) {
      request.onResponse(this.sessionErrorFrame(request.frame.readInt16BE(2), err, undefined));
    } finally {
      this.unblock();
    }
  }

  private send(session: BackendSession, request: ForwardedRequest): void {
    session.send(request);
    if (session.congested && (this.pausedFor & PAUSE_CONGESTED) === 0) {
      this.pause(PAUSE_CONGESTED);
      session.onceUncongested(() => this.unpause(PAUSE_CONGESTED));
    }
  }

  /** The kernel took a flush's bytes (SessionSocketEvents: FramedSocket's onWritten). */
  onOutputWritten(): void {
    if ((this.pausedFor & PAUSE_OUTPUT) !== 0) this.updateHolds();
  }

  /** The budget's share of this connection's queued output (FramedSocket's onQueuedBytes). */
  onQueuedBytes(delta: number): void {
    this.budget.add(delta);
  }

  /**
   * A forwarded request's large answer, cut through (ClientRequest.onResponseHead): its head goes
   * to the client now and the rest as it arrives, when the socket takes it (FramedSocket
   * writeThrough); undefined when it does not, and the answer comes whole to answered().
   */
  answeredThrough(
    request: ClientRequest,
    head: Buffer,
    frameLength: number,
  ): FrameSink | undefined {
    if (this.closing) return undefined;
    const sink = this.framed.writeThrough(head, frameLength);
    if (sink !== undefined) this.accountAnswer(request, frameLength);
    return sink;
  }

  /** A forwarded request's answer (ClientRequest.onResponse): to the client, and limits updated. */
  answered(request: ClientRequest, response: Buffer): void {
    this.framed.write(response);
    this.accountAnswer(request, response.length);
  }

  /** The counters of an answer queued for the client (`length` bytes), then the holds. */
  private accountAnswer(request: ClientRequest, length: number): void {
    this.inFlight--;
    this.requestBytes -= request.length;
    this.budget.add(-request.length);
    this.streams.delete(request.streamId);
    // The first answer replaces the pessimistic guess outright, so a client of small answers has
    // its full concurrency after one round trip, however slow that trip; then a running average.
    this.responseEstimate = this.estimated
      ? this.responseEstimate + (length - this.responseEstimate) * ESTIMATE_WEIGHT
      : length;
    this.estimated = true;
    this.afterOutput(length);
  }

  // --- limits ----------------------------------------------------------------------------------

  /**
   * Recomputes the holds that follow from this connection's own counters (limits.ts): requests
   * and request bytes in flight, and output: what is queued, plus what the requests in flight
   * are expected to bring back, must fit in maxOutputBytes. With nothing in flight and nothing
   * queued a request is always admitted, however large its answer turns out to be.
   */
  private updateHolds(): void {
    const limits = this.limits;
    const queued = this.framed.queuedBytes;
    let holds = 0;
    if (this.inFlight >= limits.maxRequestsInFlight) holds |= PAUSE_REQUESTS;
    if (this.requestBytes >= limits.maxRequestBytesInFlight) holds |= PAUSE_REQUEST_BYTES;
    if (
      queued + this.inFlight * this.responseEstimate > limits.maxOutputBytes &&
      queued + this.inFlight > 0
    ) {
      holds |= PAUSE_OUTPUT;
    }
    const next = (this.pausedFor & ~COUNTED_HOLDS) | holds;
    if (next !== this.pausedFor) this.setPaused(next);
  }

  /**
   * After a frame was queued for the client: the ceiling, then the holds. The ceiling counts what
   * was queued before this frame, so one answer larger than the ceiling (a page of very wide
   * rows, up to the cluster's frame limit) still reaches a client that reads it.
   */
  private afterOutput(frameLength: number): void {
    const queued = this.framed.queuedBytes;
    if (queued - frameLength > this.limits.maxOutputBytes * OUTPUT_CEILING_FACTOR) {
      this.closeFor(CloseReason.OUTPUT_OVERFLOW, { queuedBytes: queued });
      return;
    }
    this.updateHolds();
  }

  private holdForMemory(): void {
    if ((this.pausedFor & PAUSE_MEMORY) !== 0) return;
    this.setPaused(this.pausedFor | PAUSE_MEMORY);
    this.budget.whenAvailable((this.onMemoryAvailable ??= () => this.unpause(PAUSE_MEMORY)));
  }

  /** A request on a stream id whose earlier request is still in flight: refused, not forwarded. */
  private refuseDuplicateStream(streamId: number): void {
    this.guards.stats.duplicateStreamIds++;
    this.log.debug({ streamId }, 'client request refused: its stream id is already in flight');
    this.error(
      streamId,
      ErrorCode.PROTOCOL_ERROR,
      `Stream id ${streamId} is already in use by a request in flight on this connection`,
    );
  }

  /**
   * Run by the client side's sweep a few times a second: closes a connection that never
   * completed STARTUP, that has been silent too long, or that has taken none of its queued
   * answers for the write timeout. No timer per connection.
   */
  sweep(now: number): void {
    if (this.closing) return;
    const limits = this.limits;
    if (!this.ready) {
      if (limits.handshakeTimeoutMs > 0 && now - this.connectedAt >= limits.handshakeTimeoutMs) {
        this.closeFor(CloseReason.HANDSHAKE_TIMEOUT, { timeoutMs: limits.handshakeTimeoutMs });
        return;
      }
    }
    const read = this.framed.socket.bytesRead;
    const flushed = this.framed.flushedBytes;
    if (read !== this.seenRead || flushed !== this.seenFlushed) {
      this.seenRead = read;
      this.lastActivity = now;
    }
    if (
      limits.idleTimeoutMs > 0 &&
      this.inFlight === 0 &&
      now - this.lastActivity >= limits.idleTimeoutMs
    ) {
      this.closeFor(CloseReason.IDLE_TIMEOUT, { timeoutMs: limits.idleTimeoutMs });
      return;
    }
    if (this.framed.queuedBytes === 0 || flushed !== this.seenFlushed) {
      this.stalledSince = now;
    } else if (limits.writeTimeoutMs > 0 && now - this.stalledSince >= limits.writeTimeoutMs) {
      this.closeFor(CloseReason.WRITE_TIMEOUT, {
        timeoutMs: limits.writeTimeoutMs,
        queuedBytes: this.framed.queuedBytes,
      });
      return;
    }
    this.seenFlushed = flushed;
  }

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

  /** Closes the connection at once for a limit, counted and logged (rate-limited). */
  private closeFor(reason: CloseReason, fields: object): void {
    if (this.closing) return;
    this.guards.stats.closed[reason]++;
    this.guards.closeLogs[reason].note({ remote: this.remote(), ...fields });
    this.closing = true;
    this.dropWaiting();
    this.framed.destroy();
  }

  private remote(): string {
    const socket = this.framed.socket;
    return `${plainAddress(socket.remoteAddress)}:${socket.remotePort ?? 0}`;
  }

  /** The error a session that could not be had turns into, keeping the cluster's own code. */
  private sessionErrorFrame(streamId: number, err: unknown, keyspace: string | undefined): Buffer {
    if (CqlSessionError.isCqlSessionError(err)) {
      const code = err.code;
      if (SIMPLE_ERROR_CODES.has(code) || !KNOWN_ERROR_CODES.has(code)) {
        return errorFrame(this.version, streamId, { code, message: err.message });
      }
    }
    const what =
      keyspace === undefined
        ? 'Proxy unable to reach the cluster'
        : `Proxy unable to use keyspace ${keyspace}`;
    this.log.warn({ err: errorMessage(err), keyspace }, 'cluster session unavailable');
    return errorFrame(this.version, streamId, {
      code: ErrorCode.SERVER_ERROR,
      message: `${what}: ${errorMessage(err)}`,
    });
  }

  private block(): void {
    this.blocked = true;
    this.pause(PAUSE_BLOCKED);
  }

  private unblock(): void {
    this.blocked = false;
    this.unpause(PAUSE_BLOCKED);
  }

  private pause(reason: number): void {
    this.setPaused(this.pausedFor | reason);
  }

  private unpause(reason: number): void {
    if ((this.pausedFor & reason) === 0) return;
    this.setPaused(this.pausedFor & ~reason);
  }

  /**
   * The one place the pause state changes: the socket pauses when the first reason appears and
   * resumes when the last one goes; held frames are processed once no HOLD reason is left.
   */
  private setPaused(next: number): void {
    const before = this.pausedFor;
    this.pausedFor = next;
    const added = next & ~before;
    if (added !== 0) this.notePauses(added);
    if (before === 0 && next !== 0) this.framed.pauseReading();
    if ((next & HOLD) === 0 && (before & HOLD) !== 0) this.releaseWaiting();
    if (this.pausedFor === 0 && before !== 0 && !this.closing) this.framed.resumeReading();
  }

  private notePauses(added: number): void {
    for (const [bit, reason] of PAUSE_REASON_BITS) {
      if ((added & bit) === 0) continue;
      this.guards.stats.pauses[reason]++;
      this.log.debug(
        {
          reason,
          remote: this.remote(),
          requestsInFlight: this.inFlight,
          requestBytesInFlight: this.requestBytes,
          queuedBytes: this.framed.queuedBytes,
        },
        'client connection paused: a limit is reached',
      );
    }
  }

  /** Processes held frames in order while nothing holds them (re-entrant calls return at once). */
  private releaseWaiting(): void {
    if (this.releasing) return;
    this.releasing = true;
    try {
      while ((this.pausedFor & HOLD) === 0 && !this.closing) {
        if (this.waitingHead >= this.waiting.length) break;
        if (this.budget.exhausted && this.ready) {
          this.holdForMemory();
          break;
        }
        const next = this.waiting[this.waitingHead]!;
        this.waiting[this.waitingHead++] = undefined;
        this.process(next);
      }
      if (this.waitingHead >= this.waiting.length) {
        this.waiting = [];
        this.waitingHead = 0;
      }
    } finally {
      this.releasing = false;
    }
  }

  private dropWaiting(): void {
    this.waiting = [];
    this.waitingHead = 0;
  }

  // --- graceful shutdown -----------------------------------------------------------------------

  /** Requests read from the client and not answered yet (0 when none is left). */
  get pendingRequests(): number {
    return this.inFlight + (this.waiting.length - this.waitingHead) + (this.blocked ? 1 : 0);
  }

  /** Reads no more requests: the ones already read are still answered. */
  stopReading(): void {
    this.pause(PAUSE_SHUTDOWN);
  }

  /** Closes the connection once what is queued for the client is written. */
  shutdown(): void {
    if (this.closing) return;
    this.closeAfterFlush();
  }

  // --- frames out, errors, closing -------------------------------------------------------------

  /** A frame the proxy answers itself: queued, then the output limits looked at. */
  private write(frame: Buffer): void {
    this.framed.write(frame);
    this.afterOutput(frame.length);
  }

  private error(streamId: number, code: number, message: string): void {
    this.write(errorFrame(this.version, streamId, { code, message }));
  }

  /** Answers with an error, then closes the connection once the answer is out. */
  private fatal(streamId: number, message: string, code: number = ErrorCode.PROTOCOL_ERROR): void {
    if (this.closing) return;
    const version = this.version === 0 ? this.highestVersion() : this.version;
    try {
      this.framed.write(errorFrame(version, streamId, { code, message }));
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not encode an error for a client');
    }
    this.closeAfterFlush();
  }

  private closeAfterFlush(): void {
    this.closing = true;
    this.dropWaiting();
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
      this.refuseVersion(version, streamId);
      return;
    }
    const reason =
      err.code === ProtocolErrorCode.FRAME_TOO_LARGE
        ? CloseReason.FRAME_TOO_LARGE
        : CloseReason.PROTOCOL_ERROR;
    this.guards.stats.closed[reason]++;
    this.guards.closeLogs[reason].note({ remote: this.remote(), err: err.message });
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
    this.dropWaiting();
    if (this.onMemoryAvailable !== undefined) this.budget.cancel(this.onMemoryAvailable);
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.unsubscribeEvents?.();
    this.unsubscribeEvents = undefined;
    this.onCloseCallback?.();
  }
}
