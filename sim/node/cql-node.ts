// One simulated Astra coordinator: a CQL server on its own loopback address, with its own prepared
// statement cache and fault rules, serving the cluster-wide engine. It can be stopped (connections
// closed, then refused: the listener is gone) and started again on the same address and port.

import { once } from 'node:events';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { DEFAULT_MAX_FRAME_LENGTH, EventType } from '../../src/protocol/constants.js';
import type { CqlEvent } from '../../src/protocol/messages/event.js';
import type { Engine, NodeIdentity } from '../engine/contract.js';
import { FaultSet } from '../faults.js';
import type { FaultAction } from '../faults.js';
import { PASSWORD_AUTHENTICATOR } from './authenticator.js';
import { CqlConnection } from './connection.js';
import type { ConnectionHost, ConnectionStats } from './connection.js';
import { DEFAULT_PROTOCOL_VERSIONS, checkProtocolVersions } from './negotiation.js';
import { PreparedCache } from './prepared-cache.js';
import { UserDirectory } from './users.js';

/** What a node knows of the cluster around it. */
export interface ClusterView {
  /** The other nodes, as system.peers lists them (the simulator includes stopped ones). */
  peers(self: NodeIdentity): readonly NodeIdentity[];
  /** Cluster-wide fault rules, consulted after the node's own. */
  readonly faults?: FaultSet;
  /** Whether `self` owns a replica of the partition; undefined when that is not known. */
  isReplica?(self: NodeIdentity, keyspace: string, partitionKey: Buffer): boolean | undefined;
}

/** Single-partition statements a node coordinated, as a replica of the partition or not. */
export interface PartitionStats {
  replica: number;
  remote: number;
}

export interface CqlNodeOptions {
  /** What system.local says; `port` is replaced by the bound port when `port` below is 0. */
  readonly identity: NodeIdentity;
  /** The loopback address to listen on (127.0.0.x). */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly engine: Engine;
  /** The AstraCS token SASL PLAIN must carry as password (username `token`), without `users`. */
  readonly token?: string;
  /**
   * The accounts SASL PLAIN accepts and their roles, `token` included, shared by the cluster's
   * nodes (the simulator passes one directory to all). Default: `token` alone.
   */
  readonly users?: UserDirectory;
  /** Default [3, 4]; add 5 for v5 with segments. */
  readonly protocolVersions?: readonly number[];
  /** The class named in AUTHENTICATE; default PasswordAuthenticator. */
  readonly authenticatorClass?: string;
  readonly cluster?: ClusterView;
  readonly maxFrameLength?: number;
  readonly log?: (message: string) => void;
}

export interface CqlNode {
  readonly identity: NodeIdentity;
  /** `host:port`. */
  readonly address: string;
  readonly up: boolean;
  readonly connectionCount: number;
  /** This node's own fault rules. */
  readonly faults: FaultSet;
  /** The admin pause (pauseReading()), not backpressure: see connectionStats() for that. */
  readonly readingPaused: boolean;
  /** Each open connection's figures: queued answer bytes, whether backpressure stopped it, ... */
  connectionStats(): ConnectionStats[];
  /** Closes every connection and the listener: new connections are refused. */
  stop(): Promise<void>;
  /** Listens again on the same address and port. */
  start(): Promise<void>;
  /** Empties the prepared cache: the next EXECUTE of any id gets UNPREPARED. */
  forgetPrepared(): void;
  /** Stops reading from every connection (and new ones) until resumeReading(). */
  pauseReading(): void;
  resumeReading(): void;
  /** Pushes an EVENT to the connections registered for its type. */
  sendEvent(event: CqlEvent): void;
  /** Single-partition statements coordinated here since the start (or the last reset). */
  partitionStats(): PartitionStats;
  resetPartitionStats(): void;
}

const STANDALONE: ClusterView = { peers: () => [] };

