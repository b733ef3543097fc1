// Streaming frame decoder: socket chunks in, whole frames out (spec v4 §2, v5 §2.4 envelopes).
//
// A frame that lies inside one chunk is handed out as a view into that chunk: no copy. Only a
// frame that straddles chunks is copied into a buffer of its own. That buffer grows as bytes
// arrive (doubling, up to the frame's length), never from the declared length alone: a peer that
// declares 16 MiB and sends ten bytes holds 64 KiB, not 16 MiB. Frames up to 64 KiB, nearly all
// of them, get their exact size at once and are copied exactly once. The decoder's own buffers
// are never reused or compacted, because a view handed out here may still be queued on another
// socket. Chunks that the caller reuses (a read arena) are declared with copyFrames: whole frames
// then go out as copies (docs/design.md, "Reads from the nodes land in reused memory").
//
// The declared body length is checked against the limit before a single body byte is buffered.
// The limit can change mid-stream (setMaxFrameLength): a server keeps it small until the
// handshake is done. After a ProtocolError the framing is lost: the decoder stays failed and the
// caller closes the connection.

import {
  DEFAULT_MAX_FRAME_LENGTH,
  HEADER_LENGTH,
  RESPONSE_BIT,
  isKnownVersion,
} from './constants.js';
import { bufferView } from './buffer-view.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';

/** Where the rest of a frame cut through goes (FrameDecoderOptions.onFrameHead). */
export interface FrameSink {
  /** The next bytes of the frame (a view of a socket chunk); `last` on the piece that ends it. */
  piece(bytes: Buffer, last: boolean): void;
  /** The stream ended before the frame did (the connection closed). */
  abort(): void;
}

export interface FrameDecoderOptions {
  /** Called once per whole frame, header included. The view is valid as long as the caller keeps it. */
  onFrame: (frame: Buffer) => void;
  /**
   * Cut-through: asked for a frame of at least CUT_THROUGH_MIN_LENGTH bytes that straddles chunks
   * (with copyFrames, also for one whole in its chunk), with its first bytes (header first): a
   * view of the frame's bytes in this chunk, or, when the
   * chunk holds fewer than CUT_THROUGH_HEAD_LENGTH of them, a copy of the first that many, once
   * they arrived. A sink takes the frame: its head goes where the caller sends it, and the rest
   * goes to the sink as it arrives, never assembled. undefined: the frame is assembled and goes to
   * onFrame.
   */
  onFrameHead?: (head: Buffer, frameLength: number) => FrameSink | undefined;
  /** Largest accepted frame, header included. Default 256 MiB, as Cassandra 3.x. */
  maxFrameLength?: number;
  /** 'request' on the server side of a connection, 'response' on the client side. */
  direction?: 'request' | 'response';
  /**
   * The chunks are reused after push() returns (a read arena, src/transport/read-arena.ts): whole
   * frames go to onFrame as copies, and a frame of at least CUT_THROUGH_MIN_LENGTH bytes is first
   * offered to onFrameHead whole (its sink then gets one empty last piece), so that large answers
   * pass without a copy here too.
   */
  copyFrames?: boolean;
}

/** The last piece of a frame offered whole to onFrameHead: nothing more. */
const NO_BYTES = Buffer.alloc(0);

/** The first buffer of a frame that straddles chunks is at most this large (see above). */
export const INITIAL_PARTIAL_CAPACITY = 64 * 1024;

/** Smaller frames that straddle chunks are assembled: one copy costs less than a second write. */
export const CUT_THROUGH_MIN_LENGTH = 16 * 1024;

/**
 * onFrameHead is asked with at least this many bytes of the frame (header included), enough for
 * the caller to tell what it is (a RESULT kind after a compressed body's first literals): a frame
 * whose first chunk holds fewer has that much copied, once, before it is asked.
 */
export const CUT_THROUGH_HEAD_LENGTH = 256;

export class FrameDecoder {
  private readonly onFrame: (frame: Buffer) => void;
  private readonly onFrameHead: FrameDecoderOptions['onFrameHead'];
  /** The frame being cut through, and how many of its bytes are still to come. */
  private sink: FrameSink | null = null;
  private sinkRemaining = 0;
  /** The first bytes of a large frame, gathered until onFrameHead can be asked (made when used). */
  private head: Buffer | null = null;
  private headFilled = 0;
  private headFrameLength = 0;
  private maxBodyLength: number;
  /** Value the direction bit must have, or -1 for either. */
  private readonly directionBit: number;
  private readonly copyFrames: boolean;

