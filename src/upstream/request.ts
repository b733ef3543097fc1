// One client request on its way through the cluster: the query plan, the retries, the UNPREPARED
// repair, the timeout. The frame is never copied: each attempt patches its own stream id into it,
// and the response frame gets the client's stream id back before it is handed on.

import type { BodyCompressionName } from '../protocol/compression.js';
import { leadingLiteralsAt } from '../protocol/compression-peek.js';
import { ErrorCode, HEADER_LENGTH, HeaderFlag, Opcode, ResultKind } from '../protocol/constants.js';
import type { FrameSink } from '../protocol/frame-decoder.js';
import {
  decodeError,
  errorFrame,
  peekUnpreparedId,
  type CqlErrorMessage,
} from '../protocol/messages/error.js';
import { patchStreamId } from '../protocol/header.js';
import type { ForwardedRequest } from './contract.js';
import type { PooledConnection, ResponseHandler } from './pooled-connection.js';
import { decideOnConnectionClosed, decideOnError, type RetryDecision } from './retry-policy.js';
import type { NodePool } from './node-pool.js';
import { ErrorOrigin, NO_ERROR, UNREADABLE_ERROR } from './request-outcome.js';
import type { Session } from './session.js';
import type { TimedRequest } from './request-timeouts.js';

export class Request implements ResponseHandler, TimedRequest {
  readonly frame: Buffer;
  readonly clientStreamId: number;
  readonly opcode: number;
  readonly deadline: number;
  /** A schema change or TRUNCATE: its deadline is --schema-timeout's (request-timeouts.ts). */
  readonly longRunning: boolean;
  private readonly forwarded: ForwardedRequest;
  private readonly session: Session;
  /** The session's pools when the request started, and where in them its plan begins. */
  private pools: readonly NodePool[] = [];
  private planStart = 0;
  /**
   * The node tried first: a replica of the request's partition (token-aware routing), chosen by
   * the session; the rest of the plan is round robin.
   */
  preferred: NodePool | undefined = undefined;
  private tried = 0;
  private current: { pool: NodePool; connection: PooledConnection } | undefined;
  sameNodeRetries = 0;
  unavailableRetried = false;
  /**
   * While the UNPREPARED repair's PREPARE is in flight: its upstream stream id (the request's own
   * frame holds the id of the request itself); -1 otherwise.
   */
  private reprepareStream = -1;
  done = false;
  /** The last error a node answered, returned if the plan runs out. */
  private lastError: Buffer | undefined;
  private lastErrorCode: number = UNREADABLE_ERROR;
  /** performance.now() at arrival, for the latency metric; 0 when nobody observes requests. */
  private readonly startedAt: number;
  // Links of the timeout list (request-timeouts.ts).
  timeoutPrev: TimedRequest | undefined = undefined;
  timeoutNext: TimedRequest | undefined = undefined;
  timeoutLinked = false;

  constructor(session: Session, forwarded: ForwardedRequest, deadline: number) {
    this.session = session;
    this.forwarded = forwarded;
    this.frame = forwarded.frame;
    this.clientStreamId = forwarded.frame.readInt16BE(2);
    this.opcode = forwarded.frame.readUInt8(4);
    this.deadline = deadline;
    this.longRunning = forwarded.longRunning === true;
    this.startedAt = session.observer === undefined ? 0 : performance.now();
  }

  /** Who sent it (the client connection), for the fair wait queue. */
  get owner(): object | undefined {
    return this.forwarded.owner;
  }

  /**
   * PREPARE is always safe to repeat; otherwise the client side knows (asked lazily). A method, not
   * an arrow property: a closure per request would be an allocation on the hot path.
   */
  idempotent(): boolean {
    if (this.opcode === Opcode.PREPARE) return true;
    // The client side works it out from the body, lazily; a body it cannot read must not leave
    // the request unanswered (an exception here would be swallowed by the connection and the
    // client would wait for the timeout). Unknown means not safe to repeat.
    try {
      return this.forwarded.idempotent();
    } catch {
      return false;
    }
  }

  /**
   * First attempt. The query plan is every node, starting at `planStart` (round robin across
   * requests), without building an array per request. False when no node could take it now.
   */
  start(pools: readonly NodePool[], planStart: number): boolean {
    this.pools = pools;
    this.planStart = planStart;
    this.tried = 0;
    const preferred = this.preferred;
    if (preferred !== undefined && this.tryPool(preferred)) return true;
    return this.tryNextNode();
  }

  /** Walks the plan from the next node; false when every remaining node is saturated or down. */
  tryNextNode(): boolean {
    const pools = this.pools;
    while (this.tried < pools.length) {
      const pool = pools[(this.planStart + this.tried++) % pools.length];
      // The preferred replica had its try first (start); the rest of the plan is the others.
      if (pool !== undefined && pool !== this.preferred && this.tryPool(pool)) return true;
    }
    return false;
  }

  /** Starts the plan again from its beginning (used when the request leaves the wait queue). */
  retryPlan(): boolean {
    this.tried = 0;
    return this.tryNextNode();
  }

