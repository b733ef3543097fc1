// EXECUTE (opcode 0x0A).
// native_protocol_v4.spec §4.1.6: <id: [short bytes]><query_parameters>
// native_protocol_v5.spec §4.1.6 (and dse_protocol_v2 §4.1.6):
//   <id: [short bytes]><result_metadata_id: [short bytes]><query_parameters>
// The proxy reads the prepared id of every EXECUTE (to re-prepare on UNPREPARED) and, with the
// consistency guardrail, the consistency: the head decoder stops after <flags>.

import { hasResultMetadataId, versionName } from '../constants.js';
import { malformed } from '../errors.js';
import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import { checkVersion } from './field-checks.js';
import {
  ANY_QUERY_FLAGS,
  queryFlagMask,
  readQueryFlags,
  readQueryParameters,
  writeQueryParameters,
  type DecodedQueryParameters,
  type QueryParameters,
} from './query-parameters.js';

export interface ExecuteHead {
  /** The prepared id, a view into the body. */
  id: Buffer;
  /** v5 and DSE v2 only; a view into the body. */
  resultMetadataId?: Buffer;
  consistency: number;
  /** Offset of the [consistency] short within the body, for rewriteConsistency. */
  consistencyOffset: number;
  flags: number;
}

export interface ExecuteMessage {
  id: Uint8Array;
  /** Required in v5 and DSE v2, refused before. */
  resultMetadataId?: Uint8Array;
  parameters: QueryParameters;
}

export interface DecodedExecute {
  id: Buffer;
  resultMetadataId?: Buffer;
  parameters: DecodedQueryParameters;
}

// native_protocol_v5.spec §4.1.6 EXECUTE: <id>[<result_metadata_id>]<consistency><flags>... —
// read up to <flags> only.
export function decodeExecuteHead(body: Buffer, version: number): ExecuteHead {
  queryFlagMask(version); // refuses an unknown version
  const reader = new CqlReader(body);
  const id = reader.readShortBytes();
  // Built field by field, not spread: this runs for every EXECUTE and a spread costs several times
  // the decoding itself.
  const resultMetadataId = hasResultMetadataId(version) ? reader.readShortBytes() : undefined;
  const consistencyOffset = reader.pos;
  const consistency = reader.readConsistency();
  // Unknown flag bits are passed on (see decodeQueryHead).
  const flags = readQueryFlags(reader, version, ANY_QUERY_FLAGS);
  return resultMetadataId === undefined
    ? { id, consistency, consistencyOffset, flags }
    : { id, resultMetadataId, consistency, consistencyOffset, flags };
}

// native_protocol_v5.spec §4.1.6 EXECUTE: <id: [short bytes]>[<result_metadata_id: [short bytes]>]
// <query_parameters>
export function decodeExecute(body: Buffer, version: number): DecodedExecute {
  checkVersion(version);
  const reader = new CqlReader(body);
  const id = reader.readShortBytes();
  const resultMetadataId = hasResultMetadataId(version) ? reader.readShortBytes() : undefined;
  const parameters = readQueryParameters(reader, version);
  reader.expectEnd('EXECUTE');
  return resultMetadataId === undefined ? { id, parameters } : { id, resultMetadataId, parameters };
}

// native_protocol_v5.spec §4.1.6 EXECUTE: <id: [short bytes]>[<result_metadata_id: [short bytes]>]
// <query_parameters>
export function encodeExecute(version: number, message: ExecuteMessage): Buffer {
  checkVersion(version);
  const writer = new CqlWriter(128);
  writer.writeShortBytes(message.id);
  if (hasResultMetadataId(version)) {
    if (message.resultMetadataId === undefined) {
      throw malformed(`EXECUTE needs a result_metadata_id with protocol ${versionName(version)}`);
    }
    writer.writeShortBytes(message.resultMetadataId);
  } else if (message.resultMetadataId !== undefined) {
    throw malformed(`EXECUTE has no result_metadata_id with protocol ${versionName(version)}`);
  }
  writeQueryParameters(writer, version, message.parameters);
  return writer.finish();
}
