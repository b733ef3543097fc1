// The connections of one session to one node: `size` of them (--num-conns), the least busy one
// picked for each request. A connection that closes is replaced with exponential backoff and
// jitter; a new connection first prepares the session's cached statements, then takes traffic
// (so a restarted node never answers UNPREPARED to a known statement).
//
// A connection that collects too many orphaned stream ids (requests that timed out and that the
// node never answered) is replaced, as the drivers do (the Java driver's max-orphan-requests): a
// node that stopped answering some requests on one connection often keeps a healthy connection
// working, and every orphan is a stream id lost to traffic until the node answers. The pool opens
// a replacement at once; the old connection keeps serving until another connection of the pool is
// open, then takes no new requests and closes once only orphans remain on it (or after the
// request timeout at the latest).

import type { Logger } from '../ops/logger.js';
import { errorMessage } from '../errors.js';
import type { PooledConnection } from './pooled-connection.js';
import { Backoff } from './backoff.js';

/** Orphaned stream ids beyond which a connection is replaced (the Java driver's default). */
export const DEFAULT_MAX_ORPHANED_STREAMS = 256;

export interface NodeRef {
  /** Stable key: the host id (Astra) or address:port (contact points). */
  readonly key: string;
}

export interface NodePoolOptions {
  size: number;
  /**
   * Opens one ready connection (handshake, auth, USE done). `onClose` must be called once when it
   * closes, for whatever reason.
   */
  connect: (onClose: (error?: Error) => void) => Promise<PooledConnection>;
  /** Run on each new connection before it takes traffic (replays cached PREPAREs). */
  warmUp: (connection: PooledConnection) => Promise<void>;
  backoff: { baseMs: number; maxMs: number };
  logger: Logger;
  /** Told when the pool gains its first open connection or loses its last one. */
  onAvailabilityChange?: (available: boolean) => void;
  /** Orphaned stream ids beyond which a connection is replaced; DEFAULT_MAX_ORPHANED_STREAMS. */
  maxOrphanedStreams?: number;
  /**
   * How long a replaced connection may keep serving the requests it has (the request timeout: by
   * then they have all timed out). Default 12 s.
   */
  retireTimeoutMs?: number;
  /** Told each time a connection is replaced for too many orphaned stream ids. */
  onConnectionReplaced?: () => void;
  /** Told each time a connection joins the pool (requests waiting for a stream id may go). */
  onConnectionOpened?: () => void;
}

/** How long a replaced connection may keep its requests when no request timeout is given. */
const DEFAULT_RETIRE_TIMEOUT_MS = 12_000;

export class NodePool {
  readonly node: NodeRef;
  private readonly options: NodePoolOptions;
  private readonly connections: PooledConnection[] = [];
  private readonly backoff: Backoff;
  private pendingConnects = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closedFlag = false;
  private lastError: Error | undefined;
  /** Over the orphan limit, still serving: no other connection of the pool is open yet. */
  private readonly replacing = new Set<PooledConnection>();
  /** Replaced and out of the pool, closing once only orphans remain on them. */
  private readonly retired = new Set<PooledConnection>();

  constructor(node: NodeRef, options: NodePoolOptions) {
    this.node = node;
    this.options = options;
    this.backoff = new Backoff(options.backoff.baseMs, options.backoff.maxMs);
  }

  /** Open connections, the replaced ones that are still closing included. */
  get openConnections(): number {
    return this.connections.length + this.retired.size;
  }

  /** Orphaned stream ids over the pool's connections (see PooledConnection.orphanedStreams). */
  get orphanedStreams(): number {
    let n = 0;
    for (const c of this.connections) n += c.orphanedStreams ?? 0;
    for (const c of this.retired) n += c.orphanedStreams ?? 0;
    return n;
  }

  get available(): boolean {
    return this.connections.length > 0;
  }

  get inFlight(): number {
    let n = 0;
    for (const c of this.connections) n += c.inFlight;
    return n;
  }

  /** Bytes read from and written to the node by the pool's open connections. */
  get liveBytes(): { read: number; written: number } {
    let read = 0;
    let written = 0;
    for (const list of [this.connections, this.retired]) {
      for (const c of list) {
        read += c.bytesRead ?? 0;
        written += c.bytesWritten ?? 0;
      }
    }
    return { read, written };
  }

  get congested(): boolean {
    return this.connections.some((c) => c.congested);
  }

  /** The error of the last failed connection attempt, if any. */
  get error(): Error | undefined {
    return this.lastError;
  }

  /** The least busy open connection, or undefined when none is open. */
  pick(): PooledConnection | undefined {
    const list = this.connections;
    if (list.length === 1) return list[0];
    let best: PooledConnection | undefined;
    for (const c of list) {
      if (best === undefined || c.inFlight < best.inFlight) best = c;
    }
    return best;
  }

