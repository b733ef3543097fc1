// Cut-through in the frame decoder (FrameDecoderOptions.onFrameHead): a large frame that straddles
// chunks goes out as its head and then pieces, never assembled; every other frame comes whole, in
// order, at every way of cutting the stream.

import { describe, expect, it } from 'vitest';
import {
  CUT_THROUGH_MIN_LENGTH,
  FrameDecoder,
  type FrameSink,
} from '../../src/protocol/frame-decoder.js';
import { v4ResultFrame } from '../helpers/frames.js';

function frame(streamId: number, bodyLength: number, fill: number): Buffer {
  return v4ResultFrame(streamId, bodyLength, (j) => fill + 9 + j);
}

const FRAMES = [
  frame(1, 100, 1),
  frame(2, CUT_THROUGH_MIN_LENGTH + 3000, 2),
  frame(3, 0, 3),
  frame(4, 70_000, 4),
  frame(5, CUT_THROUGH_MIN_LENGTH - 9, 5), // exactly the minimum length
  frame(6, 20, 6),
];
const STREAM = Buffer.concat(FRAMES);

interface Delivery {
  frames: Buffer[];
  cutThrough: number;
  aborted: number;
}

function decode(chunks: Buffer[], take: (head: Buffer) => boolean): Delivery {
  const out: Delivery = { frames: [], cutThrough: 0, aborted: 0 };
  let current: { parts: Buffer[]; length: number } | undefined;
  const decoder = new FrameDecoder({
    direction: 'response',
    onFrame: (f) => {
      expect(current).toBeUndefined();
      out.frames.push(Buffer.from(f));
    },
    onFrameHead: (head, frameLength) => {
      expect(current).toBeUndefined();
      expect(frameLength).toBeGreaterThanOrEqual(CUT_THROUGH_MIN_LENGTH);
      expect(head.length).toBeGreaterThanOrEqual(9);
      expect(head.length).toBeLessThan(frameLength);
      if (!take(head)) return undefined;
      out.cutThrough++;
      const parts = [Buffer.from(head)];
      let got = head.length;
      current = { parts, length: frameLength };
      const sink: FrameSink = {
        piece: (bytes, last) => {
          parts.push(Buffer.from(bytes));
          got += bytes.length;
          expect(got <= frameLength).toBe(true);
          expect(last).toBe(got === frameLength);
          if (last) {
            out.frames.push(Buffer.concat(parts));
            current = undefined;
          }
        },
        abort: () => out.aborted++,
      };
      return sink;
    },
  });
  for (const c of chunks) decoder.push(Buffer.from(c));
  expect(decoder.midFrame).toBe(false);
  return out;
}

