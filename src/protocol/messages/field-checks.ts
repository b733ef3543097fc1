// Range checks for the numbers an encoder is handed (requests and responses alike). Node's writeUInt16BE/writeInt32BE throw a bare
// RangeError on an out-of-range number; the protocol layer promises a ProtocolError for every bad
// input, so encoders check first and name the field.

import { ProtocolError, ProtocolErrorCode, malformed } from '../errors.js';
import { isKnownVersion, versionName } from '../constants.js';

/** [short] / [consistency]: an unsigned 16-bit integer. */
export function checkShort(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw malformed(`${what} must be an integer in [0, 65535], got ${value}`);
  }
}

/** [int]: a signed 32-bit integer. */
export function checkInt(value: number, what: string): void {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw malformed(`${what} must be a signed 32-bit integer, got ${value}`);
  }
}

const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;

/** [long]: a signed 64-bit integer. */
export function checkLong(value: bigint, what: string): void {
  if (value < LONG_MIN || value > LONG_MAX) {
    throw malformed(`${what} must be a signed 64-bit integer, got ${value}`);
  }
}

/** The [short] count in front of a list: at most 65535 elements. */
export function checkCount(count: number, what: string): void {
  if (count > 0xffff) throw malformed(`too many ${what}: ${count} (a [short] count holds 65535)`);
}

/** Codecs whose layout depends on the version refuse versions they do not know. */
export function checkVersion(version: number): void {
  if (!isKnownVersion(version)) {
    throw new ProtocolError(
      ProtocolErrorCode.UNSUPPORTED_VERSION,
      `unsupported protocol version ${versionName(version)}`,
      { version },
    );
  }
}

/** [byte]: unsigned 8-bit. */
export function checkU8(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw malformed(`${what} must be an integer in [0, 255], got ${value}`);
  }
}

/** A count read as an [int]: negative counts are malformed. */
export function checkReadCount(count: number, what: string): number {
  if (count < 0) throw malformed(`negative ${what} count ${count}`);
  return count;
}

/** A frame's stream id: a signed 16-bit integer from v3 on (spec v4 §2.3). */
export function checkStreamId(streamId: number): void {
  if (!Number.isInteger(streamId) || streamId < -0x8000 || streamId > 0x7fff) {
    throw malformed(`stream id must be a signed 16-bit integer, got ${streamId}`);
  }
}
