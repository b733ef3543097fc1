// Checks shared by the response codecs. Node's Buffer writers throw a bare RangeError on an
// out-of-range number and a wrong version would silently pick a wrong layout; the protocol layer
// promises a ProtocolError for every bad input, so encoders check first and name the field.

import { isKnownVersion, versionName } from '../constants.js';
import { ProtocolError, ProtocolErrorCode, malformed } from '../errors.js';

/** Response layouts differ by version: refuse a version whose layout is not known. */
export function checkResponseVersion(version: number): void {
  if (!isKnownVersion(version)) {
    throw new ProtocolError(
      ProtocolErrorCode.UNSUPPORTED_VERSION,
      `unsupported protocol version ${versionName(version)}`,
      { version },
    );
  }
}

/** [short] and [consistency]: unsigned 16-bit. */
export function checkU16(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw malformed(`${what} must be an integer in [0, 65535], got ${value}`);
  }
}

/** [int]: signed 32-bit. */
export function checkI32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw malformed(`${what} must be a signed 32-bit integer, got ${value}`);
  }
}

/** [byte]: unsigned 8-bit. */
export function checkU8(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw malformed(`${what} must be an integer in [0, 255], got ${value}`);
  }
}

/** A count written as a [short] in front of a list. */
export function checkShortCount(count: number, what: string): void {
  if (count > 0xffff) throw malformed(`too many ${what}: ${count} (a [short] count holds 65535)`);
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
