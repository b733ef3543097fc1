// What the pool and the request layer need of one upstream connection. connection.ts implements
// it for real sockets; tests use fakes.

import type { FrameSink } from '../protocol/frame-decoder.js';

export interface ResponseHandler {
  /** The response frame (a view, body as the node sent it, stream id still the upstream one). */
  onResponse(frame: Buffer): void;
  /**
   * Cut-through of a large response (FrameDecoderOptions.onFrameHead): its head (header first, a
   * view, stream id still the upstream one); a sink takes the frame and the request is answered.
   * undefined: the frame is assembled and comes to onResponse. The head must be left as it came.
   */
  onResponseHead?(head: Buffer, frameLength: number): FrameSink | undefined;
  /**
   * The connection closed with this request in flight; called at most once. `unsent` is true when
   * the request frame was still queued in the proxy when the connection closed: the node never
   * saw it, so sending it elsewhere is safe whatever the request is.
   */
  onClosed(error: Error, unsent?: boolean): void;
}

export interface PooledConnection {
  readonly inFlight: number;
  readonly closed: boolean;
  /** Socket byte counts, for metrics (fakes may leave them out). */
  readonly bytesRead?: number;
  readonly bytesWritten?: number;
  /** True while the socket is backed up. */
  readonly congested: boolean;
  /**
   * Stream ids held by requests the proxy gave up on (timed out) and the node has not answered
   * yet: they count in inFlight and come back when the late answer arrives. Fakes may leave it out
   * (then no connection is ever replaced for them).
   */
  readonly orphanedStreams?: number;
  /**
   * Sends a whole request frame, patching a free stream id into it in place. False, with nothing
   * done, when no stream id is free or the connection is closing.
   */
  send(frame: Buffer, handler: ResponseHandler): boolean;
  /**
   * The request behind `handler` no longer waits for the answer on `streamId` (it timed out): the
   * connection drops its reference to the handler and counts the id as orphaned until the node
   * answers; then it calls `onLateAnswer` (the id is free again: requests waiting for one may go).
   * Every orphan of a connection comes from its one session, with the same `onLateAnswer`. False,
   * with nothing done, when `streamId` is not held by `handler`.
   */
  orphan?(streamId: number, handler: ResponseHandler, onLateAnswer?: () => void): boolean;
  /**
   * The pool replaced this connection: it takes no new requests and closes as soon as only
   * orphaned stream ids remain on it, or after `timeoutMs` at the latest.
   */
  retire?(timeoutMs: number): void;
  close(error?: Error): void;
}