  /**
   * An open connection other than `except`, least busy first: for a request whose frame never left
   * the proxy when `except` closed (pick() may still return `except` while it closes).
   */
  pickOther(except: PooledConnection): PooledConnection | undefined {
    let best: PooledConnection | undefined;
    for (const c of this.connections) {
      if (c === except || c.closed) continue;
      if (best === undefined || c.inFlight < best.inFlight) best = c;
    }
    return best;
  }

  /**
   * A request on `connection` timed out and left its stream id orphaned: past the limit, the
   * connection is replaced (once).
   */
  noteOrphaned(connection: PooledConnection): void {
    const orphans = connection.orphanedStreams ?? 0;
    const max = this.options.maxOrphanedStreams ?? DEFAULT_MAX_ORPHANED_STREAMS;
    if (orphans <= max || this.closedFlag || this.replacing.has(connection)) return;
    if (!this.connections.includes(connection)) return;
    this.replacing.add(connection);
    this.options.onConnectionReplaced?.();
    this.options.logger.warn(
      { node: this.node.key, orphanedStreams: orphans },
      'upstream connection replaced: too many orphaned stream ids',
    );
    this.retireReplaced();
    // The replacement is opened now, not after a backoff: nothing failed to connect.
    void this.fill().catch(() => undefined);
  }

  /**
   * Takes the replaced connections out of the pool once another of its connections is open (until
   * then they keep serving: a slow connection beats none).
   */
  private retireReplaced(): void {
    if (this.replacing.size === 0) return;
    if (!this.connections.some((c) => !this.replacing.has(c))) return;
    for (const c of this.replacing) {
      const i = this.connections.indexOf(c);
      if (i >= 0) this.connections.splice(i, 1);
      this.retired.add(c);
      if (c.retire === undefined) c.close();
      else c.retire(this.options.retireTimeoutMs ?? DEFAULT_RETIRE_TIMEOUT_MS);
    }
    this.replacing.clear();
  }

  /** Opens the pool's connections; resolves when all attempts settled, rejects if none opened. */
  async fill(): Promise<void> {
    // A connection being replaced does not count: its replacement is what is missing.
    const missing =
      this.options.size - (this.connections.length - this.replacing.size) - this.pendingConnects;
    const attempts: Promise<void>[] = [];
    for (let i = 0; i < missing; i++) attempts.push(this.openOne());
    await Promise.all(attempts);
    if (this.connections.length === 0) {
      throw this.lastError ?? new Error(`no connection to ${this.node.key}`);
    }
  }

  private async openOne(): Promise<void> {
    this.pendingConnects++;
    try {
      // The close callback may come before the connection joins the pool (during warm-up).
      const state: { opened?: PooledConnection; closedEarly?: { error?: Error } } = {};
      const connection = await this.options.connect((error) => {
        if (state.opened === undefined) state.closedEarly = error === undefined ? {} : { error };
        else this.onConnectionClosed(state.opened, error);
      });
      try {
        await this.options.warmUp(connection);
      } catch (err) {
        connection.close(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
      if (this.closedFlag) {
        connection.close();
        return;
      }
      if (state.closedEarly !== undefined || connection.closed) {
        throw (
          state.closedEarly?.error ??
          new Error(`connection to ${this.node.key} closed while warming up`)
        );
      }
      state.opened = connection;
      this.lastError = undefined;
      this.backoff.reset();
      this.connections.push(connection);
      if (this.connections.length === 1) this.options.onAvailabilityChange?.(true);
      this.retireReplaced();
      this.options.onConnectionOpened?.();
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      this.options.logger.debug(
        { node: this.node.key, err: errorMessage(err) },
        'upstream connection attempt failed',
      );
      this.scheduleReconnect();
    } finally {
      this.pendingConnects--;
    }
  }

  private onConnectionClosed(connection: PooledConnection, error?: Error): void {
    // A replaced connection that finished: its replacement is already in the pool.
    if (this.retired.delete(connection)) return;
    this.replacing.delete(connection);
    const i = this.connections.indexOf(connection);
    if (i >= 0) this.connections.splice(i, 1);
    if (this.closedFlag) return;
    this.options.logger.debug(
      { node: this.node.key, err: error === undefined ? undefined : errorMessage(error) },
      'upstream connection closed',
    );
    if (this.connections.length === 0) this.options.onAvailabilityChange?.(false);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closedFlag || this.reconnectTimer !== undefined) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closedFlag) return;
      void this.fill().catch(() => undefined);
    }, this.backoff.next());
    this.reconnectTimer.unref();
  }

  /** Reconnects at once (the node was reported up), forgetting the backoff. */
  reconnectNow(): void {
    if (this.closedFlag) return;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.backoff.reset();
    void this.fill().catch(() => undefined);
  }

  close(): void {
    this.closedFlag = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    for (const c of this.connections.splice(0)) c.close();
    for (const c of [...this.retired]) c.close();
    this.retired.clear();
    this.replacing.clear();
  }
}
