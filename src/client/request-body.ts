// Getting at the message inside a request frame, for the few requests the client side reads:
// decompress the body when the frame says so (v3/v4 body compression), then step over the custom
// payload the header flags announce. Also the way back for a rewritten compressed body.

import { HEADER_LENGTH, HeaderFlag } from '../protocol/constants.js';
import type { BodyCompressor } from '../protocol/compression.js';
import { malformed } from '../protocol/errors.js';
import { readBodyExtras } from '../protocol/messages/frame-extras.js';
import { CqlReader } from '../protocol/reader.js';

export interface FrameMessage {
  /** The whole body: a view into the frame, or the decompressed copy. */
  body: Buffer;
  /** Where the message proper starts in `body` (after the custom payload). */
  start: number;
  /** True when `body` is a decompressed copy, not a view into the frame. */
  copied: boolean;
  /** The custom payload the frame carries, if any (DSE Graph marks its queries there). */
  customPayload: Map<string, Buffer | null> | undefined;
}

/**
 * The message of a frame. `compressor` is the connection's body compression (undefined with none,
 * and always with v5, whose compression is per segment and whose frame flag means nothing).
 */
export function frameMessage(
  frame: Buffer,
  compressor: BodyCompressor | undefined,
  maxLength: number,
  version: number,
  response = false,
): FrameMessage {
  const flags = frame.readUInt8(1);
  let body = frame.subarray(HEADER_LENGTH);
  let copied = false;
  if ((flags & HeaderFlag.COMPRESSION) !== 0 && compressor !== undefined) {
    body = compressor.decompress(body, maxLength);
    copied = true;
  }
  const reader = new CqlReader(body);
  const extras = readBodyExtras(reader, flags, response, version);
  return { body, start: reader.pos, copied, customPayload: extras.customPayload };
}

/** Refuses the compression flag on a connection that negotiated no compression. */
export function checkCompressionFlag(
  frame: Buffer,
  compressor: BodyCompressor | undefined,
  v5: boolean,
): void {
  if (!v5 && compressor === undefined && (frame.readUInt8(1) & HeaderFlag.COMPRESSION) !== 0) {
    throw malformed('frame flagged as compressed, but no compression was negotiated in STARTUP');
  }
}

/** A new frame with `frame`'s header and `body` compressed, its length and flag set to match. */
export function recompressedFrame(frame: Buffer, body: Buffer, compressor: BodyCompressor): Buffer {
  const compressed = compressor.compress(body);
  const out = Buffer.allocUnsafe(HEADER_LENGTH + compressed.length);
  frame.copy(out, 0, 0, HEADER_LENGTH);
  out.writeUInt8(frame.readUInt8(1) | HeaderFlag.COMPRESSION, 1);
  out.writeInt32BE(compressed.length, 5);
  compressed.copy(out, HEADER_LENGTH);
  return out;
}