  /** Bytes of a header cut short at the end of a chunk (fewer than 9); made the first time. */
  private headerScratch: Buffer | undefined;
  private headerFilled = 0;
  /** The frame being assembled across chunks: its bytes so far, in a buffer that grows. */
  private partial: Buffer | null = null;
  private partialFilled = 0;
  /** Length of the frame being assembled, header included. */
  private partialLength = 0;
  private failure: ProtocolError | null = null;
  /** Set by detach(): stop at the current frame and keep the rest of the chunk. */
  private detached = false;
  private remainder: Buffer | undefined;
  /** 1 for each first header byte (version + direction bit) this decoder accepts (shared). */
  private readonly acceptedFirstBytes: Uint8Array;

  constructor(options: FrameDecoderOptions) {
    this.onFrame = options.onFrame;
    this.onFrameHead = options.onFrameHead;
    this.maxBodyLength = checkedMaxBody(options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH);
    this.directionBit =
      options.direction === undefined ? -1 : options.direction === 'response' ? RESPONSE_BIT : 0;
    this.acceptedFirstBytes = acceptedFirstBytesFor(this.directionBit);
    this.copyFrames = options.copyFrames === true;
  }

  /** True while part of a frame is buffered. */
  get midFrame(): boolean {
    return (
      this.headerFilled > 0 || this.partial !== null || this.sink !== null || this.head !== null
    );
  }

  /** The stream ended: a frame being cut through is told it will not be completed. */
  abort(): void {
    const sink = this.sink;
    this.sink = null;
    this.sinkRemaining = 0;
    sink?.abort();
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    if (this.partial !== null) return this.partialFilled;
    return this.head !== null ? this.headFilled : this.headerFilled;
  }

  /** Memory set aside for the incomplete frame (at most about twice bufferedBytes). */
  get reservedBytes(): number {
    if (this.partial !== null) return this.partial.length;
    return this.head !== null ? this.head.length : 0;
  }

  /** The current limit, header included. */
  get maxFrameLength(): number {
    return this.maxBodyLength + HEADER_LENGTH;
  }

  /**
   * Changes the limit for frames whose header has not been read yet (a frame already being
   * assembled keeps the limit it was accepted under).
   */
  setMaxFrameLength(maxFrameLength: number): void {
    this.maxBodyLength = checkedMaxBody(maxFrameLength);
  }

  /**
   * Called from inside onFrame: this decoder stops after the current frame, and the unread rest of
   * the chunk is kept for takeRemainder(). Used where the framing changes mid-stream: v5 switches
   * to segments right after the STARTUP response (spec v5 §2.3.1).
   */
  detach(): void {
    this.detached = true;
  }

  /** After detach(): the bytes of the chunk that followed the last frame, if any. */
  takeRemainder(): Buffer | undefined {
    const rest = this.remainder;
    this.remainder = undefined;
    return rest;
  }

  /** Feeds one chunk; calls onFrame for every frame it completes. */
  push(chunk: Buffer): void {
    if (this.failure !== null) throw this.failure;
    try {
      this.decode(chunk);
    } catch (err) {
      if (ProtocolError.isProtocolError(err)) this.failure = err;
      throw err;
    }
  }

  /**
   * Feeds the payload of a v5 self-contained segment, which must hold whole frames only
   * (spec v5 §2.1: "a self-contained segment ... contains one or more complete frames").
   */
  pushSelfContained(payload: Buffer): void {
    if (this.midFrame) this.fail('self-contained segment arrived in the middle of a frame');
    this.push(payload);
    if (this.midFrame) this.fail('self-contained segment ends in the middle of a frame');
  }

  private decode(chunk: Buffer): void {
    if (this.detached) throw new Error('push() after detach()');
    const length = chunk.length;
    let offset = 0;
    if (this.midFrame) {
      // A frame begun in an earlier chunk (kept out of this function: the loop below is the hot
      // path, and short functions are the ones the compiler inlines into and optimises best).
      offset = this.continueFrame(chunk);
      if (offset < 0) return;
    }

    // The hot loop: frames wholly inside this chunk become views. Bytes are read by index (the
    // loop condition bounds them) and the version byte through a lookup table: this loop runs
    // once per forwarded frame.
    const accepted = this.acceptedFirstBytes;
    const maxBody = this.maxBodyLength;
    while (length - offset >= HEADER_LENGTH) {
      const bodyLength =
        (chunk[offset + 5]! << 24) |
        (chunk[offset + 6]! << 16) |
        (chunk[offset + 7]! << 8) |
        chunk[offset + 8]!;
      if (accepted[chunk[offset]!] !== 1 || bodyLength < 0 || bodyLength > maxBody) {
        this.checkHeader(chunk, offset); // throws the precise error
      }
      const end = offset + HEADER_LENGTH + bodyLength;
      if (end > length) {
        const frameLength = HEADER_LENGTH + bodyLength;
        if (this.onFrameHead !== undefined && frameLength >= CUT_THROUGH_MIN_LENGTH) {
          if (length - offset < CUT_THROUGH_HEAD_LENGTH) {
            this.startHead(chunk, offset, length - offset, frameLength);
            return;
          }
          const sink = this.onFrameHead(bufferView(chunk, offset, length), frameLength);
          if (sink !== undefined) {
            this.sink = sink;
            this.sinkRemaining = end - length;
            return;
          }
        }
        this.startPartial(chunk, offset, length - offset, frameLength);
        return;
      }
      if (this.copyFrames) this.frameToKeep(bufferView(chunk, offset, end));
      else this.onFrame(bufferView(chunk, offset, end));
      offset = end;
      if (this.detached) {
        if (offset < length) this.remainder = chunk.subarray(offset);
        return;
      }
    }

    if (offset < length) {
      // Check the version byte now: a v1/v2 peer sends 8-byte headers, and a short OPTIONS would
      // otherwise wait forever for a ninth byte instead of getting its "unsupported version" answer.
      this.checkFirstByte(chunk.readUInt8(offset));
      chunk.copy((this.headerScratch ??= Buffer.alloc(HEADER_LENGTH)), 0, offset, length);
      this.headerFilled = length - offset;
    }
  }

