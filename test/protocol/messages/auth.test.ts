import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolVersion } from '../../../src/protocol/constants.js';
import {
  authChallengeFrame,
  authSuccessFrame,
  authenticateFrame,
  decodeAuthChallenge,
  decodeAuthSuccess,
  decodeAuthenticate,
  encodeAuthChallenge,
  encodeAuthSuccess,
  encodeAuthenticate,
} from '../../../src/protocol/messages/auth.js';
import { hex } from '../../helpers/chunking.js';
import {
  embedded,
  expectEveryTruncationThrows,
  expectProtocolError,
  expectTrailingByteThrows,
} from './response-hostile-input.js';

const { V4, V5, DSE_V2 } = ProtocolVersion;
const AUTHENTICATOR = 'org.apache.cassandra.auth.PasswordAuthenticator';

const AUTHENTICATE_BODY = Buffer.concat([
  hex('002f'), // [string] length 47
  Buffer.from(AUTHENTICATOR, 'ascii'),
]);

describe('AUTHENTICATE (spec v5 §4.2.3: <authenticator: [string]>)', () => {
  it('decodes and encodes the golden body', () => {
    expect(AUTHENTICATOR.length).toBe(0x2f);
    expect(decodeAuthenticate(AUTHENTICATE_BODY, V4)).toBe(AUTHENTICATOR);
    expect(decodeAuthenticate(embedded(AUTHENTICATE_BODY), V4)).toBe(AUTHENTICATOR);
    expect(encodeAuthenticate(V4, AUTHENTICATOR)).toEqual(AUTHENTICATE_BODY);
  });

  it('authenticateFrame writes the whole frame', () => {
    expect(authenticateFrame(V4, 0, AUTHENTICATOR)).toEqual(
      Buffer.concat([hex('84 00 0000 03 00000031'), AUTHENTICATE_BODY]), // 2 + 47 bytes
    );
  });

  it('throws ProtocolError on truncation, trailing bytes and invalid UTF-8', () => {
    expectEveryTruncationThrows(AUTHENTICATE_BODY, (b) => decodeAuthenticate(b, V4));
    expectTrailingByteThrows(AUTHENTICATE_BODY, (b) => decodeAuthenticate(b, V4));
    expectProtocolError(() => decodeAuthenticate(hex('0001 ff'), V4));
  });
});

describe('AUTH_CHALLENGE / AUTH_SUCCESS (spec v5 §4.2.7, §4.2.8: <token: [bytes]>)', () => {
  const TOKEN_BODY = hex(`
    00000003 010203  // [bytes] token of 3 bytes
  `);
  const NULL_BODY = hex('ffffffff'); // [bytes] null
  const EMPTY_BODY = hex('00000000'); // [bytes] empty

  it.each([
    ['AUTH_CHALLENGE', decodeAuthChallenge, encodeAuthChallenge],
    ['AUTH_SUCCESS', decodeAuthSuccess, encodeAuthSuccess],
  ] as const)('%s decodes and encodes tokens, empty and null', (_, decode, encode) => {
    const body = embedded(TOKEN_BODY);
    const token = decode(body, V5);
    expect(token).toEqual(hex('010203'));
    expect(token?.buffer).toBe(body.buffer); // a view into the body
    expect(encode(V5, hex('010203'))).toEqual(TOKEN_BODY);
    expect(decode(NULL_BODY, V5)).toBeNull();
    expect(encode(V5, null)).toEqual(NULL_BODY);
    expect(decode(EMPTY_BODY, V5)).toEqual(Buffer.alloc(0));
    expect(encode(V5, new Uint8Array(0))).toEqual(EMPTY_BODY);
    expectEveryTruncationThrows(TOKEN_BODY, (b) => decode(b, V5));
    expectTrailingByteThrows(TOKEN_BODY, (b) => decode(b, V5));
    expectTrailingByteThrows(NULL_BODY, (b) => decode(b, V5));
    expectProtocolError(() => decode(hex('7fffffff 00'), V5));
  });

  it('authSuccessFrame defaults to a null token (what PasswordAuthenticator sends)', () => {
    expect(authSuccessFrame(V4, 2)).toEqual(hex('84 00 0002 10 00000004 ffffffff'));
    expect(authSuccessFrame(DSE_V2, 2, hex('ab'))).toEqual(
      hex('c2 00 0002 10 00000005 00000001 ab'),
    );
  });

  it('authChallengeFrame writes the whole frame', () => {
    expect(authChallengeFrame(V5, 9, hex('0102'))).toEqual(
      hex('85 00 0009 0e 00000006 00000002 0102'),
    );
    expectProtocolError(() => authChallengeFrame(V5, 0x10000, null));
  });

  it('round-trips random tokens (property)', () => {
    fc.assert(
      fc.property(fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }), (t) => {
        const token = t === null ? null : Buffer.from(t);
        expect(decodeAuthSuccess(encodeAuthSuccess(V4, token), V4)).toEqual(token);
        expect(decodeAuthChallenge(encodeAuthChallenge(V4, token), V4)).toEqual(token);
      }),
      { numRuns: 200 },
    );
  });
});
