// What a Cluster (cluster.ts) is given: the target, the credentials, and the limits and timeouts
// of its connections and sessions, most from the command line (src/proxy.ts wires them).

import type { Logger } from '../ops/logger.js';
import type { RequestObserver } from './request-outcome.js';
import type { ClusterTarget } from './topology.js';

/** How long a keyspace session may go unused before its connections close (reopened on use). */
export const DEFAULT_SESSION_IDLE_MS = 10 * 60_000;

export interface ClusterOptions {
  target: ClusterTarget;
  credentials: { username: string; password: string } | undefined;
  /** The first version tried on the control connection; it steps down from there. */
  protocolVersion: number;
  /** The highest version clients may use (cql-proxy's --max-protocol-version), if capped. */
  maxClientVersion?: number | undefined;
  numConnections: number;
  connectTimeoutMs: number;
  heartbeatIntervalMs: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  /** Timeout of schema changes and TRUNCATE (--schema-timeout); requestTimeoutMs when absent. */
  schemaTimeoutMs?: number;
  maxQueuedRequests: number;
  maxFrameLength: number;
  /**
   * Budget of the prepared statement cache: each cached PREPARE costs its frame's bytes plus a
   * small overhead; least recently used out beyond it. DEFAULT_PREPARED_CACHE_BYTES when absent.
   */
  preparedCacheBytes?: number;
  /**
   * Orphaned stream ids (requests timed out, never answered) beyond which a pooled connection is
   * replaced. DEFAULT_MAX_ORPHANED_STREAMS when absent.
   */
  maxOrphanedStreams?: number;
  /** Events come in bursts: the system tables are read again this long after the first. */
  refreshDebounceMs: number;
  /** Keyspace sessions unused this long close their connections (reopened on use); 0: never. */
  sessionIdleMs?: number;
  /**
   * How long a schema change's answer waits for the nodes to agree on the schema (0: it does not
   * wait); DEFAULT_SCHEMA_AGREEMENT_TIMEOUT_MS when absent.
   */
  schemaAgreementTimeoutMs?: number;
  /** Backoff of reconnections, to a node's pool and of the control connection. */
  reconnect: { baseMs: number; maxMs: number };
  logger: Logger;
  /** Told of every finished request (metrics). */
  requestObserver?: RequestObserver | undefined;
}
