// PREPARE requests the proxy has seen answered, by prepared id, so that an UNPREPARED answer from
// a node (restarted, or one that never saw the statement) is repaired by the proxy itself:
// prepare on that node, then send the request again, and the client never knows
// (cql-proxy §4.6). Also replayed on a node that comes back, before it takes traffic.
//
// Bounded: least recently used entries go first. Keys are the id bytes as a latin1 string (cheap
// to build, exact).

export interface CachedPrepare {
  /** The PREPARE request frame as the client sent it (a private copy). */
  frame: Buffer;
  /** The session it was prepared in: a replay must use a connection of the same session key. */
  sessionKey: string;
}

export class PreparedCache {
  private readonly entries = new Map<string, CachedPrepare>();
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

  /** Remembers a PREPARE frame (copied) for `id`. */
  set(id: Uint8Array, frame: Buffer, sessionKey: string): void {
    const key = PreparedCache.key(id);
    this.entries.delete(key);
    this.entries.set(key, { frame: Buffer.from(frame), sessionKey });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  get(id: Uint8Array): CachedPrepare | undefined {
    const key = PreparedCache.key(id);
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** The entries prepared in one session, most recently used last. */
  forSession(sessionKey: string): CachedPrepare[] {
    return [...this.entries.values()].filter((e) => e.sessionKey === sessionKey);
  }
}
