// Shared checks for the request codec tests: every bad input must end in a ProtocolError (never a
// RangeError from Node's Buffer), and a body that is a view into a larger buffer must be read only
// within the view.

import { expect } from 'vitest';
import fc from 'fast-check';
import { ProtocolError, ProtocolErrorCode } from '../../../src/protocol/errors.js';
import { UNSET } from '../../../src/protocol/reader.js';

/** Runs `fn` and returns the ProtocolError it throws; fails the test on success or another error. */
export function expectProtocolError(
  fn: () => unknown,
  code: string = ProtocolErrorCode.MALFORMED,
  context = '',
): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  if (!ProtocolError.isProtocolError(caught)) {
    const got =
      caught === undefined
        ? 'no error'
        : caught instanceof Error
          ? `${caught.name}: ${caught.message}`
          : typeof caught;
    expect.fail(`${context}expected a ProtocolError, got ${got}`);
  }
  expect(caught.code, context).toBe(code);
  return caught;
}

/**
 * Every prefix of `body` shorter than `upTo` must be refused. Each prefix is a view of the whole
 * body, so the bytes after the cut exist in memory and a decoder that ignored the view's end would
 * read them and (wrongly) succeed.
 */
export function expectEveryTruncationFails(
  body: Buffer,
  decode: (cut: Buffer) => unknown,
  upTo = body.length,
): number {
  for (let n = 0; n < upTo; n++) {
    expectProtocolError(
      () => decode(body.subarray(0, n)),
      ProtocolErrorCode.MALFORMED,
      `cut at ${n}: `,
    );
  }
  return upTo;
}

/** `body` copied into the middle of a larger buffer full of garbage; returns the view of it. */
export function embedded(body: Buffer, garbage = 0xa5): Buffer {
  const big = Buffer.alloc(body.length + 64, garbage);
  body.copy(big, 32);
  return big.subarray(32, 32 + body.length);
}

/** Random bytes must decode or throw a ProtocolError, nothing else. */
export function fuzzDecoder(decode: (body: Buffer) => unknown, numRuns = 300): void {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
      try {
        decode(Buffer.from(bytes));
      } catch (error) {
        if (!ProtocolError.isProtocolError(error)) throw error;
      }
    }),
    { numRuns },
  );
}

/** Buffers (not Uint8Arrays) so decoded views compare equal to the generated inputs. */
export const bytesArb = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));

/** A bound value: bytes, null, or UNSET where the version has it (not in v3). */
export function valueArb(version: number): fc.Arbitrary<Buffer | null | typeof UNSET> {
  return version === 3
    ? fc.oneof(bytesArb, fc.constant(null))
    : fc.oneof(bytesArb, fc.constant(null), fc.constant(UNSET));
}

/** Text that survives UTF-8 (no lone surrogates), short enough for a [string]. */
export const textArb = fc.string({ unit: 'binary', maxLength: 24 });

export const int32Arb = fc.integer({ min: -0x80000000, max: 0x7fffffff });
export const shortArb = fc.integer({ min: 0, max: 0xffff });
export const longArb = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });

export const ALL_VERSIONS = [0x03, 0x04, 0x05, 0x41, 0x42] as const;
