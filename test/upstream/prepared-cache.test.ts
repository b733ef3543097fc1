// PreparedCache keeps one PREPARE frame per (id, session), within a budget in bytes.
//
// Regression: it used to keep one frame per id, so a second session preparing the same statement
// (same id: a client on v4 uncompressed after one on v4 with lz4) took the entry from the first,
// whose UNPREPARED then went back to its client and whose statements were no longer replayed on
// reconnect (test/e2e/resilience.test.ts has the end-to-end case with the Python and Node.js
// drivers).
//
// It also used to be bounded by entry count only (100,000 entries), so clients preparing long or
// ever-changing statements could grow the proxy's memory without limit: each frame now costs its
// length plus PREPARED_ENTRY_OVERHEAD_BYTES (and its keys) against the budget.

import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PREPARED_CACHE_BYTES,
  PREPARED_ENTRY_OVERHEAD_BYTES,
  PreparedCache,
} from '../../src/upstream/prepared-cache.js';

const ID = Buffer.from('0123456789abcdef');
const LZ4 = '4//lz4';
const PLAIN = '4//';
const ROOMY = 1 << 20;

/** What one frame costs against the budget. */
function cost(frame: Buffer, id: Buffer, session: string): number {
  return frame.length + PREPARED_ENTRY_OVERHEAD_BYTES + id.length + session.length;
}

describe('PreparedCache with one id in several sessions', () => {
  it('keeps the frame of every session that prepared the id', () => {
    const cache = new PreparedCache(ROOMY);
    cache.set(ID, Buffer.from('prepare-lz4'), LZ4);
    cache.set(ID, Buffer.from('prepare-plain'), PLAIN);
    expect(cache.get(ID, LZ4)?.frame.toString()).toBe('prepare-lz4');
    expect(cache.get(ID, PLAIN)?.frame.toString()).toBe('prepare-plain');
    expect(cache.get(ID, '5//')).toBeUndefined();
    expect(cache.forSession(LZ4).map((e) => e.frame.toString())).toEqual(['prepare-lz4']);
    expect(cache.forSession(PLAIN).map((e) => e.frame.toString())).toEqual(['prepare-plain']);
    expect(cache.size).toBe(1);
    expect(cache.entryCount).toBe(2);
  });

  it('without a session key, gives the frame stored last', () => {
    const cache = new PreparedCache(ROOMY);
    cache.set(ID, Buffer.from('a'), LZ4);
    cache.set(ID, Buffer.from('b'), PLAIN);
    expect(cache.get(ID)?.sessionKey).toBe(PLAIN);
    cache.set(ID, Buffer.from('c'), LZ4);
    expect(cache.get(ID)?.frame.toString()).toBe('c');
  });

  it('a session preparing the id again replaces only its own frame', () => {
    const cache = new PreparedCache(ROOMY);
    cache.set(ID, Buffer.from('old'), LZ4);
    cache.set(ID, Buffer.from('plain'), PLAIN);
    cache.set(ID, Buffer.from('new'), LZ4);
    expect(cache.get(ID, LZ4)?.frame.toString()).toBe('new');
    expect(cache.get(ID, PLAIN)?.frame.toString()).toBe('plain');
  });
});

