// The cluster as the proxy sees it: a control connection that reads the topology and listens for
// events, the nodes, and the sessions (pools per version/keyspace/compression) over them.
//
// Astra: the nodes come from system.local/system.peers of the region's coordinators, reached
// through the SNI proxy by host id (rows of other regions are ignored, as cql-proxy does).
// Contact points: the nodes are the rows' rpc_address (or peer) at --port.

import { createHmac, randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from '../ops/logger.js';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';
import type { SecureConnectBundle } from '../bundle/secure-connect-bundle.js';
import type { AstraMetadata } from '../bundle/metadata-service.js';
import { bodyCompressor, type BodyCompressionName } from '../protocol/compression.js';
import { decodeEvent } from '../protocol/messages/event.js';
import { SchemaChangeTarget, type SchemaChange } from '../protocol/messages/schema-change.js';
import { decodeInet, decodeText, decodeUuid } from '../protocol/values.js';
import { Backoff } from './backoff.js';
import { clientVersionsFor, rowsOf, type Row } from './topology.js';
import { UpstreamConnection } from './connection.js';
import type { Backend, ClusterInfo, SessionCredentials } from './contract.js';
import { CqlServerError } from './cql-server-error.js';
import { ErrorCode } from '../protocol/constants.js';
import { CqlSessionError } from './contract.js';
import {
  astraEndpoint,
  contactPointEndpoint,
  type ContactPointTls,
  type Endpoint,
} from './endpoint.js';
import { DEFAULT_MAX_ORPHANED_STREAMS, NodePool } from './node-pool.js';
import { DEFAULT_PREPARED_CACHE_BYTES, PreparedCache } from './prepared-cache.js';
import { RequestTimeouts } from './request-timeouts.js';
import { Router, ringSource, type RingSource } from './routing.js';
import { DEFAULT_SCHEMA_AGREEMENT_TIMEOUT_MS, SchemaAgreement } from './schema-agreement.js';
import type { RequestObserver } from './request-outcome.js';
import { Session, newSessionMetrics, sessionKey, type SessionMetrics } from './session.js';

export type ClusterTarget =
  | { kind: 'astra'; bundle: SecureConnectBundle; metadata: AstraMetadata }
  | {
      kind: 'contact-points';
      contactPoints: readonly { host: string; port: number }[];
      /** Port of the nodes found in system.peers (cql-proxy's --port). */
      port: number;
      tls?: ContactPointTls;
    };

export interface ClusterOptions {
  target: ClusterTarget;
  credentials: { username: string; password: string } | undefined;
  /** The first version tried on the control connection; it steps down from there. */
  protocolVersion: number;
  /** The highest version clients may use (cql-proxy's --max-protocol-version), if capped. */
  maxClientVersion?: number;
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
  refreshDebounceMs: number;
  /** Keyspace sessions unused this long close their connections (reopened on use); 0: never. */
  sessionIdleMs?: number;
  /**
   * How long a schema change's answer waits for the nodes to agree on the schema (0: it does not
   * wait); DEFAULT_SCHEMA_AGREEMENT_TIMEOUT_MS when absent.
   */
  schemaAgreementTimeoutMs?: number;
  reconnect: { baseMs: number; maxMs: number };
  logger: Logger;
  /** Told of every finished request (metrics). */
  requestObserver?: RequestObserver | undefined;
}

export interface ClusterNode {
  key: string;
  endpoint: Endpoint;
  hostId: string | undefined;
  /** rpc_address as the cluster reports it (the key of its events). */
  address: string | undefined;
  dataCenter: string | undefined;
}

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

/** How long a keyspace session may go unused before its connections close (reopened on use). */
export const DEFAULT_SESSION_IDLE_MS = 10 * 60_000;

export class Cluster implements Backend {
  info: ClusterInfo;
  readonly metrics: ClusterMetrics = {
    ...newSessionMetrics(),
    controlReconnects: 0,
    connectionsReplaced: 0,
  };
  private readonly options: ClusterOptions;
  private readonly logger: Logger;
  private nodes = new Map<string, ClusterNode>();
  private readonly sessions = new Map<string, Promise<Session>>();
  /** The sessions whose pools are set, readable without awaiting (health, metrics). */
  private readonly openSessions = new Set<Session>();
  private idleSweep: NodeJS.Timeout | undefined;
  private readonly schemaListeners = new Set<(change: SchemaChange) => void>();
  private readonly nodeListeners = new Set<(node: ClusterNode, up: boolean) => void>();
  /** The prepared statements cache of every session (shared with other workers by ops/workers.ts). */
  readonly preparedCache: PreparedCache;
  private readonly timeouts: RequestTimeouts;
  /** Answers to schema changes wait for it (schema-agreement.ts); polls on the control connection. */
  readonly schemaAgreement: SchemaAgreement;
  private control: UpstreamConnection | undefined;
  private controlBackoff: Backoff;
  /** Reconnection attempts since the control connection was last up. */
  private controlAttempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** A control connection attempt is running (connectControl after the timer fired). */
  private controlConnecting = false;
  /** A node came back during that attempt: if it fails, the next one goes at once. */
  private controlRetryAtOnce = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Token-aware routing: the ring, keyspace replication and prepared pk indexes (routing.ts). */
  readonly router = new Router();
  private replicationTimer: NodeJS.Timeout | undefined;
  private outageSince: number | undefined;
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
    this.controlBackoff = new Backoff(options.reconnect.baseMs, options.reconnect.maxMs);
    this.schemaAgreement = new SchemaAgreement({
      timeoutMs: options.schemaAgreementTimeoutMs ?? DEFAULT_SCHEMA_AGREEMENT_TIMEOUT_MS,
      read: () => this.readSchemaVersions(),
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
    const initial = await cluster.initialEndpoints();
    await cluster.connectControl(initial, true);
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
    return [...this.nodes.values()];
  }

  /** Control connection up, or down for how long (readiness). */
  get controlOutageMs(): number {
    return this.outageSince === undefined ? 0 : Date.now() - this.outageSince;
  }

  /** Every node with its open connections and availability, for health and metrics. */
  nodeStates(): NodeState[] {
    const defaultKey = sessionKey(this.info.protocolVersion, undefined, undefined);
    const states = new Map<string, NodeState>();
    for (const node of this.nodes.values()) {
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
    return this.control !== undefined && !this.control.closed;
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
      onWoken: (s) => this.reconcilePools(s, this.nodes),
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
    const pools = [...this.nodes.values()].map((node) => this.newPool(session, node, isDefault));
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
              if (up) this.reconnectControlNow();
              for (const l of this.nodeListeners) l(node, up);
            },
          }
        : {}),
    });
  }

  // ------------------------------------------------------------------ control connection

  private async initialEndpoints(): Promise<Endpoint[]> {
    const target = this.options.target;
    if (target.kind === 'astra') {
      return target.metadata.contactPoints.map((hostId) =>
        astraEndpoint(target.bundle, target.metadata.sniProxy, hostId),
      );
    }
    const endpoints: Endpoint[] = [];
    for (const cp of target.contactPoints) {
      if (isIP(cp.host) !== 0) {
        endpoints.push(contactPointEndpoint(cp.host, cp.port, target.tls));
        continue;
      }
      try {
        for (const a of await lookup(cp.host, { all: true })) {
          endpoints.push(contactPointEndpoint(a.address, cp.port, target.tls));
        }
      } catch (err) {
        this.logger.warn({ host: cp.host, err: errorMessage(err) }, 'cannot resolve contact point');
      }
    }
    if (endpoints.length === 0) {
      throw new ProxyError(
        ProxyErrorCode.CLUSTER_UNAVAILABLE,
        `none of the contact points resolved: ${target.contactPoints.map((c) => c.host).join(', ')}`,
      );
    }
    return endpoints;
  }

  /** Tries each endpoint in turn; the first that completes the handshake becomes the control. */
  private async connectControl(endpoints: readonly Endpoint[], initial: boolean): Promise<void> {
    const failures: string[] = [];
    for (const endpoint of endpoints) {
      if (this.closedFlag) return;
      let connection: UpstreamConnection | undefined;
      try {
        connection = await UpstreamConnection.connect({
          endpoint,
          version: initial ? this.options.protocolVersion : this.info.protocolVersion,
          negotiate: initial,
          ...(this.options.credentials === undefined
            ? {}
            : { credentials: this.options.credentials }),
          connectTimeoutMs: this.options.connectTimeoutMs,
          heartbeatIntervalMs: this.options.heartbeatIntervalMs,
          idleTimeoutMs: this.options.idleTimeoutMs,
          maxFrameLength: this.options.maxFrameLength,
          onEvent: (frame) => this.onEvent(frame),
          onClose: (closed, error) => this.onControlClosed(closed, error),
        });
        await this.refreshTopology(connection, initial);
        await this.refreshReplication(connection);
        await connection.register(['TOPOLOGY_CHANGE', 'STATUS_CHANGE', 'SCHEMA_CHANGE']);
        this.control = connection;
        this.outageSince = undefined;
        this.controlBackoff.reset();
        this.controlAttempts = 0;
        this.logger.debug({ endpoint: endpoint.key }, 'control connection established');
        return;
      } catch (err) {
        connection?.close();
        // Credentials and protocol refusals will not get better on another node.
        if (ProxyError.isProxyError(err) && err.code === ProxyErrorCode.AUTHENTICATION_FAILED)
          throw err;
        failures.push(`${endpoint.key}: ${errorMessage(err)}`);
      }
    }
    throw new ProxyError(
      ProxyErrorCode.CLUSTER_UNAVAILABLE,
      `unable to connect to the cluster (${failures.join('; ')})`,
    );
  }

  private onControlClosed(connection: UpstreamConnection, error?: Error): void {
    if (this.control !== connection || this.closedFlag) return;
    this.control = undefined;
    this.outageSince = Date.now();
    this.logger.warn(
      { err: error === undefined ? undefined : errorMessage(error) },
      'control connection closed',
    );
    this.scheduleControlReconnect();
  }

  private scheduleControlReconnect(): void {
    if (this.closedFlag || this.reconnectTimer !== undefined || this.controlConnecting) return;
    // The first attempt goes at once, to the other nodes: while there is no control connection,
    // schema change events are lost to the clients. Only repeated failures back off.
    const delay = this.controlAttempts++ === 0 ? 0 : this.controlBackoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.metrics.controlReconnects++;
      this.controlConnecting = true;
      this.controlRetryAtOnce = false;
      const known = [...this.nodes.values()].map((n) => n.endpoint);
      void this.initialEndpoints()
        .catch(() => [] as Endpoint[])
        .then((initial) => this.connectControl([...known, ...initial], false))
        .then(
          () => {
            this.controlConnecting = false;
          },
          (err: unknown) => {
            this.controlConnecting = false;
            this.logger.debug({ err: errorMessage(err) }, 'control connection attempt failed');
            if (this.controlRetryAtOnce) this.reconnectControlNow();
            else this.scheduleControlReconnect();
          },
        );
    }, delay);
    this.reconnectTimer.unref();
  }

  /**
   * A node's pool has a connection again while the control connection is down: try the control
   * connection now rather than when its backoff says (readiness and schema events wait for it).
   */
  private reconnectControlNow(): void {
    if (this.closedFlag || this.controlConnected) return;
    if (this.controlConnecting) {
      this.controlRetryAtOnce = true;
      return;
    }
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.controlBackoff.reset();
    this.controlAttempts = 0;
    this.scheduleControlReconnect();
  }

  private onEvent(frame: Buffer): void {
    let event;
    try {
      event = decodeEvent(frame.subarray(9), this.info.protocolVersion);
    } catch (err) {
      this.logger.debug({ err: errorMessage(err) }, 'undecodable event from the cluster');
      return;
    }
    switch (event.type) {
      case 'SCHEMA_CHANGE':
        if (event.change.target === SchemaChangeTarget.KEYSPACE) this.scheduleReplicationRefresh();
        for (const l of this.schemaListeners) l(event.change);
        break;
      case 'STATUS_CHANGE':
        if (event.change === 'UP') {
          const node = [...this.nodes.values()].find((n) => n.address === event.address.address);
          if (node !== undefined) this.reconnectNode(node.key);
        }
        this.scheduleRefresh();
        break;
      case 'TOPOLOGY_CHANGE':
        this.scheduleRefresh();
        break;
    }
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

  private scheduleRefresh(): void {
    if (this.refreshTimer !== undefined || this.closedFlag) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      const control = this.control;
      if (control === undefined) return;
      this.refreshTopology(control, false).catch((err: unknown) => {
        this.logger.warn({ err: errorMessage(err) }, 'topology refresh failed');
        control.close(err instanceof Error ? err : new Error(String(err)));
      });
    }, this.options.refreshDebounceMs);
    this.refreshTimer.unref();
  }

  /** Reads system.local and system.peers and reconciles the node list and every session's pools. */
  private async refreshTopology(control: UpstreamConnection, initial: boolean): Promise<void> {
    const local = rowsOf(await control.query("SELECT * FROM system.local WHERE key='local'"));
    const peers = rowsOf(await control.query('SELECT * FROM system.peers'));
    const localRow = local[0];
    if (localRow === undefined) throw new Error('system.local returned no row');

    if (initial) this.info = this.clusterInfo(control, localRow);
    const next = new Map<string, ClusterNode>();
    const ring: RingSource[] = [];
    const add = (row: Row, isLocal: boolean): void => {
      const node = this.nodeFromRow(row, isLocal ? control.endpoint : undefined);
      if (node !== undefined) next.set(node.key, node);
      ring.push(ringSource(row, node?.key));
    };
    add(localRow, true);
    for (const row of peers) add(row, false);
    if (next.size === 0)
      throw new Error('no node of the cluster is usable (check the region / data center)');

    const before = this.nodes;
    this.nodes = next;
    this.router.setRing(ring);
    const added = [...next.values()].filter((n) => !before.has(n.key));
    const removed = [...before.values()].filter((n) => !next.has(n.key));
    if (!initial && (added.length > 0 || removed.length > 0)) {
      for (const n of added) this.logger.info({ node: n.key, address: n.address }, 'node added');
      for (const n of removed)
        this.logger.info({ node: n.key, address: n.address }, 'node removed');
      for (const pending of this.sessions.values()) {
        void pending.then(
          (s) => this.reconcilePools(s, next),
          () => undefined,
        );
      }
    }
  }

  /**
   * For schema agreement: the schema_version of every node that counts (in the local data
   * center, not down), from the control connection, as drivers read them.
   */
  private async readSchemaVersions(): Promise<(string | undefined)[] | undefined> {
    const control = this.control;
    if (control === undefined || control.closed) return undefined;
    const local = rowsOf(
      await control.query("SELECT schema_version FROM system.local WHERE key='local'"),
    );
    const peers = rowsOf(await control.query('SELECT * FROM system.peers'));
    const localRow = local[0];
    if (localRow === undefined) return undefined;
    const down = new Set(
      this.nodeStates()
        .filter((s) => !s.up)
        .map((s) => s.node.key),
    );
    const versions = [decodeUuid(localRow.schema_version ?? null) ?? undefined];
    for (const row of peers) {
      const node = this.nodeFromRow(row, undefined);
      if (node === undefined || !this.nodes.has(node.key) || down.has(node.key)) continue;
      versions.push(decodeUuid(row.schema_version ?? null) ?? undefined);
    }
    return versions;
  }

  /**
   * Reads every keyspace's replication for token-aware routing. Best effort: without it requests
   * go round robin, so a failure is only logged.
   */
  private async refreshReplication(control: UpstreamConnection): Promise<void> {
    try {
      const rows = rowsOf(
        await control.query('SELECT keyspace_name, replication FROM system_schema.keyspaces'),
      );
      this.router.setReplication(rows);
    } catch (err) {
      this.logger.debug({ err: errorMessage(err) }, 'cannot read keyspace replication');
    }
  }

  /** A keyspace was created, altered or dropped: its replication is read again, debounced. */
  private scheduleReplicationRefresh(): void {
    if (this.replicationTimer !== undefined || this.closedFlag) return;
    this.replicationTimer = setTimeout(() => {
      this.replicationTimer = undefined;
      const control = this.control;
      if (control !== undefined) void this.refreshReplication(control);
    }, this.options.refreshDebounceMs);
    this.replicationTimer.unref();
  }

  private reconcilePools(session: Session, nodes: Map<string, ClusterNode>): void {
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

  private clusterInfo(control: UpstreamConnection, local: Row): ClusterInfo {
    const target = this.options.target;
    const version = control.version;
    return {
      releaseVersion: decodeText(local.release_version ?? null) ?? '',
      cqlVersion: decodeText(local.cql_version ?? null) ?? '3.4.5',
      partitioner: decodeText(local.partitioner ?? null) ?? '',
      dataCenter:
        target.kind === 'astra'
          ? target.metadata.region
          : (decodeText(local.data_center ?? null) ?? ''),
      dseVersion: decodeText(local.dse_version ?? null) ?? undefined,
      schemaVersion: decodeUuid(local.schema_version ?? null) ?? undefined,
      productType: control.supported.get('PRODUCT_TYPE')?.[0],
      protocolVersion: version,
      clientVersions: clientVersionsFor(version, this.options.maxClientVersion),
    };
  }

  private nodeFromRow(row: Row, controlEndpoint: Endpoint | undefined): ClusterNode | undefined {
    const target = this.options.target;
    const hostId = decodeUuid(row.host_id ?? null) ?? undefined;
    const dataCenter = decodeText(row.data_center ?? null) ?? undefined;
    let address = decodeInet(row.rpc_address ?? null) ?? undefined;
    if (address === '0.0.0.0' || address === '::')
      address = decodeInet(row.peer ?? null) ?? undefined;
    if (target.kind === 'astra') {
      if (hostId === undefined) {
        this.logger.warn('ignoring a node without host_id');
        return undefined;
      }
      if (dataCenter !== target.metadata.region) return undefined;
      return {
        key: hostId,
        endpoint: astraEndpoint(target.bundle, target.metadata.sniProxy, hostId),
        hostId,
        address,
        dataCenter,
      };
    }
    const endpoint =
      controlEndpoint ??
      (address === undefined ? undefined : contactPointEndpoint(address, target.port, target.tls));
    if (endpoint === undefined) {
      this.logger.warn({ hostId }, 'ignoring a node without rpc_address or peer');
      return undefined;
    }
    return { key: endpoint.key, endpoint, hostId, address, dataCenter };
  }

  close(): void {
    this.closedFlag = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    if (this.replicationTimer !== undefined) clearTimeout(this.replicationTimer);
    this.timeouts.close();
    this.schemaAgreement.close();
    if (this.idleSweep !== undefined) clearInterval(this.idleSweep);
    this.control?.close();
    this.control = undefined;
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