  private tryPool(pool: NodePool): boolean {
    const connection = pool.pick();
    if (connection === undefined || !connection.send(this.frame, this)) return false;
    this.current = { pool, connection };
    return true;
  }

  onResponse(frame: Buffer): void {
    if (this.done) return;
    const opcode = frame.readUInt8(4);
    if (this.reprepareStream >= 0) {
      this.reprepareStream = -1;
      if (
        opcode === Opcode.RESULT &&
        this.current !== undefined &&
        this.current.connection.send(this.frame, this)
      ) {
        this.session.metrics.unpreparedRecovered++;
        return;
      }
      if (this.lastError !== undefined) this.finish(this.lastError, this.lastErrorCode);
      else this.finish(frame, opcode === Opcode.ERROR ? UNREADABLE_ERROR : NO_ERROR);
      return;
    }
    if (opcode === Opcode.ERROR) {
      this.onError(frame);
      return;
    }
    if (this.opcode === Opcode.PREPARE && opcode === Opcode.RESULT)
      this.session.rememberPrepared(this.frame, frame, this.current?.pool);
    else if (
      opcode === Opcode.RESULT &&
      (this.opcode === Opcode.QUERY || this.opcode === Opcode.EXECUTE) &&
      this.session.waitsForSchemaAgreement(frame)
    ) {
      this.finishAfterSchemaAgreement(frame);
      return;
    }
    this.finish(frame, NO_ERROR);
  }

  /**
   * Cut-through (ResponseHandler.onResponseHead): a RESULT Rows of a QUERY or EXECUTE, without
   * tracing, warnings or custom payload, goes to the client as it arrives if the client side takes
   * it, compressed or not (the client's connection has the session's compression, so the body
   * passes as it is; the kind is read from the first literals: protocol/compression-peek.ts).
   * Anything else (errors to retry, PREPAREs to cache, schema changes to hold) is assembled.
   */
  onResponseHead(head: Buffer, frameLength: number): FrameSink | undefined {
    if (
      this.done ||
      this.reprepareStream >= 0 ||
      this.forwarded.onResponseHead === undefined ||
      (this.opcode !== Opcode.EXECUTE && this.opcode !== Opcode.QUERY) ||
      head[4] !== Opcode.RESULT ||
      !startsWithRows(head, this.session.compression)
    ) {
      return undefined;
    }
    const upstreamStreamId = head.readInt16BE(2);
    patchStreamId(head, this.clientStreamId);
    let sink: FrameSink | undefined;
    try {
      sink = this.forwarded.onResponseHead(head, frameLength);
    } finally {
      // Declined (or thrown): the frame is assembled and routed by its upstream stream id.
      if (sink === undefined) patchStreamId(head, upstreamStreamId);
    }
    if (sink === undefined) return undefined;
    this.done = true;
    this.session.onRequestDone(this);
    this.session.observer?.requestDone(this.opcode, NO_ERROR, ErrorOrigin.CLUSTER, this.startedAt);
    return sink;
  }

  /**
   * A schema change: the client gets it once the nodes agree on the schema (or at
   * --schema-agreement-timeout), as a driver waits before its next statement. The request is done
   * for the session now (off the timeout list, its stream id long free).
   */
  private finishAfterSchemaAgreement(frame: Buffer): void {
    this.done = true;
    this.session.onRequestDone(this);
    this.session
      .schemaAgreed()
      .then(() => {
        patchStreamId(frame, this.clientStreamId);
        this.session.observer?.requestDone(
          this.opcode,
          NO_ERROR,
          ErrorOrigin.CLUSTER,
          this.startedAt,
        );
        this.forwarded.onResponse(frame);
      })
      // As when a connection delivers an answer: a client side that throws (its connection gone)
      // must not become an unhandled rejection.
      .catch(() => undefined);
  }

  private onError(frame: Buffer): void {
    // Everything that reads the body stays inside the try: a body that cannot be decompressed or
    // decoded goes to the client as the node sent it, now. An exception escaping from here would
    // be swallowed by the connection, and the client would wait for the request timeout.
    let body: Buffer;
    let error: CqlErrorMessage;
    let unpreparedId: Buffer | undefined;
    try {
      body = this.session.responseBody(frame);
      error = decodeError(body, this.session.version);
      if (error.code === ErrorCode.UNPREPARED) unpreparedId = peekUnpreparedId(body);
    } catch {
      this.finish(frame, UNREADABLE_ERROR);
      return;
    }
    if (error.code === ErrorCode.UNPREPARED) {
      const prepare =
        unpreparedId === undefined ? undefined : this.session.cachedPrepareFor(unpreparedId);
      if (prepare !== undefined && this.current !== undefined) {
        this.lastError = frame;
        this.lastErrorCode = error.code;
        if (this.current.connection.send(prepare, this)) {
          this.reprepareStream = prepare.readInt16BE(2);
          return;
        }
      }
      this.finish(frame, error.code);
      return;
    }
    const decision = decideOnError(error, this);
    if (decision === 'give-up') {
      this.finish(frame, error.code);
      return;
    }
    if (error.code === ErrorCode.UNAVAILABLE) this.unavailableRetried = true;
    // The error frame is a view into the upstream chunk; keep a copy if it may be returned later.
    this.lastError = Buffer.from(frame);
    this.lastErrorCode = error.code;
    this.retry(decision);
  }

