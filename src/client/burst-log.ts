// A warning that can happen thousands of times a second (a connection storm, a flood of silent
// sockets) is logged once per interval: the first at once, then one line per interval carrying
// how many happened since. The exact count is always in the metrics; the log only has to say it
// is happening, without becoming a log storm itself.

import type { ClientLog } from './log.js';

export const BURST_LOG_INTERVAL_MS = 10_000;

export class BurstLog {
  private readonly log: ClientLog;
  private readonly level: 'info' | 'warn';
  private readonly message: string;
  private readonly intervalMs: number;
  private lastLogged = -Infinity;
  private sinceLast = 0;

  constructor(
    log: ClientLog,
    level: 'info' | 'warn',
    message: string,
    intervalMs = BURST_LOG_INTERVAL_MS,
  ) {
    this.log = log;
    this.level = level;
    this.message = message;
    this.intervalMs = intervalMs;
  }

  /** Counts one occurrence; logs it with `fields` and the count unless one was logged lately. */
  note(fields: object): void {
    this.sinceLast++;
    const now = Date.now();
    if (now - this.lastLogged < this.intervalMs) return;
    this.log[this.level]({ ...fields, count: this.sinceLast }, this.message);
    this.lastLogged = now;
    this.sinceLast = 0;
  }
}
