// QUERY (opcode 0x07).
// native_protocol_v4.spec §4.1.4 / native_protocol_v5.spec §4.1.4:
//   <query: [long string]><query_parameters>
// The proxy reads QUERY on every request (the lexer spots system tables and USE), so the head
// decoder stops after <flags>: the values, often most of the body, are forwarded unread.

import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import {
  queryFlagMask,
  readQueryFlags,
  readQueryParameters,
  writeQueryParameters,
  type DecodedQueryParameters,
  type QueryParameters,
} from './query-parameters.js';

export interface QueryHead {
  query: string;
  consistency: number;
  /** Offset of the [consistency] short within the body, for rewriteConsistency. */
  consistencyOffset: number;
  flags: number;
}

export interface DecodedQuery {
  query: string;
  parameters: DecodedQueryParameters;
}

// native_protocol_v4.spec §4.1.4 QUERY: <query><consistency><flags>... — read up to <flags> only.
export function decodeQueryHead(body: Buffer, version: number): QueryHead {
  const mask = queryFlagMask(version);
  const reader = new CqlReader(body);
  const query = reader.readLongString();
  const consistencyOffset = reader.pos;
  const consistency = reader.readConsistency();
  const flags = readQueryFlags(reader, version, mask);
  return { query, consistency, consistencyOffset, flags };
}

// native_protocol_v4.spec §4.1.4 QUERY: <query: [long string]><query_parameters>
export function decodeQuery(body: Buffer, version: number): DecodedQuery {
  const reader = new CqlReader(body);
  const query = reader.readLongString();
  const parameters = readQueryParameters(reader, version);
  reader.expectEnd('QUERY');
  return { query, parameters };
}

// native_protocol_v4.spec §4.1.4 QUERY: <query: [long string]><query_parameters>
export function encodeQuery(version: number, query: string, parameters: QueryParameters): Buffer {
  const writer = new CqlWriter(64 + query.length * 3);
  writer.writeLongString(query);
  writeQueryParameters(writer, version, parameters);
  return writer.finish();
}
