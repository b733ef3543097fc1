// PREPARE requests the proxy has seen answered, by prepared id, so that an UNPREPARED answer from
// a node (restarted, or one that never saw the statement) is repaired by the proxy itself:
// prepare on that node, then send the request again, and the client never knows
// (docs/cql-proxy-compat.md §4.6). Also replayed on a node that comes back, before it takes
// traffic.
//
// One id may be prepared by several sessions: clients on v4 with lz4, on v4 uncompressed and on
// v5 prepare the same statement under the same id, and each session needs its own PREPARE frame
// (the frame's version and compression are the session's). So each id keeps one frame per
// session; a later session preparing the id does not take it away from the earlier ones.
//
// Bounded in bytes, not in entries: a PREPARE frame is as long as its query string, which a client
// chooses (a 10 kB statement is as legal as a 50-byte one), so a bound in entries would let a few
// clients preparing long or ever-changing statements grow the proxy's memory without limit. Each
// frame costs its length plus a fixed overhead (objects, map slots, keys); least recently used ids
// go first, with all their sessions' frames. Keys are the id bytes as a latin1 string (cheap to
// build, exact).

/** The cache's default budget (ClusterOptions.preparedCacheBytes). */
export const DEFAULT_PREPARED_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * What one cached frame costs beyond its own bytes: the entry object, the Buffer object, the map
 * slots. An estimate; what matters is that many tiny statements cannot dodge the budget.
 */
export const PREPARED_ENTRY_OVERHEAD_BYTES = 128;

/** Evictions are logged at most this often (a summary), never once per eviction. */
const EVICTION_LOG_INTERVAL_MS = 60_000;

export interface CachedPrepare {
  /** The PREPARE request frame as the client sent it (a private copy). */
  frame: Buffer;
  /** The session it was prepared in: a replay must use a connection of the same session key. */
  sessionKey: string;
}

interface Entry extends CachedPrepare {
  /** What it counts against the budget. */
  cost: number;
}

export interface PreparedCacheOptions {
  /** Told of the evictions since the last call, at most once per minute. */
  onEvictions?: (summary: { evicted: number; entries: number; bytes: number }) => void;
  /** Clock for the eviction summary (tests). */
  now?: () => number;
}

export class PreparedCache {
  /** By id; per id, by session key (a handful of sessions at most). */
  private readonly entries = new Map<string, Map<string, Entry>>();
  private readonly budget: number;
  private readonly options: PreparedCacheOptions;
  private frames = 0;
  private usedBytes = 0;
  private evictedTotal = 0;
  /** Evictions not yet reported, and when the last report went out. */
  private unreported = 0;
  private lastReport = Number.NEGATIVE_INFINITY;

  constructor(
    budgetBytes: number = DEFAULT_PREPARED_CACHE_BYTES,
    options: PreparedCacheOptions = {},
  ) {
    if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 0)
      throw new RangeError('the prepared cache budget must be a whole number of bytes >= 0');
    this.budget = budgetBytes;
    this.options = options;
  }

  /** Prepared ids cached (each with one frame per session that prepared it). */
  get size(): number {
    return this.entries.size;
  }

  /** Frames cached, over every id and session. */
  get entryCount(): number {
    return this.frames;
  }

  /** What the cached frames cost against the budget. */
  get bytes(): number {
    return this.usedBytes;
  }

  get budgetBytes(): number {
    return this.budget;
  }

  /** Frames evicted to stay within the budget, since the cache was made. */
  get evictions(): number {
    return this.evictedTotal;
  }

  static key(id: Uint8Array): string {
    return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
  }

  /**
   * Remembers a PREPARE frame (copied) for `id` in `sessionKey`. A frame that alone costs more than
   * the whole budget is not cached (the UNPREPARED answer then reaches the client, whose driver
   * prepares again, as it would without the proxy).
   */
  set(id: Uint8Array, frame: Buffer, sessionKey: string): void {
    const key = PreparedCache.key(id);
    const cost = frame.length + PREPARED_ENTRY_OVERHEAD_BYTES + key.length + sessionKey.length;
    if (cost > this.budget) return;
    const bySession = this.entries.get(key) ?? new Map<string, Entry>();
    this.entries.delete(key);
    // Deleted first so that iteration order is the order of the latest set.
    const previous = bySession.get(sessionKey);
    if (previous !== undefined) {
      bySession.delete(sessionKey);
      this.frames--;
      this.usedBytes -= previous.cost;
    }
    bySession.set(sessionKey, { frame: Buffer.from(frame), sessionKey, cost });
    this.frames++;
    this.usedBytes += cost;
    this.entries.set(key, bySession);
    if (this.usedBytes > this.budget) this.evict();
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

  /** Least recently used ids out, with all their frames, until the cache is within budget. */
  private evict(): void {
    let evicted = 0;
    for (const [key, bySession] of this.entries) {
      if (this.usedBytes <= this.budget) break;
      this.entries.delete(key);
      for (const entry of bySession.values()) {
        this.usedBytes -= entry.cost;
        this.frames--;
        evicted++;
      }
    }
    this.evictedTotal += evicted;
    this.unreported += evicted;
    const onEvictions = this.options.onEvictions;
    if (onEvictions === undefined) return;
    const now = (this.options.now ?? Date.now)();
    if (now - this.lastReport < EVICTION_LOG_INTERVAL_MS) return;
    this.lastReport = now;
    const summary = { evicted: this.unreported, entries: this.frames, bytes: this.usedBytes };
    this.unreported = 0;
    onEvictions(summary);
  }
}
