// leadingLiteralsAt: the first bytes of a compressed v4 body, read in place, checked against the
// compressors the proxy uses (lz4-napi, snappy) and hand-made streams.

import { describe, expect, it } from 'vitest';
import { bodyCompressor, type BodyCompressionName } from '../../src/protocol/compression.js';
import { leadingLiteralsAt } from '../../src/protocol/compression-peek.js';
import { ResultKind } from '../../src/protocol/constants.js';

/** A RESULT Rows body: the kind, then `size` bytes of rows that compress well. */
function rowsBody(size: number, seed: number): Buffer {
  const body = Buffer.alloc(4 + size);
  body.writeInt32BE(ResultKind.ROWS, 0);
  for (let i = 4; i < body.length; i++) body[i] = (i * seed) % 7 === 0 ? 0x61 + (i % 3) : 0x78;
  return body;
}

const COMPRESSIONS: BodyCompressionName[] = ['lz4', 'snappy'];

describe('leadingLiteralsAt', () => {
  for (const name of COMPRESSIONS) {
    it(`${name}: finds the kind of a Rows body in the first literals, at every size`, () => {
      const compressor = bodyCompressor(name);
      for (const size of [0, 1, 10, 100, 1000, 20_000, 300_000]) {
        for (const seed of [1, 3, 11]) {
          const body = rowsBody(size, seed);
          const compressed = compressor.compress(body);
          const at = leadingLiteralsAt(compressed, 0, compressed.length, name, 4);
          expect(at, `size ${size} seed ${seed}`).toBeGreaterThanOrEqual(0);
          expect(compressed.readInt32BE(at)).toBe(ResultKind.ROWS);
        }
      }
    });

    it(`${name}: -1 while the literals have not all arrived`, () => {
      const compressed = bodyCompressor(name).compress(rowsBody(5000, 1));
      const at = leadingLiteralsAt(compressed, 0, compressed.length, name, 4);
      for (let end = 0; end < at + 4; end++) {
        expect(leadingLiteralsAt(compressed, 0, end, name, 4)).toBe(-1);
      }
      // The same body at an offset (after a frame header) is found at the same distance.
      const framed = Buffer.concat([Buffer.alloc(9), compressed]);
      expect(leadingLiteralsAt(framed, 9, framed.length, name, 4)).toBe(at + 9);
    });
  }

  it('lz4: a first literal run shorter than asked for is not read', () => {
    // Token 0x10: one literal, then a match; the prefix says 8 bytes uncompressed.
    const block = Buffer.from([0, 0, 0, 8, 0x14, 0x00, 0x01, 0x00]);
    expect(leadingLiteralsAt(block, 0, block.length, 'lz4', 4)).toBe(-1);
  });

  it('snappy: a stream that starts with a copy is not read', () => {
    // Length varint 8, then a copy tag (low bits 01).
    const stream = Buffer.from([8, 0x01, 0x00, 0x00, 0x00, 0x00]);
    expect(leadingLiteralsAt(stream, 0, stream.length, 'snappy', 4)).toBe(-1);
  });

  it('snappy: a long first literal (length in extra bytes) is read', () => {
    // Length varint 300 (0xac 0x02), literal tag 60 << 2 with one length byte: 300 - 1.
    const literal = Buffer.alloc(300, 0x78);
    literal.writeInt32BE(ResultKind.ROWS, 0);
    const stream = Buffer.concat([Buffer.from([0xac, 0x02, 60 << 2, 299 & 0xff]), literal]);
    expect(leadingLiteralsAt(stream, 0, stream.length, 'snappy', 4)).toBe(4);
  });
});
