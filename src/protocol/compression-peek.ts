// Reading the first bytes of a compressed v3/v4 body in place, without decompressing it: enough to
// tell what a large answer is (its RESULT kind) while only its first chunk has arrived, so that a
// compressed answer can be cut through as it is (docs/design.md "Large answers are cut through").
//
// Both formats start with literals, because nothing precedes them to copy from: an LZ4 block's
// first sequence is a literal run followed by a match (lz4 block format: token, literal length,
// literals), and a Snappy stream's first element is a literal (snappy format_description.txt §2.1).
// A match or copy can repeat only bytes already produced, so the first bytes of the output are
// these literals exactly when the run is long enough; when it is not, the bytes cannot be read
// here and the caller treats the frame as unknown.

import type { BodyCompressionName } from './compression.js';

/** The v4 LZ4 body starts with the uncompressed length as a 4-byte big-endian int (spec v4 §5). */
const LZ4_LENGTH_PREFIX = 4;
/** A uint32 varint takes at most 5 bytes. */
const MAX_VARINT32_LENGTH = 5;

/**
 * Where, in `buf`, the first `count` bytes of the uncompressed body lie as literals, for a body
 * compressed with `compression` that starts at `start` (and of which the bytes up to `end` are
 * here); -1 when they are not literals, or not all here yet.
 */
export function leadingLiteralsAt(
  buf: Buffer,
  start: number,
  end: number,
  compression: BodyCompressionName,
  count: number,
): number {
  let pos = start;
  let literals: number;
  if (compression === 'lz4') {
    pos += LZ4_LENGTH_PREFIX;
    if (pos >= end) return -1;
    const token = buf[pos++]!;
    literals = token >>> 4;
    if (literals === 15) {
      let more = 255;
      while (more === 255) {
        if (pos >= end) return -1;
        more = buf[pos++]!;
        literals += more;
      }
    }
  } else {
    // The uncompressed length as a varint: skip it.
    let varint = 0;
    while (pos < end && (buf[pos]! & 0x80) !== 0) {
      pos++;
      if (++varint >= MAX_VARINT32_LENGTH) return -1;
    }
    pos++;
    if (pos >= end) return -1;
    const tag = buf[pos++]!;
    if ((tag & 0x03) !== 0) return -1; // not a literal: a corrupt stream
    const short = tag >>> 2;
    if (short < 60) {
      literals = short + 1;
    } else {
      // 60..63: the length - 1 follows in 1..4 little-endian bytes.
      const bytes = short - 59;
      if (pos + bytes > end) return -1;
      literals = 0;
      for (let i = 0; i < bytes; i++) literals += buf[pos + i]! * 2 ** (8 * i);
      literals += 1;
      pos += bytes;
    }
  }
  return literals >= count && pos + count <= end ? pos : -1;
}
