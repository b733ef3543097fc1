// One client request on its way through the cluster: the query plan, the retries, the UNPREPARED
// repair, the timeout. The frame is never copied: each attempt patches its own stream id into it,
// and the response frame gets the client's stream id back before it is handed on.

import { ErrorCode, HEADER_LENGTH, HeaderFlag, Opcode } from '../protocol/constants.js';
import {
  decodeError,
  errorFrame,
  peekUnpreparedId,
  type CqlErrorMessage,
} from '../protocol/messages/error.js';
import { patchStreamId } from '../protocol/header.js';
import { readBodyExtras } from '../protocol/messages/frame-extras.js';
import { CqlReader } from '../protocol/reader.js';
import type { ForwardedRequest } from './contract.js';
import type { PooledConnection, ResponseHandler } from './pooled-connection.js';
import { decideOnConnectionClosed, decideOnError, type RetryDecision } from './retry-policy.js';
import type { NodePool } from './node-pool.js';
import { ErrorOrigin, NO_ERROR, UNREADABLE_ERROR, type Session } from './session.js';
import type { TimedRequest } from './request-timeouts.js';

export class Request implements ResponseHandler, TimedRequest {
  readonly frame: Buffer;
  readonly clientStreamId: number;
  readonly opcode: number;
  readonly deadline: number;
  private readonly forwarded: ForwardedRequest;
  private readonly session: Session;
  /** The session's pools when the request started, and where in them its plan begins. */
  private pools: readonly NodePool[] = [];
  private planStart = 0;
  private tried = 0;
  private current: { pool: NodePool; connection: PooledConnection } | undefined;
  sameNodeRetries = 0;
  unavailableRetried = false;
  private repreparing = false;
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
    this.startedAt = session.observer === undefined ? 0 : performance.now();
  }

  /**
   * PREPARE is always safe to repeat; otherwise the client side knows (asked lazily). A method, not
   * an arrow property: a closure per request would be an allocation on the hot path.
   */
  idempotent(): boolean {
    return this.opcode === Opcode.PREPARE || this.forwarded.idempotent();
  }

  /**
   * First attempt. The query plan is every node, starting at `planStart` (round robin across
   * requests), without building an array per request. False when no node could take it now.
   */
  start(pools: readonly NodePool[], planStart: number): boolean {
    this.pools = pools;
    this.planStart = planStart;
    this.tried = 0;
    return this.tryNextNode();
  }

  /** Walks the plan from the next node; false when every remaining node is saturated or down. */
  tryNextNode(): boolean {
    const pools = this.pools;
    while (this.tried < pools.length) {
      const pool = pools[(this.planStart + this.tried++) % pools.length];
      if (pool !== undefined && this.tryPool(pool)) return true;
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
    if (this.repreparing) {
      this.repreparing = false;
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
    this.finish(frame, NO_ERROR);
  }

  private onError(frame: Buffer): void {
    const body = this.session.responseBody(frame);
    let error: CqlErrorMessage;
    try {
      error = decodeError(body, this.session.version);
    } catch {
      this.finish(frame, UNREADABLE_ERROR);
      return;
    }
    if (error.code === ErrorCode.UNPREPARED) {
      const id = peekUnpreparedId(body);
      const prepare = id === undefined ? undefined : this.session.cachedPrepareFor(id);
      if (prepare !== undefined && this.current !== undefined) {
        this.lastError = frame;
        this.lastErrorCode = error.code;
        this.repreparing = true;
        if (this.current.connection.send(prepare, this)) return;
        this.repreparing = false;
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

  onClosed(error: Error): void {
    if (this.done) return;
    if (this.repreparing) this.repreparing = false;
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
    this.finish(
      errorFrame(this.session.version, this.clientStreamId, { code, message }),
      code,
      origin,
    );
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
 * The message body of a response frame: decompressed when its flag says so, and past the tracing
 * id, warnings and custom payload its flags announce (spec v4 §2.2).
 */
export function responseBodyOf(
  frame: Buffer,
  version: number,
  decompress: ((body: Buffer) => Buffer) | undefined,
): Buffer {
  const flags = frame.readUInt8(1);
  let body = frame.subarray(HEADER_LENGTH);
  if ((flags & HeaderFlag.COMPRESSION) !== 0 && decompress !== undefined) body = decompress(body);
  if ((flags & EXTRAS) === 0) return body;
  const reader = new CqlReader(body);
  readBodyExtras(reader, flags, true, version);
  return body.subarray(reader.pos);
}

const EXTRAS = HeaderFlag.TRACING | HeaderFlag.WARNING | HeaderFlag.CUSTOM_PAYLOAD;
