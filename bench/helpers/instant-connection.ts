// An upstream connection without a socket for the in-memory benchmarks (forwarding, routing), and
// a Session over such connections. The connection takes stream ids as a real connection does and answers everything it was sent, with one
// shared RESULT Void frame, when flush() is called.
import { ResultKind } from '../../src/protocol/constants.js';
import { patchStreamId } from '../../src/protocol/header.js';
import { resultFrame } from '../../src/protocol/messages/result.js';
import { silentLogger } from '../../src/ops/logger.js';
import { NodePool } from '../../src/upstream/node-pool.js';
import type { PooledConnection, ResponseHandler } from '../../src/upstream/pooled-connection.js';
import { PreparedCache } from '../../src/upstream/prepared-cache.js';
import { RequestTimeouts } from '../../src/upstream/request-timeouts.js';
import type { Router } from '../../src/upstream/routing.js';
import { Session, newSessionMetrics } from '../../src/upstream/session.js';

export class InstantConnection implements PooledConnection {
  closed = false;
  congested = false;
  private handlers: (ResponseHandler | undefined)[] = new Array<ResponseHandler | undefined>(32768);
  private readonly free: number[] = Array.from({ length: 32768 }, (_, i) => 32767 - i);
  private readonly pending: number[] = [];
  private readonly response = resultFrame(4, 0, { kind: ResultKind.VOID });
  get inFlight(): number {
    return this.pending.length;
  }
  send(frame: Buffer, handler: ResponseHandler): boolean {
    const id = this.free.pop();
    if (id === undefined) return false;
    patchStreamId(frame, id);
    this.handlers[id] = handler;
    this.pending.push(id);
    return true;
  }
  flush(): void {
    for (const id of this.pending.splice(0)) {
      const h = this.handlers[id];
      this.handlers[id] = undefined;
      this.free.push(id);
      patchStreamId(this.response, id);
      h?.onResponse(this.response);
    }
  }
  close(): void {
    this.closed = true;
  }
}

/**
 * A v4 Session whose pools each hold one of `connections` (a node each), as the cluster would
 * build it, optionally routing token-aware with `router`.
 */
export async function instantSession(
  connections: readonly InstantConnection[],
  router?: Router,
): Promise<Session> {
  const session = new Session({
    key: '4//',
    version: 4,
    keyspace: undefined,
    compression: undefined,
    preparedCache: new PreparedCache(10),
    timeouts: new RequestTimeouts(12_000),
    requestTimeoutMs: 12_000,
    maxQueuedRequests: 100_000,
    maxFrameLength: 1 << 20,
    metrics: newSessionMetrics(),
    logger: silentLogger(),
    ...(router === undefined ? {} : { router }),
  });
  const pools = connections.map(
    (c, i) =>
      new NodePool(
        { key: `node${i}` },
        {
          size: 1,
          backoff: { baseMs: 1000, maxMs: 1000 },
          logger: silentLogger(),
          warmUp: () => Promise.resolve(),
          connect: () => Promise.resolve(c),
        },
      ),
  );
  await Promise.all(pools.map((p) => p.fill()));
  session.setPools(pools);
  return session;
}
