// Setting up a connection to a node, once the socket (and TLS) is up:
//
//   OPTIONS → SUPPORTED            the node's options, kept for the cluster side (PRODUCT_TYPE,
//                                  CQL_VERSION); Python's driver does the same before STARTUP
//   STARTUP → READY | AUTHENTICATE CQL_VERSION = the node's first, else 3.0.0; COMPRESSION if asked
//   AUTH_RESPONSE ⇄ AUTH_CHALLENGE → AUTH_SUCCESS     SASL PLAIN (authenticator.ts)
//   QUERY USE "<keyspace>" → RESULT SET_KEYSPACE      pool connections of a keyspace's session
//
// (native_protocol_v4.spec §4.1.1–§4.1.3, §4.2.2–§4.2.4, §4.2.7–§4.2.8;
// docs/cql-proxy-compat.md §2.5, §2.7.) Version negotiation (stepping down on a refusal) wraps
// this in connection.ts.

import { ErrorCode, Consistency, Opcode, opcodeName, versionName } from '../protocol/constants.js';
import { malformed } from '../protocol/errors.js';
import {
  decodeAuthChallenge,
  decodeAuthSuccess,
  decodeAuthenticate,
} from '../protocol/messages/auth.js';
import { encodeAuthResponse } from '../protocol/messages/auth-response.js';
import { decodeError } from '../protocol/messages/error.js';
import { encodeOptions } from '../protocol/messages/options.js';
import { encodeQuery } from '../protocol/messages/query.js';
import { decodeReady } from '../protocol/messages/ready.js';
import { decodeResult } from '../protocol/messages/result.js';
import { StartupOption } from '../protocol/messages/startup.js';
import { decodeSupported } from '../protocol/messages/supported.js';
import type { BodyCompressionName } from '../protocol/compression.js';
import { ProxyError, ProxyErrorCode } from '../errors.js';
import { CqlSessionError } from './contract.js';
import { CqlServerError } from './cql-server-error.js';
import { PlainTextAuthenticator } from './authenticator.js';
import type { Credentials } from './authenticator.js';

export const DRIVER_NAME = 'cql-proxy-ts';
export const DRIVER_VERSION = '0.1.0';
/** What cql-proxy and Node's driver send when the node does not say (spec v4 §4.1.1). */
export const DEFAULT_CQL_VERSION = '3.0.0';
/** SASL rounds before giving up on a node that keeps challenging. */
const MAX_AUTH_ROUNDS = 16;

/** A response to one of the connection's own requests: body decompressed, extras skipped. */
export interface ControlResponse {
  opcode: number;
  /** Header flags as received, except COMPRESSION (the body is already decompressed). */
  flags: number;
  /** The message body proper: tracing id, warnings and custom payload are skipped. */
  body: Buffer;
  /** Warnings the node attached (flag 0x08), if any. */
  warnings?: string[];
}

/** What the handshake needs from its connection. */
export interface HandshakeChannel {
  /** For messages: the endpoint key. */
  readonly key: string;
  readonly version: number;
  request(opcode: number, body: Buffer): Promise<ControlResponse>;
  /** Sends STARTUP; on READY or AUTHENTICATE the connection switches to what it negotiated. */
  startup(options: ReadonlyMap<string, string>): Promise<ControlResponse>;
}

export interface HandshakeOptions {
  compression?: BodyCompressionName | undefined;
  credentials?: Credentials | undefined;
  keyspace?: string | undefined;
  log?: ((level: 'debug' | 'info' | 'warn', message: string) => void) | undefined;
}

export interface HandshakeResult {
  supported: Map<string, string[]>;
  /** The authenticator class the node named, when it asked for authentication. */
  authenticator: string | undefined;
}

export async function handshake(
  channel: HandshakeChannel,
  options: HandshakeOptions,
): Promise<HandshakeResult> {
  const supported = await readSupported(channel);
  const compression = options.compression;
  const offered = supported.get(StartupOption.COMPRESSION);
  if (compression !== undefined && offered !== undefined && !offered.includes(compression)) {
    throw new ProxyError(
      ProxyErrorCode.CONNECTION_FAILED,
      `${channel.key} does not offer ${compression} compression (it offers: ${offered.join(', ') || 'none'})`,
    );
  }
  const startup = new Map<string, string>([
    [
      StartupOption.CQL_VERSION,
      supported.get(StartupOption.CQL_VERSION)?.[0] ?? DEFAULT_CQL_VERSION,
    ],
    [StartupOption.DRIVER_NAME, DRIVER_NAME],
    [StartupOption.DRIVER_VERSION, DRIVER_VERSION],
  ]);
  if (compression !== undefined) startup.set(StartupOption.COMPRESSION, compression);
  const response = await channel.startup(startup);
  let authenticator: string | undefined;
  switch (response.opcode) {
    case Opcode.READY:
      decodeReady(response.body, channel.version);
      break;
    case Opcode.AUTHENTICATE:
      authenticator = decodeAuthenticate(response.body, channel.version);
      await authenticate(channel, authenticator, options);
      break;
    default:
      throw unexpected(channel, response, 'STARTUP');
  }
  if (options.keyspace !== undefined) await useKeyspace(channel, options.keyspace);
  return { supported, authenticator };
}

