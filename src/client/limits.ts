// What one client connection may make the proxy spend, and the defaults. Every limit here has a
// flag (src/config/schema.ts), a metric (src/ops/metrics.ts), a log line and a line in the
// README's Reliability section; docs/design.md ("Limits") says how they fit together.
//
// The anchors are Cassandra 4.x's native transport (native_transport_max_frame_size 16 MiB,
// native_transport_max_request_data_in_flight(_per_ip), native_transport_max_concurrent_connections)
// and what drivers do on their side (a bounded number of requests in flight per connection).

export interface ClientLimits {
  /** Requests read from one connection and not answered yet; past it the socket is not read. */
  maxRequestsInFlight: number;
  /** Bytes of those requests; past it the socket is not read (one request may exceed it alone). */
  maxRequestBytesInFlight: number;
  /**
   * Bytes queued for a client that the kernel has not taken. Past it the client's requests are
   * not read; requests are also held while the answers expected for those in flight would not
   * fit. A client whose queue reaches OUTPUT_CEILING_FACTOR times this is closed.
   */
  maxOutputBytes: number;
  /** A client with answers queued that takes none of them for this long is closed; 0: never. */
  writeTimeoutMs: number;
  /** A connection that has not completed STARTUP after this long is closed; 0: never. */
  handshakeTimeoutMs: number;
  /** A connection with no bytes in either direction for this long is closed; 0: never. */
  idleTimeoutMs: number;
  /** TCP keepalive probes start after this long without traffic; 0 turns keepalive off. */
  keepAliveMs: number;
}

export const DEFAULT_CLIENT_LIMITS: Readonly<ClientLimits> = {
  // Drivers keep far fewer in flight per connection (Node.js 2048 at most, Java 1024 by default):
  // this bounds one connection's share of the cluster's stream ids.
  maxRequestsInFlight: 1024,
  maxRequestBytesInFlight: 64 * 1024 * 1024,
  maxOutputBytes: 8 * 1024 * 1024,
  writeTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 0,
  keepAliveMs: 60_000,
};

/** A client whose queued answers reach this many times maxOutputBytes is closed. */
export const OUTPUT_CEILING_FACTOR = 8;

/**
 * The largest frame accepted before STARTUP is answered: OPTIONS and STARTUP are a few hundred
 * bytes, so a connection that has not said who it is cannot make the proxy buffer megabytes.
 */
export const PRE_HANDSHAKE_MAX_FRAME_LENGTH = 64 * 1024;

/**
 * What the proxy expects a response to weigh before it has seen any from this client: high, so
 * that a client starting with a burst of large reads is held to a few dozen in flight until its
 * first answer says what its answers weigh (then an average over the last few, see
 * ClientSession). The estimate only paces a client; the ceiling is what bounds its memory.
 */
export const INITIAL_RESPONSE_ESTIMATE_FRACTION = 1 / 32;
