// A session: the pools of one (protocol version, keyspace, compression) to every node, and the
// request traffic over them. Requests are spread round robin across nodes, least busy connection
// first (or to a replica of their partition, routing.ts); when every connection is out of stream
// ids they wait in a bounded queue that is fair between clients (wait-queue.ts), and beyond it the
// client gets OVERLOADED at once instead of the proxy buffering without bound.

import type { BodyCompressionName, BodyCompressor } from '../protocol/compression.js';
import { ErrorCode, ResultKind } from '../protocol/constants.js';
import { decodeResult } from '../protocol/messages/result.js';
import { messageBody } from '../protocol/frame-body.js';
import type { Logger } from '../ops/logger.js';
import type { BackendSession, ForwardedRequest, SessionCredentials } from './contract.js';
import type { NodePool } from './node-pool.js';
import type { PreparedCache } from './prepared-cache.js';
import type { PooledConnection, ResponseHandler } from './pooled-connection.js';
import { Request } from './request.js';
import type { RequestObserver } from './request-outcome.js';
import { isSchemaChangeResult, type SchemaAgreement } from './schema-agreement.js';
import type { RequestTimeouts } from './request-timeouts.js';
import type { Router } from './routing.js';
import { FairWaitQueue } from './wait-queue.js';
import { warmUp } from './warm-up.js';

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
  /** Requests waiting for a free stream id (wait-queue.ts). */
  private readonly waiting: FairWaitQueue<Request>;
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
    this.waiting = new FairWaitQueue<Request>(options.maxQueuedRequests, (request) =>
      this.overloaded(request),
    );
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
      this.waiting.add(request);
      return;
    }
    const pools = this.pools;
    const start = this.roundRobin;
    this.roundRobin = (start + 1) % Math.max(1, pools.length);
    if (this.options.router !== undefined)
      request.preferred = this.replicaFor(request.frame, start);
    if (this.waiting.size > 0 || !request.start(pools, start)) this.enqueue(request);
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
    if (this.waiting.size > 0) return false;
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

  private overloaded(request: Request): void {
    this.metrics.overloaded++;
    request.failWith(
      ErrorCode.OVERLOADED,
      `Proxy is overloaded: ${this.options.maxQueuedRequests} requests already wait for a free connection`,
    );
  }

  /** Answers every waiting request with SERVER_ERROR `message` and empties the queue. */
  private failAllWaiting(message: string): void {
    for (const request of this.waiting.takeAll()) request.failWith(ErrorCode.SERVER_ERROR, message);
  }

  private enqueue(request: Request): void {
    if (!this.pools.some((p) => p.available)) {
      request.failWith(
        ErrorCode.SERVER_ERROR,
        'Proxy has no connection to any node of the cluster',
      );
      return;
    }
    this.waiting.add(request);
  }

  /**
   * A stream id may be free without a request of this session finishing: the late answer to a
   * request that timed out (see Request.orphanStream), a background PREPARE answered, a new
   * connection in a pool. Nothing else would send a waiting request now. Made once per session,
   * not per request.
   */
  readonly streamFreed = (): void => {
    if (this.waiting.size > 0) this.drainWaiting();
  };

  /** Called by a request when it is answered (or timed out): a stream id may be free again. */
  onRequestDone(request: Request): void {
    this.options.timeouts.remove(request);
    if (this.waiting.size > 0) this.drainWaiting();
  }

  /** Sends waiting requests while stream ids are free (wait-queue.ts says in which order). */
  private drainWaiting(): void {
    const pools = this.pools;
    this.waiting.drain((request) => {
      const start = this.roundRobin;
      this.roundRobin = (start + 1) % Math.max(1, pools.length);
      return request.start(pools, start);
    });
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
    return messageBody(frame, this.version, true, this.decompress);
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

  /** Prepares this session's cached statements on a new connection (warm-up.ts). */
  warmUp(connection: PooledConnection): Promise<void> {
    return warmUp(connection, this.options.preparedCache.forSession(this.key), {
      sessionKey: this.key,
      timeoutMs: this.options.requestTimeoutMs,
      logger: this.options.logger,
      onAnswered: this.streamFreed,
    });
  }

  close(): void {
    for (const p of this.pools) p.close();
    this.pools = [];
    if (this.congestionPoll !== undefined) clearInterval(this.congestionPoll);
    this.failAllWaiting('Proxy is shutting down');
  }
}
