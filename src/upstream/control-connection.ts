// The control connection: one connection to some node of the cluster that reads the topology
// (system.local, system.peers), the keyspaces' replication (for routing.ts), and the schema
// versions (for schema-agreement.ts), and that listens for TOPOLOGY_CHANGE, STATUS_CHANGE and
// SCHEMA_CHANGE events. When it is lost it is opened again on any node, at once the first time,
// then with backoff; the cluster (cluster.ts) hears of what it learns through a ControlListener.

import { errorMessage, ProxyError, ProxyErrorCode } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import { decodeEvent } from '../protocol/messages/event.js';
import { SchemaChangeTarget, type SchemaChange } from '../protocol/messages/schema-change.js';
import { decodeUuid } from '../protocol/values.js';
import { Backoff } from './backoff.js';
import type { ClusterOptions } from './cluster-options.js';
import { UpstreamConnection } from './connection.js';
import type { ClusterInfo } from './contract.js';
import type { Endpoint } from './endpoint.js';
import { ringSource, type RingSource, type Router } from './routing.js';
import {
  clusterInfoFrom,
  initialEndpoints,
  nodeFromRow,
  rowsOf,
  type ClusterNode,
  type Row,
} from './topology.js';

export type ControlConnectionOptions = Pick<
  ClusterOptions,
  | 'target'
  | 'credentials'
  | 'protocolVersion'
  | 'maxClientVersion'
  | 'connectTimeoutMs'
  | 'heartbeatIntervalMs'
  | 'idleTimeoutMs'
  | 'maxFrameLength'
  | 'refreshDebounceMs'
  | 'reconnect'
  | 'logger'
> & {
  /** Told the keyspaces' replication and the ring. */
  router: Router;
  /** Counts the attempts to open the control connection again. */
  metrics: { controlReconnects: number };
  listener: ControlListener;
};

/** What the cluster does with what the control connection learns. */
export interface ControlListener {
  /** The first connection read the cluster's facts (release, data center, negotiated version). */
  clusterFound(info: ClusterInfo): void;
  /** Nodes were added or removed (after the first read): the sessions reconcile their pools. */
  nodesChanged(nodes: ReadonlyMap<string, ClusterNode>): void;
  /** A node was reported UP: its pools reconnect now instead of waiting out their backoff. */
  nodeReportedUp(key: string): void;
  schemaChanged(change: SchemaChange): void;
  /** The nodes that are down now (no connection of the default session), for schema agreement. */
  downNodes(): ReadonlySet<string>;
}

export class ControlConnection {
  private readonly options: ControlConnectionOptions;
  private readonly logger: Logger;
  private nodeMap = new Map<string, ClusterNode>();
  private connection: UpstreamConnection | undefined;
  /** The version the first connection negotiated; later ones use it as is. */
  private version: number;
  private readonly backoff: Backoff;
  /** Reconnection attempts since the control connection was last up. */
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** A control connection attempt is running (connect after the timer fired). */
  private connecting = false;
  /** A node came back during that attempt: if it fails, the next one goes at once. */
  private retryAtOnce = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private replicationTimer: NodeJS.Timeout | undefined;
  private outageSince: number | undefined;
  private closed = false;

  constructor(options: ControlConnectionOptions) {
    this.options = options;
    this.logger = options.logger;
    this.version = options.protocolVersion;
    this.backoff = new Backoff(options.reconnect.baseMs, options.reconnect.maxMs);
  }

  /** The usable nodes of the cluster, as the last read of the system tables found them. */
  get nodes(): ReadonlyMap<string, ClusterNode> {
    return this.nodeMap;
  }

  get connected(): boolean {
    return this.connection !== undefined && !this.connection.closed;
  }

  /** Up, or down for how long (readiness). */
  get outageMs(): number {
    return this.outageSince === undefined ? 0 : Date.now() - this.outageSince;
  }

  /** The first connection: negotiates the protocol version; rejects with a ProxyError. */
  async open(): Promise<void> {
    await this.connect(await initialEndpoints(this.options.target, this.logger), true);
  }

  /** Tries each endpoint in turn; the first that completes the handshake becomes the control. */
  private async connect(endpoints: readonly Endpoint[], initial: boolean): Promise<void> {
    const o = this.options;
    const failures: string[] = [];
    for (const endpoint of endpoints) {
      if (this.closed) return;
      let connection: UpstreamConnection | undefined;
      try {
        connection = await UpstreamConnection.connect({
          endpoint,
          version: initial ? o.protocolVersion : this.version,
          negotiate: initial,
          ...(o.credentials === undefined ? {} : { credentials: o.credentials }),
          connectTimeoutMs: o.connectTimeoutMs,
          heartbeatIntervalMs: o.heartbeatIntervalMs,
          idleTimeoutMs: o.idleTimeoutMs,
          maxFrameLength: o.maxFrameLength,
          onEvent: (frame) => this.onEvent(frame),
          onClose: (closed, error) => this.onClosed(closed, error),
        });
        await this.refreshTopology(connection, initial);
        await this.refreshReplication(connection);
        await connection.register(['TOPOLOGY_CHANGE', 'STATUS_CHANGE', 'SCHEMA_CHANGE']);
        this.connection = connection;
        this.outageSince = undefined;
        this.backoff.reset();
        this.attempts = 0;
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

  private onClosed(connection: UpstreamConnection, error?: Error): void {
    if (this.connection !== connection || this.closed) return;
    this.connection = undefined;
    this.outageSince = Date.now();
    this.logger.warn(
      { err: error === undefined ? undefined : errorMessage(error) },
      'control connection closed',
    );
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined || this.connecting) return;
    // The first attempt goes at once, to the other nodes: while there is no control connection,
    // schema change events are lost to the clients. Only repeated failures back off.
    const delay = this.attempts++ === 0 ? 0 : this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.options.metrics.controlReconnects++;
      this.connecting = true;
      this.retryAtOnce = false;
      const known = [...this.nodeMap.values()].map((n) => n.endpoint);
      void initialEndpoints(this.options.target, this.logger)
        .catch(() => [] as Endpoint[])
        .then((initial) => this.connect([...known, ...initial], false))
        .then(
          () => {
            this.connecting = false;
          },
          (err: unknown) => {
            this.connecting = false;
            this.logger.debug({ err: errorMessage(err) }, 'control connection attempt failed');
            if (this.retryAtOnce) this.reconnectNow();
            else this.scheduleReconnect();
          },
        );
    }, delay);
    this.reconnectTimer.unref();
  }

