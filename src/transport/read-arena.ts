// Reused memory for a socket's reads (net.connect's `onread`), so that a connection carrying large
// answers allocates nothing per read.
//
// Why it matters (docs/design.md, "Read buffers"): a socket read the usual way gets a new
// ArrayBuffer per read. V8 counts that memory against the old generation's allocation limit until
// a scavenge frees it, and a proxy that forwards bytes allocates few JavaScript objects, so
// scavenges come rarely: hundreds of megabytes a second of read buffers then start one full
// mark-compact after another (measured: one every 60 ms, 40 µs of CPU per 80 KB answer), while a
// process with a smaller heap, like a plain byte pipe, stays under V8's activation threshold.
//
// Every read lands in a slab. Views of a slab leave the read callback in one way only: a
// FramedSocket that queues one for writing (a piece of a frame cut through, its head included)
// holds a reference on the slab (readSlabOf) until the kernel took the bytes (releaseSlabs). Whatever
// else keeps bytes keeps a copy: a frame decoder fed from an arena hands whole frames out as copies
// (FrameDecoderOptions.copyFrames). A slab is read into again from its start once no reference is
// left, so a connection whose answers are forwarded as they come reads into the same warm memory
// again and again; a slab still referenced is set aside and another one is used.

import { bufferView } from '../protocol/buffer-view.js';

/** Bytes of one slab: one read takes what the kernel has, up to the slab's free end. */
export const SLAB_SIZE = 256 * 1024;
/** A slab with less free room than this is set aside for the next read: no reads of a few bytes. */
export const MIN_READ = 64 * 1024;
/**
 * Slabs an arena keeps for reuse. One still referenced when an arena has this many is left to the
 * garbage collector (freed with the last view of it), so an arena holds at most this many slabs.
 */
export const MAX_SLABS = 4;

/**
 * Process-wide figures for /metrics: slabs made since start, and the bytes of the slabs arenas
 * hold now (a slab left to the garbage collector, or whose connection closed, no longer counts).
 */
export const readArenaStats = { slabsMade: 0, heldBytes: 0 };

/** One block of read memory and how many queued writes still point into it. */
export class ReadSlab {
  readonly bytes: Buffer;
  readonly memory: ArrayBufferLike;
  refs = 0;

  constructor() {
    this.bytes = Buffer.allocUnsafeSlow(SLAB_SIZE);
    this.memory = this.bytes.buffer;
  }
}

/**
 * The slab whose bytes are being handed out right now: set for the duration of a read callback,
 * which runs the whole forwarding path synchronously. A view of it queued for writing holds a
 * reference (readSlabOf).
 */
let slabBeingRead: ReadSlab | undefined;

/**
 * The slab `bytes` are a view of, if it is the slab being read: a writer that keeps them beyond
 * this call takes a reference on it (refs++) and gives it back with releaseSlabs() once the bytes
 * are written or dropped; whatever else keeps them must copy them.
 */
export function readSlabOf(bytes: Buffer): ReadSlab | undefined {
  const slab = slabBeingRead;
  return slab !== undefined && bytes.buffer === slab.memory ? slab : undefined;
}

/** Gives back references taken on slabs (see readSlabOf). */
export function releaseSlabs(slabs: readonly ReadSlab[]): void {
  for (let i = 0; i < slabs.length; i++) slabs[i]!.refs--;
}

/** The receiver of an arena's chunks: a view valid for the duration of the call. */
export type ChunkReceiver = (chunk: Buffer) => void;

export class ReadArena {
  private readonly flushWrites: (() => void) | undefined;
  private current: ReadSlab | undefined;
  private offset = 0;
  /** Slabs read into before, kept for reuse once their references are gone (oldest first). */
  private readonly spare: ReadSlab[] = [];
  private receiver: ChunkReceiver | undefined;
  /** Chunks read before a receiver was attached (copies), handed over by attach(). */
  private early: Buffer[] | undefined;
  /** Slabs allocated since the arena was made (a figure for tests and benchmarks). */
  slabsAllocated = 0;

