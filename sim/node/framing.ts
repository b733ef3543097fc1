// The wire format of one connection, both directions. A connection starts with bare frames
// (spec v4 §2); with v3/v4 a STARTUP that asks for compression then compresses every later body
// (flag 0x01, spec v4 §5); with v5 both directions switch to CRC-protected segments once the STARTUP
// response is out (spec v5 §2.3.1: "the STARTUP ... response ... [is] not framed ... all future
// messages ... will be framed"), LZ4 applying to whole segments (spec v5 §2.2).
//
// Incoming bytes are queued as they arrive and cut into frames one at a time, on demand, so the
// connection can stop between any two requests (backpressure: see connection.ts) and keep the
// rest for later. A frame that straddles chunks is copied out only once all its bytes are there:
// what a connection holds grows with the bytes received, never with a declared length.

import {
  HeaderFlag,
  HEADER_LENGTH,
  DEFAULT_MAX_FRAME_LENGTH,
  RESPONSE_BIT,
  isKnownVersion,
} from '../../src/protocol/constants.js';
import type { BodyCompressor } from '../../src/protocol/compression.js';
import { bufferView } from '../../src/protocol/buffer-view.js';
import { ProtocolError, ProtocolErrorCode, malformed } from '../../src/protocol/errors.js';
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

/** A v3/v4 frame over the limit, skipped as it arrived: the connection refuses it on its stream. */
export interface TooBigFrame {
  readonly kind: 'too-big';
  readonly streamId: number;
  /** Its declared length, header included. */
  readonly length: number;
  /** The limit it broke, header included. */
  readonly limit: number;
}

const ARRIVED_MID_FRAME = 'self-contained segment arrived in the middle of a frame';
const ENDS_MID_FRAME = 'self-contained segment ends in the middle of a frame';

/** Request bytes as they arrived: a socket chunk, or a v5 segment's payload. */
interface Piece {
  readonly bytes: Buffer;
  /** spec v5 §2.1: a self-contained segment holds whole frames only. */
  readonly selfContained: boolean;
}

/**
 * Request bytes queued in arrival order and cut into whole frames on demand. The header checks and
 * their messages are the protocol FrameDecoder's; what differs is that nothing is decoded before it
 * is asked for, and that a v3/v4 frame over the limit is skipped rather than fatal (Cassandra's
 * Envelope.Decoder: "Request is too big", and the connection lives on).
 */
export class RequestFrames {
  private readonly maxFrameLength: number;
  /** True inside v5 segments, where an oversized frame cannot be skipped and is fatal. */
  private readonly segmented: boolean;
  private readonly pieces: Piece[] = [];
  /** Read position in pieces[0]. */
  private head = 0;
  private available = 0;
  /**
   * Bytes the frame at the head needs, set when next() found them missing (0 otherwise): while
   * fewer are queued, every queued byte belongs to that incomplete frame.
   */
  private needed = 0;
  /** Bytes of an oversized frame still to skip, then the refusal to hand out. */
  private discarding = 0;
  private tooBig: TooBigFrame | undefined;
  private readonly headerScratch = Buffer.alloc(HEADER_LENGTH);
  private failure: ProtocolError | undefined;

  constructor(maxFrameLength: number, segmented: boolean) {
    if (!Number.isInteger(maxFrameLength) || maxFrameLength < HEADER_LENGTH) {
      throw new RangeError(`maxFrameLength must be an integer >= ${HEADER_LENGTH}`);
    }
    this.maxFrameLength = maxFrameLength;
    this.segmented = segmented;
  }

  /** Bytes received and not yet handed out as frames. */
  get bufferedBytes(): number {
    return this.available;
  }

  /** Queues bytes; throws ProtocolError when a self-contained segment cuts a frame. */
  add(bytes: Buffer, selfContained: boolean): void {
    if (this.failure !== undefined) throw this.failure;
    let start = 0;
    if (this.discarding > 0 && this.available === 0) {
      // Skipped as they arrive: an oversized frame costs no memory, however long it is.
      start = Math.min(this.discarding, bytes.length);
      this.discarding -= start;
    }
    if (start === bytes.length) return;
    if (selfContained && this.available > 0 && this.available < this.needed) {
      this.fail(malformed(ARRIVED_MID_FRAME));
    }
    const piece = start === 0 ? bytes : bytes.subarray(start);
    this.pieces.push({ bytes: piece, selfContained });
    this.available += piece.length;
  }

