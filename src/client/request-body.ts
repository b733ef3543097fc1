// Body compression on the client side, for the few requests it reads (protocol/frame-body.ts
// reads them): the compression flag refused where none was negotiated, and the way back for a
// rewritten compressed body.

import { HEADER_LENGTH, HeaderFlag } from '../protocol/constants.js';
import type { BodyCompressor } from '../protocol/compression.js';
import { malformed } from '../protocol/errors.js';

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