  /**
   * For net.connect({ onread }): Node asks for the buffer of each read, then reports it (true: go
   * on reading; pausing is the socket's pause()).
   */
  readonly onread = {
    buffer: (): Buffer => this.nextReadBuffer(),
    callback: (bytesRead: number): boolean => {
      this.read(bytesRead);
      return true;
    },
  };

  /**
   * flushWrites: called when every slab is still referenced, to write out now what the writers
   * have queued (FramedSocket's flushAllQueued), which gives back the slabs of what the kernel
   * takes at once. Without it, or when that frees none, a new slab is made.
   */
  constructor(flushWrites?: () => void) {
    this.flushWrites = flushWrites;
  }

  /** Where chunks go from now on; chunks read before are handed over first. */
  attach(receiver: ChunkReceiver): void {
    this.receiver = receiver;
    const early = this.early;
    this.early = undefined;
    if (early !== undefined) for (const chunk of early) receiver(chunk);
  }

  /** The memory the next read goes to. */
  nextReadBuffer(): Buffer {
    let slab = this.current;
    if (slab === undefined) {
      slab = this.current = this.newSlab();
    } else if (slab.refs === 0) {
      // Nothing points into the slab any longer: read into it from the start again.
      this.offset = 0;
    } else if (SLAB_SIZE - this.offset < MIN_READ) {
      slab = this.current = this.nextSlab(slab);
      this.offset = 0;
    }
    return this.offset === 0 ? slab.bytes : bufferView(slab.bytes, this.offset, SLAB_SIZE);
  }

  /** `bytesRead` bytes arrived in the buffer nextReadBuffer() gave: to the receiver, as a view. */
  private read(bytesRead: number): void {
    const slab = this.current;
    if (slab === undefined || bytesRead <= 0) return;
    const chunk = bufferView(slab.bytes, this.offset, this.offset + bytesRead);
    this.offset += bytesRead;
    const receiver = this.receiver;
    if (receiver === undefined) {
      (this.early ??= []).push(Buffer.from(chunk));
      return;
    }
    slabBeingRead = slab;
    try {
      receiver(chunk);
    } finally {
      slabBeingRead = undefined;
    }
  }

  /** The slab after `full`: a spare no longer referenced, or a new one; `full` becomes a spare. */
  private nextSlab(full: ReadSlab): ReadSlab {
    let next = this.takeFreeSpare();
    if (next === undefined && this.flushWrites !== undefined) {
      // Every slab is queued for writing (many reads in one event-loop turn): write now.
      this.flushWrites();
      next = full.refs === 0 ? full : this.takeFreeSpare();
      if (next === full) return full;
    }
    this.spare.push(full);
    // Still referenced and beyond the bound: left to the garbage collector with its views.
    if (this.spare.length >= MAX_SLABS) {
      this.spare.shift();
      readArenaStats.heldBytes -= SLAB_SIZE;
    }
    return next ?? this.newSlab();
  }

  /** A spare slab nothing points into any longer, taken out of the spares. */
  private takeFreeSpare(): ReadSlab | undefined {
    for (let i = 0; i < this.spare.length; i++) {
      const slab = this.spare[i]!;
      if (slab.refs === 0) {
        this.spare.splice(i, 1);
        return slab;
      }
    }
    return undefined;
  }

  private newSlab(): ReadSlab {
    this.slabsAllocated++;
    readArenaStats.slabsMade++;
    readArenaStats.heldBytes += SLAB_SIZE;
    return new ReadSlab();
  }

  /** The socket closed: the slabs are forgotten (freed with the last view still queued, if any). */
  close(): void {
    readArenaStats.heldBytes -= this.slabCount * SLAB_SIZE;
    this.current = undefined;
    this.spare.length = 0;
    this.receiver = undefined;
    this.early = undefined;
  }

  /** Slabs held now, the current one included (at most MAX_SLABS). */
  get slabCount(): number {
    return this.spare.length + (this.current === undefined ? 0 : 1);
  }
}
