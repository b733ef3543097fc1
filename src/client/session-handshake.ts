// The handshake of one client connection (client-session.ts): version refusal, OPTIONS,
// STARTUP, the login (with --client-auth), REGISTER and the events it subscribes to.

import { errorMessage } from '../errors.js';
import { type BodyCompressionName, bodyCompressor } from '../protocol/compression.js';
import { ErrorCode, EventType, HeaderFlag, versionName } from '../protocol/constants.js';
import { malformed } from '../protocol/errors.js';
import { eventFrame } from '../protocol/messages/event.js';
import { readyFrame } from '../protocol/messages/ready.js';
import { authenticateFrame, authSuccessFrame } from '../protocol/messages/auth.js';
import { decodeAuthResponse } from '../protocol/messages/auth-response.js';
import { decodeRegister } from '../protocol/messages/register.js';
import type { SchemaChange } from '../protocol/messages/schema-change.js';
import { decodeStartup } from '../protocol/messages/startup.js';
import { PASSWORD_AUTHENTICATOR } from './auth/client-auth.js';
import { login } from './auth/login.js';
import { frameMessage } from '../protocol/frame-body.js';
import { allowedCompression } from './session-shared.js';
import type { ClientSession } from './client-session.js';
import { block, remote, unblock } from './session-limits.js';
import { frameMessageOf } from './session-statements.js';

/** The versions clients may use, lowest first (worked out when asked: OPTIONS and refusals). */
export function clientVersions(s: ClientSession): number[] {
  return [...s.backend.info.clientVersions].sort((a, b) => a - b);
}

/** The highest version clients may use: the version of errors sent before one is fixed. */
export function highestVersion(s: ClientSession): number {
  const versions = clientVersions(s);
  return versions[versions.length - 1] ?? 4;
}

/** "3/v3, 4/v4": what the unsupported-version error and SUPPORTED list. */
export function versionList(s: ClientSession): string[] {
  return clientVersions(s).map((v) => `${v}/${versionName(v)}`);
}

export function supportedOptions(s: ClientSession): Map<string, string[]> {
  const info = s.backend.info;
  const options = new Map<string, string[]>([
    ['CQL_VERSION', [info.cqlVersion]],
    // v5 compresses segments, with LZ4 only (spec v5 §2.2).
    ['COMPRESSION', s.v5 ? ['lz4'] : ['lz4', 'snappy']],
    ['PROTOCOL_VERSIONS', versionList(s)],
  ]);
  if (info.productType !== undefined && info.productType !== '') {
    options.set('PRODUCT_TYPE', [info.productType]);
  }
  return options;
}

/**
 * The error drivers step down on (docs/drivers.md §4, §6): Cassandra's text, in a frame of the
 * highest version the proxy serves, so the Node driver, which starts at DSE v2, retries with
 * that version at once; then the connection is closed, as Cassandra does.
 */
export function refuseVersion(s: ClientSession, version: number, streamId: number): void {
  s.fatal(
    streamId,
    `Invalid or unsupported protocol version (${version}); supported versions are ` +
      `(${versionList(s).join(', ')})`,
  );
}

