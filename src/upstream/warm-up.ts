// A new pooled connection is told the session's cached PREPAREs before (and while) it serves, so
// that its first EXECUTEs are not UNPREPARED round trips. Only the most recently used are
// prepared before it takes traffic, and for no longer than the request timeout: a cache of many
// thousand statements, or a node slow to answer, must not keep a connection (and the requests
// waiting for one) from serving. The older statements follow in the background, most recent
// first, a few at a time, until the connection closes; the UNPREPARED repair (request.ts) covers
// whatever is not prepared yet when a request needs it.

import type { Logger } from '../ops/logger.js';
import type { CachedPrepare } from './prepared-cache.js';
import type { PooledConnection, ResponseHandler } from './pooled-connection.js';

/** Cached statements prepared on a new connection before it takes traffic: the most recently used. */
export const WARM_UP_BEFORE_TRAFFIC = 256;
/** How many of those are in flight at once (a new connection has all its stream ids free). */
const WARM_UP_CONCURRENCY = 64;
/** The older ones follow in the background, this many at a time, while the connection serves. */
export const WARM_UP_BACKGROUND_CONCURRENCY = 4;

export interface WarmUpOptions {
  /** The session whose statements these are (for the log lines). */
  sessionKey: string;
  /** The longest the connection waits for its first statements before it takes traffic. */
  timeoutMs: number;
  logger: Logger;
  /** Told of each background answer: its stream id is free again for waiting requests. */
  onAnswered: () => void;
}

/**
 * Prepares `entries` (a session's cached PREPAREs, the most recently used last) on `connection`:
 * resolves once the newest WARM_UP_BEFORE_TRAFFIC are answered or the timeout passed, and leaves
 * the rest to the background.
 */
export async function warmUp(
  connection: PooledConnection,
  entries: readonly CachedPrepare[],
  options: WarmUpOptions,
): Promise<void> {
  if (entries.length === 0) return;
  const { logger, sessionKey } = options;
  const split = Math.max(0, entries.length - WARM_UP_BEFORE_TRAFFIC);
  const first = entries.slice(split).reverse();
  const rest = entries.slice(0, split).reverse();
  const stop = { stopped: false };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      stop.stopped = true;
      resolve();
    }, options.timeoutMs);
    timer.unref();
  });
  const replayed = await Promise.race([
    replayPrepares(connection, first, WARM_UP_CONCURRENCY, stop),
    timedOut.then(() => -1),
  ]);
  clearTimeout(timer);
  logger.debug(
    { session: sessionKey, statements: first.length, prepared: replayed, later: rest.length },
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
    options.onAnswered,
  ).then((n) =>
    logger.debug(
      { session: sessionKey, statements: rest.length, prepared: n },
      'prepared older cached statements on a new connection in the background',
    ),
  );
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
