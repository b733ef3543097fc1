// The two checksums of v5 segment framing (native_protocol_v5.spec §2.1, §2.2; Cassandra
// `net/Crc.java`):
//
// - CRC24 protects the segment header. It is the MSB-first CRC of the OpenPGP family (the input
//   byte is XORed into bits 16..23 of a 24-bit register, then shifted out 8 times) with Cassandra's
//   own parameters: init 0x875060, polynomial 0x1974F0B, no final XOR. It runs over the header
//   integer's bytes least significant byte first, i.e. over the header bytes in wire order.
// - CRC32 protects the payload. It is zlib's CRC32, but the running value first absorbs the four
//   bytes FA 2D 55 CA (`Crc.initialBytes`), so a plain zlib CRC of the payload does not match.
//
// CRC24 is table-driven: one lookup per byte instead of eight conditional shifts; the header is
// checked once per segment, so the table is a small, constant cost.

import { crc32 } from 'node:zlib';

const CRC24_INIT = 0x875060;
const CRC24_POLY = 0x1974f0b;
const CRC24_MASK = 0xffffff;
const TWO_POW_32 = 0x1_0000_0000;

/** CRC24_TABLE[b]: the register after shifting the byte b (placed in bits 16..23) out 8 times. */
const CRC24_TABLE = buildCrc24Table();

function buildCrc24Table(): Uint32Array {
  const table = new Uint32Array(256);
  for (let b = 0; b < 256; b++) {
    let crc = b << 16;
    for (let bit = 0; bit < 8; bit++) {
      crc <<= 1;
      if ((crc & 0x1000000) !== 0) crc ^= CRC24_POLY;
    }
    table[b] = crc & CRC24_MASK;
  }
  return table;
}

/**
 * Cassandra's `Crc.crc24(long bytes, int len)`: the CRC24 of the `byteLength` low bytes of
 * `value`, least significant byte first. Segment headers use 3 bytes (uncompressed format) or
 * 5 bytes (LZ4 format), so `value` is a non-negative integer below 2^40 and `byteLength` ≤ 5;
 * anything up to 2^53 and 6 bytes works.
 */
export function crc24(value: number, byteLength: number): number {
  // Bitwise operators see 32 bits only: split the (up to 53-bit) integer into two words.
  let lo = value >>> 0;
  let hi = Math.floor(value / TWO_POW_32);
  let crc = CRC24_INIT;
  for (let i = 0; i < byteLength; i++) {
    // Every table entry is below 2^24, so the index is always in range.
    crc = ((crc << 8) & CRC24_MASK) ^ CRC24_TABLE[((crc >>> 16) ^ lo) & 0xff]!;
    lo = (lo >>> 8) | ((hi & 0xff) << 24);
    hi >>>= 8;
  }
  return crc;
}

/** The zlib CRC32 state after the four seed bytes; computed once, every payload CRC starts here. */
const CRC32_SEED = crc32(Uint8Array.of(0xfa, 0x2d, 0x55, 0xca));

/** Cassandra's payload CRC32 (`Crc.crc32()` then `update(buf)`): zlib CRC32 seeded with FA 2D 55 CA. */
export function crc32Cassandra(buf: Uint8Array): number {
  // zlib's crc32(crc, NULL, 0) returns 0, not crc: an empty view of a zero-length ArrayBuffer has
  // a null data pointer in Node 20 and would come back as 0 instead of the seed.
  if (buf.length === 0) return CRC32_SEED;
  return crc32(buf, CRC32_SEED);
}
