// Stream ids of one upstream connection. From v3 on a stream id is a signed 16-bit integer and the
// client may use 0..32767; negative ids belong to the server's EVENT messages (native_protocol_v4.spec
// §2.3). cql-proxy uses only 2048 ids per connection; the whole space lets one connection carry
// many more concurrent client requests before the pool has to open another.
//
// The free ids sit on a stack in a typed array: acquire and release are a load and a store, with
// no allocation, so the forwarding path pays nothing per frame. A byte per id records which ids
// are out, so a stray or repeated release cannot put an id on the stack twice (which would hand it
// to two requests at once).

/** Ids 0..32767: the non-negative half of the signed 16-bit stream id (spec v4 §2.3). */
export const MAX_STREAM_IDS = 0x8000;

export class StreamIdAllocator {
  readonly capacity: number;
  private readonly free: Uint16Array;
  private readonly inUse: Uint8Array;
  /** Number of ids on the free stack; the next id to hand out is free[top - 1]. */
  private top: number;

  constructor(capacity = MAX_STREAM_IDS) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_STREAM_IDS) {
      throw new RangeError(`stream id capacity must be an integer in [1, ${MAX_STREAM_IDS}]`);
    }
    this.capacity = capacity;
    this.free = new Uint16Array(capacity);
    this.inUse = new Uint8Array(capacity);
    this.top = capacity;
    // Lowest ids on top of the stack: a quiet connection keeps reusing small ids.
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
  }

  /** Ids that acquire() can still hand out. */
  get available(): number {
    return this.top;
  }

  /** Ids handed out and not yet released. */
  get inFlight(): number {
    return this.capacity - this.top;
  }

  /** A free id, or -1 when every id is in flight. */
  acquire(): number {
    if (this.top === 0) return -1;
    this.top -= 1;
    const id = this.free[this.top]!;
    this.inUse[id] = 1;
    return id;
  }

  /** Returns an id to the pool; false (and nothing changes) when it was not in flight. */
  release(id: number): boolean {
    if (!(id >= 0 && id < this.capacity) || this.inUse[id] !== 1) return false;
    this.inUse[id] = 0;
    this.free[this.top] = id;
    this.top += 1;
    return true;
  }

  /** Whether `id` is currently handed out. */
  isInFlight(id: number): boolean {
    return id >= 0 && id < this.capacity && this.inUse[id] === 1;
  }
}
