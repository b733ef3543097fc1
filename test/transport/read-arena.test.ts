// ReadArena, driven as Node drives a socket made with `onread`: buffer() before each read, then
// callback(bytesRead) once the kernel filled that many bytes. The property at stake: memory a
// writer still holds (a reference on its slab) is never read into again, whatever the order of
// reads, holds and releases, and the arena never holds more than MAX_SLABS slabs.

import { fc, test as propertyTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  MAX_SLABS,
  MIN_READ,
  ReadArena,
  SLAB_SIZE,
  readSlabOf,
  releaseSlabs,
  type ReadSlab,
} from '../../src/transport/read-arena.js';

/** One read as the kernel does it: `bytes` copied into the arena's buffer (at most its length). */
function kernelRead(arena: ReadArena, bytes: Buffer): number {
  const target = arena.onread.buffer();
  const n = Math.min(bytes.length, target.length);
  bytes.copy(target, 0, 0, n);
  arena.onread.callback(n);
  return n;
}

/** Bytes that differ from one read to the next (a byte of its own, its number first), so an overwrite shows. */
function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length, (seed * 37 + 1) & 0xff);
  if (length >= 4) b.writeUInt32BE(seed, 0);
  return b;
}

describe('ReadArena', () => {
  it('reads into the same slab from its start again while nothing is kept', () => {
    const arena = new ReadArena();
    const seen: Buffer[] = [];
    arena.attach((chunk) => seen.push(chunk));
    kernelRead(arena, pattern(1000, 1));
    kernelRead(arena, pattern(2000, 2));
    expect(seen[0]!.buffer).toBe(seen[1]!.buffer);
    expect(seen[0]!.byteOffset).toBe(seen[1]!.byteOffset);
    expect(seen[1]).toEqual(pattern(2000, 2));
    expect(arena.slabsAllocated).toBe(1);
  });

  it('offers the whole free end of a slab to one read', () => {
    const arena = new ReadArena();
    expect(arena.onread.buffer().length).toBe(SLAB_SIZE);
  });

  it('never reads into bytes a writer holds, and reads into them again once given back', () => {
    const arena = new ReadArena();
    const held: { slab: ReadSlab; view: Buffer; copy: Buffer }[] = [];
    arena.attach((chunk) => {
      const slab = readSlabOf(chunk)!;
      slab.refs++;
      held.push({ slab, view: chunk, copy: Buffer.from(chunk) });
    });
    // Reads of 100 KB while everything is held: the first slab fills, then a second is made.
    for (let i = 0; i < 3; i++) kernelRead(arena, pattern(100_000, i));
    expect(arena.slabsAllocated).toBe(2);
    expect(held.every((h) => h.view.equals(h.copy))).toBe(true);
    // Given back: the next read goes to the start of the current slab.
    const firstSlab = held[0]!.slab;
    releaseSlabs(held.splice(0).map((h) => h.slab));
    expect(firstSlab.refs).toBe(0);
    arena.attach(() => undefined);
    const target = arena.onread.buffer();
    expect(target.byteOffset).toBe(0);
    expect(target.length).toBe(SLAB_SIZE);
    expect(arena.slabsAllocated).toBe(2);
  });

  it('moves to another slab when the free end is smaller than MIN_READ', () => {
    const arena = new ReadArena();
    let slab: ReadSlab | undefined;
    arena.attach((chunk) => {
      slab = readSlabOf(chunk);
      slab!.refs++;
    });
    kernelRead(arena, pattern(SLAB_SIZE - MIN_READ + 1, 1));
    const first = slab;
    expect(arena.onread.buffer().length).toBe(SLAB_SIZE); // a fresh slab, whole
    kernelRead(arena, pattern(10, 2));
    expect(slab).not.toBe(first);
  });

  it('asks for queued writes to be flushed before it makes a new slab, and uses what that frees', () => {
    const holds: ReadSlab[] = [];
    let flushes = 0;
    const arena = new ReadArena(() => {
      flushes++;
      releaseSlabs(holds.splice(0));
    });
    arena.attach((chunk) => {
      const slab = readSlabOf(chunk)!;
      slab.refs++;
      holds.push(slab);
    });
    // Every read fills a slab's free end and is held until the next "flush".
    for (let i = 0; i < 20; i++) kernelRead(arena, pattern(SLAB_SIZE, i));
    expect(flushes).toBeGreaterThan(0);
    expect(arena.slabsAllocated).toBe(1);
  });

  it('holds at most MAX_SLABS slabs; one still referenced beyond that is left as it is', () => {
    const arena = new ReadArena();
    const held: { view: Buffer; copy: Buffer }[] = [];
    arena.attach((chunk) => {
      readSlabOf(chunk)!.refs++; // never given back: a peer that never reads
      held.push({ view: chunk, copy: Buffer.from(chunk) });
    });
    for (let i = 0; i < 40; i++) {
      kernelRead(arena, pattern(SLAB_SIZE, i));
      expect(arena.slabCount).toBeLessThanOrEqual(MAX_SLABS);
    }
    expect(arena.slabsAllocated).toBe(40);
    expect(held.every((h) => h.view.equals(h.copy))).toBe(true);
  });

  it('keeps copies of chunks read before a receiver is attached, and hands them over first', () => {
    const arena = new ReadArena();
    kernelRead(arena, pattern(50, 1));
    kernelRead(arena, pattern(60, 2));
    const seen: Buffer[] = [];
    arena.attach((chunk) => seen.push(Buffer.from(chunk)));
    kernelRead(arena, pattern(70, 3));
    expect(seen).toEqual([pattern(50, 1), pattern(60, 2), pattern(70, 3)]);
  });

  it('names the slab being read only during the read callback', () => {
    const arena = new ReadArena();
    let inside: ReadSlab | undefined;
    let chunkSeen: Buffer | undefined;
    arena.attach((chunk) => {
      chunkSeen = chunk;
      inside = readSlabOf(chunk);
    });
    kernelRead(arena, pattern(10, 1));
    expect(inside).toBeDefined();
    expect(readSlabOf(chunkSeen!)).toBeUndefined();
    expect(readSlabOf(Buffer.alloc(10))).toBeUndefined();
  });

  propertyTest.prop(
    [
      fc.array(
        fc.record({
          size: fc.integer({ min: 1, max: SLAB_SIZE }),
          hold: fc.boolean(),
          releaseOldest: fc.nat({ max: 3 }),
          flushFrees: fc.boolean(),
        }),
        { minLength: 1, maxLength: 60 },
      ),
    ],
    { numRuns: 100 },
  )('held bytes are never overwritten, whatever reads, holds and releases come', (steps) => {
    const holds: { slab: ReadSlab; view: Buffer; copy: Buffer }[] = [];
    let flushFrees = false;
    const release = (count: number): void => {
      for (const h of holds.splice(0, count)) {
        expect(h.view.equals(h.copy)).toBe(true); // intact up to its release
        releaseSlabs([h.slab]);
      }
    };
    const arena = new ReadArena(() => {
      if (flushFrees) release(holds.length);
    });
    let hold = false;
    arena.attach((chunk) => {
      if (!hold) return;
      const slab = readSlabOf(chunk)!;
      slab.refs++;
      holds.push({ slab, view: chunk, copy: Buffer.from(chunk) });
    });
    steps.forEach((step, i) => {
      hold = step.hold;
      flushFrees = step.flushFrees;
      kernelRead(arena, pattern(step.size, i));
      expect(holds.every((h) => h.view.equals(h.copy))).toBe(true);
      expect(arena.slabCount).toBeLessThanOrEqual(MAX_SLABS);
      release(step.releaseOldest);
    });
    release(holds.length);
  });
});
