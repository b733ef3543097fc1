// The node's request framing on its own: bytes in as they arrive, whole frames out one at a time,
// memory that follows the bytes received (never a declared length), and Cassandra's refusal of a
// v3/v4 frame over the limit (skipped, then "Request is too big", the connection kept).

import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_FRAME_LENGTH,
  HEADER_LENGTH,
  Opcode,
} from '../../../src/protocol/constants.js';
import { ProtocolError, ProtocolErrorCode } from '../../../src/protocol/errors.js';
import { encodeHeader } from '../../../src/protocol/header.js';
import { RequestFrames } from '../../../sim/node/framing.js';
import type { TooBigFrame } from '../../../sim/node/framing.js';
import { requestFrame } from './raw-client.js';

const MIB = 1024 * 1024;

function frame(streamId: number, bodyLength: number): Buffer {
  return requestFrame(4, Opcode.QUERY, Buffer.alloc(bodyLength, streamId & 0xff), streamId);
}

/** A header alone, declaring `bodyLength`. */
function header(streamId: number, bodyLength: number, version = 4): Buffer {
  return encodeHeader({
    version,
    response: false,
    flags: 0,
    streamId,
    opcode: Opcode.QUERY,
    bodyLength,
  });
}

/** Every frame available now. */
function drain(frames: RequestFrames): (Buffer | TooBigFrame)[] {
  const out: (Buffer | TooBigFrame)[] = [];
  for (let i = 0; i < 10_000; i++) {
    const next = frames.next();
    if (next === undefined) return out;
    out.push(next);
  }
  throw new Error('more than 10000 frames');
}

function protocolError(action: () => unknown): ProtocolError {
  try {
    action();
  } catch (error) {
    if (ProtocolError.isProtocolError(error)) return error;
    throw error;
  }
  throw new Error('no ProtocolError');
}