  /**
   * Goes on with the frame begun in an earlier chunk: its header, its head (cut-through) or its
   * bytes (assembled or cut through). Returns where the rest of the chunk starts, or -1 when the
   * chunk is used up (or the decoder detached after the frame).
   */
  private continueFrame(chunk: Buffer): number {
    const length = chunk.length;
    let offset = 0;

    if (this.sink !== null) {
      offset = this.feedSink(chunk, 0);
      if (offset < 0) return -1;
    }

    if (this.headerFilled > 0) {
      const scratch = this.headerScratch!;
      const take = Math.min(HEADER_LENGTH - this.headerFilled, length);
      chunk.copy(scratch, this.headerFilled, 0, take);
      this.headerFilled += take;
      offset = take;
      if (this.headerFilled < HEADER_LENGTH) return -1;
      this.headerFilled = 0;
      const frameLength = HEADER_LENGTH + this.checkHeader(scratch, 0);
      if (this.onFrameHead !== undefined && frameLength >= CUT_THROUGH_MIN_LENGTH) {
        this.startHead(scratch, 0, HEADER_LENGTH, frameLength);
      } else {
        this.startPartial(scratch, 0, HEADER_LENGTH, frameLength);
      }
    }

    if (this.head !== null) {
      const head = this.head;
      const take = Math.min(CUT_THROUGH_HEAD_LENGTH - this.headFilled, length - offset);
      chunk.copy(head, this.headFilled, offset, offset + take);
      this.headFilled += take;
      offset += take;
      if (this.headFilled < CUT_THROUGH_HEAD_LENGTH) return -1;
      const frameLength = this.headFrameLength;
      this.head = null;
      this.headFilled = 0;
      const sink = this.onFrameHead!(head, frameLength);
      if (sink === undefined) {
        this.startPartial(head, 0, CUT_THROUGH_HEAD_LENGTH, frameLength);
      } else {
        this.sink = sink;
        this.sinkRemaining = frameLength - CUT_THROUGH_HEAD_LENGTH;
        if (offset === length) return -1;
        offset = this.feedSink(chunk, offset);
        if (offset < 0) return -1;
      }
    }

    if (this.partial !== null) {
      const take = Math.min(this.partialLength - this.partialFilled, length - offset);
      this.appendPartial(chunk, offset, take);
      offset += take;
      if (this.partialFilled < this.partialLength) return -1;
      const frame = this.partial;
      this.partial = null;
      this.partialFilled = 0;
      this.partialLength = 0;
      this.onFrame(frame);
      if (this.detached) {
        if (offset < length) this.remainder = chunk.subarray(offset);
        return -1;
      }
    }
    return offset;
  }

  /**
   * copyFrames: a whole frame of a chunk that will be reused goes out cut through when large (a
   * sink takes it, as a frame that straddles chunks), otherwise as a copy.
   */
  private frameToKeep(frame: Buffer): void {
    const onFrameHead = this.onFrameHead;
    if (onFrameHead !== undefined && frame.length >= CUT_THROUGH_MIN_LENGTH) {
      const sink = onFrameHead(frame, frame.length);
      if (sink !== undefined) {
        sink.piece(NO_BYTES, true);
        return;
      }
    }
    this.onFrame(Buffer.from(frame));
  }

