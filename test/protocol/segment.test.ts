import fc from 'fast-check';
import { compressBlock, compressBound, decompressBlock } from 'lz4js';
import { describe, expect, it } from 'vitest';
import { crc32Cassandra } from '../../src/protocol/crc.js';
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js';
import {
  LZ4_SEGMENT_HEADER_LENGTH,
  MAX_SEGMENT_PAYLOAD_LENGTH,
  SEGMENT_HEADER_LENGTH,
  SegmentDecoder,
  encodeSegment,
  encodeSegments,
  readLz4SegmentHeader,
  readSegmentHeader,
  writeLz4SegmentHeader,
  writeSegmentHeader,
} from '../../src/protocol/segment.js';
import type { SegmentCompression, SegmentHeader } from '../../src/protocol/segment.js';
import { chunkings, detached, hex } from '../helpers/chunking.js';

// Golden bytes, written from the layouts in native_protocol_v5.spec §2.1/§2.2 and
// docs/drivers.md §5; the CRC values were computed with the Python driver's algorithms
// (compute_crc24, zlib.crc32 seeded with FA 2D 55 CA), not with the code under test.

/** A v5 OPTIONS request envelope: version 5, flags 0, stream 1, opcode 0x05, empty body. */
const OPTIONS_1 = hex('05 00 0001 05 00000000');
const OPTIONS_2 = hex('05 00 0002 05 00000000');
const A32 = Buffer.alloc(32, 'a');
/** Hand-written raw LZ4 block for 32 × 'a' (see compression.test.ts). */
const A32_LZ4_BLOCK = hex('1f 61 0100 07 50 6161616161');

const GOLDEN_ONE_FRAME = hex(`
  09 00 02                      // LE 24-bit: payload length 9 | self-contained (bit 17)
  a4 c8 c1                      // LE CRC24 of 0x020009
  05 00 0001 05 00000000        // OPTIONS, stream 1
  b5 55 74 86                   // LE CRC32 of the payload
`);
const GOLDEN_TWO_FRAMES = hex(`
  12 00 02                      // payload length 18 | self-contained
  f6 cb cf                      // LE CRC24 of 0x020012
  05 00 0001 05 00000000        // OPTIONS, stream 1
  05 00 0002 05 00000000        // OPTIONS, stream 2
  17 04 4d e6                   // LE CRC32
`);
const GOLDEN_PART = hex(`
  09 00 00                      // payload length 9, NOT self-contained
  b9 19 78                      // LE CRC24 of 0x000009
  05 00 0001 05 00000000
  b5 55 74 86
`);
const GOLDEN_LZ4_PLAIN = hex(`
  09 00 00 00 04                // LE 40-bit: compressed length 9, uncompressed length 0 (= sent
                                //   as is), self-contained (bit 34 = bit 2 of the fifth byte)
  c2 b8 95                      // LE CRC24 of those 5 bytes
  05 00 0001 05 00000000        // the payload, not compressed
  b5 55 74 86                   // LE CRC32 of the payload as sent
`);
const GOLDEN_LZ4_COMPRESSED = hex(`
  0b 00 40 00 04                // compressed length 11, uncompressed length 32 (32 << 17 =
                                //   0x400000), self-contained
  15 57 d3                      // LE CRC24
  1f 61 0100 07 50 6161616161   // raw LZ4 block → 32 × 'a'
  ab f1 58 d9                   // LE CRC32 of the compressed bytes
`);
const GOLDEN_LZ4_COMPRESSED_PART = hex(`
  0b 00 40 00 00                // as above, NOT self-contained
  24 ba 37
  1f 61 0100 07 50 6161616161
  ab f1 58 d9
`);

interface Received {
  payload: Buffer;
  selfContained: boolean;
}

