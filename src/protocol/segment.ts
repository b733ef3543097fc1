// v5 segment framing (native_protocol_v5.spec §2.1, §2.2): after the STARTUP exchange a v5
// connection carries segments, and the envelopes (ordinary 9-byte-header frames) travel inside
// their payloads.
//
// Note for the caller: a self-contained segment's payload holds one or more WHOLE frames; a frame
// too large for one segment (payload ≤ 131071 bytes) is cut into parts carried by consecutive
// non-self-contained segments, which hold nothing else. Feed every payload, in order, into a frame
// decoder: it reassembles a large frame from its parts, and it should check that a self-contained
// payload starts and ends on a frame boundary (spec v5 §1: "the payload includes one or more
// complete envelopes").
//
// Uncompressed segment (§2.1; Cassandra FrameEncoderCrc):
//   bytes 0..2  LE 24-bit: bits 0..16 payload length, bit 17 self-contained, bits 18..23 padding
//   bytes 3..5  LE CRC24 of the 3 header bytes
//   payload, then 4 bytes LE CRC32 of the payload
//
// LZ4 segment (§2.2; Cassandra FrameEncoderLZ4): the spec prose says "4 bytes ... remaining 4
// bytes", but Cassandra and the drivers use 5 + 3:
//   bytes 0..4  LE 40-bit: bits 0..16 compressed length, bits 17..33 uncompressed length
//               (0 = the payload is not compressed), bit 34 self-contained, rest padding
//   bytes 5..7  LE CRC24 of the 5 header bytes
//   payload (a raw LZ4 block, or the plain bytes), then 4 bytes LE CRC32 of the payload as sent
//
// Decoding hands out views into the socket chunk when a segment lies inside one chunk and copies
// only a segment that straddles chunks, into a buffer allocated for exactly that segment. Nothing
// is ever reused or compacted: a payload view may still be queued on another socket.

import { lz4CompressBlock, lz4DecompressBlock } from './compression.js';
import { crc24, crc32Cassandra } from './crc.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';

export type SegmentCompression = 'none' | 'lz4';

/** The 17-bit length fields cap a payload at 128 KiB - 1 (spec v5 §2.1). */
export const MAX_SEGMENT_PAYLOAD_LENGTH = 0x1ffff;
export const SEGMENT_HEADER_LENGTH = 6;
export const LZ4_SEGMENT_HEADER_LENGTH = 8;
export const SEGMENT_TRAILER_LENGTH = 4;

const LENGTH_MASK = 0x1ffff;
/** Bit 17 of the 3-byte uncompressed header. */
const SELF_CONTAINED_BIT = 1 << 17;
/** Bit 34 of the 5-byte LZ4 header, i.e. bit 2 of its fifth byte. */
const LZ4_SELF_CONTAINED_HIGH_BIT = 0x04;
const TWO_POW_32 = 0x1_0000_0000;

export interface SegmentHeader {
  /** Payload bytes on the wire (the compressed length in the LZ4 format). */
  payloadLength: number;
  /** LZ4 format: the length after decompression, 0 when the payload is sent as is. Always 0 in the uncompressed format. */
  uncompressedLength: number;
  selfContained: boolean;
}

export function segmentHeaderLength(compression: SegmentCompression): number {
  return compression === 'lz4' ? LZ4_SEGMENT_HEADER_LENGTH : SEGMENT_HEADER_LENGTH;
}

function crcMismatch(what: string, received: number, computed: number): ProtocolError {
  return new ProtocolError(
    ProtocolErrorCode.CRC_MISMATCH,
    `${what} mismatch: received 0x${received.toString(16)}, computed 0x${computed.toString(16)}`,
  );
}

function checkLengthField(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_SEGMENT_PAYLOAD_LENGTH) {
    throw new ProtocolError(
      ProtocolErrorCode.FRAME_TOO_LARGE,
      `segment ${what} ${value} does not fit the 17-bit field (max ${MAX_SEGMENT_PAYLOAD_LENGTH})`,
    );
  }
}

