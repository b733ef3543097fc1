// A delay before answering a failed login that grows with the failures from one address: 100 ms,
// 200 ms, 400 ms, ... up to 5 s, forgotten a minute after the last failure or at once on a
// success. Guessing passwords through the proxy then costs the guesser time, not the proxy: the
// wait is a timer, and other clients are not affected. Bounded: the addresses with the oldest
// failures are forgotten first past 10,000.

const BASE_MS = 100;
const MAX_MS = 5_000;
const FORGET_MS = 60_000;
const MAX_ADDRESSES = 10_000;

export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();

  /** The delay before answering this failure, counting it. */
  failed(address: string, now = Date.now()): number {
    const previous = this.failures.get(address);
    const count =
      previous !== undefined && now - previous.last < FORGET_MS ? previous.count + 1 : 1;
    this.failures.delete(address);
    this.failures.set(address, { count, last: now });
    if (this.failures.size > MAX_ADDRESSES) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    return Math.min(MAX_MS, BASE_MS * 2 ** Math.min(count - 1, 16));
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }

  get addresses(): number {
    return this.failures.size;
  }
}