function decodeAll(
  chunks: readonly Buffer[],
  compression: SegmentCompression,
  maxPayloadLength?: number,
): Received[] {
  const out: Received[] = [];
  const decoder = new SegmentDecoder({
    compression,
    ...(maxPayloadLength === undefined ? {} : { maxPayloadLength }),
    onPayload: (payload, selfContained) => out.push({ payload, selfContained }),
  });
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  return out;
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

/** A whole envelope with a random body: 9-byte header (length = body length), then the body. */
function frame(bodyLength: number, seed: number, compressible = true): Buffer {
  const f = Buffer.allocUnsafe(9 + bodyLength);
  f.writeUInt8(0x05, 0);
  f.writeUInt8(0, 1);
  f.writeInt16BE(seed & 0x7fff, 2);
  f.writeUInt8(0x07, 4);
  f.writeInt32BE(bodyLength, 5);
  let x = seed | 1;
  for (let i = 9; i < f.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    f[i] = compressible && i % 8 < 5 ? 0x41 + ((i >> 5) % 8) : (x >>> 16) & 0xff;
  }
  return f;
}

/**
 * Test oracle for the caller's side: splits self-contained payloads into whole envelopes (and
 * fails if one does not end on a frame boundary) and joins runs of non-self-contained payloads
 * into exactly one envelope each.
 */
function framesOf(received: readonly Received[]): Buffer[] {
  const frames: Buffer[] = [];
  let parts: Buffer[] = [];
  let partBytes = 0;
  for (const { payload, selfContained } of received) {
    if (selfContained) {
      expect(parts).toEqual([]);
      let offset = 0;
      while (offset < payload.length) {
        const end = offset + 9 + payload.readInt32BE(offset + 5);
        expect(end).toBeLessThanOrEqual(payload.length);
        frames.push(payload.subarray(offset, end));
        offset = end;
      }
      continue;
    }
    parts.push(payload);
    partBytes += payload.length;
    const first = parts[0]!;
    const frameLength = 9 + first.readInt32BE(5);
    expect(partBytes).toBeLessThanOrEqual(frameLength);
    if (partBytes === frameLength) {
      // A frame split over segments must need more than one of them.
      expect(frameLength).toBeGreaterThan(MAX_SEGMENT_PAYLOAD_LENGTH);
      frames.push(Buffer.concat(parts));
      parts = [];
      partBytes = 0;
    }
  }
  expect(parts).toEqual([]);
  return frames;
}

/** No two neighbouring self-contained payloads could have been one: the packing is greedy. */
function expectTightPacking(received: readonly Received[]): void {
  for (let i = 0; i + 1 < received.length; i++) {
    const current = received[i]!;
    const next = received[i + 1]!;
    if (!current.selfContained || !next.selfContained) continue;
    const nextFirstFrame = 9 + next.payload.readInt32BE(5);
    expect(current.payload.length + nextFirstFrame).toBeGreaterThan(MAX_SEGMENT_PAYLOAD_LENGTH);
  }
}

/** Frame lists compared with Buffer#equals: toEqual walks large buffers element by element. */
function expectSameFrames(actual: readonly Buffer[], expected: readonly Buffer[]): void {
  expect(actual.map((f) => f.length)).toEqual(expected.map((f) => f.length));
  actual.forEach((f, i) => {
    if (!f.equals(expected[i]!)) expect.fail(`frame ${i} differs`);
  });
}

/** The headers of an encoded stream, walked with the codecs under test. */
function headersOf(stream: Buffer, compression: SegmentCompression): SegmentHeader[] {
  const headers: SegmentHeader[] = [];
  const headerLength = compression === 'lz4' ? LZ4_SEGMENT_HEADER_LENGTH : SEGMENT_HEADER_LENGTH;
  let offset = 0;
  while (offset < stream.length) {
    const header =
      compression === 'lz4'
        ? readLz4SegmentHeader(stream, offset)
        : readSegmentHeader(stream, offset);
    headers.push(header);
    offset += headerLength + header.payloadLength + 4;
  }
  expect(offset).toBe(stream.length);
  return headers;
}

/** Cuts `bytes` into chunks of the given sizes, cycling through them. */
function cut(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

describe('segment header codecs', () => {
  it('writes the uncompressed header of spec v5 §2.1', () => {
    const buf = Buffer.alloc(6);
    writeSegmentHeader(buf, 0, 9, true);
    expect(buf).toEqual(GOLDEN_ONE_FRAME.subarray(0, 6));
    writeSegmentHeader(buf, 0, 9, false);
    expect(buf).toEqual(GOLDEN_PART.subarray(0, 6));
    writeSegmentHeader(buf, 0, 0x1ffff, false);
    expect(buf).toEqual(hex('ff ff 01  38 91 fe'));
  });

  it('reads it back', () => {
    expect(readSegmentHeader(GOLDEN_TWO_FRAMES, 0)).toEqual({
      payloadLength: 18,
      uncompressedLength: 0,
      selfContained: true,
    });
    expect(readSegmentHeader(GOLDEN_PART, 0).selfContained).toBe(false);
  });

  it('ignores the padding bits only after checking them against the CRC', () => {
    const padded = Buffer.from(GOLDEN_ONE_FRAME);
    padded[2] = padded[2]! | 0x80;
    expectProtocolError(() => readSegmentHeader(padded, 0), ProtocolErrorCode.CRC_MISMATCH);
  });

  it('writes the 5 + 3 byte LZ4 header of spec v5 §2.2 as Cassandra does', () => {
    const buf = Buffer.alloc(8);
    writeLz4SegmentHeader(buf, 0, 11, 32, true);
    expect(buf).toEqual(GOLDEN_LZ4_COMPRESSED.subarray(0, 8));
    writeLz4SegmentHeader(buf, 0, 9, 0, true);
    expect(buf).toEqual(GOLDEN_LZ4_PLAIN.subarray(0, 8));
  });

  it('round-trips every LZ4 header field, including the bits above 32', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_SEGMENT_PAYLOAD_LENGTH }),
        fc.integer({ min: 0, max: MAX_SEGMENT_PAYLOAD_LENGTH }),
        fc.boolean(),
        (compressedLength, uncompressedLength, selfContained) => {
          const buf = Buffer.alloc(10);
          writeLz4SegmentHeader(buf, 1, compressedLength, uncompressedLength, selfContained);
          expect(readLz4SegmentHeader(buf, 1)).toEqual({
            payloadLength: compressedLength,
            uncompressedLength,
            selfContained,
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses lengths that do not fit 17 bits', () => {
    const buf = Buffer.alloc(8);
    expectProtocolError(
      () => writeSegmentHeader(buf, 0, 0x20000, true),
      ProtocolErrorCode.FRAME_TOO_LARGE,
    );
    expectProtocolError(
      () => writeLz4SegmentHeader(buf, 0, 1, 0x20000, true),
      ProtocolErrorCode.FRAME_TOO_LARGE,
    );
    expectProtocolError(
      () => writeLz4SegmentHeader(buf, 0, -1, 0, true),
      ProtocolErrorCode.FRAME_TOO_LARGE,
    );
    expectProtocolError(
      () => encodeSegment(Buffer.alloc(MAX_SEGMENT_PAYLOAD_LENGTH + 1), true, 'none'),
      ProtocolErrorCode.FRAME_TOO_LARGE,
    );
  });
});

describe('encodeSegments / encodeSegment: golden bytes', () => {
  it('puts one frame into one self-contained segment', () => {
    expect(encodeSegments([OPTIONS_1], 'none')).toEqual(GOLDEN_ONE_FRAME);
  });

  it('packs two frames into one self-contained segment', () => {
    expect(encodeSegments([OPTIONS_1, OPTIONS_2], 'none')).toEqual(GOLDEN_TWO_FRAMES);
  });

  it('encodes a single non-self-contained segment', () => {
    expect(encodeSegment(OPTIONS_1, false, 'none')).toEqual(GOLDEN_PART);
  });

  it('sends an LZ4 payload as is (uncompressed length 0) when compression does not shrink it', () => {
    expect(encodeSegment(OPTIONS_1, true, 'lz4')).toEqual(GOLDEN_LZ4_PLAIN);
    expect(encodeSegments([OPTIONS_1], 'lz4')).toEqual(GOLDEN_LZ4_PLAIN);
  });

  it('compresses an LZ4 payload that shrinks, into a block lz4js decodes', () => {
    const segment = encodeSegment(A32, true, 'lz4');
    const header = readLz4SegmentHeader(segment, 0);
    expect(header.uncompressedLength).toBe(32);
    expect(header.payloadLength).toBeLessThan(32);
    expect(segment.length).toBe(8 + header.payloadLength + 4);
    const block = segment.subarray(8, 8 + header.payloadLength);
    expect(segment.readUInt32LE(8 + header.payloadLength)).toBe(crc32Cassandra(block));
    const out = new Uint8Array(32);
    expect(decompressBlock(block, out, 0, block.length, 0)).toBe(32);
    expect(Buffer.from(out)).toEqual(A32);
  });

  it('encodes no frames as no bytes', () => {
    expect(encodeSegments([], 'none').length).toBe(0);
    expect(encodeSegments([Buffer.alloc(0)], 'lz4').length).toBe(0);
  });
});

describe('SegmentDecoder: golden streams in every chunking', () => {
  const plainStream = Buffer.concat([GOLDEN_ONE_FRAME, GOLDEN_TWO_FRAMES, GOLDEN_PART]);
  const lz4Stream = Buffer.concat([
    GOLDEN_LZ4_PLAIN,
    GOLDEN_LZ4_COMPRESSED,
    GOLDEN_LZ4_COMPRESSED_PART,
  ]);

  for (const { name, chunks } of chunkings(plainStream)) {
    it(`uncompressed, ${name}`, () => {
      for (const input of [chunks, detached(chunks)]) {
        expect(decodeAll(input, 'none')).toEqual([
          { payload: OPTIONS_1, selfContained: true },
          { payload: Buffer.concat([OPTIONS_1, OPTIONS_2]), selfContained: true },
          { payload: OPTIONS_1, selfContained: false },
        ]);
      }
    });
  }

  for (const { name, chunks } of chunkings(lz4Stream)) {
    it(`LZ4, ${name}`, () => {
      for (const input of [chunks, detached(chunks)]) {
        expect(decodeAll(input, 'lz4')).toEqual([
          { payload: OPTIONS_1, selfContained: true },
          { payload: A32, selfContained: true },
          { payload: A32, selfContained: false },
        ]);
      }
    });
  }

  it('hands out views into the chunk when a segment lies within it, copies only across chunks', () => {
    // Buffer.alloc never comes from the shared pool, so `.buffer` identifies the chunk.
    const unpooled = (bytes: Buffer): Buffer => {
      const b = Buffer.alloc(bytes.length);
      bytes.copy(b);
      return b;
    };
    const chunk = unpooled(plainStream);
    const [first, second] = decodeAll([chunk], 'none');
    expect(first!.payload.buffer).toBe(chunk.buffer);
    expect(first!.payload.byteOffset).toBe(6);
    expect(second!.payload.byteOffset).toBe(19 + 6);
    chunk[6] = 0x7f; // writing the chunk shows through the view
    expect(first!.payload[0]).toBe(0x7f);

    const a = unpooled(plainStream.subarray(0, 10));
    const b = unpooled(plainStream.subarray(10));
    const [straddling, inside] = decodeAll([a, b], 'none');
    expect(straddling!.payload).toEqual(OPTIONS_1);
    expect(straddling!.payload.buffer).not.toBe(a.buffer);
    expect(straddling!.payload.buffer).not.toBe(b.buffer);
    a.fill(0);
    b.fill(0, 0, 9);
    expect(straddling!.payload).toEqual(OPTIONS_1); // a copy: unaffected by either chunk
    expect(inside!.payload.buffer).toBe(b.buffer);
  });

  it('never writes into a payload it has handed out', () => {
    const seen: Buffer[] = [];
    const copies: Buffer[] = [];
    const decoder = new SegmentDecoder({
      compression: 'none',
      onPayload: (payload) => {
        seen.push(payload);
        copies.push(Buffer.from(payload));
      },
    });
    for (const chunk of cut(
      Buffer.concat([plainStream, plainStream, plainStream]),
      [5, 1, 13, 2],
    )) {
      decoder.push(chunk);
    }
    expect(seen).toEqual(copies);
    expect(seen.length).toBe(9);
  });
});

describe('frames larger than one segment', () => {
  const big = frame(300 * 1024 - 9, 42);

  it('splits a 300 KiB frame over three non-self-contained segments', () => {
    const stream = encodeSegments([big], 'none');
    const headers = headersOf(stream, 'none');
    expect(headers.map((h) => [h.payloadLength, h.selfContained])).toEqual([
      [MAX_SEGMENT_PAYLOAD_LENGTH, false],
      [MAX_SEGMENT_PAYLOAD_LENGTH, false],
      [300 * 1024 - 2 * MAX_SEGMENT_PAYLOAD_LENGTH, false],
    ]);
    expect(stream.length).toBe(big.length + 3 * 10);
  });

  for (const compression of ['none', 'lz4'] as const) {
    it(`${compression}: small, big, small → self-contained, parts, self-contained`, () => {
      const small1 = frame(50, 1);
      const small2 = frame(70, 2);
      const stream = encodeSegments([small1, big, small2], compression);
      expect(headersOf(stream, compression).map((h) => h.selfContained)).toEqual([
        true,
        false,
        false,
        false,
        true,
      ]);
      const splits = [
        [stream],
        cut(stream, [1400]),
        cut(stream, [65536]),
        cut(stream, [1, 7, 3, 4096]),
        cut(stream, [1]),
      ];
      for (const chunks of splits) {
        expectSameFrames(framesOf(decodeAll(chunks, compression)), [small1, big, small2]);
      }
    });
  }

  it('compresses LZ4 parts of a large compressible frame', () => {
    const stream = encodeSegments([big], 'lz4');
    const headers = headersOf(stream, 'lz4');
    expect(headers).toHaveLength(3);
    for (const h of headers) expect(h.uncompressedLength).toBeGreaterThan(h.payloadLength);
    expect(stream.length).toBeLessThan(big.length);
  });

  it('sends incompressible LZ4 parts as is', () => {
    const noise = frame(200_000, 9, false);
    const stream = encodeSegments([noise], 'lz4');
    const headers = headersOf(stream, 'lz4');
    expect(headers.map((h) => h.uncompressedLength)).toEqual([0, 0]);
    expectSameFrames(framesOf(decodeAll([stream], 'lz4')), [noise]);
  });
});

describe('encodeSegments packing', () => {
  it('packs many small frames into as few self-contained segments as possible', () => {
    const frames = Array.from({ length: 2000 }, (_, i) => frame(91, i));
    const stream = encodeSegments(frames, 'none');
    const headers = headersOf(stream, 'none');
    // 200 000 bytes of 100-byte frames: 1310 frames fill the first payload (131 000 bytes).
    expect(headers.map((h) => [h.payloadLength, h.selfContained])).toEqual([
      [131_000, true],
      [69_000, true],
    ]);
    expect(stream.length).toBe(200_000 + 2 * 10);
    expectSameFrames(framesOf(decodeAll([stream], 'none')), frames);
  });

  it('starts a new segment when the next frame does not fit, and fills a payload exactly', () => {
    const exact = frame(MAX_SEGMENT_PAYLOAD_LENGTH - 9, 3);
    const half = frame(70_000, 4);
    const stream = encodeSegments([half, half, exact, OPTIONS_1], 'none');
    expect(headersOf(stream, 'none').map((h) => [h.payloadLength, h.selfContained])).toEqual([
      [half.length, true],
      [half.length, true],
      [MAX_SEGMENT_PAYLOAD_LENGTH, true],
      [9, true],
    ]);
  });
});

describe('LZ4 interoperability with lz4js', () => {
  it('decodes a segment whose block lz4js compressed', () => {
    const payload = frame(10_000, 77);
    const dst = new Uint8Array(compressBound(payload.length));
    const blockLength = compressBlock(payload, dst, 0, payload.length, new Uint32Array(1 << 16));
    expect(blockLength).toBeGreaterThan(0);
    const block = dst.subarray(0, blockLength);
    const segment = Buffer.alloc(8 + blockLength + 4);
    writeLz4SegmentHeader(segment, 0, blockLength, payload.length, true);
    segment.set(block, 8);
    segment.writeUInt32LE(crc32Cassandra(block), 8 + blockLength);
    expect(decodeAll([segment], 'lz4')).toEqual([{ payload, selfContained: true }]);
  });

  it('produces blocks lz4js decodes, segment by segment', () => {
    const frames = Array.from({ length: 300 }, (_, i) => frame(500 + i, i));
    const stream = encodeSegments(frames, 'lz4');
    const payloads: Buffer[] = [];
    let offset = 0;
    for (const h of headersOf(stream, 'lz4')) {
      const block = stream.subarray(offset + 8, offset + 8 + h.payloadLength);
      expect(h.uncompressedLength).toBeGreaterThan(0);
      const out = new Uint8Array(h.uncompressedLength);
      expect(decompressBlock(block, out, 0, block.length, 0)).toBe(h.uncompressedLength);
      payloads.push(Buffer.from(out));
      offset += 8 + h.payloadLength + 4;
    }
    expect(Buffer.concat(payloads).equals(Buffer.concat(frames))).toBe(true);
  });
});

describe('SegmentDecoder: hostile input', () => {
  it('refuses a header whose CRC24 does not match, naming both values', () => {
    for (let bit = 0; bit < 48; bit++) {
      const bad = Buffer.from(GOLDEN_ONE_FRAME);
      bad[bit >> 3] = bad[bit >> 3]! ^ (1 << (bit & 7));
      const error = expectProtocolError(
        () => decodeAll([bad], 'none'),
        ProtocolErrorCode.CRC_MISMATCH,
      );
      expect(error.message).toMatch(/received 0x[0-9a-f]+, computed 0x[0-9a-f]+/);
    }
    const badLz4 = Buffer.from(GOLDEN_LZ4_COMPRESSED);
    badLz4[4] = badLz4[4]! ^ 0x04; // the self-contained bit, above bit 32
    const error = expectProtocolError(
      () => decodeAll([badLz4], 'lz4'),
      ProtocolErrorCode.CRC_MISMATCH,
    );
    expect(error.message).toContain('received 0xd35715');
  });

  it('refuses a payload whose CRC32 does not match, naming both values', () => {
    for (const index of [6, 14, 15, 18]) {
      const bad = Buffer.from(GOLDEN_ONE_FRAME);
      bad[index] = bad[index]! ^ 0x01;
      const error = expectProtocolError(
        () => decodeAll([bad], 'none'),
        ProtocolErrorCode.CRC_MISMATCH,
      );
      expect(error.message).toContain('CRC32');
      expect(error.message).toMatch(/received 0x[0-9a-f]+, computed 0x[0-9a-f]+/);
    }
    const bad = Buffer.from(GOLDEN_LZ4_COMPRESSED);
    bad[10] = bad[10]! ^ 0x10;
    expectProtocolError(() => decodeAll([bad], 'lz4'), ProtocolErrorCode.CRC_MISMATCH);
  });

  it('refuses a stream that ends inside a segment, at every length', () => {
    for (const [stream, compression] of [
      [GOLDEN_TWO_FRAMES, 'none'],
      [GOLDEN_LZ4_COMPRESSED, 'lz4'],
    ] as const) {
      for (let n = 1; n < stream.length; n++) {
        const decoder = new SegmentDecoder({
          compression,
          onPayload: () => expect.fail('no payload'),
        });
        decoder.push(stream.subarray(0, n));
        expect(decoder.bufferedBytes).toBe(n);
        expectProtocolError(() => decoder.end(), ProtocolErrorCode.MALFORMED);
      }
    }
  });

  it('refuses a segment with a zero length field', () => {
    const empty = encodeSegment(Buffer.alloc(0), true, 'none');
    expect(empty).toEqual(
      hex(`
        00 00 02      // payload length 0 | self-contained
        6a 36 c4      // LE CRC24 of 0x020000
        d3 7e 77 44   // LE CRC32 of nothing: the seed's CRC, 0x44777ed3
      `),
    );
    expectProtocolError(() => decodeAll([empty], 'none'), ProtocolErrorCode.MALFORMED);
    const emptyLz4 = Buffer.alloc(12);
    writeLz4SegmentHeader(emptyLz4, 0, 0, 0, true);
    emptyLz4.writeUInt32LE(crc32Cassandra(Buffer.alloc(0)), 8);
    expectProtocolError(() => decodeAll([emptyLz4], 'lz4'), ProtocolErrorCode.MALFORMED);
    // Refused on the header alone, not after waiting for more bytes.
    const decoder = new SegmentDecoder({ compression: 'none', onPayload: () => undefined });
    expectProtocolError(() => decoder.push(empty.subarray(0, 6)), ProtocolErrorCode.MALFORMED);
  });

  it('refuses a declared uncompressed length over the limit from the header alone', () => {
    const decoder = new SegmentDecoder({
      compression: 'lz4',
      maxPayloadLength: 31,
      onPayload: () => expect.fail('no payload'),
    });
    const error = expectProtocolError(
      () => decoder.push(GOLDEN_LZ4_COMPRESSED.subarray(0, 8)),
      ProtocolErrorCode.FRAME_TOO_LARGE,
    );
    expect(error.message).toContain('32');
    expect(decoder.bufferedBytes).toBe(0);
    // The compressed length alone is within the limit: it is the uncompressed one that counts.
    expect(decodeAll([GOLDEN_LZ4_COMPRESSED], 'lz4', 32)).toHaveLength(1);
  });

  it('refuses a payload length over the limit from the header alone', () => {
    const header = Buffer.alloc(6);
    writeSegmentHeader(header, 0, 1000, true);
    const decoder = new SegmentDecoder({
      compression: 'none',
      maxPayloadLength: 999,
      onPayload: () => undefined,
    });
    expectProtocolError(() => decoder.push(header), ProtocolErrorCode.FRAME_TOO_LARGE);
  });

  it('refuses corrupt and truncated LZ4 blocks whose CRCs are right', () => {
    const lz4Segment = (block: Buffer, uncompressedLength: number): Buffer => {
      const segment = Buffer.alloc(8 + block.length + 4);
      writeLz4SegmentHeader(segment, 0, block.length, uncompressedLength, true);
      block.copy(segment, 8);
      segment.writeUInt32LE(crc32Cassandra(block), 8 + block.length);
      return segment;
    };
    // A match reaching before the start of the output.
    expectProtocolError(
      () => decodeAll([lz4Segment(hex('0f ffff'), 32)], 'lz4'),
      ProtocolErrorCode.COMPRESSION,
    );
    // The right block with a wrong uncompressed length, either way.
    for (const length of [31, 33]) {
      expectProtocolError(
        () => decodeAll([lz4Segment(A32_LZ4_BLOCK, length)], 'lz4'),
        ProtocolErrorCode.COMPRESSION,
      );
    }
    // Every truncation of the block.
    for (let n = 1; n < A32_LZ4_BLOCK.length; n++) {
      expectProtocolError(
        () => decodeAll([lz4Segment(A32_LZ4_BLOCK.subarray(0, n), 32)], 'lz4'),
        ProtocolErrorCode.COMPRESSION,
      );
    }
  });

  it('stays failed after a ProtocolError', () => {
    const bad = Buffer.from(GOLDEN_ONE_FRAME);
    bad[0] = 0x08;
    const payloads: Buffer[] = [];
    const decoder = new SegmentDecoder({ compression: 'none', onPayload: (p) => payloads.push(p) });
    const first = expectProtocolError(() => decoder.push(bad), ProtocolErrorCode.CRC_MISMATCH);
    const again = expectProtocolError(
      () => decoder.push(GOLDEN_ONE_FRAME),
      ProtocolErrorCode.CRC_MISMATCH,
    );
    expect(again).toBe(first);
    expect(() => decoder.end()).toThrow(first);
    expect(payloads).toEqual([]);
  });

  it('stays failed after the payload handler throws', () => {
    const boom = new Error('handler failed');
    const decoder = new SegmentDecoder({
      compression: 'none',
      onPayload: () => {
        throw boom;
      },
    });
    expect(() => decoder.push(GOLDEN_ONE_FRAME)).toThrow(boom);
    const error = expectProtocolError(
      () => decoder.push(GOLDEN_ONE_FRAME),
      ProtocolErrorCode.MALFORMED,
    );
    expect(error.cause).toBe(boom);
  });

  it('refuses a nonsensical maxPayloadLength', () => {
    for (const maxPayloadLength of [0, -1, 1.5]) {
      expect(
        () =>
          new SegmentDecoder({ compression: 'none', maxPayloadLength, onPayload: () => undefined }),
      ).toThrow(RangeError);
    }
  });

  it('ends every random garbage stream in a ProtocolError or no payload at all', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.constantFrom('none', 'lz4'),
        (bytes, compression) => {
          let payloads = 0;
          const decoder = new SegmentDecoder({ compression, onPayload: () => payloads++ });
          try {
            decoder.push(Buffer.from(bytes));
            decoder.end();
          } catch (err) {
            expect(ProtocolError.isProtocolError(err)).toBe(true);
            return;
          }
          // Random bytes passing a CRC24 and a CRC32 is possible in principle, not in 500 runs.
          expect(payloads).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('property: frames → encodeSegments → any chunking → SegmentDecoder → the same frames', () => {
  const frameArb = fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 0, max: 600 }) },
    { weight: 3, arbitrary: fc.integer({ min: 600, max: 20_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 120_000, max: 300_000 }) },
  );
  const framesArb = fc.array(fc.tuple(frameArb, fc.nat(), fc.boolean()), {
    minLength: 1,
    maxLength: 40,
    size: 'medium',
  });
  const chunkSizesArb = fc.array(
    fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 17, max: 70_000 })),
    { minLength: 1, maxLength: 8 },
  );

  for (const compression of ['none', 'lz4'] as const) {
    it(compression, () => {
      fc.assert(
        fc.property(framesArb, chunkSizesArb, (specs, sizes) => {
          const frames = specs.map(([bodyLength, seed, compressible]) =>
            frame(bodyLength, seed, compressible),
          );
          const stream = encodeSegments(frames, compression);
          // Cheap sizes only for small streams: a 1-byte cycle over a megabyte is slow, not wrong.
          const chunkSizes = stream.length > 100_000 ? sizes.map((s) => Math.max(s, 512)) : sizes;
          const received = decodeAll(cut(stream, chunkSizes), compression);
          expectTightPacking(received);
          expectSameFrames(framesOf(received), frames);
        }),
        { numRuns: 100 },
      );
    });
  }
});
