// The requests in flight on one upstream connection, by stream id: the id allocator and the
// handlers in an array indexed by id (no Map, no allocation per frame: docs/design.md "The hot
// path"), and the ids held by requests that timed out ("orphans") until their late answer comes.

import type { ResponseHandler } from './pooled-connection.js';
import { MAX_STREAM_IDS, StreamIdAllocator } from './stream-ids.js';

export class InFlightTable {
  private readonly ids = new StreamIdAllocator(MAX_STREAM_IDS);
  private readonly handlers: (ResponseHandler | undefined)[] = new Array<
    ResponseHandler | undefined
  >(MAX_STREAM_IDS).fill(undefined);
  /** Stream ids whose request timed out and whose answer has not arrived yet (orphan()). */
  private orphans = 0;
  /** Told when an orphaned id's answer arrives (its session may send a waiting request). */
  private onOrphanAnswered: (() => void) | undefined;
  /**
   * The handler of every orphaned stream id, made once: orphaning allocates nothing, and the
   * timed-out request it replaces can be garbage-collected.
   */
  private readonly orphanHandler: ResponseHandler;

  /** `callSafely` runs the late-answer listener (an exception must not break the connection). */
  constructor(callSafely: (fn: () => void, what: string) => void) {
    this.orphanHandler = {
      onResponse: () => {
        this.orphans--;
        const listener = this.onOrphanAnswered;
        if (listener !== undefined) callSafely(listener, 'late answer listener');
      },
      onClosed: () => undefined,
    };
  }

  get inFlight(): number {
    return this.ids.inFlight;
  }

  get available(): number {
    return this.ids.available;
  }

  get orphaned(): number {
    return this.orphans;
  }

  /** Every id still taken is an orphan's (a retired connection may close). */
  get onlyOrphansLeft(): boolean {
    return this.ids.inFlight <= this.orphans;
  }

  /** Takes a stream id for `handler`; -1 when none is free. */
  add(handler: ResponseHandler): number {
    const id = this.ids.acquire();
    if (id >= 0) this.handlers[id] = handler;
    return id;
  }

  /** The handler waiting on `streamId` (0 <= streamId < MAX_STREAM_IDS), left in place. */
  peek(streamId: number): ResponseHandler | undefined {
    return this.handlers[streamId];
  }

  /** The handler waiting on `streamId`, removed, the id free again; undefined when none. */
  take(streamId: number): ResponseHandler | undefined {
    const handler = this.handlers[streamId];
    if (handler === undefined) return undefined;
    this.handlers[streamId] = undefined;
    this.ids.release(streamId);
    return handler;
  }

  /**
   * The request behind `handler` gave up waiting on `streamId` (UpstreamConnection.orphan): the id
   * stays taken, with the shared no-op handler in its place. False when the id is not `handler`'s.
   */
  orphan(streamId: number, handler: ResponseHandler, onLateAnswer?: () => void): boolean {
    if (!(streamId >= 0 && streamId < MAX_STREAM_IDS)) return false;
    if (this.handlers[streamId] !== handler) return false;
    this.handlers[streamId] = this.orphanHandler;
    this.orphans++;
    if (onLateAnswer !== undefined) this.onOrphanAnswered = onLateAnswer;
    return true;
  }

  /** Empties the table (the connection closed), calling `each` for every handler that waited. */
  clear(each: (handler: ResponseHandler, streamId: number) => void): void {
    this.orphans = 0;
    for (let id = 0; id < MAX_STREAM_IDS; id++) {
      const handler = this.take(id);
      if (handler !== undefined) each(handler, id);
    }
  }
}
