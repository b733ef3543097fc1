// LZ4 (and, for comparison, Snappy) on 16 KiB rows-like payloads: the size of a typical RESULT
// page. v5 segments use the raw block functions; v4 bodies use BodyCompressor. The lz4-napi call
// on an already prefixed buffer is the lower bound for lz4DecompressBlock, which must copy the
// block once to add the prefix the library wants.
//
// vitest prints ops/s; afterAll also prints frames/s and MB/s (of uncompressed bytes) from its own
// bounded, timed loop. No assertions on timings.

import { uncompressSync } from 'lz4-napi';
import { afterAll, bench, describe } from 'vitest';
import {
  bodyCompressor,
  lz4CompressBlock,
  lz4DecompressBlock,
} from '../src/protocol/compression.js';

const PAYLOAD_LENGTH = 16 * 1024;

/** Rows-like bytes: column text and small integers, with some noise (ids, timestamps). */
function rowsLike(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    const column = i % 32;
    out[i] =
      column < 4
        ? 0 // [int] length prefixes: mostly zero high bytes
        : column < 20
          ? 0x61 + ((i >> 5) % 26) // text
          : (x >>> 16) & 0xff; // noise
  }
  return out;
}

const payloads = Array.from({ length: 16 }, (_, i) => rowsLike(PAYLOAD_LENGTH, i + 1));
const blocks = payloads.map((p) => lz4CompressBlock(p));
const prefixedBlocks = blocks.map((b) => {
  const prefixed = Buffer.allocUnsafe(4 + b.length);
  prefixed.writeUInt32LE(PAYLOAD_LENGTH, 0);
  b.copy(prefixed, 4);
  return prefixed;
});
const lz4 = bodyCompressor('lz4');
const snappy = bodyCompressor('snappy');
const lz4Bodies = payloads.map((p) => lz4.compress(p));
const snappyBodies = payloads.map((p) => snappy.compress(p));

let next = 0;
/** Cycles through the 16 payloads so no single buffer stays hot in cache. */
function pick(): number {
  next = (next + 1) & 15;
  return next;
}

const CASES: { name: string; run: () => number }[] = [
  { name: 'lz4CompressBlock', run: () => lz4CompressBlock(payloads[pick()]!).length },
  {
    name: 'lz4DecompressBlock',
    run: () => lz4DecompressBlock(blocks[pick()]!, PAYLOAD_LENGTH).length,
  },
  {
    name: 'lz4-napi uncompressSync, prefixed (lower bound)',
    run: () => uncompressSync(prefixedBlocks[pick()]!).length,
  },
  { name: 'v4 LZ4 body compress', run: () => lz4.compress(payloads[pick()]!).length },
  {
    name: 'v4 LZ4 body decompress',
    run: () => lz4.decompress(lz4Bodies[pick()]!, PAYLOAD_LENGTH).length,
  },
  { name: 'v4 Snappy body compress', run: () => snappy.compress(payloads[pick()]!).length },
  {
    name: 'v4 Snappy body decompress',
    run: () => snappy.decompress(snappyBodies[pick()]!, PAYLOAD_LENGTH).length,
  },
];

describe('16 KiB rows-like payloads', () => {
  for (const c of CASES) {
    bench(c.name, () => {
      c.run();
    });
  }
});

afterAll(() => {
  const figures = CASES.map((c) => {
    let sink = 0;
    const warm = process.hrtime.bigint();
    for (let i = 0; i < 100_000 && process.hrtime.bigint() - warm < 100_000_000n; i++) {
      sink += c.run();
    }
    const start = process.hrtime.bigint();
    let runs = 0;
    let elapsed = 0;
    while (runs < 200_000 && elapsed < 0.3) {
      sink += c.run();
      runs++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    }
    if (sink < 0) throw new Error('unreachable');
    return {
      case: c.name,
      'frames/s': Math.round(runs / elapsed).toLocaleString('en-US'),
      'MB/s': ((runs * PAYLOAD_LENGTH) / elapsed / 1e6).toFixed(0),
    };
  });
  const ratio = (bodies: Buffer[]): string =>
    (bodies.reduce((n, b) => n + b.length, 0) / (bodies.length * PAYLOAD_LENGTH)).toFixed(2);
  console.log(
    `\n16 KiB rows-like payloads (compressed/original: LZ4 ${ratio(lz4Bodies)}, Snappy ${ratio(snappyBodies)})`,
  );
  console.table(figures);
});
