import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  decodeAuthResponse,
  decodeSaslPlain,
  encodeAuthResponse,
  encodeSaslPlain,
} from '../../../src/protocol/messages/auth-response.js';
import { hex } from '../../helpers/chunking.js';
import {
  embedded,
  expectEveryTruncationFails,
  expectProtocolError,
  fuzzDecoder,
} from './request-test-helpers.js';

// spec v4 §4.1.2 AUTH_RESPONSE: <token: [bytes]>, here a SASL PLAIN token as Astra wants it
// (docs/astra.md §4): authzid "" NUL "token" NUL "AstraCS:x".
const TOKEN = hex(`
  00                            // authzid: empty, then NUL
  74 6f 6b 65 6e 00             // "token" NUL
  41 73 74 72 61 43 53 3a 78    // "AstraCS:x"
`);
const GOLDEN = hex(`
  00 00 00 10                   // [bytes] length 16
  00 74 6f 6b 65 6e 00 41 73 74 72 61 43 53 3a 78
`);

describe('AUTH_RESPONSE', () => {
  it('decodes and encodes the golden body', () => {
    expect(decodeAuthResponse(GOLDEN)).toEqual(TOKEN);
    expect(encodeAuthResponse(TOKEN)).toEqual(GOLDEN);
  });

  it('decodes a null token (any negative length, spec [bytes]) and an empty one', () => {
    expect(decodeAuthResponse(hex('ff ff ff ff'))).toBeNull();
    expect(decodeAuthResponse(hex('ff ff ff fe'))).toBeNull();
    expect(decodeAuthResponse(hex('00 00 00 00'))).toEqual(Buffer.alloc(0));
    expect(encodeAuthResponse(null)).toEqual(hex('ff ff ff ff'));
  });

  it('returns a view of the body, not a copy', () => {
    const token = decodeAuthResponse(GOLDEN);
    expect(token?.buffer).toBe(GOLDEN.buffer);
  });

  it('refuses every truncation, trailing bytes and a huge length', () => {
    expect(expectEveryTruncationFails(GOLDEN, decodeAuthResponse)).toBe(GOLDEN.length);
    expectProtocolError(() => decodeAuthResponse(Buffer.concat([GOLDEN, hex('00')])));
    expectProtocolError(() => decodeAuthResponse(hex('7f ff ff ff 00')));
  });

  it('never reads past the end of a view into a larger buffer', () => {
    expect(decodeAuthResponse(embedded(GOLDEN))).toEqual(TOKEN);
    expectProtocolError(() => decodeAuthResponse(embedded(hex('00 00 00 04 61 62'))));
  });

  it('turns random bytes into a token or a ProtocolError', () => {
    fuzzDecoder(decodeAuthResponse);
  });
});

describe('SASL PLAIN', () => {
  it('encodes authzid NUL username NUL password', () => {
    expect(encodeSaslPlain('token', 'AstraCS:x')).toEqual(TOKEN);
    expect(encodeSaslPlain('u', 'p', 'z')).toEqual(hex('7a 00 75 00 70'));
  });

  it('decodes the golden token', () => {
    expect(decodeSaslPlain(TOKEN)).toEqual({
      authzid: '',
      username: 'token',
      password: 'AstraCS:x',
    });
  });

  it('decodes a Uint8Array view at an offset', () => {
    const big = new Uint8Array([0x7a, 0x7a, ...TOKEN, 0x00, 0x00]);
    expect(decodeSaslPlain(big.subarray(2, 2 + TOKEN.length)).password).toBe('AstraCS:x');
  });

  it('refuses malformed tokens', () => {
    expectProtocolError(() => decodeSaslPlain(hex('')));
    expectProtocolError(() => decodeSaslPlain(hex('00 75 70'))); // one NUL
    expectProtocolError(() => decodeSaslPlain(hex('00 75 00 70 00 71'))); // three NULs
    expectProtocolError(() => decodeSaslPlain(hex('00 00 70'))); // empty username
    expectProtocolError(() => decodeSaslPlain(hex('00 75 00'))); // empty password
    expectProtocolError(() => decodeSaslPlain(hex('00 c3 28 00 70'))); // invalid UTF-8
  });

  it('refuses credentials that cannot be encoded unambiguously', () => {
    expectProtocolError(() => encodeSaslPlain('', 'p'));
    expectProtocolError(() => encodeSaslPlain('u', ''));
    expectProtocolError(() => encodeSaslPlain('u\0v', 'p'));
    expectProtocolError(() => encodeSaslPlain('u', 'p\0'));
    expectProtocolError(() => encodeSaslPlain('u', 'p', 'a\0'));
  });

  it('round-trips random credentials', () => {
    const safe = fc.string({ unit: 'binary', maxLength: 20 }).filter((s) => !s.includes('\0'));
    const nonEmpty = safe.filter((s) => s.length > 0);
    fc.assert(
      fc.property(nonEmpty, nonEmpty, safe, (username, password, authzid) => {
        const token = encodeSaslPlain(username, password, authzid);
        expect(decodeSaslPlain(token)).toEqual({ authzid, username, password });
        expect(decodeSaslPlain(decodeAuthResponse(encodeAuthResponse(token)) ?? hex(''))).toEqual({
          authzid,
          username,
          password,
        });
      }),
      { numRuns: 200 },
    );
  });

  it('turns random tokens into credentials or a ProtocolError', () => {
    fuzzDecoder(decodeSaslPlain);
  });
});