// native_protocol_v5.spec §2.1: <payload length:17><self-contained:1><padding:6> as a 3-byte LE
// integer, then <CRC24 of those 3 bytes> as a 3-byte LE integer.
export function writeSegmentHeader(
  buf: Buffer,
  offset: number,
  payloadLength: number,
  selfContained: boolean,
): void {
  checkLengthField(payloadLength, 'payload length');
  const value = payloadLength | (selfContained ? SELF_CONTAINED_BIT : 0);
  buf.writeUIntLE(value, offset, 3);
  buf.writeUIntLE(crc24(value, 3), offset + 3, 3);
}

/** Reads and CRC-checks an uncompressed-format header; the caller guarantees 6 bytes at `offset`. */
export function readSegmentHeader(buf: Buffer, offset: number): SegmentHeader {
  const value = buf.readUIntLE(offset, 3);
  const received = buf.readUIntLE(offset + 3, 3);
  const computed = crc24(value, 3);
  if (received !== computed) throw crcMismatch('segment header CRC24', received, computed);
  return {
    payloadLength: value & LENGTH_MASK,
    uncompressedLength: 0,
    selfContained: (value & SELF_CONTAINED_BIT) !== 0,
  };
}

// native_protocol_v5.spec §2.2 as Cassandra implements it: <compressed length:17>
// <uncompressed length:17><self-contained:1><padding:5> as a 5-byte LE integer, then <CRC24 of
// those 5 bytes> as a 3-byte LE integer.
export function writeLz4SegmentHeader(
  buf: Buffer,
  offset: number,
  compressedLength: number,
  uncompressedLength: number,
  selfContained: boolean,
): void {
  checkLengthField(compressedLength, 'compressed length');
  checkLengthField(uncompressedLength, 'uncompressed length');
  // 40 bits do not fit the 32-bit bitwise operators: bits 0..31 and bits 32..39 separately.
  const low = (compressedLength | (uncompressedLength << 17)) >>> 0;
  const high = (uncompressedLength >>> 15) | (selfContained ? LZ4_SELF_CONTAINED_HIGH_BIT : 0);
  buf.writeUInt32LE(low, offset);
  buf.writeUInt8(high, offset + 4);
  buf.writeUIntLE(crc24(low + high * TWO_POW_32, 5), offset + 5, 3);
}

/** Reads and CRC-checks an LZ4-format header; the caller guarantees 8 bytes at `offset`. */
export function readLz4SegmentHeader(buf: Buffer, offset: number): SegmentHeader {
  const low = buf.readUInt32LE(offset);
  const high = buf.readUInt8(offset + 4);
  const received = buf.readUIntLE(offset + 5, 3);
  const computed = crc24(low + high * TWO_POW_32, 5);
  if (received !== computed) throw crcMismatch('LZ4 segment header CRC24', received, computed);
  return {
    payloadLength: low & LENGTH_MASK,
    uncompressedLength: ((low >>> 17) | (high << 15)) & LENGTH_MASK,
    selfContained: (high & LZ4_SELF_CONTAINED_HIGH_BIT) !== 0,
  };
}

export interface SegmentDecoderOptions {
  compression: SegmentCompression;
  /**
   * Largest accepted payload, compressed or not, checked before anything is buffered. Default and
   * natural ceiling: 131071, the most the 17-bit length fields can say.
   */
  maxPayloadLength?: number;
  /**
   * Called once per segment, in order, with its (decompressed) payload. The view stays valid as
   * long as the caller keeps it; the decoder never writes into it again.
   */
  onPayload: (payload: Buffer, selfContained: boolean) => void;
}

/** Streaming segment decoder: socket chunks in, CRC-checked and decompressed payloads out. */
export class SegmentDecoder {
  private readonly onPayload: (payload: Buffer, selfContained: boolean) => void;
  private readonly lz4: boolean;
  private readonly headerLength: number;
  private readonly maxPayloadLength: number;

