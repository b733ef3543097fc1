// Counters of what the client-side limits did, shared by every client connection and read by the
// metrics at scrape time (nothing here runs more than once per event it counts).

/** Why the proxy closed a client connection on its own. */
export const CloseReason = {
  /** No STARTUP within --handshake-timeout. */
  HANDSHAKE_TIMEOUT: 'handshake_timeout',
  /** No bytes either way for --client-idle-timeout. */
  IDLE_TIMEOUT: 'idle_timeout',
  /** Answers queued and none taken for --client-write-timeout. */
  WRITE_TIMEOUT: 'write_timeout',
  /** Queued answers reached OUTPUT_CEILING_FACTOR x --max-client-output. */
  OUTPUT_OVERFLOW: 'output_overflow',
  /** A frame over --max-frame-size (or the pre-handshake limit). */
  FRAME_TOO_LARGE: 'frame_too_large',
  /** Any other framing or protocol error that loses the stream. */
  PROTOCOL_ERROR: 'protocol_error',
} as const;
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

/** Why a client connection is not being read right now. */
export const PauseReason = {
  /** --max-client-requests requests in flight. */
  REQUESTS: 'requests',
  /** --max-client-request-bytes of requests in flight. */
  REQUEST_BYTES: 'request_bytes',
  /** Its answers are not taken (--max-client-output). */
  OUTPUT: 'output',
  /** The proxy-wide --memory-budget is exhausted. */
  MEMORY: 'memory',
} as const;
export type PauseReason = (typeof PauseReason)[keyof typeof PauseReason];

export const CLOSE_REASONS: readonly CloseReason[] = Object.values(CloseReason);
export const PAUSE_REASONS: readonly PauseReason[] = Object.values(PauseReason);

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export class ClientLimitStats {
  /** Connections the proxy closed, by reason. */
  readonly closed: Record<CloseReason, number> = zeros(CLOSE_REASONS);
  /** Times a connection stopped being read, by reason. */
  readonly pauses: Record<PauseReason, number> = zeros(PAUSE_REASONS);
  /** Requests refused because their stream id was already in flight. */
  duplicateStreamIds = 0;
}
