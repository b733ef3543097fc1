// The cluster as the proxy sees it: the control connection (control-connection.ts) that reads the
// topology and listens for events, the nodes it found (topology.ts), and the sessions (pools per
// version/keyspace/compression/credentials, session.ts) over them, opened on first use and put
// to sleep when idle.

import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from '../ops/logger.js';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';
import { bodyCompressor, type BodyCompressionName } from '../protocol/compression.js';
import type { SchemaChange } from '../protocol/messages/schema-change.js';
import { ErrorCode } from '../protocol/constants.js';
import { UpstreamConnection } from './connection.js';
import { ControlConnection } from './control-connection.js';
import type { Backend, ClusterInfo, SessionCredentials } from './contract.js';
import { CqlSessionError } from './contract.js';
import { CqlServerError } from './cql-server-error.js';
import { DEFAULT_MAX_ORPHANED_STREAMS, NodePool } from './node-pool.js';
import { DEFAULT_PREPARED_CACHE_BYTES, PreparedCache } from './prepared-cache.js';
import { RequestTimeouts } from './request-timeouts.js';
import { Router } from './routing.js';
import { DEFAULT_SCHEMA_AGREEMENT_TIMEOUT_MS, SchemaAgreement } from './schema-agreement.js';
import { Session, newSessionMetrics, sessionKey, type SessionMetrics } from './session.js';
import type { ClusterNode } from './topology.js';
import { DEFAULT_SESSION_IDLE_MS, type ClusterOptions } from './cluster-options.js';

export interface ClusterMetrics extends SessionMetrics {
  controlReconnects: number;
  /** Pooled connections replaced for too many orphaned stream ids. */
  connectionsReplaced: number;
}

/** The cluster's defences against misbehaving clients and nodes, as metrics show them. */
export interface UpstreamLimitsState {
  preparedCacheEntries: number;
  preparedCacheBytes: number;
  preparedCacheEvictions: number;
  /** Orphaned stream ids over every pooled connection. */
  orphanedStreams: number;
  connectionsReplaced: number;
  /** EXECUTE/BATCH requests sent to a replica of their partition, and those sent round robin. */
  routed: number;
  unrouted: number;
  /** Schema changes answered once the nodes agreed, and those answered at the timeout. */
  schemaAgreed: number;
  schemaAgreementTimeouts: number;
}

/** One node as health and metrics report it. */
export interface NodeState {
  node: ClusterNode;
  /** Open connections to it, over every session. */
  connections: number;
  /** Whether the default session has a connection to it (what 'node is up/down' logs). */
  up: boolean;
  /** Bytes read from / written to it by the pools' connections, closed ones included. */
  bytesRead: number;
  bytesWritten: number;
}

export class Cluster implements Backend {
  info: ClusterInfo;
  readonly metrics: ClusterMetrics = {
    ...newSessionMetrics(),
    controlReconnects: 0,
    connectionsReplaced: 0,
  };
  private readonly options: ClusterOptions;
  private readonly logger: Logger;
  private readonly sessions = new Map<string, Promise<Session>>();
  /** The sessions whose pools are set, readable without awaiting (health, metrics). */
  private readonly openSessions = new Set<Session>();
  private idleSweep: NodeJS.Timeout | undefined;
  private readonly schemaListeners = new Set<(change: SchemaChange) => void>();
  private readonly nodeListeners = new Set<(node: ClusterNode, up: boolean) => void>();
  /** The prepared statements cache of every session (shared with other workers by ops/worker-process.ts). */
  readonly preparedCache: PreparedCache;
  private readonly timeouts: RequestTimeouts;
  /** Answers to schema changes wait for it (schema-agreement.ts); polls on the control connection. */
  readonly schemaAgreement: SchemaAgreement;
  /** Reads the topology and listens for events (control-connection.ts); owns the node list. */
  private readonly control: ControlConnection;
  /** Token-aware routing: the ring, keyspace replication and prepared pk indexes (routing.ts). */
  readonly router = new Router();
  private closedFlag = false;

