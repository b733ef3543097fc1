// v5 segment framing on the hot path: decode (CRC24 + CRC32 + views, LZ4 decompression) of
// streams delivered in 1.4 KiB (one TCP segment) and 64 KiB (a large socket read) chunks, and
// encode (packing frames from many clients into segments). Frame mixes: many 100-byte frames
// (point queries), 16 KiB frames (row pages), one 1 MiB frame (split over 9 segments), and the
// 100-byte frames once more with one segment each, as clients often send them.
//
// vitest prints ops/s per case; afterAll also prints frames/s and MB/s from its own bounded,
// timed loop, because ops/s of a whole stream is hard to compare across mixes. No assertions on
// timings.

import { afterAll, bench, describe } from 'vitest';
import { SegmentDecoder, encodeSegment, encodeSegments } from '../src/protocol/segment.js';
import type { SegmentCompression } from '../src/protocol/segment.js';

const MIB = 1024 * 1024;

/** A QUERY-response-like envelope: 9-byte header, then rows-like bytes (text with some noise). */
function frame(length: number, streamId: number): Buffer {
  const f = Buffer.allocUnsafe(length);
  f.writeUInt8(0x85, 0);
  f.writeUInt8(0, 1);
  f.writeInt16BE(streamId & 0x7fff, 2);
  f.writeUInt8(0x08, 4);
  f.writeInt32BE(length - 9, 5);
  let x = streamId + 1;
  for (let i = 9; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    f[i] = i % 16 < 10 ? 0x61 + ((i >> 4) % 26) : (x >>> 16) & 0xff;
  }
  return f;
}

interface Mix {
  name: string;
  frames: Buffer[];
  bytes: number;
}

function mix(name: string, count: number, length: number): Mix {
  const frames = Array.from({ length: count }, (_, i) => frame(length, i));
  return { name, frames, bytes: count * length };
}

const MIXES: Mix[] = [
  mix('10000 × 100 B frames', 10_000, 100),
  mix('64 × 16 KiB frames', 64, 16 * 1024),
  mix('1 × 1 MiB frame', 1, MIB),
];
const CHUNKS = [
  { name: '1.4 KiB chunks', size: 1400 },
  { name: '64 KiB chunks', size: 64 * 1024 },
];
const COMPRESSIONS: SegmentCompression[] = ['none', 'lz4'];

function cut(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    chunks.push(bytes.subarray(offset, offset + size));
  }
  return chunks;
}

/** Decodes a whole stream; returns payload bytes so the work cannot be optimised away. */
function decodeStream(chunks: readonly Buffer[], compression: SegmentCompression): number {
  let received = 0;
  const decoder = new SegmentDecoder({
    compression,
    onPayload: (payload) => {
      received += payload.length;
    },
  });
  for (const chunk of chunks) decoder.push(chunk);
  return received;
}

interface Figure {
  case: string;
  'frames/s': string;
  'MB/s': string;
}
const figures: Figure[] = [];

/** Runs `fn` for about 300 ms (at most 20 000 times) after a warm-up; records frames/s and MB/s. */
function measure(label: string, frames: number, bytes: number, fn: () => number): void {
  let sink = 0;
  // Warm up for ~100 ms so the first case measured is not also the one that pays for the JIT.
  const warm = process.hrtime.bigint();
  for (let i = 0; i < 10_000 && process.hrtime.bigint() - warm < 100_000_000n; i++) sink += fn();
  const start = process.hrtime.bigint();
  let runs = 0;
  let elapsed = 0;
  while (runs < 20_000 && elapsed < 0.3) {
    sink += fn();
    runs++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  if (sink < 0) throw new Error('unreachable');
  figures.push({
    case: label,
    'frames/s': Math.round((frames * runs) / elapsed).toLocaleString('en-US'),
    'MB/s': ((bytes * runs) / elapsed / 1e6).toFixed(0),
  });
}

/** Clients often send one request per segment: the per-segment cost, not the byte cost, counts. */
const SMALL_SEGMENTS = MIXES[0]!;
function oneSegmentPerFrame(compression: SegmentCompression): Buffer {
  return Buffer.concat(SMALL_SEGMENTS.frames.map((f) => encodeSegment(f, true, compression)));
}

for (const compression of COMPRESSIONS) {
  describe(`decode, ${compression}`, () => {
    const perFrame = cut(oneSegmentPerFrame(compression), 64 * 1024);
    bench(`${SMALL_SEGMENTS.name} in one segment each, 64 KiB chunks`, () => {
      decodeStream(perFrame, compression);
    });
    for (const m of MIXES) {
      const stream = encodeSegments(m.frames, compression);
      for (const c of CHUNKS) {
        const chunks = cut(stream, c.size);
        bench(`${m.name}, ${c.name}`, () => {
          decodeStream(chunks, compression);
        });
      }
    }
  });

  describe(`encode, ${compression}`, () => {
    for (const m of MIXES) {
      bench(m.name, () => {
        encodeSegments(m.frames, compression);
      });
    }
  });
}

afterAll(() => {
  for (const compression of COMPRESSIONS) {
    const perFrame = cut(oneSegmentPerFrame(compression), 64 * 1024);
    measure(
      `decode ${compression}, ${SMALL_SEGMENTS.name} in one segment each, 64 KiB chunks`,
      SMALL_SEGMENTS.frames.length,
      SMALL_SEGMENTS.bytes,
      () => decodeStream(perFrame, compression),
    );
    for (const m of MIXES) {
      const stream = encodeSegments(m.frames, compression);
      for (const c of CHUNKS) {
        const chunks = cut(stream, c.size);
        measure(`decode ${compression}, ${m.name}, ${c.name}`, m.frames.length, m.bytes, () =>
          decodeStream(chunks, compression),
        );
      }
      measure(
        `encode ${compression}, ${m.name}`,
        m.frames.length,
        m.bytes,
        () => encodeSegments(m.frames, compression).length,
      );
    }
  }
  console.log('\nv5 segments: throughput over frame bytes (uncompressed)');
  console.table(figures);
});