describe('PreparedCache bounded in bytes', () => {
  it('counts each frame as its length plus the overhead, and a replaced frame only once', () => {
    const cache = new PreparedCache(ROOMY);
    const a = Buffer.from('x'.repeat(1000));
    const b = Buffer.from('y'.repeat(10));
    cache.set(ID, a, LZ4);
    cache.set(ID, b, PLAIN);
    expect(cache.bytes).toBe(cost(a, ID, LZ4) + cost(b, ID, PLAIN));
    expect(cache.entryCount).toBe(2);
    const c = Buffer.from('z'.repeat(300));
    cache.set(ID, c, LZ4);
    expect(cache.bytes).toBe(cost(c, ID, LZ4) + cost(b, ID, PLAIN));
    expect(cache.entryCount).toBe(2);
    expect(cache.evictions).toBe(0);
  });

  it('evicts least recently used ids, with all their sessions, while over the budget', () => {
    const other = Buffer.from([2]);
    const third = Buffer.from([3]);
    const x = Buffer.from('x');
    // Exactly the three frames below fit; a fourth of the same size does not.
    const budget = cost(x, ID, LZ4) + cost(x, ID, PLAIN) + cost(x, other, PLAIN);
    const cache = new PreparedCache(budget);
    cache.set(ID, x, LZ4);
    cache.set(ID, x, PLAIN);
    cache.set(other, x, PLAIN);
    expect(cache.bytes).toBe(budget);
    cache.get(ID, LZ4); // ID is now the most recently used
    cache.set(third, x, PLAIN);
    expect(cache.get(other, PLAIN)).toBeUndefined();
    expect(cache.get(ID, LZ4)?.frame.toString()).toBe('x');
    expect(cache.get(ID, PLAIN)?.frame.toString()).toBe('x');
    expect(cache.get(third, PLAIN)?.frame.toString()).toBe('x');
    expect(cache.evictions).toBe(1);
    expect(cache.bytes).toBeLessThanOrEqual(budget);

    // A long statement pushes out as many short ones as it needs, oldest first.
    const long = Buffer.alloc(cost(x, ID, LZ4) + 10, 0x61);
    cache.set(Buffer.from([4]), long, PLAIN);
    expect(cache.bytes).toBeLessThanOrEqual(budget);
    expect(cache.get(Buffer.from([4]), PLAIN)?.frame).toEqual(long);
    expect(cache.get(ID, LZ4)).toBeUndefined();
    expect(cache.evictions).toBe(3);
  });

  it('does not cache a frame larger than the whole budget, and keeps what it had', () => {
    const small = Buffer.from('s');
    const cache = new PreparedCache(cost(small, ID, PLAIN) + 100);
    cache.set(ID, small, PLAIN);
    const huge = Buffer.alloc(200);
    cache.set(Buffer.from([9]), huge, PLAIN);
    expect(cache.get(Buffer.from([9]), PLAIN)).toBeUndefined();
    expect(cache.get(ID, PLAIN)?.frame.toString()).toBe('s');
    expect(cache.evictions).toBe(0);
    expect(new PreparedCache(0).size).toBe(0);
  });

  it('holds many tiny statements to the budget too (the overhead counts)', () => {
    const budget = 64 * 1024;
    const cache = new PreparedCache(budget);
    const id = Buffer.alloc(16);
    for (let i = 0; i < 10_000; i++) {
      id.writeUInt32BE(i, 0);
      cache.set(id, Buffer.from([i & 0xff]), PLAIN);
    }
    expect(cache.bytes).toBeLessThanOrEqual(budget);
    expect(cache.entryCount).toBeLessThanOrEqual(budget / PREPARED_ENTRY_OVERHEAD_BYTES);
    expect(cache.entryCount + cache.evictions).toBe(10_000);
    // The most recent ones are the ones kept.
    id.writeUInt32BE(9_999, 0);
    expect(cache.get(id, PLAIN)).toBeDefined();
    id.writeUInt32BE(0, 0);
    expect(cache.get(id, PLAIN)).toBeUndefined();
  });

  it('reports evictions as a summary at most once a minute', () => {
    let now = 1_000_000;
    const summaries: { evicted: number; entries: number; bytes: number }[] = [];
    const frame = Buffer.from('f');
    const one = cost(frame, Buffer.alloc(4), PLAIN);
    const cache = new PreparedCache(2 * one, {
      onEvictions: (s) => summaries.push(s),
      now: () => now,
    });
    const id = Buffer.alloc(4);
    const add = (i: number): void => {
      id.writeUInt32BE(i, 0);
      cache.set(id, frame, PLAIN);
    };
    add(0);
    add(1);
    add(2); // first eviction: reported at once
    add(3);
    add(4);
    now += 59_999;
    add(5);
    expect(summaries).toStrictEqual([{ evicted: 1, entries: 2, bytes: 2 * one }]);
    now += 1;
    add(6); // a minute after the first report: the evictions since, in one summary
    expect(summaries).toStrictEqual([
      { evicted: 1, entries: 2, bytes: 2 * one },
      { evicted: 4, entries: 2, bytes: 2 * one },
    ]);
    expect(cache.evictions).toBe(5);
  });

  it('defaults to a 64 MiB budget', () => {
    expect(DEFAULT_PREPARED_CACHE_BYTES).toBe(64 * 1024 * 1024);
    expect(new PreparedCache().budgetBytes).toBe(DEFAULT_PREPARED_CACHE_BYTES);
  });
});
