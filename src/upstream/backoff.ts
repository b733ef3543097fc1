// Exponential backoff with full jitter: the n-th delay is uniform in [base/2, min(max, base * 2^n)],
// so a fleet of proxies that lost a node at the same moment does not reconnect in lock step.

export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(baseMs: number, maxMs: number, random: () => number = Math.random) {
    this.baseMs = baseMs;
    this.maxMs = Math.max(baseMs, maxMs);
    this.random = random;
  }

  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const floor = Math.min(this.baseMs / 2, ceiling);
    return Math.round(floor + this.random() * (ceiling - floor));
  }

  reset(): void {
    this.attempt = 0;
  }
}
