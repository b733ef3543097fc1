import fc from 'fast-check';
import { compressBlock, compressBound, decompressBlock } from 'lz4js';
import { compress as snappyjsCompress, uncompress as snappyjsUncompress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import {
  bodyCompressor,
  lz4CompressBlock,
  lz4DecompressBlock,
  snappyUncompressedLength,
} from '../../src/protocol/compression.js';
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js';
import { hex } from '../helpers/chunking.js';

const lz4 = bodyCompressor('lz4');
const snappy = bodyCompressor('snappy');

const A32 = Buffer.alloc(32, 'a');

/**
 * A raw LZ4 block written by hand for 32 × 'a' (LZ4 block format: token = literal count << 4 |
 * (match length - 4), literals, 2-byte LE match offset, extra length bytes; the last 5 bytes are
 * literals as the format requires).
 */
const A32_LZ4_BLOCK = hex(`
  1f          // token: 1 literal, match length 15 + extra
  61          // literal 'a'
  0100        // match offset 1 (repeat the previous byte)
  07          // extra match length: 4 + 15 + 7 = 26 bytes
  50          // token: 5 literals, no match (end of block)
  6161616161  // 'aaaaa'
`);

/** A raw Snappy buffer written by hand for 32 × 'a'. */
const A32_SNAPPY = hex(`
  20          // preamble: varint uncompressed length 32
  00 61       // literal tag (length 1 - 1) << 2 | 0b00, then 'a'
  1d 01       // copy, 1-byte offset: (11 - 4) << 2 | 0b01, offset 1 → 11 bytes
  1d 01       // 11 more
  15 01       // (9 - 4) << 2 | 0b01, offset 1 → 9 bytes: 1 + 11 + 11 + 9 = 32
`);

/** Rows-like data: repetitive enough to compress, varied enough to be realistic. */
function rowsLike(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    out[i] = i % 16 < 10 ? 0x61 + ((i >> 4) % 26) : x & 0xff;
  }
  return out;
}

function lz4jsCompress(input: Uint8Array): Buffer {
  const dst = new Uint8Array(compressBound(input.length));
  const n = compressBlock(input, dst, 0, input.length, new Uint32Array(1 << 16));
  if (n === 0) throw new Error('lz4js did not compress this input');
  return Buffer.from(dst.subarray(0, n));
}

function lz4jsDecompress(block: Uint8Array, length: number): Buffer {
  const dst = new Uint8Array(length);
  const end = decompressBlock(block, dst, 0, block.length, 0);
  expect(end).toBe(length);
  return Buffer.from(dst);
}

function expectProtocolError(fn: () => unknown, code: ProtocolErrorCode): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(ProtocolError.isProtocolError(caught)).toBe(true);
  const error = caught as ProtocolError;
  expect(error.code).toBe(code);
  return error;
}

describe('bodyCompressor', () => {
  it('names the two v4 compressions', () => {
    expect(lz4.name).toBe('lz4');
    expect(snappy.name).toBe('snappy');
  });
});

