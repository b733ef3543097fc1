// A session: the pools of one (protocol version, keyspace, compression) to every node, and the
// request traffic over them. Requests are spread round robin across nodes, least busy connection
// first; when every connection is out of stream ids they wait in a bounded queue, and beyond it
// the client gets OVERLOADED at once instead of the proxy buffering without bound.
//
// The wait queue is fair between clients: each owner (client connection) has its own FIFO, and
// the owners are served round robin, one request per turn. When the queue is full, the owner with
// the most requests waiting gives up its newest one to a client that has fewer, so a client that
// floods cannot starve the others, in the queue or at its door.

import type { BodyCompressionName, BodyCompressor } from '../protocol/compression.js';
import { ErrorCode, ResultKind } from '../protocol/constants.js';
import { decodeResult } from '../protocol/messages/result.js';
import type { Logger } from '../ops/logger.js';
import type { BackendSession, ForwardedRequest, SessionCredentials } from './contract.js';
import type { NodePool } from './node-pool.js';
import type { CachedPrepare, PreparedCache } from './prepared-cache.js';
import type { PooledConnection, ResponseHandler } from './pooled-connection.js';
import { Request, responseBodyOf } from './request.js';
import { isSchemaChangeResult, type SchemaAgreement } from './schema-agreement.js';
import type { RequestTimeouts } from './request-timeouts.js';
import type { Router } from './routing.js';

export interface SessionMetrics {
  requests: number;
  retries: number;
  unpreparedRecovered: number;
  timeouts: number;
  overloaded: number;
}

export function newSessionMetrics(): SessionMetrics {
  return { requests: 0, retries: 0, unpreparedRecovered: 0, timeouts: 0, overloaded: 0 };
}

/** Who answered a request with an error: the cluster, or the proxy itself (and why). */
export const ErrorOrigin = {
  CLUSTER: 0,
  /** A proxy-made error: no node reachable, plan exhausted, wait queue full, shutting down. */
  PROXY: 1,
  /** The proxy's request timeout (--request-timeout) fired. */
  TIMEOUT: 2,
} as const;
export type ErrorOrigin = (typeof ErrorOrigin)[keyof typeof ErrorOrigin];

/** The error code of a request that was answered with a RESULT (or any non-ERROR response). */
export const NO_ERROR = -1;
/** The error code of an ERROR response the proxy could not read. */
export const UNREADABLE_ERROR = -2;

/**
 * Told of every request when its answer goes back to the client (metrics). It runs on the hot
 * path, once per request: it must be cheap and must not throw.
 */
export interface RequestObserver {
  /**
   * `errorCode` is NO_ERROR, UNREADABLE_ERROR or the CQL error code of the answer; `startedAt`
   * is the performance.now() of the request's arrival.
   */
  requestDone(opcode: number, errorCode: number, origin: ErrorOrigin, startedAt: number): void;
}

export interface SessionOptions {
  key: string;
  version: number;
  keyspace: string | undefined;
  compression: BodyCompressor | undefined;
  preparedCache: PreparedCache;
  timeouts: RequestTimeouts;
  requestTimeoutMs: number;
  maxQueuedRequests: number;
  maxFrameLength: number;
  metrics: SessionMetrics;
  /** Token-aware routing (routing.ts); round robin only when absent. */
  router?: Router | undefined;
  logger: Logger;
  requestObserver?: RequestObserver | undefined;
  /** A client's own credentials (pass-through authentication); the proxy's own when absent. */
  credentials?: SessionCredentials | undefined;
  /**
   * Opens pools to every node again for a session whose idle pools were closed (sleep()).
   * Rejects when no node accepts a connection.
   */
  reopen?: (session: Session) => Promise<readonly NodePool[]>;
  /** Schema changes are answered once the nodes agree (schema-agreement.ts); absent: at once. */
  schemaAgreement?: SchemaAgreement | undefined;
  /**
   * Told once reopened pools are set: nodes added or removed while they were opening (a
   * topology change skips a waking session) are reconciled now, so none is lost.
   */
  onWoken?: (session: Session) => void;
}

/** Cached statements prepared on a new connection before it takes traffic: the most recently used. */
export const WARM_UP_BEFORE_TRAFFIC = 256;
/** How many of those are in flight at once (a new connection has all its stream ids free). */
const WARM_UP_CONCURRENCY = 64;
/** The older ones follow in the background, this many at a time, while the connection serves. */
export const WARM_UP_BACKGROUND_CONCURRENCY = 4;

/** The owner of requests that do not name one: they share one turn of the wait queue. */
const NO_OWNER: object = {};

