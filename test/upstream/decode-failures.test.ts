// No request waits for its timeout because something about it could not be decoded. Every path
// that reads a response (or works out a request's idempotency) used to be able to throw; the
// exception was swallowed by the connection (its onFrame guards the connection, not the
// request), and the client waited for --request-timeout. Each case here threw out of the
// response handler before the fix; now the client is answered at once.

import { afterEach, describe, expect, it } from 'vitest';
import { bodyCompressor } from '../../src/protocol/compression.js';
import { ErrorCode, HeaderFlag, Opcode } from '../../src/protocol/constants.js';
import { decodeError, errorFrame } from '../../src/protocol/messages/error.js';
import {
  ErrorOrigin,
  UNREADABLE_ERROR,
  type RequestObserver,
} from '../../src/upstream/request-outcome.js';
import {
  FakeConnection,
  VERSION,
  client,
  closeSessions,
  requestFrame,
  setupSession,
} from './fake-connection.js';

afterEach(closeSessions);

/** Records what the session reports for each finished request. */
function observer(): RequestObserver & { done: { errorCode: number; origin: ErrorOrigin }[] } {
  const done: { errorCode: number; origin: ErrorOrigin }[] = [];
  return {
    done,
    requestDone: (_opcode, errorCode, origin) => done.push({ errorCode, origin }),
  };
}

/** An ERROR frame on `streamId` with these flags and this (undecodable) body. */
function rawError(streamId: number, flags: number, body: Buffer): Buffer {
  const frame = Buffer.alloc(9 + body.length);
  frame[0] = 0x80 | VERSION;
  frame[1] = flags;
  frame.writeInt16BE(streamId, 2);
  frame[4] = Opcode.ERROR;
  frame.writeInt32BE(body.length, 5);
  body.copy(frame, 9);
  return frame;
}

describe('a response that cannot be decoded', () => {
  it('an ERROR whose compressed body cannot be decompressed goes to the client as it is, at once', async () => {
    const a = new FakeConnection('a');
    const seen = observer();
    const { session } = await setupSession([[a]], {
      compression: bodyCompressor('lz4'),
      observer: seen,
    });
    const r = client(session, requestFrame(Opcode.QUERY, 42));
    // lz4 body (spec v4 §5): a 4-byte length, far beyond the frame limit, then garbage.
    const corrupt = Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
    a.answer((s) => rawError(s, HeaderFlag.COMPRESSION, corrupt));
    expect(r.responses).toHaveLength(1);
    const answer = r.responses[0]!;
    expect(answer.readInt16BE(2)).toBe(42);
    expect(answer[1]).toBe(HeaderFlag.COMPRESSION);
    expect(answer.subarray(9)).toEqual(corrupt);
    expect(seen.done).toStrictEqual([{ errorCode: UNREADABLE_ERROR, origin: ErrorOrigin.CLUSTER }]);
  });

  it('an ERROR whose warnings (flag 0x08) run past its body goes to the client at once', async () => {
    const a = new FakeConnection('a');
    const { session } = await setupSession([[a]]);
    const r = client(session, requestFrame(Opcode.QUERY, 7));
    // A [string list] of 65535 strings in a 2-byte body (spec v4 §2.2, flag 0x08).
    a.answer((s) => rawError(s, HeaderFlag.WARNING, Buffer.from([0xff, 0xff])));
    expect(r.responses).toHaveLength(1);
    expect(r.responses[0]!.readInt16BE(2)).toBe(7);
    expect(r.responses[0]!.readUInt8(4)).toBe(Opcode.ERROR);
  });
});

describe('a request whose idempotency cannot be worked out', () => {
  const unreadable = (): boolean => {
    throw new RangeError('the EXECUTE body ends early');
  };

  it('is answered at once when its connection closes (as not idempotent)', async () => {
    const a = new FakeConnection('a');
    const b = new FakeConnection('b');
    const { session } = await setupSession([[a], [b]]);
    const r = client(session, requestFrame(Opcode.EXECUTE, 3), { idempotent: unreadable });
    a.close();
    expect(r.responses).toHaveLength(1);
    expect(decodeError(r.responses[0]!.subarray(9), VERSION).message).toMatch(
      /unable to retry non-idempotent query after connection to backend cluster closed/,
    );
    expect(b.sent).toHaveLength(0);
  });

  it('gets the node\u2019s retryable error at once instead of a retry (as not idempotent)', async () => {
    const a = new FakeConnection('a');
    const b = new FakeConnection('b');
    const { session } = await setupSession([[a], [b]]);
    const r = client(session, requestFrame(Opcode.EXECUTE, 4), { idempotent: unreadable });
    a.answer((s) => errorFrame(VERSION, s, { code: ErrorCode.OVERLOADED, message: 'busy' }));
    expect(r.responses).toHaveLength(1);
    expect(decodeError(r.responses[0]!.subarray(9), VERSION)).toStrictEqual({
      code: ErrorCode.OVERLOADED,
      message: 'busy',
    });
    expect(b.sent).toHaveLength(0);
  });
});