function cut(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

describe('FrameDecoder cut-through', () => {
  const sizes = [1, 2, 5, 8, 9, 10, 13, 100, 1000, 4096, 16_384, 16_393, 19_000, 65_536, 70_009];
  for (let s = 17; s < 70_000; s = Math.floor(s * 1.37) + 1) sizes.push(s);

  it.each(sizes)('delivers every frame once, in order, in chunks of %i bytes', (size) => {
    const out = decode(cut(STREAM, size), () => true);
    expect(out.frames).toEqual(FRAMES);
    // The three large frames straddle chunks below the threshold: all are cut through, however
    // their header and first bytes are cut (CUT_THROUGH_HEAD_LENGTH).
    if (size < CUT_THROUGH_MIN_LENGTH) expect(out.cutThrough).toBe(3);
  });

  it('splits at every offset around the large frames', () => {
    const start = FRAMES[0]!.length;
    const end = start + FRAMES[1]!.length;
    for (const at of [
      start - 1,
      start,
      start + 1,
      start + 8,
      start + 9,
      start + 10,
      end - 1,
      end,
    ]) {
      const out = decode([STREAM.subarray(0, at), STREAM.subarray(at)], () => true);
      expect(out.frames).toEqual(FRAMES);
    }
  });

  it('assembles the frames whose head is declined', () => {
    const out = decode(cut(STREAM, 1000), (head) => head.readInt16BE(2) !== 4);
    expect(out.frames).toEqual(FRAMES);
    expect(out.cutThrough).toBe(2);
  });

  it('assembles everything without onFrameHead, and whole chunks are never cut through', () => {
    const got: Buffer[] = [];
    const decoder = new FrameDecoder({
      direction: 'response',
      onFrame: (f) => got.push(Buffer.from(f)),
      onFrameHead: () => {
        throw new Error('a frame inside one chunk is not cut through');
      },
    });
    decoder.push(STREAM);
    expect(got).toEqual(FRAMES);
  });

  it('abort() tells the sink of a frame cut short, and the decoder is no longer mid-frame', () => {
    let aborted = 0;
    const decoder = new FrameDecoder({
      direction: 'response',
      onFrame: () => undefined,
      onFrameHead: () => ({ piece: () => undefined, abort: () => aborted++ }),
    });
    decoder.push(FRAMES[3]!.subarray(0, 1000));
    expect(decoder.midFrame).toBe(true);
    decoder.abort();
    expect(aborted).toBe(1);
    expect(decoder.midFrame).toBe(false);
    decoder.abort();
    expect(aborted).toBe(1);
  });
});

// copyFrames: the chunks live in memory that is read into again as soon as push() returns (a read
// arena). Simulated here by one scratch buffer: each chunk is copied into it, pushed, and the
// scratch scribbled over. Whatever the decoder hands out and the test keeps as given must stay
// intact, and cut-through pieces (valid during the call, as a writer keeps them) must add up.
describe('FrameDecoder with reused chunks (copyFrames)', () => {
  function decodeReused(
    chunks: Buffer[],
    take: boolean,
  ): { kept: Buffer[]; whole: number; cutThrough: number } {
    const scratch = Buffer.alloc(STREAM.length);
    const kept: Buffer[] = [];
    let whole = 0;
    let cutThrough = 0;
    let parts: Buffer[] | undefined;
    const decoder = new FrameDecoder({
      direction: 'response',
      copyFrames: true,
      onFrame: (f) => kept.push(f), // kept as given: must be a copy
      onFrameHead: (head, frameLength) => {
        if (!take) return undefined;
        cutThrough++;
        if (head.length === frameLength) whole++;
        parts = [Buffer.from(head)];
        return {
          piece: (bytes, last) => {
            parts!.push(Buffer.from(bytes));
            if (last) {
              kept.push(Buffer.concat(parts!));
              parts = undefined;
            }
          },
          abort: () => {
            throw new Error('not expected');
          },
        };
      },
    });
    for (const c of chunks) {
      c.copy(scratch, 0);
      decoder.push(scratch.subarray(0, c.length));
      scratch.fill(0xee);
    }
    expect(decoder.midFrame).toBe(false);
    return { kept, whole, cutThrough };
  }

  for (const size of [STREAM.length, 100_000, 65_536, 16_384, 4096, 1000, 9]) {
    it(`frames handed out stay intact after the chunk is overwritten (chunks of ${size})`, () => {
      for (const take of [true, false]) {
        const { kept } = decodeReused(cut(STREAM, size), take);
        expect(kept).toEqual(FRAMES);
      }
    });
  }

  it('offers a large frame whole in its chunk to cut-through, and its sink gets one empty last piece', () => {
    const large = FRAMES[3]!;
    const pieces: { length: number; last: boolean }[] = [];
    let head: Buffer | undefined;
    const decoder = new FrameDecoder({
      direction: 'response',
      copyFrames: true,
      onFrame: () => {
        throw new Error('the frame should have been cut through');
      },
      onFrameHead: (h, frameLength) => {
        head = h;
        expect(frameLength).toBe(large.length);
        return {
          piece: (bytes, last) => pieces.push({ length: bytes.length, last }),
          abort: () => undefined,
        };
      },
    });
    decoder.push(Buffer.from(large));
    expect(head).toEqual(large);
    expect(pieces).toEqual([{ length: 0, last: true }]);
  });

  it('without copyFrames, a frame whole in its chunk is a view and is not offered to cut-through', () => {
    const chunk = Buffer.from(FRAMES[3]!);
    let got: Buffer | undefined;
    const decoder = new FrameDecoder({
      direction: 'response',
      onFrame: (f) => (got = f),
      onFrameHead: () => {
        throw new Error('not offered');
      },
    });
    decoder.push(chunk);
    expect(got!.buffer).toBe(chunk.buffer);
  });
});