  /**
   * Hands the frame being cut through its bytes from `chunk[offset]` on; returns where the next
   * frame starts in the chunk, or -1 when the frame goes on in the next chunk.
   */
  private feedSink(chunk: Buffer, offset: number): number {
    const sink = this.sink!;
    const length = chunk.length;
    const take = Math.min(this.sinkRemaining, length - offset);
    this.sinkRemaining -= take;
    const last = this.sinkRemaining === 0;
    if (last) this.sink = null;
    sink.piece(
      offset === 0 && take === length ? chunk : bufferView(chunk, offset, offset + take),
      last,
    );
    return last ? offset + take : -1;
  }

  /** Gathers the first bytes of a large frame, `count` of them at `source[start]` for a start. */
  private startHead(source: Buffer, start: number, count: number, frameLength: number): void {
    // A buffer of its own: the head is handed out and may be queued on another socket.
    this.head = Buffer.allocUnsafe(CUT_THROUGH_HEAD_LENGTH);
    source.copy(this.head, 0, start, start + count);
    this.headFilled = count;
    this.headFrameLength = frameLength;
  }

  /** Starts assembling a frame of `frameLength` bytes with the `count` bytes at `source[start]`. */
  private startPartial(source: Buffer, start: number, count: number, frameLength: number): void {
    const capacity =
      frameLength <= INITIAL_PARTIAL_CAPACITY
        ? frameLength
        : Math.min(frameLength, Math.max(INITIAL_PARTIAL_CAPACITY, 2 * count));
    this.partial = Buffer.allocUnsafe(capacity);
    this.partialLength = frameLength;
    this.partialFilled = 0;
    this.appendPartial(source, start, count);
  }

  /** Appends bytes to the frame being assembled, doubling its buffer when it is full. */
  private appendPartial(source: Buffer, start: number, count: number): void {
    let buffer = this.partial!;
    const needed = this.partialFilled + count;
    if (needed > buffer.length) {
      const grown = Buffer.allocUnsafe(
        Math.min(this.partialLength, Math.max(needed, 2 * buffer.length)),
      );
      buffer.copy(grown, 0, 0, this.partialFilled);
      this.partial = grown;
      buffer = grown;
    }
    source.copy(buffer, this.partialFilled, start, start + count);
    this.partialFilled = needed;
  }

  /** Validates the 9 header bytes at `offset` and returns the body length. */
  private checkHeader(buf: Buffer, offset: number): number {
    this.checkFirstByte(buf.readUInt8(offset));
    // spec v4 §2.5: "length ... an integer representing the length of the body"; a signed [int].
    const bodyLength = buf.readInt32BE(offset + 5);
    if (bodyLength < 0) this.fail(`negative frame body length ${bodyLength}`);
    if (bodyLength > this.maxBodyLength) {
      throw new ProtocolError(
        ProtocolErrorCode.FRAME_TOO_LARGE,
        `frame of ${HEADER_LENGTH + bodyLength} bytes exceeds the limit of ${this.maxBodyLength + HEADER_LENGTH}`,
      );
    }
    return bodyLength;
  }

  /** The version byte: a version whose header we can read, and the expected direction bit. */
  private checkFirstByte(first: number): void {
    const version = first & 0x7f;
    if (!isKnownVersion(version)) {
      throw new ProtocolError(
        ProtocolErrorCode.UNSUPPORTED_VERSION,
        `Invalid or unsupported protocol version (${version})`,
        { version },
      );
    }
    if (this.directionBit >= 0 && (first & RESPONSE_BIT) !== this.directionBit) {
      this.fail(
        this.directionBit === 0
          ? 'received a response frame where a request was expected'
          : 'received a request frame where a response was expected',
      );
    }
  }

  private fail(message: string): never {
    throw new ProtocolError(ProtocolErrorCode.MALFORMED, message);
  }
}

/**
 * The first header bytes accepted for a direction bit (-1: either), by first byte: built once per
 * direction and shared by every decoder, so a connection does not carry a table of its own.
 */
const ACCEPTED_FIRST_BYTES = new Map<number, Uint8Array>();

/** Exported for tests: the shared table for a direction bit (-1, 0 or RESPONSE_BIT). */
export function acceptedFirstBytesFor(directionBit: number): Uint8Array {
  let table = ACCEPTED_FIRST_BYTES.get(directionBit);
  if (table === undefined) {
    table = new Uint8Array(256);
    for (let first = 0; first < 256; first++) {
      const directionOk = directionBit < 0 || (first & RESPONSE_BIT) === directionBit;
      if (directionOk && isKnownVersion(first & 0x7f)) table[first] = 1;
    }
    ACCEPTED_FIRST_BYTES.set(directionBit, table);
  }
  return table;
}

function checkedMaxBody(maxFrameLength: number): number {
  if (!Number.isInteger(maxFrameLength) || maxFrameLength < HEADER_LENGTH) {
    throw new RangeError(`maxFrameLength must be an integer >= ${HEADER_LENGTH}`);
  }
  return maxFrameLength - HEADER_LENGTH;
}
