// The server side of the SASL exchange (native_protocol_v5.spec §4.2.3, §4.2.7, §4.2.8):
//   AUTHENTICATE   (0x03) <authenticator: [string]>, the IAuthenticator class name
//   AUTH_CHALLENGE (0x0E) <token: [bytes]>
//   AUTH_SUCCESS   (0x10) <token: [bytes]>, which "can be null" depending on the authenticator
// The proxy sends AUTHENTICATE and AUTH_SUCCESS itself when it authenticates its clients.
// Decoded tokens are views into the body.

import { Opcode } from '../constants.js';
import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import { checkVersion, checkStreamId } from './field-checks.js';

// native_protocol_v5.spec §4.2.3 AUTHENTICATE: <authenticator: [string]>
export function decodeAuthenticate(body: Buffer, version: number): string {
  checkVersion(version);
  const reader = new CqlReader(body);
  const authenticator = reader.readString();
  reader.expectEnd('AUTHENTICATE');
  return authenticator;
}

function writeAuthenticate(writer: CqlWriter, version: number, authenticator: string): void {
  checkVersion(version);
  writer.writeString(authenticator);
}

// native_protocol_v5.spec §4.2.3 AUTHENTICATE: <authenticator: [string]>
export function encodeAuthenticate(version: number, authenticator: string): Buffer {
  const writer = new CqlWriter(64);
  writeAuthenticate(writer, version, authenticator);
  return writer.finish();
}

/** A whole AUTHENTICATE frame (header included) on `streamId`. */
export function authenticateFrame(
  version: number,
  streamId: number,
  authenticator: string,
): Buffer {
  checkStreamId(streamId);
  const writer = new CqlWriter(64, true);
  writeAuthenticate(writer, version, authenticator);
  return writer.finishFrame(version, 0, streamId, Opcode.AUTHENTICATE, true);
}

function decodeToken(body: Buffer, version: number, what: string): Buffer | null {
  checkVersion(version);
  const reader = new CqlReader(body);
  const token = reader.readBytes();
  reader.expectEnd(what);
  return token;
}

function tokenFrame(
  version: number,
  streamId: number,
  opcode: number,
  token: Uint8Array | null,
): Buffer {
  checkVersion(version);
  checkStreamId(streamId);
  const writer = new CqlWriter(16 + (token?.length ?? 0), true);
  writer.writeBytes(token);
  return writer.finishFrame(version, 0, streamId, opcode, true);
}

function encodeToken(version: number, token: Uint8Array | null): Buffer {
  checkVersion(version);
  return new CqlWriter(8 + (token?.length ?? 0)).writeBytes(token).finish();
}

// native_protocol_v5.spec §4.2.7 AUTH_CHALLENGE: <token: [bytes]>
export function decodeAuthChallenge(body: Buffer, version: number): Buffer | null {
  return decodeToken(body, version, 'AUTH_CHALLENGE');
}

// native_protocol_v5.spec §4.2.7 AUTH_CHALLENGE: <token: [bytes]>
export function encodeAuthChallenge(version: number, token: Uint8Array | null): Buffer {
  return encodeToken(version, token);
}

/** A whole AUTH_CHALLENGE frame (header included) on `streamId`. */
export function authChallengeFrame(
  version: number,
  streamId: number,
  token: Uint8Array | null,
): Buffer {
  return tokenFrame(version, streamId, Opcode.AUTH_CHALLENGE, token);
}

// native_protocol_v5.spec §4.2.8 AUTH_SUCCESS: <token: [bytes]>, possibly null
export function decodeAuthSuccess(body: Buffer, version: number): Buffer | null {
  return decodeToken(body, version, 'AUTH_SUCCESS');
}

// native_protocol_v5.spec §4.2.8 AUTH_SUCCESS: <token: [bytes]>, possibly null
export function encodeAuthSuccess(version: number, token: Uint8Array | null): Buffer {
  return encodeToken(version, token);
}

/** A whole AUTH_SUCCESS frame (header included) on `streamId`; PLAIN sends a null token. */
export function authSuccessFrame(
  version: number,
  streamId: number,
  token: Uint8Array | null = null,
): Buffer {
  return tokenFrame(version, streamId, Opcode.AUTH_SUCCESS, token);
}