  /** Bytes of a header cut short at the end of a chunk; never handed out, so it is reused. */
  private readonly headerScratch: Buffer;
  private headerFilled = 0;
  /** The segment being assembled across chunks (header, payload, trailer) at its exact size. */
  private partial: Buffer | null = null;
  private partialHeader: SegmentHeader | null = null;
  private partialFilled = 0;
  private failure: ProtocolError | null = null;

  constructor(options: SegmentDecoderOptions) {
    this.onPayload = options.onPayload;
    this.lz4 = options.compression === 'lz4';
    this.headerLength = segmentHeaderLength(options.compression);
    const max = options.maxPayloadLength ?? MAX_SEGMENT_PAYLOAD_LENGTH;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError('maxPayloadLength must be a positive integer');
    }
    this.maxPayloadLength = max;
    this.headerScratch = Buffer.alloc(this.headerLength);
  }

  /** Bytes held for an incomplete segment. */
  get bufferedBytes(): number {
    return this.partial !== null ? this.partialFilled : this.headerFilled;
  }

  /**
   * Feeds one chunk of any size; calls onPayload for every segment it completes. After a
   * ProtocolError the framing is lost: every further push throws it again.
   */
  push(chunk: Buffer): void {
    if (this.failure !== null) throw this.failure;
    try {
      this.decode(chunk);
    } catch (err) {
      // Whatever threw (a bad segment or the payload handler), the rest of this chunk is lost,
      // so the stream cannot be resumed.
      this.failure = ProtocolError.isProtocolError(err)
        ? err
        : new ProtocolError(
            ProtocolErrorCode.MALFORMED,
            'segment decoder stopped: the payload handler threw',
            {
              cause: err,
            },
          );
      throw err;
    }
  }

  /**
   * Declares the end of the stream (the peer closed): a segment cut short there is an error, not
   * something to wait for.
   */
  end(): void {
    if (this.failure !== null) throw this.failure;
    if (this.bufferedBytes > 0) {
      this.failure = new ProtocolError(
        ProtocolErrorCode.MALFORMED,
        `stream ended inside a segment (${this.bufferedBytes} bytes buffered)`,
      );
      throw this.failure;
    }
  }

  private decode(chunk: Buffer): void {
    const length = chunk.length;
    let offset = 0;

    if (this.headerFilled > 0) {
      const take = Math.min(this.headerLength - this.headerFilled, length);
      chunk.copy(this.headerScratch, this.headerFilled, 0, take);
      this.headerFilled += take;
      offset = take;
      if (this.headerFilled < this.headerLength) return;
      this.headerFilled = 0;
      const header = this.readHeader(this.headerScratch, 0);
      this.partial = Buffer.allocUnsafe(this.segmentLength(header));
      this.partialHeader = header;
      this.headerScratch.copy(this.partial, 0);
      this.partialFilled = this.headerLength;
    }

    if (this.partial !== null && this.partialHeader !== null) {
      const segment = this.partial;
      const take = Math.min(segment.length - this.partialFilled, length - offset);
      chunk.copy(segment, this.partialFilled, offset, offset + take);
      this.partialFilled += take;
      offset += take;
      if (this.partialFilled < segment.length) return;
      const header = this.partialHeader;
      this.partial = null;
      this.partialHeader = null;
      this.partialFilled = 0;
      this.deliver(segment, 0, header);
    }

    // The hot loop: segments wholly inside this chunk are checked and handed out as views.
    while (length - offset >= this.headerLength) {
      const header = this.readHeader(chunk, offset);
      const end = offset + this.segmentLength(header);
      if (end > length) {
        const segment = Buffer.allocUnsafe(end - offset);
        chunk.copy(segment, 0, offset, length);
        this.partial = segment;
        this.partialHeader = header;
        this.partialFilled = length - offset;
        return;
      }
      this.deliver(chunk, offset, header);
      offset = end;
    }

    if (offset < length) {
      chunk.copy(this.headerScratch, 0, offset, length);
      this.headerFilled = length - offset;
    }
  }

  /** Reads, CRC-checks and bounds a header, before a single payload byte is buffered. */
  private readHeader(buf: Buffer, offset: number): SegmentHeader {
    const header = this.lz4 ? readLz4SegmentHeader(buf, offset) : readSegmentHeader(buf, offset);
    if (header.payloadLength === 0) {
      throw new ProtocolError(ProtocolErrorCode.MALFORMED, 'segment with an empty payload');
    }
    const largest = Math.max(header.payloadLength, header.uncompressedLength);
    if (largest > this.maxPayloadLength) {
      throw new ProtocolError(
        ProtocolErrorCode.FRAME_TOO_LARGE,
        `segment payload of ${largest} bytes exceeds the limit of ${this.maxPayloadLength}`,
      );
    }
    return header;
  }

  private segmentLength(header: SegmentHeader): number {
    return this.headerLength + header.payloadLength + SEGMENT_TRAILER_LENGTH;
  }

  /** Checks the payload CRC32 of the whole segment at `offset`, decompresses, hands it out. */
  private deliver(buf: Buffer, offset: number, header: SegmentHeader): void {
    const start = offset + this.headerLength;
    const end = start + header.payloadLength;
    const payload = buf.subarray(start, end);
    const received = buf.readUInt32LE(end);
    const computed = crc32Cassandra(payload);
    if (received !== computed) throw crcMismatch('segment payload CRC32', received, computed);
    // spec v5 §2.2: "An uncompressed length of 0 signals that the compressed payload should be
    // used as-is and not decompressed."
    this.onPayload(
      header.uncompressedLength === 0
        ? payload
        : lz4DecompressBlock(payload, header.uncompressedLength),
      header.selfContained,
    );
  }
}