  private constructor(options: ClusterOptions, info: ClusterInfo) {
    this.options = options;
    this.logger = options.logger;
    this.info = info;
    this.preparedCache = new PreparedCache(
      options.preparedCacheBytes ?? DEFAULT_PREPARED_CACHE_BYTES,
      {
        onEvictions: (summary) =>
          this.logger.info(
            { ...summary, budget: this.preparedCache.budgetBytes },
            'prepared statement cache full: least recently used statements evicted',
          ),
      },
    );
    this.timeouts = new RequestTimeouts(
      options.requestTimeoutMs,
      () => this.metrics.timeouts++,
      options.schemaTimeoutMs ?? options.requestTimeoutMs,
    );
    const idleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
    if (idleMs > 0) {
      this.idleSweep = setInterval(
        () => this.sleepIdleSessions(Date.now()),
        Math.max(10, Math.min(60_000, Math.floor(idleMs / 4))),
      );
      this.idleSweep.unref();
    }
    this.control = new ControlConnection({
      target: options.target,
      credentials: options.credentials,
      protocolVersion: options.protocolVersion,
      maxClientVersion: options.maxClientVersion,
      connectTimeoutMs: options.connectTimeoutMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      idleTimeoutMs: options.idleTimeoutMs,
      maxFrameLength: options.maxFrameLength,
      refreshDebounceMs: options.refreshDebounceMs,
      reconnect: options.reconnect,
      logger: this.logger,
      router: this.router,
      metrics: this.metrics,
      listener: {
        clusterFound: (info) => {
          this.info = info;
        },
        nodesChanged: (nodes) => {
          for (const pending of this.sessions.values()) {
            void pending.then(
              (s) => this.reconcilePools(s, nodes),
              () => undefined,
            );
          }
        },
        nodeReportedUp: (key) => this.reconnectNode(key),
        schemaChanged: (change) => {
          for (const l of this.schemaListeners) l(change);
        },
        downNodes: () =>
          new Set(
            this.nodeStates()
              .filter((s) => !s.up)
              .map((s) => s.node.key),
          ),
      },
    });
    this.schemaAgreement = new SchemaAgreement({
      timeoutMs: options.schemaAgreementTimeoutMs ?? DEFAULT_SCHEMA_AGREEMENT_TIMEOUT_MS,
      read: () => this.control.readSchemaVersions(),
      logger: this.logger,
      onAgreed: (version) => {
        this.info.schemaVersion = version;
      },
    });
  }

  /** Connects the control connection and the default session; rejects with a ProxyError. */
  static async connect(options: ClusterOptions): Promise<Cluster> {
    const placeholder: ClusterInfo = {
      releaseVersion: '',
      cqlVersion: '',
      partitioner: '',
      dataCenter: '',
      dseVersion: undefined,
      productType: undefined,
      protocolVersion: options.protocolVersion,
      clientVersions: [],
    };
    const cluster = new Cluster(options, placeholder);
    await cluster.control.open();
    try {
      await cluster.session(cluster.info.protocolVersion, undefined, undefined);
    } catch (err) {
      cluster.close();
      throw err instanceof ProxyError
        ? err
        : new ProxyError(
            ProxyErrorCode.CLUSTER_UNAVAILABLE,
            `cannot open connections to the cluster: ${errorMessage(err)}`,
            { cause: err },
          );
    }
    return cluster;
  }

  get nodeList(): ClusterNode[] {
    return [...this.control.nodes.values()];
  }

  /** Control connection up, or down for how long (readiness). */
  get controlOutageMs(): number {
    return this.control.outageMs;
  }

  /** Every node with its open connections and availability, for health and metrics. */
  nodeStates(): NodeState[] {
    const defaultKey = sessionKey(this.info.protocolVersion, undefined, undefined);
    const states = new Map<string, NodeState>();
    for (const node of this.control.nodes.values()) {
      const closed = this.closedBytes.get(node.key);
      states.set(node.key, {
        node,
        connections: 0,
        up: false,
        bytesRead: closed?.read ?? 0,
        bytesWritten: closed?.written ?? 0,
      });
    }
    for (const session of this.openSessions) {
      for (const pool of session.nodePools) {
        const state = states.get(pool.node.key);
        if (state === undefined) continue;
        state.connections += pool.openConnections;
        const live = pool.liveBytes;
        state.bytesRead += live.read;
        state.bytesWritten += live.written;
        if (session.key === defaultKey && pool.available) state.up = true;
      }
    }
    return [...states.values()];
  }

  /** The prepared cache's size, orphaned stream ids and replaced connections (metrics). */
  upstreamLimits(): UpstreamLimitsState {
    let orphanedStreams = 0;
    for (const session of this.openSessions) {
      for (const pool of session.nodePools) orphanedStreams += pool.orphanedStreams;
    }
    return {
      preparedCacheEntries: this.preparedCache.entryCount,
      preparedCacheBytes: this.preparedCache.bytes,
      preparedCacheEvictions: this.preparedCache.evictions,
      orphanedStreams,
      connectionsReplaced: this.metrics.connectionsReplaced,
      routed: this.router.stats.routed,
      unrouted: this.router.stats.unrouted,
      schemaAgreed: this.schemaAgreement.agreed,
      schemaAgreementTimeouts: this.schemaAgreement.timedOut,
    };
  }

  /** Closed connections' byte counts, kept so the per-node totals never go down. */
  private readonly closedBytes = new Map<string, { read: number; written: number }>();