  /**
   * The next whole frame (a view when it lies in one piece), a refused oversized frame once all
   * its bytes are skipped, or undefined until more bytes arrive. Throws ProtocolError when the
   * framing is lost; the decoder then stays failed.
   */
  next(): Buffer | TooBigFrame | undefined {
    // The common case first, once per request: a whole, well-formed frame at the head of the first
    // piece. Bytes are read by index and the version byte through a table, as in the protocol
    // FrameDecoder's hot loop; anything else takes the careful path below.
    const piece = this.pieces[0];
    if (
      piece !== undefined &&
      this.discarding === 0 &&
      this.tooBig === undefined &&
      this.failure === undefined
    ) {
      const bytes = piece.bytes;
      const head = this.head;
      if (bytes.length - head >= HEADER_LENGTH && ACCEPTED_FIRST_BYTES[bytes[head]!] === 1) {
        const bodyLength =
          (bytes[head + 5]! << 24) |
          (bytes[head + 6]! << 16) |
          (bytes[head + 7]! << 8) |
          bytes[head + 8]!;
        const end = head + HEADER_LENGTH + bodyLength;
        if (bodyLength >= 0 && end - head <= this.maxFrameLength && end <= bytes.length) {
          this.needed = 0;
          this.available -= end - head;
          if (end === bytes.length) {
            this.pieces.shift();
            this.head = 0;
          } else {
            this.head = end;
          }
          return bufferView(bytes, head, end);
        }
      }
    }
    if (this.failure !== undefined) throw this.failure;
    try {
      return this.cut();
    } catch (error) {
      if (ProtocolError.isProtocolError(error)) this.failure = error;
      throw error;
    }
  }

  /** Every byte still queued, in order; the queue is left empty (the switch to segments). */
  takeAll(): Buffer[] {
    const out = this.pieces.map((piece, i) =>
      i === 0 && this.head > 0 ? piece.bytes.subarray(this.head) : piece.bytes,
    );
    this.pieces.length = 0;
    this.head = 0;
    this.available = 0;
    this.needed = 0;
    return out;
  }

  private cut(): Buffer | TooBigFrame | undefined {
    this.needed = 0;
    if (this.discarding > 0) {
      const skip = Math.min(this.discarding, this.available);
      this.consume(skip);
      this.discarding -= skip;
      if (this.discarding > 0) return undefined;
    }
    if (this.tooBig !== undefined) {
      const refused = this.tooBig;
      this.tooBig = undefined;
      return refused;
    }
    if (this.available === 0) return undefined;
    const piece = this.pieces[0]!;
    const inPiece = piece.bytes.length - this.head;
    // Checked on the first byte: a v1/v2 peer's short request never fills a 9-byte header.
    checkFirstByte(piece.bytes[this.head]!);
    if (piece.selfContained && inPiece < HEADER_LENGTH) throw malformed(ENDS_MID_FRAME);
    if (this.available < HEADER_LENGTH) {
      this.needed = HEADER_LENGTH;
      return undefined;
    }
    let header = piece.bytes;
    let at = this.head;
    if (inPiece < HEADER_LENGTH) {
      this.checkSpan(HEADER_LENGTH);
      this.peek(this.headerScratch, HEADER_LENGTH);
      header = this.headerScratch;
      at = 0;
    }
    // spec v4 §2.5: "length ... an integer representing the length of the body"; a signed [int].
    const bodyLength = header.readInt32BE(at + 5);
    if (bodyLength < 0) throw malformed(`negative frame body length ${bodyLength}`);
    const length = HEADER_LENGTH + bodyLength;
    if (length > this.maxFrameLength) {
      if (this.segmented) {
        throw new ProtocolError(
          ProtocolErrorCode.FRAME_TOO_LARGE,
          `frame of ${length} bytes exceeds the limit of ${this.maxFrameLength}`,
        );
      }
      this.tooBig = {
        kind: 'too-big',
        streamId: header.readInt16BE(at + 2),
        length,
        limit: this.maxFrameLength,
      };
      this.discarding = length;
      return this.cut();
    }
    if (piece.selfContained && length > inPiece) throw malformed(ENDS_MID_FRAME);
    if (this.available < length) {
      this.needed = length;
      return undefined;
    }
    if (length <= inPiece) {
      const frame = bufferView(piece.bytes, this.head, this.head + length);
      this.consume(length);
      return frame;
    }
    this.checkSpan(length);
    // Every byte is here: the frame's buffer is exactly its length, filled once.
    const frame = Buffer.allocUnsafe(length);
    this.peek(frame, length);
    this.consume(length);
    return frame;
  }

  /** The next `length` bytes span pieces: none after the first may be a self-contained one. */
  private checkSpan(length: number): void {
    let covered = this.pieces[0]!.bytes.length - this.head;
    for (let i = 1; covered < length; i++) {
      const piece = this.pieces[i]!;
      if (piece.selfContained) throw malformed(ARRIVED_MID_FRAME);
      covered += piece.bytes.length;
    }
  }

