// LZ4 and Snappy for the CQL native protocol.
//
// - v3/v4 frame bodies (native_protocol_v4.spec §5, flag 0x01 in the header): an LZ4 body is
//   [4-byte big-endian uncompressed length] followed by a raw LZ4 block; a Snappy body is a raw
//   Snappy buffer (which starts with its own varint uncompressed length).
// - v5 segments (native_protocol_v5.spec §2.2): the payload is a raw LZ4 block with no prefix; the
//   uncompressed length travels in the segment header. See lz4CompressBlock/lz4DecompressBlock.
//
// Why these libraries: `lz4-napi` (lz4_flex) and `snappy` (the Rust snap crate) are maintained,
// ship prebuilt N-API binaries for Node 20 on every platform we deploy (no compiler at install
// time), and are far faster than pure-JS ports. LZ4 and Snappy decoders are classic sources of
// memory-safety bugs, so we do not hand-roll them. The pure-JS `lz4js` and `snappyjs` packages are
// used only in tests, as independent implementations to check interoperability against.
//
// Every decompression here refuses a declared uncompressed length above the caller's limit
// *before* the library allocates anything, checks the output has exactly the declared length, and
// turns any library failure into a ProtocolError with code COMPRESSION.

import {
  compressSync as lz4CompressPrefixed,
  uncompressSync as lz4UncompressPrefixed,
} from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';
import { ProtocolError, ProtocolErrorCode } from './errors.js';

/** The lz4-napi framing: a 4-byte little-endian uncompressed length before the raw block. */
const LZ4_NAPI_PREFIX_LENGTH = 4;
/** The v4 LZ4 body framing: a 4-byte big-endian uncompressed length before the raw block. */
const V4_LZ4_PREFIX_LENGTH = 4;
/** A uint32 varint takes at most 5 bytes (7 bits each). */
const MAX_VARINT32_LENGTH = 5;

export type BodyCompressionName = 'lz4' | 'snappy';

/** Compression of whole v3/v4 frame bodies, as negotiated by STARTUP's COMPRESSION option. */
export interface BodyCompressor {
  readonly name: BodyCompressionName;
  /** The compressed body, in the layout of native_protocol_v4.spec §5. */
  compress(body: Buffer): Buffer;
  /** The original body; refuses one whose declared uncompressed length exceeds `maxLength`. */
  decompress(body: Buffer, maxLength: number): Buffer;
}

function compressionError(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(
    ProtocolErrorCode.COMPRESSION,
    message,
    cause === undefined ? undefined : { cause },
  );
}

function tooLarge(what: string, declared: number, maxLength: number): ProtocolError {
  return new ProtocolError(
    ProtocolErrorCode.FRAME_TOO_LARGE,
    `${what} declares ${declared} uncompressed bytes, above the limit of ${maxLength}`,
  );
}

/**
 * Runs lz4-napi on `prefixed` (LE length + block) and checks the result. lz4_flex returns what it
 * decoded even when that is shorter than the declared length, so the length check is ours.
 */