// native_protocol_v4.spec §4.1.1 STARTUP; v5 §2.3.1: segments start right after READY.
export function startup(s: ClientSession, frame: Buffer, streamId: number): void {
  if (s.started) {
    s.error(streamId, ErrorCode.PROTOCOL_ERROR, 'STARTUP was already received');
    return;
  }
  if ((frame.readUInt8(1) & HeaderFlag.COMPRESSION) !== 0) {
    throw malformed('STARTUP cannot be compressed');
  }
  const message = frameMessage(frame, s.version, false);
  const options = decodeStartup(message.body.subarray(message.start));
  let requested: string | undefined;
  for (const [key, value] of options) {
    if (key.toUpperCase() === 'COMPRESSION') requested = value.toLowerCase();
  }
  let compression: BodyCompressionName | undefined;
  if (requested !== undefined) {
    compression = allowedCompression(requested, s.v5);
    if (compression === undefined) {
      // No READY after this (cql-proxy sent one anyway): the client must not think it is in.
      s.error(
        streamId,
        ErrorCode.PROTOCOL_ERROR,
        `Unsupported compression type: ${requested} (supported compression types` +
          `${s.v5 ? ' with protocol v5: lz4' : ': lz4, snappy'})`,
      );
      return;
    }
  }
  s.started = true;
  if (s.guards.auth.required) {
    // native_protocol_v4.spec §4.2.3: AUTHENTICATE names the authenticator; the client answers
    // with AUTH_RESPONSE. The frame limit stays small until the login succeeds.
    s.authenticating = true;
    s.write(authenticateFrame(s.version, streamId, PASSWORD_AUTHENTICATOR));
  } else {
    becomeReady(s);
    s.write(readyFrame(s.version, streamId));
  }
  if (s.v5) {
    // The frames inside segments are never compressed, so all v5 clients share the cluster
    // sessions without compression whatever their segments use.
    s.framed.startSegments(compression === 'lz4' ? 'lz4' : 'none');
  } else if (compression !== undefined) {
    const compressor = bodyCompressor(compression);
    const maxLength = s.config.maxFrameLength;
    s.compressor = compressor;
    s.decompress = (body) => compressor.decompress(body, maxLength);
    s.sessionCompression = compression;
  }
  s.log.debug(
    { version: versionName(s.version), compression: compression ?? 'none' },
    'client connection ready',
  );
}

export function becomeReady(s: ClientSession): void {
  s.ready = true;
  s.authenticating = false;
  s.framed.setMaxFrameLength(s.config.maxFrameLength);
}

// native_protocol_v4.spec §4.1.2 AUTH_RESPONSE, §4.2.8 AUTH_SUCCESS. Later frames wait while
// the credentials are checked (a check may take tens of milliseconds, or a cluster round trip).
export function authResponse(s: ClientSession, frame: Buffer, streamId: number): void {
  const message = frameMessageOf(s, frame);
  let token: Buffer | null;
  try {
    token = decodeAuthResponse(message.body.subarray(message.start));
  } catch {
    token = null;
  }
  block(s);
  void completeLogin(s, token, streamId);
}

export async function completeLogin(
  s: ClientSession,
  token: Buffer | null,
  streamId: number,
): Promise<void> {
  try {
    const result = await login(
      s.guards.auth,
      token,
      remote(s),
      (credentials) => s.backend.session(s.version, undefined, s.sessionCompression, credentials),
      s.log,
    );
    if (s.closing) return;
    if (result.ok) {
      s.credentials = result.credentials;
      if (result.session !== undefined) s.backendSession = result.session;
      becomeReady(s);
      s.write(authSuccessFrame(s.version, streamId, null));
      return;
    }
    if (result.delayMs > 0) await new Promise((r) => setTimeout(r, result.delayMs));
    if (s.closing) return;
    s.error(streamId, result.code, result.message);
  } finally {
    unblock(s);
  }
}

// native_protocol_v4.spec §4.1.8 REGISTER; only schema changes are passed on, the proxy's
// topology being its own.
export function register(s: ClientSession, frame: Buffer, streamId: number): void {
  const message = frameMessageOf(s, frame);
  const types = decodeRegister(message.body.subarray(message.start));
  if (types.includes(EventType.SCHEMA_CHANGE) && s.unsubscribeEvents === undefined) {
    s.unsubscribeEvents = s.backend.onSchemaChange((change) => sendEvent(s, change));
  }
  s.write(readyFrame(s.version, streamId));
}

export function sendEvent(s: ClientSession, change: SchemaChange): void {
  if (s.closing) return;
  try {
    s.write(eventFrame(s.version, { type: EventType.SCHEMA_CHANGE, change }));
  } catch (err) {
    s.log.warn({ err: errorMessage(err) }, 'could not pass a schema change event on');
  }
}
