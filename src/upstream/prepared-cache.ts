// PREPARE requests the proxy has seen answered, by prepared id, so that an UNPREPARED answer from
// a node (restarted, or one that never saw the statement) is repaired by the proxy itself:
// prepare on that node, then send the request again, and the client never knows
// (cql-proxy §4.6). Also replayed on a node that comes back, before it takes traffic.
//
// One id may be prepared by several sessions: clients on v4 with lz4, on v4 uncompressed and on
// v5 prepare the same statement under the same id, and each session needs its own PREPARE frame
// (the frame's version and compression are the session's). So each id keeps one frame per
// session; a later session preparing the id does not take it away from the earlier ones.
//
// Bounded: least recently used ids go first. Keys are the id bytes as a latin1 string (cheap to
// build, exact).

export interface CachedPrepare {
  /** The PREPARE request frame as the client sent it (a private copy). */
  frame: Buffer;
  /** The session it was prepared in: a replay must use a connection of the same session key. */
  sessionKey: string;
}

export class PreparedCache {
  /** By id; per id, by session key (a handful of sessions at most). */
  private readonly entries = new Map<string, Map<string, CachedPrepare>>();
  private readonly capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be >= 1');
    this.capacity = capacity;
  }

  get size(): number {
    return this.entries.size;
  }

  static key(id: Uint8Array): string {
    return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
  }

  /** Remembers a PREPARE frame (copied) for `id` in `sessionKey`. */
  set(id: Uint8Array, frame: Buffer, sessionKey: string): void {
    const key = PreparedCache.key(id);
    const bySession = this.entries.get(key) ?? new Map<string, CachedPrepare>();
    this.entries.delete(key);
    // Deleted first so that iteration order is the order of the latest set.
    bySession.delete(sessionKey);
    bySession.set(sessionKey, { frame: Buffer.from(frame), sessionKey });
    this.entries.set(key, bySession);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  /** The PREPARE of `id` made in `sessionKey`; without one, the one stored last. */
  get(id: Uint8Array, sessionKey?: string): CachedPrepare | undefined {
    const key = PreparedCache.key(id);
    const bySession = this.entries.get(key);
    if (bySession === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, bySession);
    if (sessionKey !== undefined) return bySession.get(sessionKey);
    let last: CachedPrepare | undefined;
    for (const entry of bySession.values()) last = entry;
    return last;
  }

  /** The entries prepared in one session, most recently used last. */
  forSession(sessionKey: string): CachedPrepare[] {
    const found: CachedPrepare[] = [];
    for (const bySession of this.entries.values()) {
      const entry = bySession.get(sessionKey);
      if (entry !== undefined) found.push(entry);
    }
    return found;
  }
}