function lz4Uncompress(prefixed: Buffer, declared: number, what: string): Buffer {
  let out: Buffer;
  try {
    out = lz4UncompressPrefixed(prefixed);
  } catch (err) {
    throw compressionError(`${what}: corrupt LZ4 data (${errorText(err)})`, err);
  }
  if (out.length !== declared) {
    throw compressionError(
      `${what}: LZ4 data decompressed to ${out.length} bytes, ${declared} declared`,
    );
  }
  return out;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A raw LZ4 block (no length prefix), as carried by a v5 LZ4 segment (native_protocol_v5.spec
 * §2.2). The result is a fresh buffer the caller owns.
 */
export function lz4CompressBlock(input: Buffer): Buffer {
  // lz4-napi prepends a 4-byte LE length; the block is the rest, taken as a view (no copy).
  return lz4CompressPrefixed(input).subarray(LZ4_NAPI_PREFIX_LENGTH);
}

/**
 * Decompresses a raw LZ4 block that must expand to exactly `uncompressedLength` bytes. The
 * output is allocated at the declared size: the caller bounds it first (a v5 segment's 17-bit
 * field does; so does BodyCompressor.decompress).
 */
export function lz4DecompressBlock(block: Uint8Array, uncompressedLength: number): Buffer {
  if (
    !Number.isInteger(uncompressedLength) ||
    uncompressedLength < 0 ||
    uncompressedLength > 0xffffffff
  ) {
    throw compressionError(`LZ4 block: invalid uncompressed length ${uncompressedLength}`);
  }
  // lz4-napi only takes its own framing: one copy of the (smaller) compressed side to add it.
  const prefixed = Buffer.allocUnsafe(LZ4_NAPI_PREFIX_LENGTH + block.length);
  prefixed.writeUInt32LE(uncompressedLength, 0);
  prefixed.set(block, LZ4_NAPI_PREFIX_LENGTH);
  return lz4Uncompress(prefixed, uncompressedLength, 'LZ4 block');
}

// native_protocol_v4.spec §5 (lz4): <uncompressed length: 4-byte big-endian int><LZ4 block>
const lz4Body: BodyCompressor = {
  name: 'lz4',
  compress(body: Buffer): Buffer {
    // The library's buffer is ours: turn its LE prefix into the protocol's BE prefix in place.
    const out = lz4CompressPrefixed(body);
    out.writeUInt32BE(out.readUInt32LE(0), 0);
    return out;
  },
  decompress(body: Buffer, maxLength: number): Buffer {
    if (body.length < V4_LZ4_PREFIX_LENGTH) {
      throw compressionError(`LZ4 body of ${body.length} bytes has no 4-byte length prefix`);
    }
    // Read unsigned: a "negative" length is just a huge one, and the limit refuses it.
    const declared = body.readUInt32BE(0);
    if (declared > maxLength) throw tooLarge('LZ4 body', declared, maxLength);
    // Copy rather than rewrite the prefix in place: the body may be a view into a socket chunk.
    const prefixed = Buffer.allocUnsafe(body.length);
    prefixed.writeUInt32LE(declared, 0);
    body.copy(prefixed, LZ4_NAPI_PREFIX_LENGTH, V4_LZ4_PREFIX_LENGTH);
    return lz4Uncompress(prefixed, declared, 'LZ4 body');
  },
};

/**
 * Snappy's preamble: the uncompressed length as a little-endian base-128 varint. Read here so the
 * limit holds before the library allocates.
 */
export function snappyUncompressedLength(body: Uint8Array): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT32_LENGTH && i < body.length; i++) {
    const byte = body[i]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      if (value > 0xffffffff) break;
      return value;
    }
    scale *= 128;
  }
  throw compressionError('Snappy body has no valid uncompressed length preamble');
}

// native_protocol_v4.spec §5 (snappy): the body is one raw Snappy buffer.
const snappyBody: BodyCompressor = {
  name: 'snappy',
  compress(body: Buffer): Buffer {
    return snappyCompress(body);
  },
  decompress(body: Buffer, maxLength: number): Buffer {
    const declared = snappyUncompressedLength(body);
    if (declared > maxLength) throw tooLarge('Snappy body', declared, maxLength);
    let out: string | Buffer;
    try {
      out = snappyUncompress(body, { asBuffer: true });
    } catch (err) {
      throw compressionError(`Snappy body: corrupt data (${errorText(err)})`, err);
    }
    if (!Buffer.isBuffer(out)) throw compressionError('Snappy body: library returned a string');
    if (out.length !== declared) {
      throw compressionError(
        `Snappy body: decompressed to ${out.length} bytes, ${declared} declared`,
      );
    }
    return out;
  },
};

/** The compressor for a STARTUP COMPRESSION value this proxy supports. */
export function bodyCompressor(name: BodyCompressionName): BodyCompressor {
  switch (name) {
    case 'lz4':
      return lz4Body;
    case 'snappy':
      return snappyBody;
  }
}
