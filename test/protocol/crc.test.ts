import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc24, crc32Cassandra } from '../../src/protocol/crc.js';
import { hex } from '../helpers/chunking.js';

/**
 * Oracle: Cassandra's `Crc.crc24` transcribed bit by bit (no table), over a BigInt so 5-byte
 * values need no word splitting. Independent of the table-driven code under test.
 */
function naiveCrc24(value: bigint, byteLength: number): number {
  let crc = 0x875060;
  let rest = value;
  for (let i = 0; i < byteLength; i++) {
    crc ^= Number(rest & 0xffn) << 16;
    rest >>= 8n;
    for (let bit = 0; bit < 8; bit++) {
      crc <<= 1;
      if ((crc & 0x1000000) !== 0) crc ^= 0x1974f0b;
    }
  }
  return crc;
}

/** Oracle: a bitwise reflected CRC32 (IEEE 802.3) over the seed bytes then the data. */
function naiveCassandraCrc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of [0xfa, 0x2d, 0x55, 0xca, ...data]) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (crc & 1 ? 0xedb88320 : 0);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('crc24', () => {
  it('is the initial value 0x875060 over zero bytes', () => {
    expect(crc24(0, 0)).toBe(0x875060);
  });

  it('matches a hand trace over one zero byte', () => {
    // Register 0x875060, XOR (0 << 16), then 8 × (shift left; XOR 0x1974F0B when bit 24 is set):
    //   1: 0x10EA0C0 → 0x99EFCB   2: 0x133DF96 → 0xA4909D   3: 0x149213A → 0xDE6E31
    //   4: 0x1BCDC62 → 0x2B9369   5: 0x5726D2               6: 0xAE4DA4
    //   7: 0x15C9B48 → 0xCBD443   8: 0x197A886 → 0x00E78D
    expect(crc24(0, 1)).toBe(0x00e78d);
  });

  // Known answers: computed with the Python driver's compute_crc24 (a third implementation), and
  // equal to the vectors DataStax's Go protocol library checks against the Java driver.
  it.each([
    [0, 3, 0x7de777],
    [0, 5, 0xaaac0a],
    [0x7fff_ffff_ffff_ffffn, 5, 0x8e4e78],
    // An uncompressed header: payload length 5, self-contained (bit 17).
    [0x02_0005, 3, 0x9a9919],
    [17_181_442_053, 5, 0x38089e],
    [34_359_607_301, 5, 0xdc6cae],
  ] as const)('crc24(%s, %i) = %i', (value, byteLength, expected) => {
    // Only the low byteLength bytes count, as in Java's crc24(long, int).
    const low = typeof value === 'bigint' ? Number(value & 0xff_ffff_ffffn) : value;
    expect(crc24(low, byteLength)).toBe(expected);
  });

  it('equals the bitwise oracle on every 3-byte and 5-byte header value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xff_ffff }), (value) => {
        expect(crc24(value, 3)).toBe(naiveCrc24(BigInt(value), 3));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 0xff_ffff_ffffn }), (value) => {
        expect(crc24(Number(value), 5)).toBe(naiveCrc24(value, 5));
      }),
      { numRuns: 500 },
    );
  });

  it('depends on every bit of a 5-byte value, including bits 32..39', () => {
    const base = crc24(0, 5);
    for (let bit = 0; bit < 40; bit++) expect(crc24(2 ** bit, 5)).not.toBe(base);
    expect(crc24(0xff_ffff_ffff, 5)).toBe(naiveCrc24(0xff_ffff_ffffn, 5));
  });
});

describe('crc32Cassandra', () => {
  it('over no bytes is the CRC32 of the seed FA 2D 55 CA alone', () => {
    expect(crc32Cassandra(new Uint8Array(0))).toBe(0x44777ed3);
    expect(crc32Cassandra(new Uint8Array(0))).toBe(crc32(hex('fa 2d 55 ca')));
  });

  it('is the seed CRC for an empty view of a zero-length buffer (zlib returns 0 for a null pointer)', () => {
    expect(crc32Cassandra(new Uint8Array(0).subarray(0, 0))).toBe(0x44777ed3);
    expect(crc32Cassandra(Buffer.alloc(0).subarray(0, 0))).toBe(0x44777ed3);
  });

  it('differs from plain zlib CRC32', () => {
    const data = Buffer.from('hello');
    expect(crc32Cassandra(data)).toBe(0xb60e8074);
    expect(crc32(data)).not.toBe(0xb60e8074);
  });

  it('matches a payload CRC captured from the Java driver', () => {
    // One QUERY envelope, "SELECT cluster_name FROM system.local" at ONE, stream 0.
    const payload = hex(`
      06 10 0000 07 0000002f  // envelope header: version 6, flags 0x10 (beta), stream 0, QUERY, 47
      00000025                // [long string] length 37
      53454c45435420636c75737465725f6e616d652046524f4d2073797374656d2e6c6f63616c
      0001 00000000           // consistency ONE, query flags 0 ([int] from v5 on)
    `);
    expect(crc32Cassandra(payload)).toBe(37_932_456);
  });

  it('equals a bitwise oracle and honours views into larger buffers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (data, pad) => {
        const big = new Uint8Array(pad + data.length + pad).fill(0xaa);
        big.set(data, pad);
        const view = big.subarray(pad, pad + data.length);
        expect(crc32Cassandra(view)).toBe(naiveCassandraCrc32(data));
      }),
      { numRuns: 200 },
    );
  });
});
