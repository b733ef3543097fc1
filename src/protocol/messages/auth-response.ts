// AUTH_RESPONSE (opcode 0x0F) and the SASL PLAIN token it carries to Astra and Cassandra.
// native_protocol_v4.spec §4.1.2: "The body of this message is a single [bytes] token. The details
// of what this token contains (and when it can be null/empty, if ever) depends on the actual
// authenticator used."

import { isUtf8 } from 'node:buffer';
import { malformed } from '../errors.js';
import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';

// native_protocol_v4.spec §4.1.2 AUTH_RESPONSE: <token: [bytes]>. Returns a view, or null.
export function decodeAuthResponse(body: Buffer): Buffer | null {
  const reader = new CqlReader(body);
  const token = reader.readBytes();
  reader.expectEnd('AUTH_RESPONSE');
  return token;
}

// native_protocol_v4.spec §4.1.2 AUTH_RESPONSE: <token: [bytes]>
export function encodeAuthResponse(token: Uint8Array | null): Buffer {
  return new CqlWriter(4 + (token?.length ?? 0)).writeBytes(token).finish();
}

export interface SaslPlainCredentials {
  authzid: string;
  username: string;
  password: string;
}

const NUL = 0;

// RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd, authcid = 1*SAFE,
// passwd = 1*SAFE, SAFE = any UTF-8 character but NUL. Astra: username `token`, password the
// AstraCS token, authzid empty (docs/astra.md §4).
function checkField(value: string, what: string, allowEmpty: boolean): void {
  if (!allowEmpty && value.length === 0) throw malformed(`SASL PLAIN ${what} must not be empty`);
  if (value.includes('\0')) throw malformed(`SASL PLAIN ${what} must not contain NUL`);
}

/** `authzid NUL username NUL password`, UTF-8 (RFC 4616). */
export function encodeSaslPlain(username: string, password: string, authzid = ''): Buffer {
  checkField(authzid, 'authzid', true);
  checkField(username, 'username', false);
  checkField(password, 'password', false);
  return Buffer.from(`${authzid}\0${username}\0${password}`, 'utf8');
}

/**
 * Splits a SASL PLAIN token: exactly two NULs (a third one would sit in the password, which the
 * field check refuses), valid UTF-8, non-empty username and password.
 */
export function decodeSaslPlain(token: Uint8Array): SaslPlainCredentials {
  const buf = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
  const first = buf.indexOf(NUL);
  const second = first < 0 ? -1 : buf.indexOf(NUL, first + 1);
  if (second < 0) throw malformed('SASL PLAIN token needs two NUL separators');
  if (!isUtf8(buf)) throw malformed('SASL PLAIN token is not valid UTF-8');
  const credentials = {
    authzid: buf.toString('utf8', 0, first),
    username: buf.toString('utf8', first + 1, second),
    password: buf.toString('utf8', second + 1),
  };
  checkField(credentials.username, 'username', false);
  checkField(credentials.password, 'password', false);
  return credentials;
}
