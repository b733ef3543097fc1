// What the proxy remembers about statements prepared through it, keyed by prepared id: whether an
// EXECUTE of it may be retried on another node, whether it reads (so a write-consistency
// rewrite leaves it alone), and whether it is a schema change or TRUNCATE (so an EXECUTE of it
// gets --schema-timeout). Shared by every client connection: drivers prepare on one connection
// and execute on any, and Cassandra's ids do not depend on the connection. Bounded, unlike
// cql-proxy's map; an id that fell out is treated as a non-idempotent write, the safe side.

import { BoundedLru } from './bounded-lru.js';

export interface PreparedInfo {
  idempotent: boolean;
  select: boolean;
  /** A schema change (CREATE/ALTER/DROP ...) or TRUNCATE: EXECUTE gets the long timeout. */
  longRunning?: boolean;
}

export const DEFAULT_PREPARED_CAPACITY = 10_000;
/** Long-running prepared ids remembered (prepared DDL is rare); the oldest go first. */
export const LONG_RUNNING_CAPACITY = 256;

export class PreparedRegistry {
  private readonly lru: BoundedLru<string, PreparedInfo>;
  /**
   * The ids of prepared schema changes and TRUNCATEs, oldest first, apart from the LRU: EXECUTE
   * asks for every request, so the answer must come without building a key (no allocation), and
   * at once when there are none.
   */
  private readonly longRunningIds: Buffer[] = [];

  constructor(capacity = DEFAULT_PREPARED_CAPACITY) {
    this.lru = new BoundedLru(capacity);
  }

  get size(): number {
    return this.lru.size;
  }

  /** Whether any long-running statement was prepared (EXECUTE looks its id up only then). */
  get hasLongRunning(): boolean {
    return this.longRunningIds.length > 0;
  }

  remember(id: Uint8Array, info: PreparedInfo): void {
    const view = Buffer.from(id.buffer, id.byteOffset, id.byteLength);
    this.lru.set(view.toString('hex'), info);
    if (info.longRunning === true && !this.longRunningIds.some((known) => known.equals(view))) {
      if (this.longRunningIds.length >= LONG_RUNNING_CAPACITY) this.longRunningIds.shift();
      this.longRunningIds.push(Buffer.from(view));
    }
  }

  lookup(id: Uint8Array): PreparedInfo | undefined {
    return this.lru.get(Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex'));
  }

  /**
   * Whether the prepared id written at `offset` of `body` (an EXECUTE body: [short bytes]) is a
   * schema change or TRUNCATE. Compares in place; false for a body too short to hold an id.
   */
  isLongRunningAt(body: Buffer, offset: number): boolean {
    const ids = this.longRunningIds;
    if (ids.length === 0 || offset + 2 > body.length) return false;
    const length = body.readUInt16BE(offset);
    const start = offset + 2;
    const end = start + length;
    if (end > body.length) return false;
    for (const id of ids) {
      if (id.length === length && body.compare(id, 0, length, start, end) === 0) return true;
    }
    return false;
  }
}
