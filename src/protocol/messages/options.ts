// OPTIONS (opcode 0x05): asks for SUPPORTED; no body.
// native_protocol_v4.spec §4.1.3: "The body of an OPTIONS message should be empty".

import { CqlReader } from '../reader.js';

// native_protocol_v4.spec §4.1.3 OPTIONS: empty body. Bytes there mean the framing is off.
export function decodeOptions(body: Buffer): void {
  new CqlReader(body).expectEnd('OPTIONS');
}

const EMPTY = Buffer.alloc(0);

/** The empty OPTIONS body; one shared zero-length buffer, nothing in it to overwrite. */
export function encodeOptions(): Buffer {
  return EMPTY;
}
