// The frames of a connection's own exchanges (the handshake, heartbeats, the control connection's
// queries, events): built in the connection's version with its body compression, and read back
// decompressed with their extras stepped over; and what the connection makes of frames it did not
// expect. Forwarded frames never come here.

import type { BodyCompressor } from '../protocol/compression.js';
import {
  HEADER_LENGTH,
  HeaderFlag,
  Opcode,
  isKnownVersion,
  opcodeName,
  versionName,
} from '../protocol/constants.js';
import { ProtocolError, ProtocolErrorCode, malformed } from '../protocol/errors.js';
import { frameMessage, type Decompress } from '../protocol/frame-body.js';
import { writeHeader } from '../protocol/header.js';
import { decodeError } from '../protocol/messages/error.js';
import { CqlServerError } from './cql-server-error.js';
import type { ControlResponse } from './handshake.js';

/** A whole request frame, stream id 0 (patched when sent), the body compressed when negotiated. */
export function controlRequestFrame(
  version: number,
  opcode: number,
  body: Buffer,
  compressor: BodyCompressor | undefined,
): Buffer {
  let flags = 0;
  let payload = body;
  // Empty bodies (OPTIONS) stay uncompressed: the flag is per frame (spec v4 §2.2).
  if (compressor !== undefined && body.length > 0) {
    payload = compressor.compress(body);
    flags |= HeaderFlag.COMPRESSION;
  }
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
  writeHeader(frame, 0, {
    version,
    response: false,
    flags,
    streamId: 0,
    opcode,
    bodyLength: payload.length,
  });
  payload.copy(frame, HEADER_LENGTH);
  return frame;
}

/** A node's answer to one of the connection's own requests: decompressed, extras read. */
export function readControlResponse(
  frame: Buffer,
  version: number,
  decompress: Decompress | undefined,
  nodeKey: string,
): ControlResponse {
  refuseUnnegotiatedCompression(frame, decompress, nodeKey);
  const message = frameMessage(frame, version, true, decompress);
  const response: ControlResponse = {
    opcode: frame[4]!,
    flags: frame[1]! & ~HeaderFlag.COMPRESSION,
    body: message.start === 0 ? message.body : message.body.subarray(message.start),
  };
  if (message.extras.warnings !== undefined) response.warnings = message.extras.warnings;
  return response;
}

/** The frame itself, or a copy with the body decompressed and the flag cleared (for EVENTs). */
export function decompressedFrame(
  frame: Buffer,
  decompress: Decompress | undefined,
  nodeKey: string,
): Buffer {
  if ((frame[1]! & HeaderFlag.COMPRESSION) === 0) return frame;
  refuseUnnegotiatedCompression(frame, decompress, nodeKey);
  const body = decompress!(frame.subarray(HEADER_LENGTH));
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  frame.copy(out, 0, 0, HEADER_LENGTH);
  out[1] = frame[1]! & ~HeaderFlag.COMPRESSION;
  out.writeInt32BE(body.length, 5);
  body.copy(out, HEADER_LENGTH);
  return out;
}

function refuseUnnegotiatedCompression(
  frame: Buffer,
  decompress: Decompress | undefined,
  nodeKey: string,
): void {
  if ((frame[1]! & HeaderFlag.COMPRESSION) !== 0 && decompress === undefined) {
    throw new ProtocolError(
      ProtocolErrorCode.COMPRESSION,
      `${nodeKey} sent a compressed frame but no compression was negotiated`,
    );
  }
}

/**
 * Why a connection in `version` closes on a frame in another version: the node's refusal (an
 * ERROR, usually in the node's own highest version) or a broken stream.
 */
export function foreignVersionError(frame: Buffer, version: number, nodeKey: string): Error {
  const theirs = frame[0]! & 0x7f;
  const opcode = frame[4]!;
  if (opcode === Opcode.ERROR && isKnownVersion(theirs)) {
    try {
      return new CqlServerError(
        decodeError(frame.subarray(HEADER_LENGTH), theirs),
        `${nodeKey} answered a ${versionName(version)} request in ${versionName(theirs)}`,
      );
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }
  return malformed(
    `${nodeKey} sent a ${versionName(theirs)} ${opcodeName(opcode)} frame on a ${versionName(version)} connection`,
  );
}

/** Why a connection closes on an answer on `streamId`, which has no request in flight. */
export function strayAnswerError(
  frame: Buffer,
  streamId: number,
  version: number,
  decompress: Decompress | undefined,
  nodeKey: string,
): Error {
  if (frame[4] !== Opcode.ERROR) {
    return malformed(
      `${nodeKey} sent ${opcodeName(frame[4]!)} on stream ${streamId}, which has no request in flight`,
    );
  }
  try {
    const { body } = readControlResponse(frame, version, decompress, nodeKey);
    return new CqlServerError(
      decodeError(body, version),
      `${nodeKey} answered on stream ${streamId}, which has no request in flight`,
    );
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** The error for a control request answered with something else than `what` expects. */
export function unexpectedAnswer(
  response: ControlResponse,
  what: string,
  version: number,
  nodeKey: string,
): Error {
  if (response.opcode === Opcode.ERROR) {
    return new CqlServerError(decodeError(response.body, version), `${what} on ${nodeKey}`);
  }
  return malformed(`${nodeKey} answered ${what} with ${opcodeName(response.opcode)}`);
}
