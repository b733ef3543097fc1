// A session's wait queue, for requests that found every stream id taken. It is bounded, and fair
// between clients: each owner (client connection) has its own FIFO, and the owners are served
// round robin, one request per turn. When the queue is full, the owner with the most requests
// waiting gives up its newest one to a client that has fewer, so a client that floods cannot
// starve the others, in the queue or at its door.

/** What the queue needs of a request: who sent it, and whether it finished while it waited. */
export interface Waiting {
  readonly owner: object | undefined;
  readonly done: boolean;
}

/** The owner of requests that do not name one: they share one turn of the queue. */
const NO_OWNER: object = {};

/** Past this many sent heads, an owner's array is compacted (when they are most of it). */
const COMPACT_AFTER = 1024;

/** One owner's waiting requests, oldest first, and its place in the ring of owners served in turn. */
class OwnerQueue<T> {
  readonly owner: object;
  readonly items: (T | undefined)[] = [];
  head = 0;
  prev: OwnerQueue<T> = this;
  next: OwnerQueue<T> = this;

  constructor(owner: object) {
    this.owner = owner;
  }

  get length(): number {
    return this.items.length - this.head;
  }
}

export class FairWaitQueue<T extends Waiting> {
  /** One FIFO per owner, in a ring served round robin from `turn`. */
  private readonly byOwner = new Map<object, OwnerQueue<T>>();
  private turn: OwnerQueue<T> | undefined;
  /** Requests waiting, over every owner (those that finished while waiting included). */
  private count = 0;
  readonly capacity: number;
  /** Answers a request the queue has no room for (OVERLOADED); it may come back to the queue. */
  private readonly refuse: (request: T) => void;

  constructor(capacity: number, refuse: (request: T) => void) {
    this.capacity = capacity;
    this.refuse = refuse;
  }

  get size(): number {
    return this.count;
  }

  /** Into its owner's FIFO; refused when the queue is full and no room can be made. */
  add(request: T): void {
    const owner = request.owner ?? NO_OWNER;
    if (this.count >= this.capacity && !this.makeRoomFor(owner)) {
      this.refuse(request);
      return;
    }
    let q = this.byOwner.get(owner);
    if (q === undefined) {
      q = new OwnerQueue<T>(owner);
      this.byOwner.set(owner, q);
      this.link(q);
    }
    q.items.push(request);
    this.count++;
  }

  /**
   * Starts waiting requests, one per owner per turn, while `start` takes them (false: no stream
   * id is free, stop). A request that finished while waiting is dropped without using its
   * owner's turn.
   */
  drain(start: (request: T) => boolean): void {
    while (this.count > 0) {
      const q = this.turn;
      if (q === undefined) break;
      const head = q.items[q.head];
      if (head !== undefined && !head.done) {
        if (!start(head)) break;
        this.shift(q);
        this.turn = q.next;
      } else {
        this.shift(q);
      }
      if (q.length === 0) this.unlink(q);
    }
  }

  /** Empties the queue; returns what waited, owner by owner, oldest first, for the caller to fail. */
  takeAll(): T[] {
    const queues = [...this.byOwner.values()];
    this.byOwner.clear();
    this.turn = undefined;
    this.count = 0;
    const taken: T[] = [];
    for (const q of queues) {
      for (let i = q.head; i < q.items.length; i++) {
        const request = q.items[i];
        if (request !== undefined) taken.push(request);
      }
    }
    return taken;
  }

  /**
   * The queue is full and `owner` wants a place. Requests that finished while waiting are
   * dropped first. Then, if another owner has at least two more requests waiting than `owner`,
   * its newest one is refused and its place goes to `owner`: the longest queue pays, not the
   * client that waits least. False: nothing could be freed, `owner` is refused.
   */
  private makeRoomFor(owner: object): boolean {
    let longest: OwnerQueue<T> | undefined;
    for (const q of [...this.byOwner.values()]) {
      while (q.length > 0 && q.items[q.head]?.done === true) this.shift(q);
      if (q.length === 0) this.unlink(q);
      else if (longest === undefined || q.length > longest.length) longest = q;
    }
    if (this.count < this.capacity) return true;
    const own = this.byOwner.get(owner)?.length ?? 0;
    if (longest === undefined || longest.owner === owner || longest.length < own + 2) return false;
    const evicted = longest.items.pop();
    this.count--;
    if (longest.length === 0) this.unlink(longest);
    // Refused last: its answer may run code that comes back to this queue.
    if (evicted !== undefined) this.refuse(evicted);
    return true;
  }

  /** Drops the head of `q` (started, or finished while waiting). */
  private shift(q: OwnerQueue<T>): void {
    q.items[q.head++] = undefined;
    this.count--;
    if (q.head > COMPACT_AFTER && q.head * 2 > q.items.length) {
      q.items.splice(0, q.head);
      q.head = 0;
    }
  }

  /** Adds an owner's queue to the ring, last in turn. */
  private link(q: OwnerQueue<T>): void {
    const turn = this.turn;
    if (turn === undefined) {
      q.prev = q;
      q.next = q;
      this.turn = q;
      return;
    }
    q.prev = turn.prev;
    q.next = turn;
    turn.prev.next = q;
    turn.prev = q;
  }

  /** Takes an owner's (empty) queue out of the ring. */
  private unlink(q: OwnerQueue<T>): void {
    if (this.byOwner.get(q.owner) !== q) return;
    this.byOwner.delete(q.owner);
    if (q.next === q) {
      this.turn = undefined;
      return;
    }
    q.prev.next = q.next;
    q.next.prev = q.prev;
    if (this.turn === q) this.turn = q.next;
  }
}
