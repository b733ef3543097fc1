// A session: the pools of one (protocol version, keyspace, compression) to every node, and the
// request traffic over them. Requests are spread round robin across nodes, least busy connection
// first; when every connection is out of stream ids they wait in a bounded queue, and beyond it
// the client gets OVERLOADED at once instead of the proxy buffering without bound.

import type { BodyCompressionName, BodyCompressor } from '../protocol/compression.js';
import { ErrorCode, ResultKind } from '../protocol/constants.js';
import type { Logger } from '../ops/logger.js';
import type { BackendSession, ForwardedRequest } from './contract.js';
import type { NodePool } from './node-pool.js';
import type { PreparedCache } from './prepared-cache.js';
import type { PooledConnection, ResponseHandler } from './pooled-connection.js';
import { Request, responseBodyOf } from './request.js';
import type { RequestTimeouts } from './request-timeouts.js';

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
  logger: Logger;
  requestObserver?: RequestObserver | undefined;
  /**
   * Opens pools to every node again for a session whose idle pools were closed (sleep()).
   * Rejects when no node accepts a connection.
   */
  reopen?: (session: Session) => Promise<readonly NodePool[]>;
}

/** The handler of background requests whose answer does not matter. */
const IGNORE_RESPONSE: ResponseHandler = { onResponse: () => undefined, onClosed: () => undefined };

export function sessionKey(
  version: number,
  keyspace: string | undefined,
  compression: BodyCompressionName | undefined,
): string {
  return `${version}/${keyspace ?? ''}/${compression ?? ''}`;
}

export class Session implements BackendSession {
  readonly key: string;
  readonly version: number;
  readonly keyspace: string | undefined;
  readonly compression: BodyCompressionName | undefined;
  readonly metrics: SessionMetrics;
  /** Told of every finished request; undefined when metrics are off (then nothing is timed). */
  readonly observer: RequestObserver | undefined;
  private readonly options: SessionOptions;
  /** Replaced, never mutated, when the topology changes: requests keep the array they started with. */
  private pools: readonly NodePool[] = [];
  private roundRobin = 0;
  private readonly waiting: Request[] = [];
  private waitingHead = 0;
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
    this.drainWaiting();
  }

  send(forwarded: ForwardedRequest): void {
    this.metrics.requests++;
    const now = Date.now();
    this.lastUsed = now;
    const request = new Request(this, forwarded, now + this.options.requestTimeoutMs);
    this.options.timeouts.add(request);
    if (this.dormant || this.waking) {
      this.wake();
      this.queue(request);
      return;
    }
    const pools = this.pools;
    const start = this.roundRobin;
    this.roundRobin = (start + 1) % Math.max(1, pools.length);
    if (this.waitingHead < this.waiting.length || !request.start(pools, start))
      this.enqueue(request);
  }

  /** True while the session's idle pools are closed or reopening. */
  get asleep(): boolean {
    return this.dormant || this.waking;
  }

  /** No request waiting or in flight on any of its connections. */
  get idle(): boolean {
    if (this.waitingHead < this.waiting.length) return false;
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
      },
      (err: unknown) => {
        this.waking = false;
        this.dormant = true;
        const message = `Proxy could not reopen connections to the cluster: ${err instanceof Error ? err.message : String(err)}`;
        while (this.waitingHead < this.waiting.length) {
          const request = this.waiting[this.waitingHead];
          this.waiting[this.waitingHead++] = undefined as unknown as Request;
          request?.failWith(ErrorCode.SERVER_ERROR, message);
        }
      },
    );
  }

  /** Into the wait queue, bounded; OVERLOADED beyond the bound. */
  private queue(request: Request): void {
    if (this.waiting.length - this.waitingHead >= this.options.maxQueuedRequests) {
      this.metrics.overloaded++;
      request.failWith(
        ErrorCode.OVERLOADED,
        `Proxy is overloaded: ${this.options.maxQueuedRequests} requests already wait for a free connection`,
      );
      return;
    }
    this.waiting.push(request);
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

  /** Called by a request when it is answered (or timed out): a stream id may be free again. */
  onRequestDone(request: Request): void {
    this.options.timeouts.remove(request);
    if (this.waitingHead < this.waiting.length) this.drainWaiting();
  }

  private drainWaiting(): void {
    const pools = this.pools;
    while (this.waitingHead < this.waiting.length) {
      const head = this.waiting[this.waitingHead];
      if (head === undefined) break;
      if (!head.done) {
        const start = this.roundRobin;
        this.roundRobin = (start + 1) % Math.max(1, pools.length);
        if (!head.start(pools, start)) break;
      }
      this.waiting[this.waitingHead++] = undefined as unknown as Request;
    }
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
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
      this.prepareOnOtherNodes(requestFrame, preparedOn);
    } catch (err) {
      this.options.logger.debug({ err }, 'cannot read a PREPARED result');
    }
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

  /** Prepares this session's cached statements on a new connection before it takes traffic. */
  async warmUp(connection: PooledConnection): Promise<void> {
    const entries = this.options.preparedCache.forSession(this.key);
    if (entries.length === 0) return;
    const CONCURRENCY = 64;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const entry = entries[next++];
        if (entry === undefined) return;
        await new Promise<void>((resolve) => {
          const handler: ResponseHandler = {
            onResponse: () => resolve(),
            onClosed: () => resolve(),
          };
          if (!connection.send(Buffer.from(entry.frame), handler)) resolve();
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, entries.length) }, worker));
    this.options.logger.debug(
      { session: this.key, statements: entries.length },
      'prepared cached statements on a new connection',
    );
  }

  close(): void {
    for (const p of this.pools) p.close();
    this.pools = [];
    if (this.congestionPoll !== undefined) clearInterval(this.congestionPoll);
    for (const r of this.waiting.splice(0))
      r?.failWith(ErrorCode.SERVER_ERROR, 'Proxy is shutting down');
  }
}
