// QUERY (opcode 0x07).
// native_protocol_v4.spec §4.1.4 / native_protocol_v5.spec §4.1.4:
//   <query: [long string]><query_parameters>
// The proxy reads QUERY on every request (the lexer spots system tables and USE), so the head
// decoder stops after <flags>: the values, often most of the body, are forwarded unread.

import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import {
  ANY_QUERY_FLAGS,
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
  queryFlagMask(version); // refuses an unknown version
  const reader = new CqlReader(body);
  const query = reader.readLongString();
  const consistencyOffset = reader.pos;
  const consistency = reader.readConsistency();
  // Flag bits a newer client knows and this codec does not are passed on untouched: the proxy
  // reads nothing after <flags>, and Cassandra itself ignores unknown bits.
  const flags = readQueryFlags(reader, version, ANY_QUERY_FLAGS);
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
