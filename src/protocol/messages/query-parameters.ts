// <query_parameters>, shared by QUERY and EXECUTE.
//
// native_protocol_v4.spec §4.1.4 (v3 is the same layout):
//   <consistency><flags>[<n>[name_1]<value_1>...[name_n]<value_n>][<result_page_size>][<paging_state>]
//   [<serial_consistency>][<timestamp>]
// native_protocol_v5.spec §4.1.4 adds [<keyspace>][<now_in_seconds>] and widens <flags> to an [int].
// dse_protocol_v1.spec §4.1.4: [int] flags, then [<continuous_paging_options>] last;
// dse_protocol_v2.spec §4.1.4: [<keyspace>] before it (no now_in_seconds in either DSE version).
//
// Decoders read through a CqlReader bounded by the body end and throw ProtocolError on anything the
// grammar does not allow, including flag bits the version does not define.

import {
  QueryFlag,
  hasKeyspaceFlag,
  hasNowInSeconds,
  isDseVersion,
  usesIntQueryFlags,
  versionName,
  ProtocolVersion,
} from '../constants.js';
import { malformed } from '../errors.js';
import { UNSET, type CqlReader, type Unset } from '../reader.js';
import type { CqlWriter } from '../writer.js';
import { checkCount, checkInt, checkLong, checkShort, checkVersion } from './field-checks.js';

/** DSE-only QUERY/EXECUTE flags (dse_protocol_v1/v2 §4.1.4). */
export const DseQueryFlag = {
  /** <result_page_size> counts bytes, not rows; only with continuous paging. */
  PAGE_SIZE_BYTES: 0x40000000,
  /** <continuous_paging_options> follows everything else. */
  CONTINUOUS_PAGING: 0x80000000,
} as const;

/** A bound [value] as decoded: a view into the body, null (n = -1) or UNSET (n = -2). */
export type CqlValue = Buffer | null | Unset;
/** A bound [value] to encode. */
export type CqlValueInput = Uint8Array | null | Unset;

/** dse_protocol_v1 §4.1.4: max_num_pages, pages_per_second; v2 adds next_pages. 0 = no limit. */
export interface ContinuousPagingOptions {
  maxPages: number;
  pagesPerSecond: number;
  /** DSE v2 only; encoded as 0 (no limit) when absent. */
  nextPages?: number;
}

/** What an encoder needs: the flags are derived from which fields are present. */
export interface QueryParameters {
  consistency: number;
  /** Present (even empty) sets VALUES (0x01). */
  values?: readonly CqlValueInput[];
  /** Sets WITH_NAMES_FOR_VALUES (0x40); one name per value. */
  names?: readonly string[];
  skipMetadata?: boolean;
  pageSize?: number;
  /** [bytes]; null encodes as length -1. */
  pagingState?: Uint8Array | null;
  serialConsistency?: number;
  /** Microseconds. */
  defaultTimestamp?: bigint;
  /** v5 and DSE v2 (flag 0x80). */
  keyspace?: string;
  /** v5 only (flag 0x100). */
  nowInSeconds?: number;
  /** DSE only (flag 0x40000000). */
  pageSizeInBytes?: boolean;
  /** DSE only (flag 0x80000000). */
  continuousPaging?: ContinuousPagingOptions;
}

/** What a decoder returns: optional fields are present only when their flag is set. */
export interface DecodedQueryParameters {
  consistency: number;
  /** Offset of the [consistency] within the body given to the decoder, for rewriteConsistency. */
  consistencyOffset: number;
  /** The raw flags, unsigned. */
  flags: number;
  values?: CqlValue[];
  names?: string[];
  skipMetadata?: true;
  pageSize?: number;
  pagingState?: Buffer | null;
  serialConsistency?: number;
  defaultTimestamp?: bigint;
  keyspace?: string;
  nowInSeconds?: number;
  pageSizeInBytes?: true;
  continuousPaging?: ContinuousPagingOptions;
}

/** A mask accepting every flag bit: for head decoders, which read nothing the flags announce. */
export const ANY_QUERY_FLAGS = 0xffffffff;

// Bits every version defines: VALUES ... WITH_NAMES_FOR_VALUES (spec v3/v4 §4.1.4).
const BASE_FLAGS = 0x7f;