/** One owner's waiting requests, oldest first, and its place in the ring of owners served in turn. */
class OwnerQueue {
  readonly owner: object;
  readonly items: (Request | undefined)[] = [];
  head = 0;
  prev: OwnerQueue = this;
  next: OwnerQueue = this;

  constructor(owner: object) {
    this.owner = owner;
  }

  get length(): number {
    return this.items.length - this.head;
  }
}

/** The handler of background requests whose answer does not matter. */
const IGNORE_RESPONSE: ResponseHandler = { onResponse: () => undefined, onClosed: () => undefined };

export function sessionKey(
  version: number,
  keyspace: string | undefined,
  compression: BodyCompressionName | undefined,
  credentialId?: string,
): string {
  const key = `${version}/${keyspace ?? ''}/${compression ?? ''}`;
  return credentialId === undefined ? key : `${key}/${credentialId}`;
}

export class Session implements BackendSession {
  readonly key: string;
  readonly version: number;
  readonly keyspace: string | undefined;
  readonly compression: BodyCompressionName | undefined;
  /** The client's own credentials (pass-through), or undefined for the proxy's. */
  readonly credentials: SessionCredentials | undefined;
  readonly metrics: SessionMetrics;
  /** Told of every finished request; undefined when metrics are off (then nothing is timed). */
  readonly observer: RequestObserver | undefined;
  private readonly options: SessionOptions;
  /** Replaced, never mutated, when the topology changes: requests keep the array they started with. */
  private pools: readonly NodePool[] = [];
  private roundRobin = 0;
  /** The pools by node ordinal (Router.ordinalOf), for token-aware routing. */
  private poolByOrdinal: (NodePool | undefined)[] = [];
  /** The wait queue: one FIFO per owner, in a ring served round robin from `turn`. */
  private readonly waitingBy = new Map<object, OwnerQueue>();
  private turn: OwnerQueue | undefined;
  /** Requests in the wait queue, over every owner (those that timed out there included). */
  private waitingCount = 0;
  private uncongestedListeners: (() => void)[] = [];
  private congestionPoll: NodeJS.Timeout | undefined;
  private readonly decompress: ((body: Buffer) => Buffer) | undefined;
  /** When a request was last sent (ms since the epoch). */
  lastUsed = Date.now();
  /** Pools closed after idleness (sleep()); the next request reopens them. */
  private dormant = false;
  private waking = false;

  constructor(options: SessionOptions) {
    this.options = options;
    this.key = options.key;
    this.version = options.version;
    this.keyspace = options.keyspace;
    this.compression = options.compression?.name;
    this.credentials = options.credentials;
    this.metrics = options.metrics;
    this.observer = options.requestObserver;
    const compressor = options.compression;
    this.decompress =
      compressor === undefined
        ? undefined
        : (body) => compressor.decompress(body, options.maxFrameLength);
  }

  get nodePools(): readonly NodePool[] {
    return this.pools;
  }

  setPools(pools: readonly NodePool[]): void {
    this.pools = pools;
    const router = this.options.router;
    this.poolByOrdinal = [];
    if (router !== undefined)
      for (const p of pools) this.poolByOrdinal[router.ordinalOf(p.node.key)] = p;
    this.drainWaiting();
  }

  send(forwarded: ForwardedRequest): void {
    this.metrics.requests++;
    const now = Date.now();
    this.lastUsed = now;
    const timeoutMs =
      forwarded.longRunning === true
        ? this.options.timeouts.timeoutFor(true)
        : this.options.requestTimeoutMs;
    const request = new Request(this, forwarded, now + timeoutMs);
    this.options.timeouts.add(request);
    if (this.dormant || this.waking) {
      this.wake();
      this.queue(request);
      return;
    }
    const pools = this.pools;
    const start = this.roundRobin;
    this.roundRobin = (start + 1) % Math.max(1, pools.length);
    if (this.options.router !== undefined)
      request.preferred = this.replicaFor(request.frame, start);
    if (this.waitingCount > 0 || !request.start(pools, start)) this.enqueue(request);
  }

  /**
   * The least busy pool, with a connection, of a node that owns the request's partition (routing.ts);
   * undefined when the replicas are not known or none is available (then round robin). Ties go
   * round robin too, from `turn`, so that one partition's load spreads over its replicas.
   */
  private replicaFor(frame: Buffer, turn: number): NodePool | undefined {
    const replicas = this.options.router?.replicasOf(frame, this.version);
    if (replicas === undefined) return undefined;
    const n = replicas.length;
    let best: NodePool | undefined;
    let bestLoad = 0;
    for (let i = 0; i < n; i++) {
      const pool = this.poolByOrdinal[replicas[(turn + i) % n]!];
      if (pool === undefined || !pool.available) continue;
      const load = pool.inFlight;
      if (best === undefined || load < bestLoad) {
        best = pool;
        bestLoad = load;
      }
    }
    return best;
  }