// native_protocol_v4.spec §4.1.3 OPTIONS → §4.2.4 SUPPORTED
async function readSupported(channel: HandshakeChannel): Promise<Map<string, string[]>> {
  const response = await channel.request(Opcode.OPTIONS, encodeOptions());
  if (response.opcode !== Opcode.SUPPORTED) throw unexpected(channel, response, 'OPTIONS');
  return decodeSupported(response.body, channel.version);
}

// native_protocol_v4.spec §4.2.3 AUTHENTICATE, §4.1.2 AUTH_RESPONSE, §4.2.7, §4.2.8
async function authenticate(
  channel: HandshakeChannel,
  authenticatorClass: string,
  options: HandshakeOptions,
): Promise<void> {
  const credentials = options.credentials;
  if (credentials === undefined) {
    throw new ProxyError(
      ProxyErrorCode.AUTHENTICATION_FAILED,
      `${channel.key} requires authentication (${authenticatorClass}) and no credentials were given`,
    );
  }
  const sasl = new PlainTextAuthenticator(authenticatorClass, credentials, channel.key);
  if (!sasl.known) {
    options.log?.(
      'info',
      `${channel.key} asks for authentication with ${authenticatorClass}, unknown to the proxy: trying SASL PLAIN`,
    );
  }
  let token = sasl.initialResponse();
  for (let round = 0; round < MAX_AUTH_ROUNDS; round++) {
    const response = await channel.request(Opcode.AUTH_RESPONSE, encodeAuthResponse(token));
    switch (response.opcode) {
      case Opcode.AUTH_SUCCESS:
        decodeAuthSuccess(response.body, channel.version);
        return;
      case Opcode.AUTH_CHALLENGE:
        token = sasl.evaluateChallenge(decodeAuthChallenge(response.body, channel.version));
        break;
      case Opcode.ERROR: {
        const error = decodeError(response.body, channel.version);
        if (error.code !== ErrorCode.AUTHENTICATION_ERROR) {
          throw new CqlServerError(error, `authentication to ${channel.key}`);
        }
        // The node's own refusal rides along as the cause: with pass-through client
        // authentication it is what the client is answered (password scrubbed either way).
        const message = scrub(error.message, credentials.password);
        throw new ProxyError(
          ProxyErrorCode.AUTHENTICATION_FAILED,
          `authentication to ${channel.key} failed: ${message}`,
          { cause: new CqlServerError({ ...error, message }, `authentication to ${channel.key}`) },
        );
      }
      default:
        throw unexpected(channel, response, 'AUTH_RESPONSE');
    }
  }
  throw new ProxyError(
    ProxyErrorCode.AUTHENTICATION_FAILED,
    `authentication to ${channel.key} failed: still challenged after ${MAX_AUTH_ROUNDS} responses`,
  );
}

/** A server message never carries the password into our errors, even if the server echoed it. */
function scrub(message: string, password: string): string {
  return password.length === 0 ? message : message.split(password).join('***');
}

/** `"name"`, with `"` doubled: CQL's quoted identifier, so the name is taken exactly as given. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

// USE (a QUERY, native_protocol_v4.spec §4.1.4) → RESULT Set_keyspace (§4.2.5.3)
async function useKeyspace(channel: HandshakeChannel, keyspace: string): Promise<void> {
  const response = await channel.request(
    Opcode.QUERY,
    encodeQuery(channel.version, `USE ${quoteIdentifier(keyspace)}`, {
      consistency: Consistency.ONE,
    }),
  );
  if (response.opcode === Opcode.ERROR) {
    // The node's own code and message go back to the client that asked for the keyspace.
    const error = decodeError(response.body, channel.version);
    throw new CqlSessionError(error.code, error.message);
  }
  if (response.opcode !== Opcode.RESULT) throw unexpected(channel, response, 'USE');
  decodeResult(response.body, channel.version);
}

/** An ERROR where another answer was due becomes a CqlServerError; anything else is malformed. */
function unexpected(channel: HandshakeChannel, response: ControlResponse, step: string): Error {
  if (response.opcode === Opcode.ERROR) {
    return new CqlServerError(
      decodeError(response.body, channel.version),
      `${channel.key} refused ${step} (${versionName(channel.version)})`,
    );
  }
  return malformed(`${channel.key} answered ${step} with ${opcodeName(response.opcode)}`);
}
