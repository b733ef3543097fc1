// What the proxy remembers about statements prepared through it, keyed by prepared id: whether an
// EXECUTE of it may be retried on another node, and whether it reads (so a write-consistency
// rewrite leaves it alone). Shared by every client connection: drivers prepare on one connection
// and execute on any, and Cassandra's ids do not depend on the connection. Bounded, unlike
// cql-proxy's map; an id that fell out is treated as a non-idempotent write, the safe side.

import { BoundedLru } from './bounded-lru.js';

export interface PreparedInfo {
  idempotent: boolean;
  select: boolean;
}

export const DEFAULT_PREPARED_CAPACITY = 10_000;

export class PreparedRegistry {
  private readonly lru: BoundedLru<string, PreparedInfo>;

  constructor(capacity = DEFAULT_PREPARED_CAPACITY) {
    this.lru = new BoundedLru(capacity);
  }

  get size(): number {
    return this.lru.size;
  }

  remember(id: Uint8Array, info: PreparedInfo): void {
    this.lru.set(Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex'), info);
  }

  lookup(id: Uint8Array): PreparedInfo | undefined {
    return this.lru.get(Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex'));
  }
}
