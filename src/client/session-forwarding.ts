// The forwarding path of a client connection, top to bottom: a request the client side does not
// answer itself becomes a ClientRequest, goes to the connection's cluster session (opened by the
// first request, switched by USE), and its answer comes back whole (answered) or, when large, cut
// through as it arrives (answeredThrough: docs/design.md "Large answers are cut through"). Each
// answer updates the counters the limits read (session-limits.ts).

import type { BackendSession, ForwardedRequest } from '../upstream/contract.js';
import { CqlSessionError } from '../upstream/contract.js';
import { errorMessage } from '../errors.js';
import { ErrorCode, ResultKind } from '../protocol/constants.js';
import type { FrameSink } from '../protocol/frame-decoder.js';
import { errorFrame } from '../protocol/messages/error.js';
import { resultFrame } from '../protocol/messages/result.js';
import type { ClientSession } from './client-session.js';
import {
  ESTIMATE_WEIGHT,
  KNOWN_ERROR_CODES,
  PAUSE_CONGESTED,
  SIMPLE_ERROR_CODES,
} from './session-shared.js';
import { afterOutput, block, pause, unblock, unpause, updateHolds } from './session-limits.js';

/**
 * One forwarded request. Its answer comes back through the onResponse method (the upstream side
 * calls it as a method), so no closure is made per request.
 */
export class ClientRequest implements ForwardedRequest {
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
    answered(this.session, this, response);
  }

  /** Cut-through of a large answer (ForwardedRequest.onResponseHead); not when inspected. */
  onResponseHead(head: Buffer, frameLength: number): FrameSink | undefined {
    return this.inspect === undefined
      ? answeredThrough(this.session, this, head, frameLength)
      : undefined;
  }
}

/**
 * Sends a request to the cluster; `inspect` sees the response before the client does. The first
 * request of a connection waits for its session, holding later frames back meanwhile.
 */
export function forward(
  s: ClientSession,
  request: Omit<ForwardedRequest, 'onResponse'>,
  inspect?: (response: Buffer) => void,
): void {
  const forwarded = new ClientRequest(
    s,
    request.frame,
    request.idempotent,
    inspect,
    request.longRunning === true,
  );
  s.inFlight++;
  s.requestBytes += forwarded.length;
  s.budget.add(forwarded.length);
  s.streams.add(forwarded.streamId);
  updateHolds(s);
  const session = s.backendSession;
  if (session !== undefined) {
    send(s, session, forwarded);
    return;
  }
  block(s);
  void openSessionThenSend(s, forwarded);
}

async function openSessionThenSend(s: ClientSession, request: ForwardedRequest): Promise<void> {
  try {
    // No USE has succeeded yet (it would have set a session), so no keyspace.
    const session = await backendSession(s, undefined);
    if (s.closing) {
      // Never sent: answered into the closed socket, so its accounting is given back.
      request.onResponse(
        errorFrame(s.version, request.frame.readInt16BE(2), {
          code: ErrorCode.SERVER_ERROR,
          message: 'Client connection closed',
        }),
      );
      return;
    }
    s.backendSession = session;
    send(s, session, request);
  } catch (err) {
    request.onResponse(sessionErrorFrame(s, request.frame.readInt16BE(2), err, undefined));
  } finally {
    unblock(s);
  }
}

/** The cluster session for this client's version, compression and credentials, in `keyspace`. */
function backendSession(s: ClientSession, keyspace: string | undefined): Promise<BackendSession> {
  return s.backend.session(s.version, keyspace, s.sessionCompression, s.credentials);
}

function send(s: ClientSession, session: BackendSession, request: ForwardedRequest): void {
  session.send(request);
  if (session.congested && (s.pausedFor & PAUSE_CONGESTED) === 0) {
    pause(s, PAUSE_CONGESTED);
    session.onceUncongested(() => unpause(s, PAUSE_CONGESTED));
  }
}

/** USE: this client's requests go to that keyspace's session from now on. */
export function useKeyspace(s: ClientSession, streamId: number, keyspace: string): void {
  block(s);
  void switchKeyspace(s, streamId, keyspace);
}

async function switchKeyspace(s: ClientSession, streamId: number, keyspace: string): Promise<void> {
  try {
    const session = await backendSession(s, keyspace);
    if (s.closing) return;
    s.backendSession = session;
    s.keyspace = keyspace;
    s.write(resultFrame(s.version, streamId, { kind: ResultKind.SET_KEYSPACE, keyspace }));
  } catch (err) {
    s.write(sessionErrorFrame(s, streamId, err, keyspace));
  } finally {
    unblock(s);
  }
}

/**
 * The answer when no cluster session could be had: the cluster's own error when it is one a
 * client understands as is, otherwise a SERVER_ERROR naming what failed.
 */
function sessionErrorFrame(
  s: ClientSession,
  streamId: number,
  err: unknown,
  keyspace: string | undefined,
): Buffer {
  if (CqlSessionError.isCqlSessionError(err)) {
    const code = err.code;
    if (SIMPLE_ERROR_CODES.has(code) || !KNOWN_ERROR_CODES.has(code)) {
      return errorFrame(s.version, streamId, { code, message: err.message });
    }
  }
  const what =
    keyspace === undefined
      ? 'Proxy unable to reach the cluster'
      : `Proxy unable to use keyspace ${keyspace}`;
  s.log.warn({ err: errorMessage(err), keyspace }, 'cluster session unavailable');
  return errorFrame(s.version, streamId, {
    code: ErrorCode.SERVER_ERROR,
    message: `${what}: ${errorMessage(err)}`,
  });
}

/**
 * A forwarded request's large answer, cut through (ClientRequest.onResponseHead): its head goes to
 * the client now and the rest as it arrives (FramedSocket.writeThrough); undefined when it cannot
 * (the connection is closing, or another answer is being written through), and the answer comes
 * whole to answered().
 */
function answeredThrough(
  s: ClientSession,
  request: ClientRequest,
  head: Buffer,
  frameLength: number,
): FrameSink | undefined {
  if (s.closing) return undefined;
  const sink = s.framed.writeThrough(head, frameLength);
  if (sink !== undefined) accountAnswer(s, request, frameLength);
  return sink;
}

/** A forwarded request's answer (ClientRequest.onResponse): to the client, and limits updated. */
function answered(s: ClientSession, request: ClientRequest, response: Buffer): void {
  s.framed.write(response);
  accountAnswer(s, request, response.length);
}

/** The counters of an answer queued for the client (`length` bytes), then the holds. */
function accountAnswer(s: ClientSession, request: ClientRequest, length: number): void {
  s.inFlight--;
  s.requestBytes -= request.length;
  s.budget.add(-request.length);
  s.streams.delete(request.streamId);
  // The first answer replaces the pessimistic guess outright, so a client of small answers has its
  // full concurrency after one round trip, however slow that trip; then a running average.
  s.responseEstimate = s.estimated
    ? s.responseEstimate + (length - s.responseEstimate) * ESTIMATE_WEIGHT
    : length;
  s.estimated = true;
  afterOutput(s, length);
}