  private countClosedBytes(nodeKey: string, read: number, written: number): void {
    const total = this.closedBytes.get(nodeKey) ?? { read: 0, written: 0 };
    total.read += read;
    total.written += written;
    this.closedBytes.set(nodeKey, total);
  }

  get controlConnected(): boolean {
    return this.control.connected;
  }

  onSchemaChange(listener: (change: SchemaChange) => void): () => void {
    this.schemaListeners.add(listener);
    return () => this.schemaListeners.delete(listener);
  }

  /** Told when a node's default-session pool gains its first connection or loses its last. */
  onNodeAvailability(listener: (node: ClusterNode, up: boolean) => void): () => void {
    this.nodeListeners.add(listener);
    return () => this.nodeListeners.delete(listener);
  }

  session(
    version: number,
    keyspace: string | undefined,
    compression: BodyCompressionName | undefined,
    credentials?: SessionCredentials,
  ): Promise<Session> {
    const key = sessionKey(version, keyspace, compression, this.credentialId(credentials));
    let pending = this.sessions.get(key);
    if (pending === undefined) {
      pending = this.openSession(key, version, keyspace, compression, credentials);
      this.sessions.set(key, pending);
      // A failed session is forgotten, so that a later USE tries again.
      pending.catch(() => this.sessions.delete(key));
    }
    return pending;
  }

  /**
   * Names a client's credentials in session keys (which reach debug logs): the user name and a
   * keyed hash of the password, the key random per process, so no log line helps guess it.
   */
  private credentialId(credentials: SessionCredentials | undefined): string | undefined {
    if (credentials === undefined) return undefined;
    const mac = createHmac('sha256', this.credentialKey)
      .update(`${credentials.username}\0${credentials.password}`, 'utf8')
      .digest('base64url')
      .slice(0, 16);
    return `${credentials.username}#${mac}`;
  }

  private readonly credentialKey = randomBytes(32);

  private async openSession(
    key: string,
    version: number,
    keyspace: string | undefined,
    compression: BodyCompressionName | undefined,
    credentials: SessionCredentials | undefined,
  ): Promise<Session> {
    if (this.closedFlag)
      throw new ProxyError(ProxyErrorCode.CLUSTER_UNAVAILABLE, 'proxy is closing');
    const session = new Session({
      key,
      version,
      keyspace,
      compression: compression === undefined ? undefined : bodyCompressor(compression),
      preparedCache: this.preparedCache,
      timeouts: this.timeouts,
      requestTimeoutMs: this.options.requestTimeoutMs,
      maxQueuedRequests: this.options.maxQueuedRequests,
      maxFrameLength: this.options.maxFrameLength,
      metrics: this.metrics,
      requestObserver: this.options.requestObserver,
      logger: this.logger,
      credentials,
      reopen: (s) => this.openPools(s),
      router: this.router,
      schemaAgreement: this.schemaAgreement,
      onWoken: (s) => this.reconcilePools(s, this.control.nodes),
    });
    session.setPools(await this.openPools(session));
    this.openSessions.add(session);
    this.logger.debug({ session: key }, 'session opened');
    return session;
  }

  /**
   * A session's pools to every node, as soon as one node accepted a connection: the others join
   * in the background, so a node that does not answer (its connect timeout) holds nothing up.
   */
  private async openPools(session: Session): Promise<readonly NodePool[]> {
    const isDefault = this.isDefaultSession(session);
    const pools = [...this.control.nodes.values()].map((node) =>
      this.newPool(session, node, isDefault),
    );
    const fills = pools.map((p) => p.fill());
    // Rejects only once every fill has failed; the rejections are handled either way.
    await Promise.any(fills).catch(() => undefined);
    if (!pools.some((p) => p.available)) {
      const results = await Promise.allSettled(fills);
      for (const p of pools) p.close();
      const refusal = results.find(
        (r): r is PromiseRejectedResult =>
          r.status === 'rejected' && CqlSessionError.isCqlSessionError(r.reason),
      );
      if (refusal !== undefined) throw refusal.reason;
      if (session.credentials !== undefined) {
        // A client's own login refused: its client gets the node's AuthenticationError.
        const denied = results.find(
          (r): r is PromiseRejectedResult =>
            r.status === 'rejected' &&
            ProxyError.isProxyError(r.reason) &&
            r.reason.code === ProxyErrorCode.AUTHENTICATION_FAILED,
        );
        const cause = (denied?.reason as ProxyError | undefined)?.cause;
        if (denied !== undefined) {
          throw new CqlSessionError(
            ErrorCode.AUTHENTICATION_ERROR,
            CqlServerError.isCqlServerError(cause)
              ? cause.serverMessage
              : `Provided username ${session.credentials.username} and/or password are incorrect`,
          );
        }
      }
      const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      throw new ProxyError(
        ProxyErrorCode.CLUSTER_UNAVAILABLE,
        `no node of the cluster accepted a connection${first === undefined ? '' : `: ${errorMessage(first.reason)}`}`,
        first === undefined ? undefined : { cause: first.reason },
      );
    }
    return pools;
  }