  /** Copies the next `length` queued bytes (`length` <= available) into `target`. */
  private peek(target: Buffer, length: number): void {
    let filled = 0;
    let offset = this.head;
    for (let i = 0; filled < length; i++) {
      const piece = this.pieces[i]!.bytes;
      const take = Math.min(length - filled, piece.length - offset);
      piece.copy(target, filled, offset, offset + take);
      filled += take;
      offset = 0;
    }
  }

  /** Advances past the next `count` queued bytes (`count` <= available). */
  private consume(count: number): void {
    let left = count;
    while (left > 0) {
      const piece = this.pieces[0]!.bytes;
      const take = Math.min(left, piece.length - this.head);
      this.head += take;
      left -= take;
      if (this.head === piece.length) {
        this.pieces.shift();
        this.head = 0;
      }
    }
    this.available -= count;
  }

  private fail(error: ProtocolError): never {
    this.failure = error;
    throw error;
  }
}

/** 1 for each first header byte checkFirstByte() accepts. */
const ACCEPTED_FIRST_BYTES = new Uint8Array(256);
for (let first = 0; first < 256; first++) {
  if ((first & RESPONSE_BIT) === 0 && isKnownVersion(first & 0x7f)) ACCEPTED_FIRST_BYTES[first] = 1;
}

/** The version byte: a version whose header we can read, sent as a request. */
function checkFirstByte(first: number): void {
  const version = first & 0x7f;
  if (!isKnownVersion(version)) {
    throw new ProtocolError(
      ProtocolErrorCode.UNSUPPORTED_VERSION,
      `Invalid or unsupported protocol version (${version})`,
      { version },
    );
  }
  if ((first & RESPONSE_BIT) !== 0) {
    throw malformed('received a response frame where a request was expected');
  }
}

export class WireFraming {
  private readonly onFrame: (frame: Buffer) => void;
  private readonly onTooBig: (frame: TooBigFrame) => void;
  private readonly maxFrameLength: number;
  private frames: RequestFrames;
  private segments: SegmentDecoder | undefined;
  private segmentCompression: SegmentCompression = 'none';
  private compressor: BodyCompressor | undefined;
  private paused = false;
  private pumping = false;

  constructor(
    onFrame: (frame: Buffer) => void,
    onTooBig: (frame: TooBigFrame) => void,
    maxFrameLength = DEFAULT_MAX_FRAME_LENGTH,
  ) {
    this.onFrame = onFrame;
    this.onTooBig = onTooBig;
    this.maxFrameLength = maxFrameLength;
    this.frames = new RequestFrames(maxFrameLength, false);
  }

  /** True once the connection carries v5 segments. */
  get segmented(): boolean {
    return this.segments !== undefined;
  }

  /** Request bytes read from the socket and not yet handed out as frames. */
  get bufferedBytes(): number {
    return this.frames.bufferedBytes;
  }

  /**
   * Feeds socket bytes and hands out the frames they complete, unless paused; throws
   * ProtocolError when the framing is lost.
   */
  push(chunk: Buffer): void {
    if (this.segments !== undefined) this.segments.push(chunk);
    else this.frames.add(chunk, false);
    this.pump();
  }

  /** No more frames are handed out (from the next one on) until resume(); bytes are kept. */
  pause(): void {
    this.paused = true;
  }

  /** Hands out the frames already received, until they run out or pause() is called again. */
  resume(): void {
    this.paused = false;
    this.pump();
  }

  private pump(): void {
    // A frame handler that resumes does not recurse: the loop below carries on.
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.paused) {
        // Re-read each time: the STARTUP handler may have switched to segments.
        const next = this.frames.next();
        if (next === undefined) return;
        if (Buffer.isBuffer(next)) this.onFrame(next);
        else this.onTooBig(next);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** v3/v4: compress every later body in both directions. */
  useBodyCompression(compressor: BodyCompressor): void {
    this.compressor = compressor;
  }

  /**
   * v5: segments from now on, in both directions. Called from the frame handler of STARTUP: what
   * the client sent right behind it already belongs to segments.
   */
  useSegments(compression: SegmentCompression): void {
    this.segmentCompression = compression;
    const rest = this.frames.takeAll();
    const frames = new RequestFrames(this.maxFrameLength, true);
    this.frames = frames;
    const segments = new SegmentDecoder({
      compression,
      onPayload: (payload, selfContained) => frames.add(payload, selfContained),
    });
    this.segments = segments;
    for (const bytes of rest) segments.push(bytes);
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

  /**
   * The bytes for a batch of outgoing frames: one buffer, packed into segments in v5. The batch is
   * what one connection queued, which its backpressure bound keeps to a few MiB plus one answer.
   */
  encode(frames: readonly Buffer[]): Buffer {
    if (this.segments !== undefined) return encodeSegments(frames, this.segmentCompression);
    if (frames.length === 1) return frames[0]!;
    return Buffer.concat(frames);
  }
}
