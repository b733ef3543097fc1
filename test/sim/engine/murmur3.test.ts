import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TOKEN, MIN_TOKEN, murmur3Hash, murmur3Token } from '../../../sim/engine/murmur3.js';
import { serializePartitionKey } from '../../../sim/engine/partition-key.js';

// Expected values computed with the Python driver's implementation of Cassandra's partitioner:
// /usr/bin/python3 -c "from cassandra.murmur3 import murmur3; print(murmur3(bytes.fromhex(...)))"
const VECTORS: readonly (readonly [string, string, bigint])[] = [
  ['int key 1', '00000001', -4069959284402364209n],
  ['int key 2', '00000002', -3248873570005575792n],
  ["text key 'a'", '61', -8839064797231613815n],
  ['bigint key 1', '0000000000000001', 6292367497774912474n],
  ['composite (1, a)', '0004000000010000016100', 6516349416904725244n],
  ['15 high bytes (signed tail quirk)', '808182838485868788898a8b8c8d8e', 63099782945186636n],
  ['one whole block', '000102030405060708090a0b0c0d0e0f', 4920504430128807728n],
  [
    'two blocks and a tail',
    'c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8',
    -7339430995465112631n,
  ],
  ['hello world', '68656c6c6f20776f726c64', 5998619086395760910n],
  ['17 x 0xff', 'ff'.repeat(17), -4128212798341382003n],
  [
    '40 bytes',
    '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627',
    -4350383952250503068n,
  ],
];

describe('murmur3Token', () => {
  it.each(VECTORS)('%s', (_name, hex, expected) => {
    expect(murmur3Token(Buffer.from(hex, 'hex'))).toBe(expected);
  });

  it('maps the empty key to the minimum token, as Murmur3Partitioner.getToken does', () => {
    expect(murmur3Token(Buffer.alloc(0))).toBe(MIN_TOKEN);
    expect(murmur3Hash(Buffer.alloc(0))).toBe(0n);
  });

  it('reads a key that is a view into a larger buffer', () => {
    const big = Buffer.from('ff0000000100ff', 'hex');
    expect(murmur3Token(big.subarray(1, 5))).toBe(-4069959284402364209n);
  });

  it('always returns a token in (MIN_TOKEN, MAX_TOKEN] for non-empty keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        const t = murmur3Token(bytes);
        return t > MIN_TOKEN && t <= MAX_TOKEN;
      }),
      { numRuns: 300 },
    );
  });
});

describe('serializePartitionKey', () => {
  it('is the value itself for one column', () => {
    expect(serializePartitionKey([Buffer.from('00000001', 'hex')]).toString('hex')).toBe(
      '00000001',
    );
  });

  it('is the CompositeType encoding for several columns', () => {
    const key = serializePartitionKey([Buffer.from('00000001', 'hex'), Buffer.from('a')]);
    // <len 0004><00000001><eoc 00> <len 0001><61><eoc 00>
    expect(key.toString('hex')).toBe('0004000000010000016100');
  });

  it('refuses an empty single-column key', () => {
    expect(() => serializePartitionKey([Buffer.alloc(0)])).toThrow('Key may not be empty');
  });
});