  /** True while the session's idle pools are closed or reopening. */
  get asleep(): boolean {
    return this.dormant || this.waking;
  }

  /** No request waiting or in flight on any of its connections. */
  get idle(): boolean {
    if (this.waitingCount > 0) return false;
    for (const p of this.pools) if (p.inFlight > 0) return false;
    return true;
  }

  /**
   * Closes the pools of an idle session (a keyspace nobody used for a while) to free their
   * connections; the session object stays valid, and its next request reopens them.
   */
  sleep(): void {
    if (this.asleep || this.options.reopen === undefined || !this.idle) return;
    for (const p of this.pools) p.close();
    this.pools = [];
    this.dormant = true;
  }

  private wake(): void {
    const reopen = this.options.reopen;
    if (this.waking || reopen === undefined) return;
    this.dormant = false;
    this.waking = true;
    reopen(this).then(
      (pools) => {
        this.waking = false;
        this.setPools(pools);
        this.options.onWoken?.(this);
      },
      (err: unknown) => {
        this.waking = false;
        this.dormant = true;
        const message = `Proxy could not reopen connections to the cluster: ${err instanceof Error ? err.message : String(err)}`;
        this.failAllWaiting(message);
      },
    );
  }

  /** Into the owner's wait queue, bounded in total; OVERLOADED beyond the bound. */
  private queue(request: Request): void {
    const owner = request.owner ?? NO_OWNER;
    if (this.waitingCount >= this.options.maxQueuedRequests && !this.makeRoomFor(owner)) {
      this.overloaded(request);
      return;
    }
    let q = this.waitingBy.get(owner);
    if (q === undefined) {
      q = new OwnerQueue(owner);
      this.waitingBy.set(owner, q);
      this.link(q);
    }
    q.items.push(request);
    this.waitingCount++;
  }

  private overloaded(request: Request): void {
    this.metrics.overloaded++;
    request.failWith(
      ErrorCode.OVERLOADED,
      `Proxy is overloaded: ${this.options.maxQueuedRequests} requests already wait for a free connection`,
    );
  }

  /**
   * The wait queue is full and `owner` wants a place. Requests that timed out while waiting are
   * dropped first. Then, if another owner has at least two more requests waiting than `owner`,
   * its newest one is answered OVERLOADED and its place goes to `owner`: the longest queue pays,
   * not the client that waits least. False: nothing could be freed, `owner` is refused.
   */
  private makeRoomFor(owner: object): boolean {
    let longest: OwnerQueue | undefined;
    for (const q of [...this.waitingBy.values()]) {
      while (q.length > 0 && q.items[q.head]?.done === true) this.shift(q);
      if (q.length === 0) this.unlink(q);
      else if (longest === undefined || q.length > longest.length) longest = q;
    }
    if (this.waitingCount < this.options.maxQueuedRequests) return true;
    const own = this.waitingBy.get(owner)?.length ?? 0;
    if (longest === undefined || longest.owner === owner || longest.length < own + 2) return false;
    const evicted = longest.items.pop();
    this.waitingCount--;
    if (longest.length === 0) this.unlink(longest);
    // Failed last: its answer may run code that comes back to this queue.
    if (evicted !== undefined) this.overloaded(evicted);
    return true;
  }

  /** Drops the head of `q` (started, or finished while waiting). */
  private shift(q: OwnerQueue): void {
    q.items[q.head++] = undefined;
    this.waitingCount--;
    if (q.head > 1024 && q.head * 2 > q.items.length) {
      q.items.splice(0, q.head);
      q.head = 0;
    }
  }

  /** Adds an owner's queue to the ring, last in turn. */
  private link(q: OwnerQueue): void {
    const turn = this.turn;
    if (turn === undefined) {
      q.prev = q;
      q.next = q;
      this.turn = q;
      return;
    }
    q.prev = turn.prev;
    q.next = turn;
    turn.prev.next = q;
    turn.prev = q;
  }