/** Flag bits <query_parameters> may carry in `version`; any other bit is a ProtocolError. */
export function queryFlagMask(version: number): number {
  checkVersion(version);
  let mask = BASE_FLAGS;
  if (hasKeyspaceFlag(version)) mask |= QueryFlag.WITH_KEYSPACE;
  if (hasNowInSeconds(version)) mask |= QueryFlag.WITH_NOW_IN_SECONDS;
  if (isDseVersion(version)) mask |= DseQueryFlag.PAGE_SIZE_BYTES | DseQueryFlag.CONTINUOUS_PAGING;
  return mask >>> 0;
}

/** Reads <flags>: [byte] in v3/v4, [int] in v5 and DSE (spec v5 §9). Returned unsigned. */
export function readQueryFlags(reader: CqlReader, version: number, mask: number): number {
  const flags = usesIntQueryFlags(version) ? reader.readInt() >>> 0 : reader.readByte();
  // JS bit operators work on signed 32-bit values; both sides coerce the same way.
  if ((flags & ~mask) !== 0) {
    const unknown = (flags & ~mask) >>> 0;
    throw malformed(
      `unknown flag bits 0x${unknown.toString(16)} for ${versionName(version)} in <flags>`,
    );
  }
  return flags;
}

/** Writes <flags> in the version's width. */
export function writeQueryFlags(writer: CqlWriter, version: number, flags: number): void {
  if (usesIntQueryFlags(version)) writer.writeInt(flags | 0);
  else writer.writeByte(flags);
}

/**
 * A bound value: [value] from v4 on; in v3 it is a [bytes] (spec v3 §4.1.4), where any negative
 * length is null and `not set` does not exist (Cassandra's readBoundValue does the same).
 */
export function readBoundValue(reader: CqlReader, version: number): CqlValue {
  return version === ProtocolVersion.V3 ? reader.readBytes() : reader.readValue();
}

export function writeBoundValue(writer: CqlWriter, version: number, value: CqlValueInput): void {
  if (value === UNSET && version === ProtocolVersion.V3) {
    throw malformed('protocol v3 has no `not set` value');
  }
  writer.writeValue(value);
}

/**
 * Reads <query_parameters> from the reader's position. Leaves the reader after the last field; the
 * caller checks the end of the body.
 */
export function readQueryParameters(reader: CqlReader, version: number): DecodedQueryParameters {
  const mask = queryFlagMask(version);
  const consistencyOffset = reader.pos;
  const consistency = reader.readConsistency();
  const flags = readQueryFlags(reader, version, mask);
  const out: DecodedQueryParameters = { consistency, consistencyOffset, flags };

  if ((flags & QueryFlag.VALUES) !== 0) {
    // "if the 0x40 flag is present, each value will be preceded by a [string] name"; without 0x01
    // the 0x40 flag "is ignored".
    const named = (flags & QueryFlag.WITH_NAMES_FOR_VALUES) !== 0;
    const n = reader.readShort();
    const values: CqlValue[] = [];
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      if (named) names.push(reader.readString());
      values.push(readBoundValue(reader, version));
    }
    out.values = values;
    if (named) out.names = names;
  }
  if ((flags & QueryFlag.SKIP_METADATA) !== 0) out.skipMetadata = true;
  if ((flags & QueryFlag.PAGE_SIZE) !== 0) out.pageSize = reader.readInt();
  if ((flags & QueryFlag.WITH_PAGING_STATE) !== 0) out.pagingState = reader.readBytes();
  if ((flags & QueryFlag.WITH_SERIAL_CONSISTENCY) !== 0) {
    out.serialConsistency = reader.readConsistency();
  }
  if ((flags & QueryFlag.WITH_DEFAULT_TIMESTAMP) !== 0) out.defaultTimestamp = reader.readLong();
  // The mask has already refused these bits in versions without them.
  if ((flags & QueryFlag.WITH_KEYSPACE) !== 0) out.keyspace = reader.readString();
  if ((flags & QueryFlag.WITH_NOW_IN_SECONDS) !== 0) out.nowInSeconds = reader.readInt();
  if ((flags & DseQueryFlag.PAGE_SIZE_BYTES) !== 0) out.pageSizeInBytes = true;
  if ((flags & DseQueryFlag.CONTINUOUS_PAGING) !== 0) {
    const maxPages = reader.readInt();
    const pagesPerSecond = reader.readInt();
    out.continuousPaging =
      version === ProtocolVersion.DSE_V1
        ? { maxPages, pagesPerSecond }
        : { maxPages, pagesPerSecond, nextPages: reader.readInt() };
  }
  return out;
}

