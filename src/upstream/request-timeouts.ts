// Request timeouts without a timer per request. Every request shares one timeout, so the order
// in which requests start is also the order of their deadlines: they are kept in an intrusive
// doubly linked list (start order), unlinked the moment they are answered, and one interval
// answers the expired ones from the head. Nothing answered stays referenced, so the garbage
// collector never sees a backlog of finished requests.

import { ErrorCode } from '../protocol/constants.js';

/** What the list needs of a request: its deadline, its links, and how to fail it. */
export interface TimedRequest {
  readonly deadline: number;
  timeoutPrev: TimedRequest | undefined;
  timeoutNext: TimedRequest | undefined;
  timeoutLinked: boolean;
  failWith(code: typeof ErrorCode.SERVER_ERROR, message: string): void;
}

export class RequestTimeouts {
  private head: TimedRequest | undefined;
  private tail: TimedRequest | undefined;
  private count = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly timeoutMs: number;
  private readonly onTimeout: () => void;

  constructor(timeoutMs: number, onTimeout: () => void = () => undefined) {
    this.timeoutMs = timeoutMs;
    this.onTimeout = onTimeout;
    // Resolution: a tenth of the timeout, between 10 ms and 250 ms.
    const tick = Math.min(250, Math.max(10, Math.floor(timeoutMs / 10)));
    this.timer = setInterval(() => this.sweep(Date.now()), tick);
    this.timer.unref();
  }

  /** Requests waiting for an answer. */
  get size(): number {
    return this.count;
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

  /** The request was answered: forget it. */
  remove(request: TimedRequest): void {
    if (!request.timeoutLinked) return;
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

  sweep(now: number): void {
    let request = this.head;
    while (request !== undefined && request.deadline <= now) {
      const next = request.timeoutNext;
      this.remove(request);
      this.onTimeout();
      request.failWith(
        ErrorCode.SERVER_ERROR,
        `Proxy timed out after ${this.timeoutMs} ms waiting for the cluster to answer`,
      );
      request = next;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
