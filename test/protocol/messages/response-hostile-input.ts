// Hostile-input checks shared by the response codec tests. A decoder is handed views into larger
// buffers, as the frame decoder hands them out: the bytes after a view's end are real (the rest of
// the golden body, then garbage), so a read that is not bounded by the view's end would succeed
// silently instead of throwing.

import { expect } from 'vitest';
import { ProtocolError, ProtocolErrorCode } from '../../../src/protocol/errors.js';

const PREFIX = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
const GARBAGE = Buffer.alloc(64, 0x7f);

/** `body` as a view inside a larger buffer, with foreign bytes before and after it. */
export function embedded(body: Buffer): Buffer {
  const backing = Buffer.concat([PREFIX, body, GARBAGE]);
  return backing.subarray(PREFIX.length, PREFIX.length + body.length);
}

/** Runs `fn` and returns the ProtocolError it must throw (never a RangeError or a TypeError). */
export function expectProtocolError(
  fn: () => unknown,
  code: string = ProtocolErrorCode.MALFORMED,
): ProtocolError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a ProtocolError').toBeInstanceOf(ProtocolError);
  const error = thrown as ProtocolError;
  expect(error.code).toBe(code);
  return error;
}

/**
 * Every strict prefix of `body` (from `fromLength` bytes on) must throw a MALFORMED ProtocolError, even though the bytes that
 * were cut off still follow the view in its backing buffer. Returns the number of prefixes tried.
 */
export function expectEveryTruncationThrows(
  body: Buffer,
  decode: (b: Buffer) => unknown,
  fromLength = 0,
): number {
  const backing = Buffer.concat([PREFIX, body, GARBAGE]);
  for (let len = fromLength; len < body.length; len++) {
    const view = backing.subarray(PREFIX.length, PREFIX.length + len);
    expectProtocolError(() => decode(view));
  }
  return body.length;
}

/** One byte too many after the grammar's end is malformed (spec: the body must be consumed). */
export function expectTrailingByteThrows(body: Buffer, decode: (b: Buffer) => unknown): void {
  expectProtocolError(() => decode(embedded(Buffer.concat([body, Buffer.from([0x00])]))));
}
