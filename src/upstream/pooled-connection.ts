// What the pool and the request layer need of one upstream connection. connection.ts implements
// it for real sockets; tests use fakes.

export interface ResponseHandler {
  /** The response frame (a view, body as the node sent it, stream id still the upstream one). */
  onResponse(frame: Buffer): void;
  /** The connection closed with this request in flight; called at most once. */
  onClosed(error: Error): void;
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
   * Sends a whole request frame, patching a free stream id into it in place. False, with nothing
   * done, when no stream id is free or the connection is closing.
   */
  send(frame: Buffer, handler: ResponseHandler): boolean;
  close(error?: Error): void;
}
