// The bytes all clients together may hold in the proxy: requests read and not answered, and
// answers queued for clients and not taken by the kernel. Past the budget every client stops
// being read until the total falls back to three quarters of it (hysteresis, so reading does not
// flap). Each client is already bounded on its own (limits.ts); this bounds the sum, so many
// clients at once cannot take the process's memory either.

import { getHeapStatistics } from 'node:v8';

/** The default budget: a quarter of the V8 heap limit (which Node sizes from the machine's or container's memory). */
export function defaultMemoryBudget(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / 4);
}

/** Below this fraction of the limit an exhausted budget is available again. */
const RESUME_FRACTION = 0.75;

export interface MemoryBudgetEvents {
  /** The budget was just exceeded: reading pauses on every client. */
  onExhausted?: (used: number, limit: number) => void;
  /** It fell back below the resume mark after `pausedMs`. */
  onRecovered?: (used: number, limit: number, pausedMs: number) => void;
}

export class MemoryBudget {
  readonly limit: number;
  private readonly resumeAt: number;
  private usedBytes = 0;
  private exhaustedFlag = false;
  private exhaustedSince = 0;
  private readonly events: MemoryBudgetEvents;
  private readonly waiters = new Set<() => void>();
  private notifyScheduled = false;
  /** How many times the budget was exceeded since start. */
  exhaustions = 0;

  constructor(limit: number, events: MemoryBudgetEvents = {}) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`memory budget must be a positive integer, got ${limit}`);
    }
    this.limit = limit;
    this.resumeAt = Math.floor(limit * RESUME_FRACTION);
    this.events = events;
  }

  get used(): number {
    return this.usedBytes;
  }

  /** True from the moment the budget is exceeded until it falls back below the resume mark. */
  get exhausted(): boolean {
    return this.exhaustedFlag;
  }

  /** Adds (or, negative, gives back) bytes. Runs per request and per flush: two comparisons. */
  add(delta: number): void {
    const used = (this.usedBytes += delta);
    if (this.exhaustedFlag) {
      if (used <= this.resumeAt) this.recover();
    } else if (used > this.limit) {
      this.exhaustedFlag = true;
      this.exhaustedSince = Date.now();
      this.exhaustions++;
      this.events.onExhausted?.(used, this.limit);
    }
  }

  /** Calls `waiter` once when the budget is available again (not synchronously). */
  whenAvailable(waiter: () => void): void {
    this.waiters.add(waiter);
    if (!this.exhaustedFlag) this.scheduleNotify();
  }

  /** Forgets a waiter (its client closed). */
  cancel(waiter: () => void): void {
    this.waiters.delete(waiter);
  }

  private recover(): void {
    this.exhaustedFlag = false;
    this.events.onRecovered?.(this.usedBytes, this.limit, Date.now() - this.exhaustedSince);
    this.scheduleNotify();
  }

  /**
   * Waiters run on a later turn: add() is called from inside a client's own request handling,
   * and resuming other clients there would nest one client's work inside another's.
   */
  private scheduleNotify(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      if (this.exhaustedFlag) return;
      const waiters = [...this.waiters];
      this.waiters.clear();
      for (const waiter of waiters) {
        // A waiter that resumed its client may have exhausted the budget again.
        if (this.exhaustedFlag) {
          this.waiters.add(waiter);
          continue;
        }
        waiter();
      }
    });
  }
}
