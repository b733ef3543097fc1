// The message inside a frame, for the few frames the proxy reads (requests it answers or
// rewrites, answers it acts on, its own control exchanges): the body decompressed when the
// header's COMPRESSION flag says so (v3/v4 body compression, native_protocol_v4.spec §5), then the
// extras the other flags announce stepped over (tracing id, warnings, custom payload: §2.2, read by
// messages/frame-extras.ts). Frames the proxy only forwards are never read here.

import { HEADER_LENGTH, HeaderFlag } from './constants.js';
import { readBodyExtras, type BodyExtras } from './messages/frame-extras.js';
import { CqlReader } from './reader.js';

/**
 * A connection's body decompression (BodyCompressor.decompress with the connection's limit), made
 * once per connection when STARTUP negotiates compression. Absent: the flag is not acted on here
 * (v5 compresses segments, not frames, and a v4 connection without compression refuses the flag
 * where the frame arrives).
 */
export type Decompress = (body: Buffer) => Buffer;

export interface FrameMessage {
  /** The whole body: a view into the frame, or the decompressed copy. */
  body: Buffer;
  /** Where the message proper starts in `body` (after the extras). */
  start: number;
  /** True when `body` is a decompressed copy, not a view into the frame. */
  copied: boolean;
  /** What the extras held (empty when the flags announce none). */
  extras: Readonly<BodyExtras>;
}

const EXTRAS = HeaderFlag.TRACING | HeaderFlag.WARNING | HeaderFlag.CUSTOM_PAYLOAD;
const NO_EXTRAS: Readonly<BodyExtras> = Object.freeze({});

/** The body of `frame` decompressed (when flagged and `decompress` is given), extras read. */
export function frameMessage(
  frame: Buffer,
  version: number,
  response: boolean,
  decompress?: Decompress,
): FrameMessage {
  const flags = frame[1]!;
  let body = frame.subarray(HEADER_LENGTH);
  let copied = false;
  if ((flags & HeaderFlag.COMPRESSION) !== 0 && decompress !== undefined) {
    body = decompress(body);
    copied = true;
  }
  // Without extras nothing is read, nothing allocated beyond the result.
  if ((flags & EXTRAS) === 0) return { body, start: 0, copied, extras: NO_EXTRAS };
  const reader = new CqlReader(body);
  const extras = readBodyExtras(reader, flags, response, version);
  return { body, start: reader.pos, copied, extras };
}

/** The message proper of `frame`: frameMessage's body from its start (a view). */
export function messageBody(
  frame: Buffer,
  version: number,
  response: boolean,
  decompress?: Decompress,
): Buffer {
  const { body, start } = frameMessage(frame, version, response, decompress);
  return start === 0 ? body : body.subarray(start);
}
