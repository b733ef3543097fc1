// Request timeouts without a timer per request. Requests of one kind share one timeout, so the
// order in which they start is also the order of their deadlines: they are kept in an intrusive
// doubly linked list (start order), unlinked the moment they are answered, and one interval
// answers the expired ones from the head. Nothing answered stays referenced, so the garbage
// collector never sees a backlog of finished requests.
//
// Two kinds, two lists: ordinary requests (--request-timeout) and long-running ones, schema
// changes and TRUNCATE (--schema-timeout, as Cassandra's truncate_request_timeout). Each list
// keeps its own single timeout, so start order stays deadline order within it; the one interval
// sweeps both heads.

import { ErrorCode } from '../protocol/constants.js';

/** What the list needs of a request: its deadline, its list, its links, and how to fail it. */
export interface TimedRequest {
  readonly deadline: number;
  /** A schema change or TRUNCATE: in the long list (--schema-timeout). */
  readonly longRunning: boolean;
  timeoutPrev: TimedRequest | undefined;
  timeoutNext: TimedRequest | undefined;
  timeoutLinked: boolean;
  failWith(code: typeof ErrorCode.SERVER_ERROR, message: string): void;
}

/** One list of requests sharing one timeout: start order is deadline order. */
class DeadlineList {
  head: TimedRequest | undefined;
  tail: TimedRequest | undefined;
  count = 0;
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  add(request: TimedRequest): void {
    request.timeoutPrev = this.tail;
    request.timeoutNext = undefined;
    if (this.tail === undefined) this.head = request;
    else this.tail.timeoutNext = request;
    this.tail = request;
    request.timeoutLinked = true;
    this.count++;
  }

  remove(request: TimedRequest): void {
    const { timeoutPrev: prev, timeoutNext: next } = request;
    if (prev === undefined) this.head = next;
    else prev.timeoutNext = next;
    if (next === undefined) this.tail = prev;
    else next.timeoutPrev = prev;
    request.timeoutPrev = undefined;
    request.timeoutNext = undefined;
    request.timeoutLinked = false;
    this.count--;
  }
}

export class RequestTimeouts {
  private readonly short: DeadlineList;
  private readonly long: DeadlineList;
  private readonly timer: NodeJS.Timeout;
  private readonly onTimeout: () => void;

  /**
   * `timeoutMs` for ordinary requests, `longTimeoutMs` (default the same) for schema changes and
   * TRUNCATE.
   */
  constructor(
    timeoutMs: number,
    onTimeout: () => void = () => undefined,
    longTimeoutMs: number = timeoutMs,
  ) {
    this.short = new DeadlineList(timeoutMs);
    this.long = new DeadlineList(longTimeoutMs);
    this.onTimeout = onTimeout;
    // Resolution: a tenth of the shorter timeout, between 10 ms and 250 ms.
    const shortest = Math.min(timeoutMs, longTimeoutMs);
    const tick = Math.min(250, Math.max(10, Math.floor(shortest / 10)));
    this.timer = setInterval(() => this.sweep(Date.now()), tick);
    this.timer.unref();
  }

  /** The timeout of a request of that kind (its deadline is its start plus this). */
  timeoutFor(longRunning: boolean): number {
    return longRunning ? this.long.timeoutMs : this.short.timeoutMs;
  }

  /** Requests waiting for an answer, in both lists. */
  get size(): number {
    return this.short.count + this.long.count;
  }

  add(request: TimedRequest): void {
    (request.longRunning ? this.long : this.short).add(request);
  }

  /** The request was answered: forget it. */
  remove(request: TimedRequest): void {
    if (!request.timeoutLinked) return;
    (request.longRunning ? this.long : this.short).remove(request);
  }

  sweep(now: number): void {
    this.sweepList(this.short, now);
    this.sweepList(this.long, now);
  }

  private sweepList(list: DeadlineList, now: number): void {
    let request = list.head;
    while (request !== undefined && request.deadline <= now) {
      const next = request.timeoutNext;
      list.remove(request);
      this.onTimeout();
      request.failWith(
        ErrorCode.SERVER_ERROR,
        `Proxy timed out after ${list.timeoutMs} ms waiting for the cluster to answer`,
      );
      request = next;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
