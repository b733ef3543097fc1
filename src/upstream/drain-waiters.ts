// Who waits for an upstream connection to stop being congested (UpstreamConnection.onceDrained):
// the client sides that paused reading because the connection's socket was backed up.

export interface DrainSource {
  /** True while the connection is backed up (queued beyond its mark, or the kernel's buffer full). */
  readonly congested: boolean;
  /** True while the kernel's buffer is full: the socket's 'drain' will call check(). */
  readonly kernelBackedUp: boolean;
  /** Reports a listener that threw (the others are still called). */
  callSafely(fn: () => void, what: string): void;
}

export class DrainWaiters {
  private listeners: (() => void)[] = [];
  private checkScheduled = false;
  private readonly source: DrainSource;

  constructor(source: DrainSource) {
    this.source = source;
  }

  /** Calls `listener` once the source is no longer congested (or fire() is called). */
  add(listener: () => void): void {
    this.listeners.push(listener);
    this.scheduleCheck();
  }

  /** Fires the listeners if the source is no longer congested (the socket's 'drain'). */
  check(): void {
    if (this.listeners.length === 0) return;
    if (!this.source.congested) {
      this.fire();
      return;
    }
    // Backed up in the kernel: the socket's 'drain' calls back. Backed up only in our queue: the
    // next flush empties it, so look again after it.
    if (!this.source.kernelBackedUp) this.scheduleCheck();
  }

  /** Calls every listener now (drained, or the connection closed). */
  fire(): void {
    const listeners = this.listeners;
    if (listeners.length === 0) return;
    this.listeners = [];
    for (const listener of listeners) this.source.callSafely(listener, 'drain listener');
  }

  private scheduleCheck(): void {
    if (this.checkScheduled) return;
    this.checkScheduled = true;
    // After this turn's flush (FramedSocket writes in a setImmediate queued before this one).
    setImmediate(() => {
      this.checkScheduled = false;
      this.check();
    });
  }
}