  /** Takes an owner's (empty) queue out of the ring. */
  private unlink(q: OwnerQueue): void {
    if (this.waitingBy.get(q.owner) !== q) return;
    this.waitingBy.delete(q.owner);
    if (q.next === q) {
      this.turn = undefined;
      return;
    }
    q.prev.next = q.next;
    q.next.prev = q.prev;
    if (this.turn === q) this.turn = q.next;
  }

  /** Answers every waiting request with SERVER_ERROR `message` and empties the queue. */
  private failAllWaiting(message: string): void {
    const queues = [...this.waitingBy.values()];
    this.waitingBy.clear();
    this.turn = undefined;
    this.waitingCount = 0;
    for (const q of queues) {
      for (let i = q.head; i < q.items.length; i++)
        q.items[i]?.failWith(ErrorCode.SERVER_ERROR, message);
    }
  }

  private enqueue(request: Request): void {
    if (!this.pools.some((p) => p.available)) {
      request.failWith(
        ErrorCode.SERVER_ERROR,
        'Proxy has no connection to any node of the cluster',
      );
      return;
    }
    this.queue(request);
  }

  /**
   * A stream id may be free without a request of this session finishing: the late answer to a
   * request that timed out (see Request.orphanStream), a background PREPARE answered, a new
   * connection in a pool. Nothing else would send a waiting request now. Made once per session,
   * not per request.
   */
  readonly streamFreed = (): void => {
    if (this.waitingCount > 0) this.drainWaiting();
  };

  /** Called by a request when it is answered (or timed out): a stream id may be free again. */
  onRequestDone(request: Request): void {
    this.options.timeouts.remove(request);
    if (this.waitingCount > 0) this.drainWaiting();
  }

  /**
   * Sends waiting requests while stream ids are free: one per owner per turn. A request that
   * finished while waiting (timed out) is dropped without using its owner's turn.
   */
  private drainWaiting(): void {
    const pools = this.pools;
    while (this.waitingCount > 0) {
      const q = this.turn;
      if (q === undefined) break;
      const head = q.items[q.head];
      if (head !== undefined && !head.done) {
        const start = this.roundRobin;
        this.roundRobin = (start + 1) % Math.max(1, pools.length);
        if (!head.start(pools, start)) break;
        this.shift(q);
        this.turn = q.next;
      } else {
        this.shift(q);
      }
      if (q.length === 0) this.unlink(q);
    }
  }

  get congested(): boolean {
    for (const p of this.pools) if (p.congested) return true;
    return false;
  }

  onceUncongested(listener: () => void): void {
    this.uncongestedListeners.push(listener);
    if (this.congestionPoll !== undefined) return;
    // Sockets of several pools feed this; a short poll is simpler than wiring every drain event.
    this.congestionPoll = setInterval(() => {
      if (this.congested) return;
      clearInterval(this.congestionPoll);
      this.congestionPoll = undefined;
      const listeners = this.uncongestedListeners;
      this.uncongestedListeners = [];
      for (const l of listeners) l();
    }, 5);
    this.congestionPoll.unref();
  }

  /** A RESULT SCHEMA_CHANGE to hold until the nodes agree (schema-agreement.ts). */
  waitsForSchemaAgreement(frame: Buffer): boolean {
    const agreement = this.options.schemaAgreement;
    return agreement !== undefined && agreement.enabled && isSchemaChangeResult(frame, this);
  }

  /** Resolves once the nodes agree on the schema or the wait timed out. */
  schemaAgreed(): Promise<boolean> {
    return this.options.schemaAgreement?.wait() ?? Promise.resolve(false);
  }

  /** The message body of a response frame of this session. */
  responseBody(frame: Buffer): Buffer {
    return responseBodyOf(frame, this.version, this.decompress);
  }

  /** A PREPARE was answered: remember its frame by the prepared id. */
  rememberPrepared(requestFrame: Buffer, responseFrame: Buffer, preparedOn?: NodePool): void {
    try {
      const body = this.responseBody(responseFrame);
      if (body.length < 6 || body.readInt32BE(0) !== ResultKind.PREPARED) return;
      const idLength = body.readUInt16BE(4);
      if (body.length < 6 + idLength) return;
      this.options.preparedCache.set(body.subarray(6, 6 + idLength), requestFrame, this.key);
      this.routePrepared(body);
      this.prepareOnOtherNodes(requestFrame, preparedOn);
    } catch (err) {
      this.options.logger.debug({ err }, 'cannot read a PREPARED result');
    }
  }

