// How a forwarded request ended, as the metrics see it: who answered (the cluster, or the proxy
// itself and why) and with which error code. The request path reports it once per request,
// through a RequestObserver (src/ops/request-stats.ts is the one the proxy installs).

/** Who answered a request with an error: the cluster, or the proxy itself (and why). */
export const ErrorOrigin = {
  CLUSTER: 0,
  /** A proxy-made error: no node reachable, plan exhausted, wait queue full, shutting down. */
  PROXY: 1,
  /** The proxy's request timeout (--request-timeout) fired. */
  TIMEOUT: 2,
} as const;
export type ErrorOrigin = (typeof ErrorOrigin)[keyof typeof ErrorOrigin];

/** The error code of a request that was answered with a RESULT (or any non-ERROR response). */
export const NO_ERROR = -1;
/** The error code of an ERROR response the proxy could not read. */
export const UNREADABLE_ERROR = -2;

/**
 * Told of every request when its answer goes back to the client (metrics). It runs on the hot
 * path, once per request: it must be cheap and must not throw.
 */
export interface RequestObserver {
  /**
   * `errorCode` is NO_ERROR, UNREADABLE_ERROR or the CQL error code of the answer; `startedAt`
   * is the performance.now() of the request's arrival.
   */
  requestDone(opcode: number, errorCode: number, origin: ErrorOrigin, startedAt: number): void;
}
