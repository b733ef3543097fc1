// The proxy's Murmur3 token (32-bit halves, no BigInt) against the simulator's BigInt version,
// (here rather than in test/protocol, whose tests also run in the image build, without sim/)
// which follows Cassandra's MurmurHash.hash3_x64_128 line by line, on keys of every tail length.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { murmur3Token as reference } from '../../sim/engine/murmur3.js';
import { murmur3Token, murmur3TokenInto, tokenFromParts } from '../../src/protocol/murmur3.js';

describe('murmur3Token', () => {
  it('matches the reference on random keys of 0 to 80 bytes', () => {
    for (let n = 0; n < 5000; n++) {
      const key = randomBytes(n % 81);
      expect(murmur3Token(key)).toBe(reference(key));
    }
  });

  it('sign-extends tail bytes >= 0x80 as Cassandra does', () => {
    for (let len = 1; len < 16; len++) {
      const key = Buffer.alloc(len, 0xff);
      expect(murmur3Token(key)).toBe(reference(key));
      const mixed = Buffer.from(Array.from({ length: len }, (_, i) => (i % 2 === 0 ? 0x80 : 0x7f)));
      expect(murmur3Token(mixed)).toBe(reference(mixed));
    }
  });

  it('hashes a slice of a larger buffer without copying, and maps the empty key to the minimum', () => {
    const big = randomBytes(100);
    const out = new Int32Array(2);
    murmur3TokenInto(big, 10, 30, out);
    expect(tokenFromParts(out[0]!, out[1]!)).toBe(reference(big.subarray(10, 30)));
    murmur3TokenInto(big, 5, 5, out);
    expect(tokenFromParts(out[0]!, out[1]!)).toBe(-(2n ** 63n));
  });
});
