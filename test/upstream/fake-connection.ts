// An in-memory PooledConnection for the request-layer tests, with the optional parts real
// connections have (orphaned stream ids, retirement, requests closed before they were written),
// a Session over pools of them, and a logger that keeps its lines.

import { Writable } from 'node:stream';
import { ResultKind } from '../../src/protocol/constants.js';
import { resultFrame } from '../../src/protocol/messages/result.js';
import type { BodyCompressor } from '../../src/protocol/compression.js';
import { createLogger, silentLogger, type Logger } from '../../src/ops/logger.js';
import { NodePool } from '../../src/upstream/node-pool.js';
import type { PooledConnection, ResponseHandler } from '../../src/upstream/pooled-connection.js';
import { PreparedCache } from '../../src/upstream/prepared-cache.js';
import { RequestTimeouts } from '../../src/upstream/request-timeouts.js';
import type { RequestObserver } from '../../src/upstream/request-outcome.js';
import { Session, newSessionMetrics, type SessionMetrics } from '../../src/upstream/session.js';

export const VERSION = 4;

/** What a fake connection was sent and has not answered yet. */
export interface InFlight {
  /** A copy of the frame as sent (stream id patched). */
  frame: Buffer;
  streamId: number;
  handler: ResponseHandler;
  orphaned: boolean;
}

const NO_OP: ResponseHandler = { onResponse: () => undefined, onClosed: () => undefined };

/** A connection with `capacity` stream ids that records what it is sent. */
export class FakeConnection implements PooledConnection {
  readonly sent: InFlight[] = [];
  /** Every frame ever sent, in order (copies). */
  readonly log: Buffer[] = [];
  private readonly free: number[];
  closed = false;
  congested = false;
  /** The timeout retire() was called with, if it was. */
  retiredWith: number | undefined;
  private onLateAnswer: (() => void) | undefined;
  /** The pool's close callback, when a pool opened it. */
  onCloseHook: ((error?: Error) => void) | undefined;
  readonly name: string;

  constructor(name: string, capacity = 8) {
    this.name = name;
    this.free = Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
  }

  get inFlight(): number {
    return this.sent.length;
  }

  get orphanedStreams(): number {
    return this.sent.filter((s) => s.orphaned).length;
  }

  send(frame: Buffer, handler: ResponseHandler): boolean {
    if (this.closed) return false;
    const id = this.free.pop();
    if (id === undefined) return false;
    frame.writeInt16BE(id, 2);
    const copy = Buffer.from(frame);
    this.sent.push({ frame: copy, streamId: id, handler, orphaned: false });
    this.log.push(copy);
    return true;
  }

  orphan(streamId: number, handler: ResponseHandler, onLateAnswer?: () => void): boolean {
    const entry = this.sent.find((s) => s.streamId === streamId);
    if (entry === undefined || entry.handler !== handler) return false;
    entry.handler = NO_OP;
    entry.orphaned = true;
    if (onLateAnswer !== undefined) this.onLateAnswer = onLateAnswer;
    return true;
  }

  retire(timeoutMs: number): void {
    this.retiredWith = timeoutMs;
    this.closeIfOnlyOrphans();
  }

  /** Answers the oldest request with `make(streamId, request)`. */
  answer(make: (streamId: number, request: Buffer) => Buffer): void {
    const first = this.sent[0];
    if (first === undefined) throw new Error(`${this.name}: nothing in flight`);
    this.answerStream(first.streamId, make);
  }

  /** Answers the request on `streamId`. */
  answerStream(streamId: number, make: (streamId: number, request: Buffer) => Buffer): void {
    const i = this.sent.findIndex((s) => s.streamId === streamId);
    const entry = this.sent[i];
    if (entry === undefined) throw new Error(`${this.name}: nothing on stream ${streamId}`);
    this.sent.splice(i, 1);
    this.free.push(entry.streamId);
    if (entry.orphaned) this.onLateAnswer?.();
    entry.handler.onResponse(make(entry.streamId, entry.frame));
    if (this.retiredWith !== undefined) this.closeIfOnlyOrphans();
  }

