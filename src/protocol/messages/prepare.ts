// PREPARE (opcode 0x09).
// native_protocol_v4.spec §4.1.5: "The body consists of the CQL query to prepare as a [long string]."
// native_protocol_v5.spec §4.1.5 (and dse_protocol_v2 §4.1.5): <query><flags: [int]>[<keyspace>],
// flag 0x01 "With keyspace".

import { hasPrepareFlags, versionName } from '../constants.js';
import { malformed } from '../errors.js';
import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import { checkVersion } from './field-checks.js';

export const PrepareFlag = {
  WITH_KEYSPACE: 0x01,
} as const;

export interface PrepareMessage {
  query: string;
  /** v5 and DSE v2 only. */
  keyspace?: string;
}

export interface DecodedPrepare {
  query: string;
  /** The raw [int] flags; present in v5 and DSE v2, where the body has them. */
  flags?: number;
  keyspace?: string;
}

// native_protocol_v5.spec §4.1.5 PREPARE: <query: [long string]><flags: [int]>[<keyspace: [string]>]
// (v3/v4/DSE v1: <query> alone)
export function decodePrepare(body: Buffer, version: number): DecodedPrepare {
  checkVersion(version);
  const reader = new CqlReader(body);
  const out: DecodedPrepare = { query: reader.readLongString() };
  if (hasPrepareFlags(version)) {
    const flags = reader.readInt() >>> 0;
    if ((flags & ~PrepareFlag.WITH_KEYSPACE) !== 0) {
      throw malformed(`unknown PREPARE flag bits 0x${flags.toString(16)}`);
    }
    out.flags = flags;
    if ((flags & PrepareFlag.WITH_KEYSPACE) !== 0) out.keyspace = reader.readString();
  }
  reader.expectEnd('PREPARE');
  return out;
}

// native_protocol_v5.spec §4.1.5 PREPARE: <query: [long string]><flags: [int]>[<keyspace: [string]>]
export function encodePrepare(version: number, message: PrepareMessage): Buffer {
  checkVersion(version);
  const writer = new CqlWriter(16 + message.query.length * 3);
  writer.writeLongString(message.query);
  if (hasPrepareFlags(version)) {
    const keyspace = message.keyspace;
    writer.writeInt(keyspace === undefined ? 0 : PrepareFlag.WITH_KEYSPACE);
    if (keyspace !== undefined) writer.writeString(keyspace);
  } else if (message.keyspace !== undefined) {
    throw malformed(`PREPARE cannot name a keyspace with protocol ${versionName(version)}`);
  }
  return writer.finish();
}