  onClosed(error: Error, unsent = false): void {
    if (this.done) return;
    if (unsent) {
      this.resendUnsent(error);
      return;
    }
    if (this.reprepareStream >= 0) {
      // The node answered the request itself UNPREPARED, so it did not run it; only the repair's
      // PREPARE was lost. Sending the request elsewhere is safe whatever it is.
      this.reprepareStream = -1;
      this.retry('next-node');
      return;
    }
    const decision = decideOnConnectionClosed(this);
    if (decision === 'give-up') {
      this.failWith(
        ErrorCode.SERVER_ERROR,
        `Proxy is unable to retry non-idempotent query after connection to backend cluster closed (${error.message})`,
      );
      return;
    }
    this.retry(decision);
  }

  /**
   * The connection closed with the request's frame still queued in the proxy: no node saw it, so
   * it goes to any node that can take it now, whatever its idempotency (the whole plan again, and
   * another connection to the same node as a last resort). Failing that, the client is told the
   * request was not sent, so it knows it may safely send it again.
   */
  private resendUnsent(error: Error): void {
    this.session.metrics.retries++;
    const lost = this.current;
    if (this.retryPlan()) return;
    const other = lost?.pool.pickOther(lost.connection);
    if (lost !== undefined && other !== undefined && other.send(this.frame, this)) {
      this.current = { pool: lost.pool, connection: other };
      return;
    }
    this.failWith(
      ErrorCode.SERVER_ERROR,
      `Proxy could not send the request: the connection to the cluster closed before the request was written (${error.message}) and no other connection could take it; the request was not sent`,
    );
  }

  private retry(decision: Exclude<RetryDecision, 'give-up'>): void {
    this.session.metrics.retries++;
    if (decision === 'same-node' && this.current !== undefined) {
      this.sameNodeRetries++;
      if (this.tryPool(this.current.pool)) return;
    }
    if (this.tryNextNode()) return;
    if (this.lastError !== undefined) {
      this.finish(this.lastError, this.lastErrorCode);
      return;
    }
    this.failWith(
      ErrorCode.SERVER_ERROR,
      'Proxy exhausted query plan and there are no more hosts available to try',
    );
  }

  /** Answers the client with a proxy-made ERROR (uncompressed, in the request's version). */
  failWith(
    code: typeof ErrorCode.SERVER_ERROR | typeof ErrorCode.OVERLOADED,
    message: string,
  ): void {
    if (this.done) return;
    // The timeout list unlinks a request before failing it; every other caller fails it linked.
    const origin = this.timeoutLinked ? ErrorOrigin.PROXY : ErrorOrigin.TIMEOUT;
    // Before finish(): once the client has its answer it may reuse the frame, and the upstream
    // stream id is read from it.
    if (origin === ErrorOrigin.TIMEOUT) this.orphanStream();
    this.finish(
      errorFrame(this.session.version, this.clientStreamId, { code, message }),
      code,
      origin,
    );
  }

  /**
   * A timed-out request still holds a stream id on its connection until the node answers: tell
   * the connection, so that it counts the id as orphaned and drops its reference to this request
   * (the pool replaces a connection with too many of them). Not started or not in flight: nothing.
   */
  private orphanStream(): void {
    const current = this.current;
    if (current === undefined) return;
    const streamId = this.reprepareStream >= 0 ? this.reprepareStream : this.frame.readInt16BE(2);
    if (current.connection.orphan?.(streamId, this, this.session.streamFreed) === true)
      current.pool.noteOrphaned(current.connection);
  }

  private finish(
    frame: Buffer,
    errorCode: number,
    origin: ErrorOrigin = ErrorOrigin.CLUSTER,
  ): void {
    this.done = true;
    patchStreamId(frame, this.clientStreamId);
    this.session.onRequestDone(this);
    this.session.observer?.requestDone(this.opcode, errorCode, origin, this.startedAt);
    this.forwarded.onResponse(frame);
  }
}

/**
 * Whether a response head (the first bytes of a RESULT frame) is a Rows result whose body holds
 * nothing before the kind: no tracing id, warnings or custom payload; with body compression, the
 * kind read from the first literals when they hold it.
 */
function startsWithRows(head: Buffer, compression: BodyCompressionName | undefined): boolean {
  const flags = head[1]!;
  let at = HEADER_LENGTH;
  if (flags !== 0) {
    if (flags !== HeaderFlag.COMPRESSION || compression === undefined) return false;
    at = leadingLiteralsAt(head, HEADER_LENGTH, head.length, compression, 4);
    if (at < 0) return false;
  }
  return head.length >= at + 4 && head.readInt32BE(at) === ResultKind.ROWS;
}