describe('RequestFrames', () => {
  it('hands out one frame per call, as views of the chunk they lie in', () => {
    const a = frame(1, 10);
    const b = frame(2, 0);
    const chunk = Buffer.concat([a, b]);
    const frames = new RequestFrames(DEFAULT_MAX_FRAME_LENGTH, false);
    frames.add(chunk, false);
    const first = frames.next() as Buffer;
    expect(first).toEqual(a);
    expect(first.buffer).toBe(chunk.buffer);
    expect(frames.bufferedBytes).toBe(b.length);
    expect(frames.next()).toEqual(b);
    expect(frames.next()).toBeUndefined();
    expect(frames.bufferedBytes).toBe(0);
  });

  it('reassembles frames fed one byte at a time', () => {
    const sent = [frame(1, 3), frame(2, 300), frame(3, 0)];
    const bytes = Buffer.concat(sent);
    const frames = new RequestFrames(DEFAULT_MAX_FRAME_LENGTH, false);
    const out: (Buffer | TooBigFrame)[] = [];
    for (let i = 0; i < bytes.length; i++) {
      frames.add(bytes.subarray(i, i + 1), false);
      out.push(...drain(frames));
    }
    expect(out).toEqual(sent);
  });

  it('holds only the bytes received of a frame that declares 256 MiB', () => {
    const frames = new RequestFrames(DEFAULT_MAX_FRAME_LENGTH, false);
    const declared = DEFAULT_MAX_FRAME_LENGTH - HEADER_LENGTH;
    frames.add(header(5, declared), false);
    frames.add(Buffer.alloc(1000), false);
    expect(frames.next()).toBeUndefined();
    expect(frames.bufferedBytes).toBe(HEADER_LENGTH + 1000);
  });

  it('skips a v3/v4 frame over the limit as it arrives, then refuses it on its stream', () => {
    const limit = 64 * 1024;
    const frames = new RequestFrames(limit, false);
    const body = limit - HEADER_LENGTH + 1;
    frames.add(Buffer.concat([header(9, body), Buffer.alloc(100)]), false);
    expect(frames.next()).toBeUndefined();
    expect(frames.bufferedBytes).toBe(0);
    // The rest, in pieces: none of it is kept.
    let left = body - 100;
    while (left > 0) {
      const piece = Math.min(left, 10_000);
      frames.add(Buffer.alloc(piece), false);
      left -= piece;
      expect(frames.bufferedBytes).toBe(0);
      if (left > 0) expect(frames.next()).toBeUndefined();
    }
    const after = frame(10, 4);
    frames.add(after, false);
    expect(drain(frames)).toEqual([
      { kind: 'too-big', streamId: 9, length: limit + 1, limit },
      after,
    ]);
  });

  it('refuses a frame over the default 256 MiB once its bytes are skipped', () => {
    const frames = new RequestFrames(DEFAULT_MAX_FRAME_LENGTH, false);
    const body = DEFAULT_MAX_FRAME_LENGTH - HEADER_LENGTH + 1;
    frames.add(header(3, body), false);
    // One MiB reused, then the rest but one byte, then that byte: skipped bytes are never kept.
    const mib = Buffer.alloc(MIB);
    for (let i = 0; i < 255; i++) {
      frames.add(mib, false);
      expect(frames.next()).toBeUndefined();
      expect(frames.bufferedBytes).toBe(0);
    }
    frames.add(Buffer.alloc(body - 255 * MIB - 1), false);
    expect(frames.next()).toBeUndefined();
    frames.add(Buffer.alloc(1), false);
    expect(frames.next()).toEqual({
      kind: 'too-big',
      streamId: 3,
      length: DEFAULT_MAX_FRAME_LENGTH + 1,
      limit: DEFAULT_MAX_FRAME_LENGTH,
    });
  });

  it('finishes frames queued before an oversized one, and skips bytes queued with it', () => {
    const limit = 1024;
    const frames = new RequestFrames(limit, false);
    const before = frame(1, 10);
    const after = frame(2, 10);
    frames.add(Buffer.concat([before, header(7, 2000), Buffer.alloc(2000), after]), false);
    expect(drain(frames)).toEqual([
      before,
      { kind: 'too-big', streamId: 7, length: 2009, limit },
      after,
    ]);
  });

  it('inside v5 segments, a frame over the limit is fatal', () => {
    const frames = new RequestFrames(1024, true);
    frames.add(header(1, 2000, 5), false);
    expect(protocolError(() => frames.next()).code).toBe(ProtocolErrorCode.FRAME_TOO_LARGE);
    // The framing is lost for good.
    expect(protocolError(() => frames.next()).code).toBe(ProtocolErrorCode.FRAME_TOO_LARGE);
  });

  it('refuses a negative length, a response frame and an unknown version', () => {
    const negative = new RequestFrames(1024, false);
    negative.add(header(1, -1), false);
    expect(protocolError(() => negative.next()).message).toBe('negative frame body length -1');
    const response = new RequestFrames(1024, false);
    response.add(Buffer.from([0x84]), false);
    expect(protocolError(() => response.next()).message).toMatch(/response frame/);
    const unknown = new RequestFrames(1024, false);
    unknown.add(Buffer.from([0x07]), false);
    expect(protocolError(() => unknown.next()).code).toBe(ProtocolErrorCode.UNSUPPORTED_VERSION);
  });

  describe('self-contained segments', () => {
    it('take whole frames and frames that span non-self-contained payloads', () => {
      const frames = new RequestFrames(DEFAULT_MAX_FRAME_LENGTH, true);
      const a = frame(1, 5);
      const big = frame(2, 500);
      frames.add(a, true);
      frames.add(big.subarray(0, 200), false);
      frames.add(big.subarray(200), false);
      expect(drain(frames)).toEqual([a, big]);
    });

    it('refuse one that ends in the middle of a frame', () => {
      const frames = new RequestFrames(DEFAULT_MAX_FRAME_LENGTH, true);
      frames.add(frame(1, 50).subarray(0, 30), true);
      expect(protocolError(() => frames.next()).message).toMatch(/ends in the middle/);
    });

    it('refuse one that arrives in the middle of a frame, at once or once reached', () => {
      const waiting = new RequestFrames(DEFAULT_MAX_FRAME_LENGTH, true);
      const big = frame(1, 500);
      waiting.add(big.subarray(0, 100), false);
      expect(waiting.next()).toBeUndefined();
      expect(() => waiting.add(big.subarray(100), true)).toThrow(/arrived in the middle/);

      // Queued while nothing was being read: found when the frame is cut.
      const queued = new RequestFrames(DEFAULT_MAX_FRAME_LENGTH, true);
      queued.add(big.subarray(0, 100), false);
      queued.add(big.subarray(100), true);
      expect(protocolError(() => queued.next()).message).toMatch(/arrived in the middle/);
    });
  });

  it('gives back every byte still queued', () => {
    const frames = new RequestFrames(DEFAULT_MAX_FRAME_LENGTH, false);
    const a = frame(1, 4);
    frames.add(Buffer.concat([a, Buffer.from('rest')]), false);
    frames.add(Buffer.from('more'), false);
    expect(frames.next()).toEqual(a);
    expect(Buffer.concat(frames.takeAll()).toString()).toBe('restmore');
    expect(frames.bufferedBytes).toBe(0);
  });
});