  /**
   * A node's pool has a connection again while the control connection is down: try the control
   * connection now rather than when its backoff says (readiness and schema events wait for it).
   */
  reconnectNow(): void {
    if (this.closed || this.connected) return;
    if (this.connecting) {
      this.retryAtOnce = true;
      return;
    }
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.backoff.reset();
    this.attempts = 0;
    this.scheduleReconnect();
  }

  private onEvent(frame: Buffer): void {
    let event;
    try {
      event = decodeEvent(frame.subarray(9), this.version);
    } catch (err) {
      this.logger.debug({ err: errorMessage(err) }, 'undecodable event from the cluster');
      return;
    }
    switch (event.type) {
      case 'SCHEMA_CHANGE':
        if (event.change.target === SchemaChangeTarget.KEYSPACE) this.scheduleReplicationRefresh();
        this.options.listener.schemaChanged(event.change);
        break;
      case 'STATUS_CHANGE':
        if (event.change === 'UP') {
          const node = [...this.nodeMap.values()].find((n) => n.address === event.address.address);
          if (node !== undefined) this.options.listener.nodeReportedUp(node.key);
        }
        this.scheduleRefresh();
        break;
      case 'TOPOLOGY_CHANGE':
        this.scheduleRefresh();
        break;
    }
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer !== undefined || this.closed) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      const control = this.connection;
      if (control === undefined) return;
      this.refreshTopology(control, false).catch((err: unknown) => {
        this.logger.warn({ err: errorMessage(err) }, 'topology refresh failed');
        control.close(err instanceof Error ? err : new Error(String(err)));
      });
    }, this.options.refreshDebounceMs);
    this.refreshTimer.unref();
  }

  /** Reads system.local and system.peers and reconciles the node list (the sessions follow). */
  private async refreshTopology(control: UpstreamConnection, initial: boolean): Promise<void> {
    const local = rowsOf(await control.query("SELECT * FROM system.local WHERE key='local'"));
    const peers = rowsOf(await control.query('SELECT * FROM system.peers'));
    const localRow = local[0];
    if (localRow === undefined) throw new Error('system.local returned no row');

    const o = this.options;
    if (initial) {
      this.version = control.version;
      o.listener.clusterFound(clusterInfoFrom(o.target, control, localRow, o.maxClientVersion));
    }
    const next = new Map<string, ClusterNode>();
    const ring: RingSource[] = [];
    const add = (row: Row, isLocal: boolean): void => {
      const node = nodeFromRow(o.target, row, isLocal ? control.endpoint : undefined, this.logger);
      if (node !== undefined) next.set(node.key, node);
      ring.push(ringSource(row, node?.key));
    };
    add(localRow, true);
    for (const row of peers) add(row, false);
    if (next.size === 0)
      throw new Error('no node of the cluster is usable (check the region / data center)');

    const before = this.nodeMap;
    this.nodeMap = next;
    o.router.setRing(ring);
    const added = [...next.values()].filter((n) => !before.has(n.key));
    const removed = [...before.values()].filter((n) => !next.has(n.key));
    if (!initial && (added.length > 0 || removed.length > 0)) {
      for (const n of added) this.logger.info({ node: n.key, address: n.address }, 'node added');
      for (const n of removed)
        this.logger.info({ node: n.key, address: n.address }, 'node removed');
      o.listener.nodesChanged(next);
    }
  }

  /**
   * For schema agreement: the schema_version of every node that counts (in the local data
   * center, not down), as drivers read them; undefined while there is no control connection.
   */
  async readSchemaVersions(): Promise<(string | undefined)[] | undefined> {
    const control = this.connection;
    if (control === undefined || control.closed) return undefined;
    const local = rowsOf(
      await control.query("SELECT schema_version FROM system.local WHERE key='local'"),
    );
    const peers = rowsOf(await control.query('SELECT * FROM system.peers'));
    const localRow = local[0];
    if (localRow === undefined) return undefined;
    const down = this.options.listener.downNodes();
    const versions = [decodeUuid(localRow.schema_version ?? null) ?? undefined];
    for (const row of peers) {
      const node = nodeFromRow(this.options.target, row, undefined, this.logger);
      if (node === undefined || !this.nodeMap.has(node.key) || down.has(node.key)) continue;
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
      this.options.router.setReplication(rows);
    } catch (err) {
      this.logger.debug({ err: errorMessage(err) }, 'cannot read keyspace replication');
    }
  }

  /** A keyspace was created, altered or dropped: its replication is read again, debounced. */
  private scheduleReplicationRefresh(): void {
    if (this.replicationTimer !== undefined || this.closed) return;
    this.replicationTimer = setTimeout(() => {
      this.replicationTimer = undefined;
      const control = this.connection;
      if (control !== undefined) void this.refreshReplication(control);
    }, this.options.refreshDebounceMs);
    this.replicationTimer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    if (this.replicationTimer !== undefined) clearTimeout(this.replicationTimer);
    this.connection?.close();
    this.connection = undefined;
  }
}