function tokenOnly(token: string | undefined): UserDirectory {
  if (token === undefined) throw new Error('CQL node: give the token or the users');
  return new UserDirectory(token);
}

export async function startCqlNode(options: CqlNodeOptions): Promise<CqlNode> {
  const users = options.users ?? tokenOnly(options.token);
  const versions = checkProtocolVersions(options.protocolVersions ?? DEFAULT_PROTOCOL_VERSIONS);
  const cluster = options.cluster ?? STANDALONE;
  const log = options.log ?? (() => undefined);
  const faults = new FaultSet();
  const prepared = new PreparedCache();
  const connections = new Set<CqlConnection>();
  const sockets = new Set<Socket>();
  let identity: NodeIdentity = { ...options.identity };
  let port = options.port;
  let server: Server | undefined;
  let unsubscribe: (() => void) | undefined;
  let readingPaused = false;
  const stats: PartitionStats = { replica: 0, remote: 0 };

  const host: ConnectionHost = {
    versions,
    authenticatorClass: options.authenticatorClass ?? PASSWORD_AUTHENTICATOR,
    users,
    engine: options.engine,
    prepared,
    maxFrameLength: options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH,
    identity: () => identity,
    peers: () => cluster.peers(identity),
    fault: (queries): FaultAction | undefined =>
      faults.take(queries) ?? cluster.faults?.take(queries),
    log: (message) => log(`node ${identity.address}: ${message}`),
    notePartition: (keyspace, key) => {
      const replica = cluster.isReplica?.(identity, keyspace, key);
      if (replica === true) stats.replica++;
      else if (replica === false) stats.remote++;
    },
  };

  const broadcast = (event: CqlEvent): void => {
    for (const connection of connections) connection.sendEvent(event);
  };

  const accept = (socket: Socket): void => {
    const connection = new CqlConnection(socket, host, readingPaused);
    connections.add(connection);
    sockets.add(socket);
    socket.once('close', () => {
      connections.delete(connection);
      sockets.delete(socket);
    });
  };

  const start = async (): Promise<void> => {
    if (server !== undefined) return;
    const listener = createServer(accept);
    listener.listen({ host: options.host, port });
    try {
      await once(listener, 'listening');
    } catch (error) {
      listener.close();
      throw error;
    }
    const bound = listener.address();
    if (bound === null || typeof bound === 'string') throw new Error('CQL node: no port');
    // The same port on every restart, so drivers find the node where they left it.
    port = bound.port;
    identity = { ...identity, port };
    server = listener;
    // Every coordinator tells its registered clients about schema changes (Cassandra's
    // EventNotifier), whichever node ran the DDL.
    unsubscribe = options.engine.onSchemaChange((change) =>
      broadcast({ type: EventType.SCHEMA_CHANGE, change }),
    );
    log(`node ${identity.address}: listening on ${options.host}:${port}`);
  };

  const stop = async (): Promise<void> => {
    const listener = server;
    if (listener === undefined) return;
    server = undefined;
    unsubscribe?.();
    unsubscribe = undefined;
    const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
    log(`node ${identity.address}: stopped`);
  };

  await start();

  return {
    get identity() {
      return identity;
    },
    get address() {
      return `${options.host}:${port}`;
    },
    get up() {
      return server !== undefined;
    },
    get connectionCount() {
      return connections.size;
    },
    faults,
    get readingPaused() {
      return readingPaused;
    },
    connectionStats: () => [...connections].map((connection) => connection.stats()),
    stop,
    start,
    forgetPrepared: () => prepared.forget(),
    pauseReading: () => {
      readingPaused = true;
      for (const connection of connections) connection.setPausedByAdmin(true);
    },
    resumeReading: () => {
      readingPaused = false;
      for (const connection of connections) connection.setPausedByAdmin(false);
    },
    sendEvent: broadcast,
    partitionStats: () => ({ ...stats }),
    resetPartitionStats: () => {
      stats.replica = 0;
      stats.remote = 0;
    },
  };
}