/**
 * Closes the segment whose payload (`payloadLength` bytes) is already in place after the header
 * slot at `offset`: compresses it when that pays (LZ4), writes header and CRC32 trailer, and
 * returns where the next segment starts.
 */
function sealSegment(
  out: Buffer,
  offset: number,
  payloadLength: number,
  selfContained: boolean,
  lz4: boolean,
): number {
  if (!lz4) {
    const start = offset + SEGMENT_HEADER_LENGTH;
    const end = start + payloadLength;
    writeSegmentHeader(out, offset, payloadLength, selfContained);
    out.writeUInt32LE(crc32Cassandra(out.subarray(start, end)), end);
    return end + SEGMENT_TRAILER_LENGTH;
  }
  const start = offset + LZ4_SEGMENT_HEADER_LENGTH;
  const block = lz4CompressBlock(out.subarray(start, start + payloadLength));
  let wireLength = payloadLength;
  let uncompressedLength = 0;
  // As Cassandra's FrameEncoderLZ4: keep the plain bytes (uncompressed length 0) unless the block
  // is strictly smaller. The block never overlaps `out`, so copying it over the plain bytes is safe.
  if (block.length < payloadLength) {
    block.copy(out, start);
    wireLength = block.length;
    uncompressedLength = payloadLength;
  }
  const end = start + wireLength;
  writeLz4SegmentHeader(out, offset, wireLength, uncompressedLength, selfContained);
  out.writeUInt32LE(crc32Cassandra(out.subarray(start, end)), end);
  return end + SEGMENT_TRAILER_LENGTH;
}

/**
 * One segment around `payload` (at most 131071 bytes). Lengths the decoder refuses, such as an
 * empty payload, are allowed here so tests can build hostile streams.
 */
export function encodeSegment(
  payload: Buffer,
  selfContained: boolean,
  compression: SegmentCompression,
): Buffer {
  checkLengthField(payload.length, 'payload length');
  const headerLength = segmentHeaderLength(compression);
  const out = Buffer.allocUnsafe(headerLength + payload.length + SEGMENT_TRAILER_LENGTH);
  payload.copy(out, headerLength);
  const end = sealSegment(out, 0, payload.length, selfContained, compression === 'lz4');
  return end === out.length ? out : out.subarray(0, end);
}

