// READY (opcode 0x02): native_protocol_v5.spec §4.2.2 "The body of a READY message is empty."
// The proxy answers STARTUP and REGISTER with it itself.

import { HEADER_LENGTH, Opcode } from '../constants.js';
import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import { checkVersion, checkStreamId } from './field-checks.js';

// native_protocol_v5.spec §4.2.2 READY: empty body.
export function decodeReady(body: Buffer, version: number): void {
  checkVersion(version);
  new CqlReader(body).expectEnd('READY');
}

// native_protocol_v5.spec §4.2.2 READY: empty body.
export function encodeReady(version: number): Buffer {
  checkVersion(version);
  return Buffer.alloc(0);
}

/** A whole READY frame (header included) on `streamId`. */
export function readyFrame(version: number, streamId: number): Buffer {
  checkVersion(version);
  checkStreamId(streamId);
  return new CqlWriter(HEADER_LENGTH, true).finishFrame(version, 0, streamId, Opcode.READY, true);
}
