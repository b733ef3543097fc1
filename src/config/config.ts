// The validated configuration of one proxy process. main.ts builds it from flags, environment
// variables and an optional YAML file (see parseConfig in parse.ts); everything else takes
// it as given.

import type { ClientAuthConfig } from '../client/auth/client-auth.js';

export interface PeerProxy {
  rpcAddress: string;
  dataCenter?: string;
  tokens?: string[];
}

export interface Config {
  // Astra
  astraBundle: string | undefined;
  astraToken: string | undefined;
  astraDatabaseId: string | undefined;
  astraApiUrl: string;
  astraTimeoutMs: number;
  // Cluster
  contactPoints: { host: string; port: number }[];
  username: string | undefined;
  password: string | undefined;
  /** Default port of contact points without one, and of every node found (cql-proxy --port). */
  port: number;
  /** First version tried upstream (steps down from there). */
  protocolVersion: number;
  /** Highest version accepted from clients. */
  maxProtocolVersion: number;
  numConns: number;
  /** Backend TLS for contact points (Amazon Keyspaces, TLS-enabled Cassandra). */
  clusterTls:
    | {
        caFile?: string;
        certFile?: string;
        keyFile?: string;
        serverName?: string;
        insecure?: boolean;
      }
    | undefined;
  // Listener
  bind: { host: string; port: number };
  proxyCertFile: string | undefined;
  proxyKeyFile: string | undefined;
  /** Given: client certificates must chain to these CAs (mutual TLS). */
  proxyCaFile: string | undefined;
  proxyTlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  maxClientConnections: number;
  rpcAddress: string | undefined;
  dataCenter: string | undefined;
  tokens: string[] | undefined;
  peers: PeerProxy[];
  unsupportedWriteConsistencies: number[];
  unsupportedWriteConsistencyOverride: number;
  idempotentGraph: boolean;
  // Timeouts
  heartbeatIntervalMs: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  readinessTimeoutMs: number;
  requestTimeoutMs: number;
  /** Timeout of schema changes (CREATE/ALTER/DROP ...) and TRUNCATE, prepared or not. */
  schemaTimeoutMs: number;
  /**
   * How long the answer to a schema change waits for every node to agree on the schema
   * (schema_version in system.local/system.peers), as drivers wait; 0: it does not wait.
   */
  schemaAgreementTimeoutMs: number;
  /** On SIGTERM/SIGINT, how long requests in flight may take before connections close; 0: at once. */
  drainTimeoutMs: number;
  /**
   * Who may connect (src/client/auth/client-auth.ts); `explicit` when --client-auth was given,
   * which silences the start-up warning about an open listener.
   */
  clientAuth: ClientAuthConfig & { explicit: boolean };
  // Limits (src/client/limits.ts, docs/design.md "Limits")
  maxClientRequests: number;
  maxClientRequestBytes: number;
  maxClientOutputBytes: number;
  /** Bytes in flight for all clients together; undefined: a quarter of the heap limit. */
  memoryBudget: number | undefined;
  maxQueuedRequests: number;
  maxOrphanedStreams: number;
  maxPreparedCacheBytes: number;
  /** Prepared ids whose kind the client side remembers (src/client/prepared-registry.ts). */
  maxPreparedIds: number;
  /** Largest frame accepted from the cluster, header included. */
  maxUpstreamFrameLength: number;
  handshakeTimeoutMs: number;
  clientIdleTimeoutMs: number;
  clientWriteTimeoutMs: number;
  tcpKeepAliveMs: number;
  /** Backoff of reconnections to a node and of the control connection (src/upstream/backoff.ts). */
  reconnectDelayMs: number;
  maxReconnectDelayMs: number;
  /** Debounce of the system table reads that follow cluster events. */
  topologyRefreshDelayMs: number;
  /** Keyspace sessions unused this long close their connections (reopened on use); 0: never. */
  sessionIdleTimeoutMs: number;
  // Operations
  healthCheck: boolean;
  metrics: boolean;
  httpBind: { host: string; port: number };
  /**
   * Processes serving clients (--workers; auto: os.availableParallelism()). 1: this process alone,
   * no cluster module; more: src/ops/workers.ts.
   */
  workers: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Largest accepted frame, header included. */
  maxFrameLength: number;
}
