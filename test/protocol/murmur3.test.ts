// Golden Murmur3 tokens (Cassandra's Murmur3Partitioner, MurmurHash3 x64 128, first half): the
// int keys are the tokens Cassandra itself prints for `SELECT token(k)` with k = 0, 1, 2; the
// others cover every tail length class. test/upstream/murmur3-reference.test.ts compares random
// keys with the simulator's line-by-line BigInt version.

import { describe, expect, it } from 'vitest';
import { murmur3Token } from '../../src/protocol/murmur3.js';

function int(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

describe('murmur3Token golden values', () => {
  it('gives Cassandra’s tokens for int keys 0, 1 and 2', () => {
    expect(murmur3Token(int(0))).toBe(-3485513579396041028n);
    expect(murmur3Token(int(1))).toBe(-4069959284402364209n);
    expect(murmur3Token(int(2))).toBe(-3248873570005575792n);
  });

  it('hashes text keys shorter than, equal to and longer than one 16-byte block', () => {
    expect(murmur3Token(Buffer.from('hello'))).toBe(-3758069500696749310n);
    expect(murmur3Token(Buffer.from('0123456789abcdef'))).toBe(5467490433528156583n);
    expect(murmur3Token(Buffer.from('0123456789abcdefg'))).toBe(-8200385122730116642n);
  });
});