  private isDefaultSession(session: Session): boolean {
    return (
      session.credentials === undefined &&
      session.keyspace === undefined &&
      session.compression === undefined &&
      session.version === this.info.protocolVersion
    );
  }

  /**
   * Closes the pools of keyspace sessions nobody used for `sessionIdleMs` (the default session
   * stays). cql-proxy keeps every session forever: a client that visits many keyspaces would
   * hold connections to every node for each of them.
   */
  private sleepIdleSessions(now: number): void {
    const idleMs = this.options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
    for (const session of this.openSessions) {
      if (this.isDefaultSession(session) || session.asleep) continue;
      if (now - session.lastUsed < idleMs || !session.idle) continue;
      session.sleep();
      this.logger.debug({ session: session.key }, 'idle session: its connections are closed');
    }
  }

  private newPool(session: Session, node: ClusterNode, announce: boolean): NodePool {
    const o = this.options;
    return new NodePool(node, {
      size: o.numConnections,
      backoff: o.reconnect,
      logger: this.logger,
      warmUp: (connection) => session.warmUp(connection),
      maxOrphanedStreams: o.maxOrphanedStreams ?? DEFAULT_MAX_ORPHANED_STREAMS,
      // A replaced connection keeps its requests until the longest of them has timed out.
      retireTimeoutMs: Math.max(o.requestTimeoutMs, o.schemaTimeoutMs ?? 0),
      onConnectionReplaced: () => this.metrics.connectionsReplaced++,
      onConnectionOpened: () => session.streamFreed(),
      connect: (onClose) =>
        UpstreamConnection.connect({
          endpoint: node.endpoint,
          version: session.version,
          ...(session.compression === undefined ? {} : { compression: session.compression }),
          ...credentialsOption(session.credentials ?? o.credentials),
          ...(session.keyspace === undefined ? {} : { keyspace: session.keyspace }),
          connectTimeoutMs: o.connectTimeoutMs,
          heartbeatIntervalMs: o.heartbeatIntervalMs,
          idleTimeoutMs: o.idleTimeoutMs,
          maxFrameLength: o.maxFrameLength,
          onClose: (connection, error) => {
            this.countClosedBytes(node.key, connection.bytesRead, connection.bytesWritten);
            onClose(error);
          },
        }),
      ...(announce
        ? {
            onAvailabilityChange: (up: boolean) => {
              if (up) this.logger.info({ node: node.key, address: node.address }, 'node is up');
              else this.logger.warn({ node: node.key, address: node.address }, 'node is down');
              // A node that takes connections again can very likely be a control connection
              // too: do not wait out the control connection's backoff (up to a minute) for it.
              if (up) this.control.reconnectNow();
              for (const l of this.nodeListeners) l(node, up);
            },
          }
        : {}),
    });
  }

  /** A node was reported up: its pools reconnect now instead of waiting out their backoff. */
  private reconnectNode(key: string): void {
    for (const pending of this.sessions.values()) {
      void pending.then(
        (s) => s.nodePools.find((p) => p.node.key === key)?.reconnectNow(),
        () => undefined,
      );
    }
  }

  private reconcilePools(session: Session, nodes: ReadonlyMap<string, ClusterNode>): void {
    // A sleeping session has no pools; when it wakes it opens them to the nodes of that moment.
    if (session.asleep) return;
    const isDefault = this.isDefaultSession(session);
    const kept = session.nodePools.filter((p) => {
      if (nodes.has(p.node.key)) return true;
      p.close();
      return false;
    });
    const have = new Set(kept.map((p) => p.node.key));
    const fresh = [...nodes.values()]
      .filter((n) => !have.has(n.key))
      .map((n) => this.newPool(session, n, isDefault));
    for (const p of fresh) void p.fill().catch(() => undefined);
    session.setPools([...kept, ...fresh]);
  }

  close(): void {
    this.closedFlag = true;
    this.timeouts.close();
    this.schemaAgreement.close();
    if (this.idleSweep !== undefined) clearInterval(this.idleSweep);
    this.control.close();
    for (const pending of this.sessions.values())
      void pending.then(
        (s) => s.close(),
        () => undefined,
      );
    this.sessions.clear();
    this.openSessions.clear();
  }
}

function credentialsOption(credentials: SessionCredentials | undefined): {
  credentials?: SessionCredentials;
} {
  return credentials === undefined ? {} : { credentials };
}
