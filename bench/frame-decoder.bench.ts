// Decoder + stream-id patch: the forwarding hot path's per-frame work, on realistic mixes.
// Run: npm run bench -- bench/frame-decoder.bench.ts
import { bench, describe } from 'vitest';
import { FrameDecoder } from '../src/protocol/frame-decoder.js';
import { patchStreamId } from '../src/protocol/header.js';
import { chunk, formatThroughput, measure, type Throughput } from './measure.js';

function frames(count: number, bodyLength: number, opcode: number, first: number): Buffer {
  const one = Buffer.alloc(9 + bodyLength, 0x61);
  one.writeUInt8(first, 0);
  one.writeUInt8(0, 1);
  one.writeUInt8(opcode, 4);
  one.writeInt32BE(bodyLength, 5);
  const all = Buffer.alloc(one.length * count);
  for (let i = 0; i < count; i++) {
    one.copy(all, i * one.length);
    all.writeInt16BE(i & 0x7fff, i * one.length + 2);
  }
  return all;
}

// 100-byte EXECUTE requests and 16 KiB ROWS results, as a busy application sends and receives.
const SMALL_COUNT = 10_000;
const SMALL = frames(SMALL_COUNT, 91, 0x0a, 0x04);
const LARGE_COUNT = 64;
const LARGE = frames(LARGE_COUNT, 16_384 - 9, 0x08, 0x84);
const MIXED_COUNT = SMALL_COUNT / 10 + LARGE_COUNT;
const MIXED = Buffer.concat([frames(SMALL_COUNT / 10, 91, 0x0a, 0x84), LARGE]);

const inputs = {
  'small EXECUTE, 1.4 KiB chunks': {
    chunks: chunk(SMALL, 1400),
    frames: SMALL_COUNT,
    bytes: SMALL.length,
  },
  'small EXECUTE, 64 KiB chunks': {
    chunks: chunk(SMALL, 65536),
    frames: SMALL_COUNT,
    bytes: SMALL.length,
  },
  '16 KiB ROWS, 1.4 KiB chunks': {
    chunks: chunk(LARGE, 1400),
    frames: LARGE_COUNT,
    bytes: LARGE.length,
  },
  '16 KiB ROWS, 64 KiB chunks': {
    chunks: chunk(LARGE, 65536),
    frames: LARGE_COUNT,
    bytes: LARGE.length,
  },
  'mixed, 64 KiB chunks': { chunks: chunk(MIXED, 65536), frames: MIXED_COUNT, bytes: MIXED.length },
};

let nextId = 0;
let sink: Buffer | undefined;
function onFrame(frame: Buffer): void {
  patchStreamId(frame, nextId);
  nextId = (nextId + 1) & 0x7fff;
  sink = frame;
}

function decodeAll(chunks: readonly Buffer[]): void {
  const decoder = new FrameDecoder({ onFrame });
  for (const c of chunks) decoder.push(c);
}

/** Baseline: the least a forwarder can do over one contiguous buffer — read, patch, take a view. */
function bareLoop(buf: Buffer): void {
  let offset = 0;
  while (offset + 9 <= buf.length) {
    const end = offset + 9 + buf.readInt32BE(offset + 5);
    buf.writeInt16BE(nextId, offset + 2);
    nextId = (nextId + 1) & 0x7fff;
    sink = buf.subarray(offset, end);
    offset = end;
  }
}

describe('frame decoder + stream id patch', () => {
  // Figures first (vitest prints only ops/s per bench): frames/s and MB/s beside the baseline.
  const rows: Throughput[] = [];
  for (const [name, input] of Object.entries(inputs)) {
    rows.push(
      measure(`decoder: ${name}`, input.frames, input.bytes, () => decodeAll(input.chunks)),
    );
  }
  rows.push(
    measure('baseline: bare loop, small EXECUTE', SMALL_COUNT, SMALL.length, () => bareLoop(SMALL)),
  );
  if (sink === undefined) throw new Error('nothing decoded');
  console.log(`\nFrame decoder + patchStreamId (one core)\n${formatThroughput(rows)}\n`);

  for (const [name, input] of Object.entries(inputs)) {
    bench(name, () => decodeAll(input.chunks));
  }
  bench('baseline: bare loop, small EXECUTE, one buffer', () => bareLoop(SMALL));
});
