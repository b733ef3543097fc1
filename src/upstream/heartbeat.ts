// Liveness of one upstream connection (docs/cql-proxy-compat.md §2.8, done differently).
//
// cql-proxy sends OPTIONS every heartbeat interval on every connection, busy or not, and closes a
// connection whose heartbeats go unanswered. Here:
// - a heartbeat goes out only when nothing was written for the interval: a connection carrying
//   traffic already proves itself with every response, and a busy one is not asked for more;
// - the connection is declared dead when nothing at all was read for the idle timeout, whether
//   the silence follows a heartbeat or ordinary requests (a node that stops answering under load
//   is caught too, which heartbeats alone on a busy connection would never notice).
//
// The forwarding path only sets a flag per frame (noteWrite / noteRead): no clock read per frame.
// A timer ticks a few times per interval and turns the flags into timestamps, so both deadlines
// are honoured to within one tick (a quarter of the shorter period).

/** What the monitor asks of its connection. */
export interface HeartbeatTarget {
  /** Nothing was written for the heartbeat interval: send OPTIONS (or skip if one is pending). */
  sendHeartbeat(): void;
  /** Nothing was read for the idle timeout. */
  idleTimeout(silentMs: number): void;
}

/** Ticks per period: the deadlines are honoured to within a quarter of the shorter period. */
const TICKS_PER_PERIOD = 4;
const MIN_TICK_MS = 1;

export class HeartbeatMonitor {
  private readonly intervalMs: number;
  private readonly idleTimeoutMs: number;
  private readonly target: HeartbeatTarget;
  private readonly tickMs: number;
  private wrote = false;
  private read = false;
  private lastWriteAt = 0;
  private lastReadAt = 0;
  private timer: NodeJS.Timeout | undefined;

  /** A period of 0 or less disables that check. */
  constructor(intervalMs: number, idleTimeoutMs: number, target: HeartbeatTarget) {
    this.intervalMs = intervalMs;
    this.idleTimeoutMs = idleTimeoutMs;
    this.target = target;
    const periods = [intervalMs, idleTimeoutMs].filter((ms) => ms > 0);
    this.tickMs =
      periods.length === 0
        ? 0
        : Math.max(MIN_TICK_MS, Math.floor(Math.min(...periods) / TICKS_PER_PERIOD));
  }

  /** Something was queued for writing. */
  noteWrite(): void {
    this.wrote = true;
  }

  /** Something was read. */
  noteRead(): void {
    this.read = true;
  }

  start(): void {
    if (this.tickMs === 0 || this.timer !== undefined) return;
    const now = performance.now();
    this.lastWriteAt = now;
    this.lastReadAt = now;
    this.wrote = false;
    this.read = false;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    // A heartbeat is no reason to keep the process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = performance.now();
    if (this.wrote) {
      this.wrote = false;
      this.lastWriteAt = now;
    }
    if (this.read) {
      this.read = false;
      this.lastReadAt = now;
    }
    const silentMs = now - this.lastReadAt;
    if (this.idleTimeoutMs > 0 && silentMs >= this.idleTimeoutMs) {
      this.stop();
      this.target.idleTimeout(Math.round(silentMs));
      return;
    }
    if (this.intervalMs > 0 && now - this.lastWriteAt >= this.intervalMs) {
      // Counted as a write from now, whether or not the target could send it.
      this.lastWriteAt = now;
      this.wrote = false;
      this.target.sendHeartbeat();
    }
  }
}
