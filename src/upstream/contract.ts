// What the client side (src/client) may ask of the cluster side (src/upstream). The client side
// never touches a node's socket: it hands a request frame to a BackendSession and gets the
// response frame back, its stream id already restored. The upstream side knows nothing of client
// connections beyond the callbacks in ForwardedRequest.

import type { BodyCompressionName } from '../protocol/compression.js';
import type { FrameSink } from '../protocol/frame-decoder.js';
import type { SchemaChange } from '../protocol/messages/schema-change.js';

/** What the proxy learned about the cluster from its control connection. */
export interface ClusterInfo {
  /** `release_version` of the node the control connection reached. */
  releaseVersion: string;
  /** `cql_version`, also what the proxy answers in SUPPORTED. */
  cqlVersion: string;
  partitioner: string;
  /** The local data center (Astra: the bundle's region). */
  dataCenter: string;
  /** `dse_version` when the cluster is DSE. */
  dseVersion: string | undefined;
  /**
   * The `schema_version` every node agreed on when last read (at connect: the control node's;
   * then after every schema change, once the nodes agree). Clients see it in system.local.
   */
  schemaVersion?: string | undefined;
  /** SUPPORTED PRODUCT_TYPE of the cluster (Astra: DATASTAX_APOLLO), passed on to clients. */
  productType: string | undefined;
  /** The protocol version negotiated with the cluster (the highest both sides speak). */
  protocolVersion: number;
  /**
   * Versions a client may use, highest first: the negotiated one and the lower ones down to v3
   * (requests travel in the client's version, so the cluster must accept it too).
   */
  clientVersions: readonly number[];
}

/** One client request on its way to the cluster. */
export interface ForwardedRequest {
  /**
   * The whole request frame as the client sent it: header with the client's stream id, body
   * compressed when the client negotiated compression. The upstream side patches the stream id
   * in place, so the caller must not reuse the bytes until onResponse.
   */
  frame: Buffer;
  /** Whether a retry on another node is safe; asked only when a retry is being considered. */
  idempotent: () => boolean;
  /**
   * The response frame, stream id set back to the client's. The body is as the node sent it
   * (compressed with the session's compression), or a proxy-made ERROR (uncompressed).
   */
  onResponse: (frame: Buffer) => void;
  /**
   * Cut-through of a large RESULT: the head of the response frame (header with the client's
   * stream id, then the first body bytes; a view); a sink takes the rest as it arrives, and the
   * request is answered. undefined: the whole frame comes to onResponse instead.
   */
  onResponseHead?: (head: Buffer, frameLength: number) => FrameSink | undefined;
  /**
   * Who sent it (the client connection), when known. Only compared by identity: when every stream
   * id is taken, waiting requests are served round robin by owner, so a client with many queued
   * requests cannot hold back another client's one. Requests without an owner share one turn.
   */
  owner?: object;
  /**
   * A schema change (CREATE/ALTER/DROP ...) or TRUNCATE: it gets --schema-timeout instead of
   * --request-timeout (Cassandra's own timeouts for these are long too).
   */
  longRunning?: boolean;
}

/** Connections to every node for one (protocol version, keyspace, compression). */
export interface BackendSession {
  readonly version: number;
  readonly keyspace: string | undefined;
  readonly compression: BodyCompressionName | undefined;
  send(request: ForwardedRequest): void;
  /** True while the upstream sockets are backed up: the caller should pause reading its client. */
  readonly congested: boolean;
  /** Calls `listener` once when no longer congested. */
  onceUncongested(listener: () => void): void;
}

/** A CQL error the cluster answered while a session was being set up (e.g. USE of a missing keyspace). */
export interface SessionSetupError {
  /** Error code and message as the node sent them. */
  code: number;
  message: string;
}

/** A client's own credentials, for its own sessions (--client-auth passthrough). */
export interface SessionCredentials {
  username: string;
  password: string;
}

export interface Backend {
  readonly info: ClusterInfo;
  /**
   * The session for these parameters, created on first use (its connections run `USE keyspace`
   * when one is given). Rejects with a ProxyError, or with a CqlSessionError carrying the node's
   * own error when the cluster refused (e.g. an unknown keyspace). With `credentials`, the
   * session's connections log in with them instead of the proxy's own, and a refused login
   * rejects with a CqlSessionError of code AUTHENTICATION_ERROR and the node's message.
   */
  session(
    version: number,
    keyspace: string | undefined,
    compression: BodyCompressionName | undefined,
    credentials?: SessionCredentials,
  ): Promise<BackendSession>;
  /** SCHEMA_CHANGE events from the control connection, to pass on to registered clients. */
  onSchemaChange(listener: (change: SchemaChange) => void): () => void;
}

const BRAND = Symbol.for('cql-proxy-ts.CqlSessionError');

/** The cluster answered a session's setup (USE) with a CQL error: pass it on with its own code. */
export class CqlSessionError extends Error implements SessionSetupError {
  readonly code: number;
  readonly [BRAND] = true;

  constructor(code: number, message: string) {
    super(message);
    this.name = 'CqlSessionError';
    this.code = code;
  }

  static isCqlSessionError(value: unknown): value is CqlSessionError {
    return typeof value === 'object' && value !== null && BRAND in value;
  }
}