  /** Tells the router a PREPARED result's keyspace and partition key indexes (routing.ts). */
  private routePrepared(body: Buffer): void {
    const router = this.options.router;
    if (router === undefined) return;
    const result = decodeResult(body, this.version);
    if (result.kind !== ResultKind.PREPARED) return;
    const { pkIndexes, columns } = result.metadata;
    const keyspace = columns[pkIndexes[0] ?? 0]?.keyspace;
    if (keyspace !== undefined) router.notePrepared(result.id, keyspace, pkIndexes);
  }

  /**
   * Drivers prepare on every node; through the proxy a client prepares once, on one node. The
   * proxy prepares on the others too, in the background, so the first EXECUTE there is not an
   * UNPREPARED round trip (a burst of them under load otherwise). Best effort: a failure only
   * means the UNPREPARED repair does the work later.
   */
  private prepareOnOtherNodes(requestFrame: Buffer, preparedOn: NodePool | undefined): void {
    for (const pool of this.pools) {
      if (pool === preparedOn) continue;
      const connection = pool.pick();
      // A private copy each: every send patches its own stream id into the frame.
      connection?.send(Buffer.from(requestFrame), IGNORE_RESPONSE);
    }
  }

  /** A private copy of the cached PREPARE frame for `id`, if this session prepared it. */
  cachedPrepareFor(id: Uint8Array): Buffer | undefined {
    const entry = this.options.preparedCache.get(id, this.key);
    if (entry === undefined || entry.sessionKey !== this.key) return undefined;
    return Buffer.from(entry.frame);
  }

  /**
   * Prepares this session's cached statements on a new connection. Only the most recently used
   * (WARM_UP_BEFORE_TRAFFIC) are prepared before it takes traffic, and for no longer than the
   * request timeout: a cache of many thousand statements, or a node slow to answer, must not keep
   * a connection (and the requests waiting for one) from serving. The older statements follow in
   * the background, most recent first, a few at a time, until the connection closes; the
   * UNPREPARED repair covers whatever is not prepared yet when a request needs it.
   */
  async warmUp(connection: PooledConnection): Promise<void> {
    const entries = this.options.preparedCache.forSession(this.key);
    if (entries.length === 0) return;
    // forSession() lists the most recently used last.
    const split = Math.max(0, entries.length - WARM_UP_BEFORE_TRAFFIC);
    const first = entries.slice(split).reverse();
    const rest = entries.slice(0, split).reverse();
    const stop = { stopped: false };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        stop.stopped = true;
        resolve();
      }, this.options.requestTimeoutMs);
      timer.unref();
    });
    const replayed = await Promise.race([
      replayPrepares(connection, first, WARM_UP_CONCURRENCY, stop),
      timedOut.then(() => -1),
    ]);
    clearTimeout(timer);
    this.options.logger.debug(
      { session: this.key, statements: first.length, prepared: replayed, later: rest.length },
      replayed < 0
        ? 'preparing cached statements on a new connection took longer than the request timeout: it takes traffic now'
        : 'prepared cached statements on a new connection',
    );
    if (rest.length === 0 || connection.closed) return;
    void replayPrepares(
      connection,
      rest,
      WARM_UP_BACKGROUND_CONCURRENCY,
      { stopped: false },
      this.streamFreed,
    ).then((n) =>
      this.options.logger.debug(
        { session: this.key, statements: rest.length, prepared: n },
        'prepared older cached statements on a new connection in the background',
      ),
    );
  }

  close(): void {
    for (const p of this.pools) p.close();
    this.pools = [];
    if (this.congestionPoll !== undefined) clearInterval(this.congestionPoll);
    this.failAllWaiting('Proxy is shutting down');
  }
}

/**
 * Sends cached PREPARE frames on `connection`, `concurrency` at a time, each answer awaited, in
 * the order given, until done, `stop.stopped`, or the connection closes. Resolves with how many
 * were answered; `onAnswered` is told of each (its stream id is free again). A frame the
 * connection cannot take now (no stream id free) is skipped.
 */
async function replayPrepares(
  connection: PooledConnection,
  entries: readonly CachedPrepare[],
  concurrency: number,
  stop: { stopped: boolean },
  onAnswered?: () => void,
): Promise<number> {
  let next = 0;
  let answered = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length && !stop.stopped && !connection.closed) {
      const entry = entries[next++];
      if (entry === undefined) return;
      const ok = await new Promise<boolean>((resolve) => {
        const handler: ResponseHandler = {
          onResponse: () => resolve(true),
          onClosed: () => resolve(false),
        };
        // A private copy each: the send patches its stream id into the frame.
        if (!connection.send(Buffer.from(entry.frame), handler)) resolve(false);
      });
      if (ok) {
        answered++;
        onAnswered?.();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
  return answered;
}
