// Frame header codec for v3, v4, v5 and DSE v1/v2 (spec v4 §2, v5 §2.4.1): all share the 9-byte
// layout
//
//   0         8        16        24        32         40
//   +---------+---------+---------+---------+---------+
//   | version |  flags  |      stream       | opcode  |
//   +---------+---------+---------+---------+---------+
//   |                length                 |
//   +---------+---------+---------+---------+
//
// The hot path never builds a FrameHeader object: it reads single fields and patches the stream id
// in place. readHeader() is for the control path and for tests.

import { HEADER_LENGTH, RESPONSE_BIT } from './constants.js';

export interface FrameHeader {
  /** Low 7 bits of byte 0. */
  version: number;
  /** Bit 7 of byte 0: set on responses. */
  response: boolean;
  flags: number;
  /** Signed 16-bit; negative ids are server-initiated EVENTs (spec v4 §2.3). */
  streamId: number;
  opcode: number;
  bodyLength: number;
}

/** Reads a header; the caller guarantees 9 bytes at `offset` (the frame decoder does). */
export function readHeader(buf: Buffer, offset = 0): FrameHeader {
  const v = buf.readUInt8(offset);
  return {
    version: v & 0x7f,
    response: (v & RESPONSE_BIT) !== 0,
    flags: buf.readUInt8(offset + 1),
    streamId: buf.readInt16BE(offset + 2),
    opcode: buf.readUInt8(offset + 4),
    bodyLength: buf.readInt32BE(offset + 5),
  };
}

export function writeHeader(buf: Buffer, offset: number, h: FrameHeader): void {
  buf.writeUInt8((h.version & 0x7f) | (h.response ? RESPONSE_BIT : 0), offset);
  buf.writeUInt8(h.flags, offset + 1);
  buf.writeInt16BE(h.streamId, offset + 2);
  buf.writeUInt8(h.opcode, offset + 4);
  buf.writeInt32BE(h.bodyLength, offset + 5);
}

/** A new 9-byte header buffer. */
export function encodeHeader(h: FrameHeader): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_LENGTH);
  writeHeader(buf, 0, h);
  return buf;
}

export function frameVersion(frame: Buffer): number {
  return frame.readUInt8(0) & 0x7f;
}

export function frameFlags(frame: Buffer): number {
  return frame.readUInt8(1);
}

export function frameStreamId(frame: Buffer): number {
  return frame.readInt16BE(2);
}

export function frameOpcode(frame: Buffer): number {
  return frame.readUInt8(4);
}

/** The body of a whole frame, as a view. */
export function frameBody(frame: Buffer): Buffer {
  return frame.subarray(HEADER_LENGTH);
}

/**
 * Rewrites the stream id in place: the forwarding path's only write into a frame.
 * The id is a signed 16-bit integer from v3 on (spec v4 §2.3).
 */
export function patchStreamId(frame: Buffer, streamId: number, offset = 0): void {
  // Two byte stores instead of writeInt16BE: no range check on the hot path (ids come from our own
  // allocator, and the masks keep any value in 16 bits, as two's complement).
  frame[offset + 2] = (streamId >> 8) & 0xff;
  frame[offset + 3] = streamId & 0xff;
}

/** Sets or clears header flags in place (e.g. the compression flag after re-encoding a body). */
export function setFrameFlags(frame: Buffer, flags: number, offset = 0): void {
  frame.writeUInt8(flags, offset + 1);
}
