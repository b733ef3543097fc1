import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_STREAM_IDS, StreamIdAllocator } from '../../src/upstream/stream-ids.js';

describe('StreamIdAllocator', () => {
  it('hands out every id of 0..32767 exactly once, then -1', () => {
    const ids = new StreamIdAllocator();
    expect(ids.capacity).toBe(32768);
    expect(ids.available).toBe(32768);
    const seen = new Uint8Array(MAX_STREAM_IDS);
    let problems = 0;
    for (let i = 0; i < MAX_STREAM_IDS; i++) {
      const id = ids.acquire();
      if (!(id >= 0 && id < MAX_STREAM_IDS) || seen[id] === 1) problems += 1;
      else seen[id] = 1;
    }
    expect(problems).toBe(0);
    expect(seen.every((x) => x === 1)).toBe(true);
    expect(ids.available).toBe(0);
    expect(ids.inFlight).toBe(32768);
    expect(ids.acquire()).toBe(-1);
    expect(ids.acquire()).toBe(-1);
    expect(ids.available).toBe(0);
  });

  it('starts with the lowest ids and reuses a released id first', () => {
    const ids = new StreamIdAllocator();
    expect([ids.acquire(), ids.acquire(), ids.acquire()]).toEqual([0, 1, 2]);
    expect(ids.release(1)).toBe(true);
    expect(ids.acquire()).toBe(1);
    expect(ids.acquire()).toBe(3);
  });

  it('reuses an id released at exhaustion', () => {
    const ids = new StreamIdAllocator();
    for (let i = 0; i < MAX_STREAM_IDS; i++) ids.acquire();
    expect(ids.release(12345)).toBe(true);
    expect(ids.available).toBe(1);
    expect(ids.acquire()).toBe(12345);
    expect(ids.acquire()).toBe(-1);
  });

  it('ignores releases of ids that are not in flight', () => {
    const ids = new StreamIdAllocator(4);
    const id = ids.acquire();
    expect(ids.release(id)).toBe(true);
    expect(ids.release(id)).toBe(false);
    for (const bad of [-1, 4, 32768, 1.5, Number.NaN, 3]) expect(ids.release(bad)).toBe(false);
    expect(ids.available).toBe(4);
    // A double release must not put the id on the stack twice.
    const all = [ids.acquire(), ids.acquire(), ids.acquire(), ids.acquire()];
    expect(new Set(all).size).toBe(4);
    expect(ids.acquire()).toBe(-1);
  });

  it('refuses capacities outside 1..32768', () => {
    for (const bad of [0, -1, 32769, 2.5]) {
      expect(() => new StreamIdAllocator(bad)).toThrow(RangeError);
    }
  });

  it('never hands out an id that is in flight (property)', () => {
    const capacity = 64;
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant<'acquire'>('acquire'), fc.nat(capacity + 2)), {
          maxLength: 400,
        }),
        (ops) => {
          const ids = new StreamIdAllocator(capacity);
          const model = new Set<number>();
          for (const op of ops) {
            if (op === 'acquire') {
              const id = ids.acquire();
              if (model.size === capacity) {
                expect(id).toBe(-1);
              } else {
                expect(model.has(id)).toBe(false);
                expect(id >= 0 && id < capacity).toBe(true);
                model.add(id);
              }
            } else {
              expect(ids.release(op)).toBe(model.delete(op));
            }
            expect(ids.available).toBe(capacity - model.size);
            expect(ids.inFlight).toBe(model.size);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
