// The wire format of one connection, both directions. A connection starts with bare frames
// (spec v4 §2); with v3/v4 a STARTUP that asks for compression then compresses every later body
// (flag 0x01, spec v4 §5); with v5 both directions switch to CRC-protected segments once the STARTUP
// response is out (spec v5 §2.3.1: "the STARTUP ... response ... [is] not framed ... all future
// messages ... will be framed"), LZ4 applying to whole segments (spec v5 §2.2).

import {
  HeaderFlag,
  HEADER_LENGTH,
  DEFAULT_MAX_FRAME_LENGTH,
} from '../../src/protocol/constants.js';
import type { BodyCompressor } from '../../src/protocol/compression.js';
import { malformed } from '../../src/protocol/errors.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { frameBody, frameFlags, setFrameFlags } from '../../src/protocol/header.js';
import { SegmentDecoder, encodeSegments } from '../../src/protocol/segment.js';
import type { SegmentCompression } from '../../src/protocol/segment.js';

export interface InboundFrame {
  /** The whole frame as received (header and possibly compressed body). */
  frame: Buffer;
  /** Header flags, without COMPRESSION once the body is decompressed. */
  flags: number;
  /** The body, decompressed. */
  body: Buffer;
}

export class WireFraming {
  private readonly onFrame: (frame: Buffer) => void;
  private readonly maxFrameLength: number;
  private frames: FrameDecoder;
  private segments: SegmentDecoder | undefined;
  private segmentCompression: SegmentCompression = 'none';
  private compressor: BodyCompressor | undefined;

  constructor(onFrame: (frame: Buffer) => void, maxFrameLength = DEFAULT_MAX_FRAME_LENGTH) {
    this.onFrame = onFrame;
    this.maxFrameLength = maxFrameLength;
    this.frames = this.frameDecoder();
  }

  /** True once the connection carries v5 segments. */
  get segmented(): boolean {
    return this.segments !== undefined;
  }

  /** Feeds socket bytes; throws ProtocolError when the framing is lost. */
  push(chunk: Buffer): void {
    if (this.segments !== undefined) {
      this.segments.push(chunk);
      return;
    }
    const frames = this.frames;
    frames.push(chunk);
    // The STARTUP handler switched to segments mid-chunk: what followed STARTUP in that chunk
    // already belongs to the first segment.
    const rest = frames.takeRemainder();
    if (rest !== undefined) this.pushSegments(rest);
  }

  /** Bytes behind STARTUP in its chunk: only a detached decoder leaves any, after useSegments(). */
  private pushSegments(bytes: Buffer): void {
    if (this.segments === undefined)
      throw new Error('bytes left over without a switch to segments');
    this.segments.push(bytes);
  }

  /** v3/v4: compress every later body in both directions. */
  useBodyCompression(compressor: BodyCompressor): void {
    this.compressor = compressor;
  }

  /**
   * v5: segments from now on, in both directions. Called from inside the frame callback of the
   * STARTUP frame: the bare-frame decoder stops after it.
   */
  useSegments(compression: SegmentCompression): void {
    this.frames.detach();
    this.segmentCompression = compression;
    const frames = this.frameDecoder();
    this.frames = frames;
    this.segments = new SegmentDecoder({
      compression,
      onPayload: (payload, selfContained) => {
        if (selfContained) frames.pushSelfContained(payload);
        else frames.push(payload);
      },
    });
  }

  /** The flags and plain body of a received frame. */
  inbound(frame: Buffer): InboundFrame {
    const flags = frameFlags(frame);
    const body = frameBody(frame);
    // spec v5 §2.2: inside segments "the compression flag ... is ignored".
    if ((flags & HeaderFlag.COMPRESSION) === 0 || this.segments !== undefined) {
      return { frame, flags: flags & ~HeaderFlag.COMPRESSION, body };
    }
    if (this.compressor === undefined) {
      throw malformed('compressed frame received but no compression was negotiated in STARTUP');
    }
    const plain = this.compressor.decompress(body, this.maxFrameLength - HEADER_LENGTH);
    return { frame, flags: flags & ~HeaderFlag.COMPRESSION, body: plain };
  }

  /**
   * A response frame as it goes out: with v3/v4 body compression, a copy with the body compressed
   * and flag 0x01 set. Empty bodies (READY) stay as they are: there is nothing to compress.
   */
  outbound(frame: Buffer): Buffer {
    const compressor = this.compressor;
    if (compressor === undefined || this.segments !== undefined || frame.length === HEADER_LENGTH) {
      return frame;
    }
    const compressed = compressor.compress(frameBody(frame));
    const out = Buffer.allocUnsafe(HEADER_LENGTH + compressed.length);
    frame.copy(out, 0, 0, HEADER_LENGTH);
    setFrameFlags(out, frameFlags(frame) | HeaderFlag.COMPRESSION);
    out.writeInt32BE(compressed.length, 5);
    compressed.copy(out, HEADER_LENGTH);
    return out;
  }

  /** The bytes for a batch of outgoing frames: one buffer, packed into segments in v5. */
  encode(frames: readonly Buffer[]): Buffer {
    if (this.segments !== undefined) return encodeSegments(frames, this.segmentCompression);
    if (frames.length === 1) return frames[0]!;
    return Buffer.concat(frames);
  }

  private frameDecoder(): FrameDecoder {
    return new FrameDecoder({
      direction: 'request',
      maxFrameLength: this.maxFrameLength,
      onFrame: this.onFrame,
    });
  }
}