describe('LZ4 v4 body: <4-byte big-endian uncompressed length><raw LZ4 block>', () => {
  const goldenBody = Buffer.concat([
    hex('00000020 // uncompressed length 32, big-endian'),
    A32_LZ4_BLOCK,
  ]);

  it('decompresses a hand-written golden body', () => {
    expect(lz4.decompress(goldenBody, 1024)).toEqual(A32);
  });

  it('compresses to a big-endian length prefix and a block lz4js decodes', () => {
    const data = rowsLike(16 * 1024);
    const body = lz4.compress(data);
    expect(body.readUInt32BE(0)).toBe(data.length);
    expect(body.length).toBeLessThan(data.length);
    expect(lz4jsDecompress(body.subarray(4), data.length)).toEqual(data);
  });

  it('decompresses a body whose block lz4js compressed', () => {
    const data = rowsLike(5000, 7);
    const body = Buffer.alloc(4);
    body.writeUInt32BE(data.length, 0);
    expect(lz4.decompress(Buffer.concat([body, lz4jsCompress(data)]), data.length)).toEqual(data);
  });

  it('round-trips any bytes, including an empty body', () => {
    expect(lz4.decompress(lz4.compress(Buffer.alloc(0)), 0)).toEqual(Buffer.alloc(0));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), (bytes) => {
        const data = Buffer.from(bytes);
        expect(lz4.decompress(lz4.compress(data), data.length)).toEqual(data);
      }),
      { numRuns: 200 },
    );
  });

  it('does not modify the body it decompresses', () => {
    const copy = Buffer.from(goldenBody);
    lz4.decompress(goldenBody, 32);
    expect(goldenBody).toEqual(copy);
  });

  it('refuses a declared length above the limit before decompressing', () => {
    const error = expectProtocolError(
      () => lz4.decompress(goldenBody, 31),
      ProtocolErrorCode.FRAME_TOO_LARGE,
    );
    expect(error.message).toContain('32');
    // 4 GiB - 1 and a "negative" int: refused at once, never allocated.
    for (const prefix of ['ffffffff', '80000000']) {
      const hostile = Buffer.concat([hex(prefix), A32_LZ4_BLOCK]);
      expectProtocolError(
        () => lz4.decompress(hostile, 1 << 20),
        ProtocolErrorCode.FRAME_TOO_LARGE,
      );
    }
  });

  it('refuses a body shorter than its length prefix', () => {
    for (let n = 0; n < 4; n++) {
      expectProtocolError(
        () => lz4.decompress(goldenBody.subarray(0, n), 1024),
        ProtocolErrorCode.COMPRESSION,
      );
    }
  });

  it('refuses a declared length that differs from the decompressed length', () => {
    for (const declared of [31, 33, 1000]) {
      const body = Buffer.from(goldenBody);
      body.writeUInt32BE(declared, 0);
      expectProtocolError(() => lz4.decompress(body, 1024), ProtocolErrorCode.COMPRESSION);
    }
  });

  it('refuses every truncation of a valid body', () => {
    const body = lz4.compress(rowsLike(2000));
    for (let n = 4; n < body.length; n++) {
      expectProtocolError(
        () => lz4.decompress(body.subarray(0, n), 4096),
        ProtocolErrorCode.COMPRESSION,
      );
    }
  });

  it('wraps a library failure on a corrupt block, keeping the cause', () => {
    // A match whose offset (0xffff) points before the start of the output.
    const corrupt = hex('00000020  0f ffff');
    const error = expectProtocolError(
      () => lz4.decompress(corrupt, 1024),
      ProtocolErrorCode.COMPRESSION,
    );
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe('LZ4 raw blocks (v5 segment payloads)', () => {
  it('decompresses the hand-written golden block', () => {
    expect(lz4DecompressBlock(A32_LZ4_BLOCK, 32)).toEqual(A32);
  });

  it('compresses to a block without length prefix, which lz4js decodes', () => {
    const data = rowsLike(16 * 1024, 3);
    const block = lz4CompressBlock(data);
    expect(block.length).toBeLessThan(data.length);
    expect(lz4jsDecompress(block, data.length)).toEqual(data);
    expect(lz4DecompressBlock(block, data.length)).toEqual(data);
  });

  it('decompresses what lz4js compresses', () => {
    fc.assert(
      fc.property(fc.integer({ min: 64, max: 8000 }), fc.nat(1000), (length, seed) => {
        const data = rowsLike(length, seed);
        expect(lz4DecompressBlock(lz4jsCompress(data), length)).toEqual(data);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a wrong uncompressed length, corrupt and truncated blocks', () => {
    for (const length of [0, 31, 33, 131071]) {
      expectProtocolError(
        () => lz4DecompressBlock(A32_LZ4_BLOCK, length),
        ProtocolErrorCode.COMPRESSION,
      );
    }
    for (let n = 0; n < A32_LZ4_BLOCK.length; n++) {
      expectProtocolError(
        () => lz4DecompressBlock(A32_LZ4_BLOCK.subarray(0, n), 32),
        ProtocolErrorCode.COMPRESSION,
      );
    }
    expectProtocolError(
      () => lz4DecompressBlock(hex('0f ffff'), 32),
      ProtocolErrorCode.COMPRESSION,
    );
  });

  it('refuses an uncompressed length that is not a uint32', () => {
    for (const length of [-1, 1.5, 2 ** 32, Number.NaN]) {
      expectProtocolError(
        () => lz4DecompressBlock(A32_LZ4_BLOCK, length),
        ProtocolErrorCode.COMPRESSION,
      );
    }
  });
});

describe('Snappy v4 body: one raw Snappy buffer', () => {
  it('decompresses a hand-written golden body', () => {
    expect(snappy.decompress(A32_SNAPPY, 32)).toEqual(A32);
  });

  it('reads the varint preamble itself', () => {
    expect(snappyUncompressedLength(A32_SNAPPY)).toBe(32);
    expect(snappyUncompressedLength(hex('00'))).toBe(0);
    expect(snappyUncompressedLength(hex('80 01'))).toBe(128);
    expect(snappyUncompressedLength(hex('ff ff ff ff 0f'))).toBe(0xffffffff);
  });

  it('compresses to what snappyjs decodes', () => {
    const data = rowsLike(16 * 1024, 5);
    const body = snappy.compress(data);
    expect(body.length).toBeLessThan(data.length);
    expect(Buffer.from(snappyjsUncompress(body))).toEqual(data);
  });

  it('decompresses what snappyjs compresses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), (bytes) => {
        const body = Buffer.from(snappyjsCompress(bytes));
        expect(snappy.decompress(body, bytes.length)).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 100 },
    );
  });

  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), (bytes) => {
        const data = Buffer.from(bytes);
        expect(snappy.decompress(snappy.compress(data), data.length)).toEqual(data);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a declared length above the limit before decompressing', () => {
    expectProtocolError(() => snappy.decompress(A32_SNAPPY, 31), ProtocolErrorCode.FRAME_TOO_LARGE);
    // Preamble 0xffffffff followed by garbage: the limit answers, the library never runs.
    expectProtocolError(
      () => snappy.decompress(hex('ff ff ff ff 0f 00 61'), 1 << 20),
      ProtocolErrorCode.FRAME_TOO_LARGE,
    );
  });

  it('refuses a missing, overlong or overflowing preamble', () => {
    for (const bad of ['', '80', 'ff ff', '80 80 80 80 80 01', 'ff ff ff ff 1f']) {
      expectProtocolError(
        () => snappy.decompress(hex(bad), 1 << 30),
        ProtocolErrorCode.COMPRESSION,
      );
    }
  });

  it('refuses corrupt data and every truncation, keeping the cause', () => {
    // A copy of offset 5 before any literal was written.
    const error = expectProtocolError(
      () => snappy.decompress(hex('20 1d 05'), 1024),
      ProtocolErrorCode.COMPRESSION,
    );
    expect(error.cause).toBeInstanceOf(Error);
    for (let n = 1; n < A32_SNAPPY.length; n++) {
      expectProtocolError(
        () => snappy.decompress(A32_SNAPPY.subarray(0, n), 1024),
        ProtocolErrorCode.COMPRESSION,
      );
    }
  });

  it('refuses a preamble that disagrees with the data', () => {
    const lying = Buffer.from(A32_SNAPPY);
    lying[0] = 0x21; // claims 33 bytes
    expectProtocolError(() => snappy.decompress(lying, 1024), ProtocolErrorCode.COMPRESSION);
  });
});