function unavailable(field: string, version: number): never {
  throw malformed(`${field} cannot be sent with protocol ${versionName(version)}`);
}

/** The flags `params` needs, after checking each field exists in `version`. */
export function queryParametersFlags(version: number, params: QueryParameters): number {
  const mask = queryFlagMask(version);
  let flags = 0;
  if (params.values !== undefined) flags |= QueryFlag.VALUES;
  if (params.names !== undefined) {
    if (params.values?.length !== params.names.length) {
      throw malformed('named values need exactly one name per value');
    }
    flags |= QueryFlag.WITH_NAMES_FOR_VALUES;
  }
  if (params.skipMetadata === true) flags |= QueryFlag.SKIP_METADATA;
  if (params.pageSize !== undefined) flags |= QueryFlag.PAGE_SIZE;
  if (params.pagingState !== undefined) flags |= QueryFlag.WITH_PAGING_STATE;
  if (params.serialConsistency !== undefined) flags |= QueryFlag.WITH_SERIAL_CONSISTENCY;
  if (params.defaultTimestamp !== undefined) flags |= QueryFlag.WITH_DEFAULT_TIMESTAMP;
  if (params.keyspace !== undefined) flags |= QueryFlag.WITH_KEYSPACE;
  if (params.nowInSeconds !== undefined) flags |= QueryFlag.WITH_NOW_IN_SECONDS;
  if (params.pageSizeInBytes === true) flags |= DseQueryFlag.PAGE_SIZE_BYTES;
  if (params.continuousPaging !== undefined) flags |= DseQueryFlag.CONTINUOUS_PAGING;
  flags >>>= 0;
  if ((flags & ~mask) !== 0) {
    if (params.keyspace !== undefined && !hasKeyspaceFlag(version)) {
      unavailable('a keyspace', version);
    }
    if (params.nowInSeconds !== undefined && !hasNowInSeconds(version)) {
      unavailable('now_in_seconds', version);
    }
    unavailable('continuous paging', version);
  }
  return flags;
}

/** Writes <query_parameters>. */
export function writeQueryParameters(
  writer: CqlWriter,
  version: number,
  params: QueryParameters,
): void {
  const flags = queryParametersFlags(version, params);
  checkShort(params.consistency, 'consistency');
  writer.writeConsistency(params.consistency);
  writeQueryFlags(writer, version, flags);
  if (params.values !== undefined) {
    checkCount(params.values.length, 'values');
    writer.writeShort(params.values.length);
    const names = params.names;
    for (let i = 0; i < params.values.length; i++) {
      if (names !== undefined) writer.writeString(names[i] ?? '');
      writeBoundValue(writer, version, params.values[i] ?? null);
    }
  }
  if (params.pageSize !== undefined) {
    checkInt(params.pageSize, 'page size');
    writer.writeInt(params.pageSize);
  }
  if (params.pagingState !== undefined) writer.writeBytes(params.pagingState);
  if (params.serialConsistency !== undefined) {
    checkShort(params.serialConsistency, 'serial consistency');
    writer.writeConsistency(params.serialConsistency);
  }
  if (params.defaultTimestamp !== undefined) {
    checkLong(params.defaultTimestamp, 'default timestamp');
    writer.writeLong(params.defaultTimestamp);
  }
  if (params.keyspace !== undefined) writer.writeString(params.keyspace);
  if (params.nowInSeconds !== undefined) {
    checkInt(params.nowInSeconds, 'now_in_seconds');
    writer.writeInt(params.nowInSeconds);
  }
  const paging = params.continuousPaging;
  if (paging !== undefined) {
    checkInt(paging.maxPages, 'max_num_pages');
    checkInt(paging.pagesPerSecond, 'pages_per_second');
    writer.writeInt(paging.maxPages).writeInt(paging.pagesPerSecond);
    if (version === ProtocolVersion.DSE_V1) {
      if (paging.nextPages !== undefined) unavailable('next_pages', version);
    } else {
      const nextPages = paging.nextPages ?? 0;
      checkInt(nextPages, 'next_pages');
      writer.writeInt(nextPages);
    }
  }
}