/**
 * Packs whole frames, in order, into as few self-contained segments as possible; a frame larger
 * than one payload becomes consecutive non-self-contained segments of its own. The output is one
 * buffer allocated once: each frame is copied straight to its place, and without compression its
 * size is known exactly from a first pass over the lengths. With LZ4 the buffer is sized for the
 * worst case (nothing compresses) and the result is a view of its written part.
 */
export function encodeSegments(frames: readonly Buffer[], compression: SegmentCompression): Buffer {
  const lz4 = compression === 'lz4';
  const headerLength = segmentHeaderLength(compression);

  // Pass 1: the same greedy packing as pass 2, counting only.
  let segments = 0;
  let payloadBytes = 0;
  let fill = 0;
  for (const frame of frames) {
    const n = frame.length;
    if (n === 0) continue;
    payloadBytes += n;
    if (n > MAX_SEGMENT_PAYLOAD_LENGTH) {
      if (fill > 0) segments++;
      fill = 0;
      segments += Math.ceil(n / MAX_SEGMENT_PAYLOAD_LENGTH);
    } else if (fill + n > MAX_SEGMENT_PAYLOAD_LENGTH) {
      segments++;
      fill = n;
    } else {
      fill += n;
    }
  }
  if (fill > 0) segments++;

  const out = Buffer.allocUnsafe(payloadBytes + segments * (headerLength + SEGMENT_TRAILER_LENGTH));

  // Pass 2: copy each frame after the open segment's header slot; seal when the next one won't fit.
  let offset = 0;
  fill = 0;
  for (const frame of frames) {
    const n = frame.length;
    if (n === 0) continue;
    if (n > MAX_SEGMENT_PAYLOAD_LENGTH) {
      if (fill > 0) offset = sealSegment(out, offset, fill, true, lz4);
      fill = 0;
      for (let from = 0; from < n; from += MAX_SEGMENT_PAYLOAD_LENGTH) {
        const part = Math.min(MAX_SEGMENT_PAYLOAD_LENGTH, n - from);
        frame.copy(out, offset + headerLength, from, from + part);
        offset = sealSegment(out, offset, part, false, lz4);
      }
      continue;
    }
    if (fill + n > MAX_SEGMENT_PAYLOAD_LENGTH) {
      offset = sealSegment(out, offset, fill, true, lz4);
      fill = 0;
    }
    frame.copy(out, offset + headerLength + fill);
    fill += n;
  }
  if (fill > 0) offset = sealSegment(out, offset, fill, true, lz4);

  return offset === out.length ? out : out.subarray(0, offset);
}

/**
 * A part of a frame (at any offset, any length) as non-self-contained segments appended to `out`
 * (spec v5 §2.1: a frame that is not sent whole in one segment is carried by segments holding
 * nothing else), for a frame sent as it arrives. Uncompressed, the part itself is the payload,
 * between a header and a CRC32 trailer made for it: no copy. Empty parts make no segment (a
 * segment's payload is never empty).
 */
export function pushFramePartSegments(
  bytes: Buffer,
  compression: SegmentCompression,
  out: Buffer[],
): void {
  for (let from = 0; from < bytes.length; from += MAX_SEGMENT_PAYLOAD_LENGTH) {
    const part =
      from === 0 && bytes.length <= MAX_SEGMENT_PAYLOAD_LENGTH
        ? bytes
        : bytes.subarray(from, Math.min(bytes.length, from + MAX_SEGMENT_PAYLOAD_LENGTH));
    if (compression === 'lz4') {
      out.push(encodeSegment(part, false, 'lz4'));
    } else {
      const header = Buffer.allocUnsafe(SEGMENT_HEADER_LENGTH);
      writeSegmentHeader(header, 0, part.length, false);
      const trailer = Buffer.allocUnsafe(SEGMENT_TRAILER_LENGTH);
      trailer.writeUInt32LE(crc32Cassandra(part), 0);
      out.push(header, part, trailer);
    }
  }
}
