// Request timeouts without a timer per request: requests enter a FIFO in start order (all share
// one timeout, so deadlines are ordered too) and one interval answers the expired ones. A request
// answered in time is skipped when the sweep reaches it.

import { ErrorCode } from '../protocol/constants.js';
import type { Request } from './request.js';

export class RequestTimeouts {
  private readonly queue: (Request | undefined)[] = [];
  private head = 0;
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

  add(request: Request): void {
    this.queue.push(request);
  }

  sweep(now: number): void {
    while (this.head < this.queue.length) {
      const request = this.queue[this.head];
      if (request !== undefined && !request.done) {
        if (request.deadline > now) break;
        this.onTimeout();
        request.failWith(
          ErrorCode.SERVER_ERROR,
          `Proxy timed out after ${this.timeoutMs} ms waiting for the cluster to answer`,
        );
      }
      this.queue[this.head++] = undefined;
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