  /** Closes; the requests whose stream id is in `unsent` are told they were never written. */
  close(_error?: Error, unsent: ReadonlySet<number> = new Set()): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sent.splice(0))
      s.handler.onClosed(new Error(`${this.name} closed`), unsent.has(s.streamId));
    // After the handlers, as UpstreamConnection does.
    this.onCloseHook?.();
  }

  private closeIfOnlyOrphans(): void {
    if (this.sent.every((s) => s.orphaned)) this.close();
  }
}

export const voidResult = (streamId: number): Buffer =>
  resultFrame(VERSION, streamId, { kind: ResultKind.VOID });

/** A whole request frame as a client sends it. */
export function requestFrame(
  opcode: number,
  clientStream: number,
  body = Buffer.from([0, 0, 0, 1, 0x41]),
  version = VERSION,
): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt8(version, 0);
  header.writeInt16BE(clientStream, 2);
  header.writeUInt8(opcode, 4);
  header.writeInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

export interface SessionSetup {
  session: Session;
  cache: PreparedCache;
  timeouts: RequestTimeouts;
  metrics: SessionMetrics;
  pools: NodePool[];
}

export interface SetupOptions {
  maxQueued?: number;
  timeoutMs?: number;
  compression?: BodyCompressor;
  logger?: Logger;
  observer?: RequestObserver;
  maxOrphanedStreams?: number;
  onConnectionReplaced?: () => void;
  /** Connections a pool opens after the initial ones (replacements), per node. */
  spares?: FakeConnection[][];
}

const made: RequestTimeouts[] = [];

/** Closes the timeout sweeps of every session made so far (call in afterEach). */
export function closeSessions(): void {
  for (const t of made.splice(0)) t.close();
}

/** A Session over one pool per node, each filled with the given connections. */
export async function setupSession(
  nodes: FakeConnection[][],
  options: SetupOptions = {},
): Promise<SessionSetup> {
  const cache = new PreparedCache(1 << 20);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const timeouts = new RequestTimeouts(timeoutMs);
  made.push(timeouts);
  const metrics = newSessionMetrics();
  const logger = options.logger ?? silentLogger();
  const session = new Session({
    key: '4//',
    version: VERSION,
    keyspace: undefined,
    compression: options.compression,
    preparedCache: cache,
    timeouts,
    requestTimeoutMs: timeoutMs,
    maxQueuedRequests: options.maxQueued ?? 4,
    maxFrameLength: 1 << 20,
    metrics,
    logger,
    requestObserver: options.observer,
  });
  const pools = nodes.map((conns, i) => {
    const queue = [...conns, ...(options.spares?.[i] ?? [])];
    return new NodePool(
      { key: `node${i}` },
      {
        size: conns.length,
        backoff: { baseMs: 10_000, maxMs: 10_000 },
        logger,
        warmUp: (c) => session.warmUp(c),
        connect: (onClose) => {
          const c = queue.shift();
          if (c === undefined) return Promise.reject(new Error('no more fakes'));
          c.onCloseHook = onClose;
          return Promise.resolve(c);
        },
        ...(options.maxOrphanedStreams === undefined
          ? {}
          : { maxOrphanedStreams: options.maxOrphanedStreams }),
        retireTimeoutMs: timeoutMs,
        onConnectionOpened: () => session.streamFreed(),
        ...(options.onConnectionReplaced === undefined
          ? {}
          : { onConnectionReplaced: options.onConnectionReplaced }),
      },
    );
  });
  await Promise.all(pools.map((p) => p.fill()));
  session.setPools(pools);
  return { session, cache, timeouts, metrics, pools };
}

export interface Client {
  responses: Buffer[];
}

/** Sends one request as a client would; its answers (copies) land in `responses`. */
export function client(
  session: Session,
  frame: Buffer,
  options: { idempotent?: boolean | (() => boolean); owner?: object } = {},
): Client {
  const responses: Buffer[] = [];
  const idempotent = options.idempotent ?? true;
  session.send({
    frame,
    idempotent: typeof idempotent === 'function' ? idempotent : () => idempotent,
    onResponse: (f) => responses.push(Buffer.from(f)),
    ...(options.owner === undefined ? {} : { owner: options.owner }),
  });
  return { responses };
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** A pino logger at debug level whose lines are kept. */
export function recordingLogger(): { logger: Logger; lines: () => LogLine[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination, format: 'json' });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as LogLine),
  };
}

/** Waits until `check()` holds, polling; fails after a bound (test/helpers/wait.ts). */
export { until } from '../helpers/wait.js';
