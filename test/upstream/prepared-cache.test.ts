// PreparedCache keeps one PREPARE frame per (id, session). Regression: it used to keep one per id,
// so a second session preparing the same statement (same id: a client on v4 uncompressed after
// one on v4 with lz4) took the entry from the first, whose UNPREPARED then went back to its
// client and whose statements were no longer replayed on reconnect
// (test/e2e/resilience.test.ts has the end-to-end case with the Python and Node.js drivers).

import { describe, expect, it } from 'vitest';
import { PreparedCache } from '../../src/upstream/prepared-cache.js';

const ID = Buffer.from('0123456789abcdef');
const LZ4 = '4//lz4';
const PLAIN = '4//';

describe('PreparedCache with one id in several sessions', () => {
  it('keeps the frame of every session that prepared the id', () => {
    const cache = new PreparedCache(10);
    cache.set(ID, Buffer.from('prepare-lz4'), LZ4);
    cache.set(ID, Buffer.from('prepare-plain'), PLAIN);
    expect(cache.get(ID, LZ4)?.frame.toString()).toBe('prepare-lz4');
    expect(cache.get(ID, PLAIN)?.frame.toString()).toBe('prepare-plain');
    expect(cache.get(ID, '5//')).toBeUndefined();
    expect(cache.forSession(LZ4).map((e) => e.frame.toString())).toEqual(['prepare-lz4']);
    expect(cache.forSession(PLAIN).map((e) => e.frame.toString())).toEqual(['prepare-plain']);
    expect(cache.size).toBe(1);
  });

  it('without a session key, gives the frame stored last', () => {
    const cache = new PreparedCache(10);
    cache.set(ID, Buffer.from('a'), LZ4);
    cache.set(ID, Buffer.from('b'), PLAIN);
    expect(cache.get(ID)?.sessionKey).toBe(PLAIN);
    cache.set(ID, Buffer.from('c'), LZ4);
    expect(cache.get(ID)?.frame.toString()).toBe('c');
  });

  it('a session preparing the id again replaces only its own frame', () => {
    const cache = new PreparedCache(10);
    cache.set(ID, Buffer.from('old'), LZ4);
    cache.set(ID, Buffer.from('plain'), PLAIN);
    cache.set(ID, Buffer.from('new'), LZ4);
    expect(cache.get(ID, LZ4)?.frame.toString()).toBe('new');
    expect(cache.get(ID, PLAIN)?.frame.toString()).toBe('plain');
  });

  it('evicts least recently used ids, with all their sessions', () => {
    const cache = new PreparedCache(2);
    const other = Buffer.from([2]);
    const third = Buffer.from([3]);
    cache.set(ID, Buffer.from('x'), LZ4);
    cache.set(ID, Buffer.from('y'), PLAIN);
    cache.set(other, Buffer.from('z'), PLAIN);
    cache.get(ID, LZ4); // ID is now the most recently used
    cache.set(third, Buffer.from('w'), PLAIN);
    expect(cache.get(other, PLAIN)).toBeUndefined();
    expect(cache.get(ID, LZ4)?.frame.toString()).toBe('x');
    expect(cache.get(ID, PLAIN)?.frame.toString()).toBe('y');
    expect(cache.size).toBe(2);
  });
});
