// Protocol constants shared by every codec. Values are from the CQL native protocol
// specifications v3, v4 and v5 (native_protocol_v*.spec, Apache Cassandra); DSE v1/v2 (0x41/0x42)
// keep the v4 frame layout.

/** Protocol versions as they appear in the low 7 bits of the first header byte (spec v4 §2.1). */
export const ProtocolVersion = {
  V3: 0x03,
  V4: 0x04,
  V5: 0x05,
  DSE_V1: 0x41,
  DSE_V2: 0x42,
} as const;
export type ProtocolVersion = (typeof ProtocolVersion)[keyof typeof ProtocolVersion];

/** Versions whose 9-byte header this codec can read. v1/v2 (8-byte header) are not served. */
export const KNOWN_VERSIONS: readonly number[] = [0x03, 0x04, 0x05, 0x41, 0x42];

export function isKnownVersion(version: number): version is ProtocolVersion {
  return version === 3 || version === 4 || version === 5 || version === 0x41 || version === 0x42;
}

export function isDseVersion(version: number): boolean {
  return (version & 0x40) !== 0;
}

// Capability predicates: codecs ask what a version can do instead of comparing numbers, because
// DSE versions (0x41, 0x42) are numerically above v5 but do not share its features.

/** v5 frames travel inside CRC-protected segments once the handshake is done (spec v5 §2). */
export function usesSegments(version: number): boolean {
  return version === ProtocolVersion.V5;
}

/** QUERY/EXECUTE/BATCH flags are an [int] in v5 and DSE, a [byte] before (spec v5 §9). */
export function usesIntQueryFlags(version: number): boolean {
  return version === ProtocolVersion.V5 || isDseVersion(version);
}

/** EXECUTE carries <result_metadata_id> and PREPARED returns it (spec v5 §4.1.6, §4.2.5.4). */
export function hasResultMetadataId(version: number): boolean {
  return version === ProtocolVersion.V5 || version === ProtocolVersion.DSE_V2;
}

/** PREPARE carries [int] flags and an optional keyspace (spec v5 §4.1.5). */
export function hasPrepareFlags(version: number): boolean {
  return version === ProtocolVersion.V5 || version === ProtocolVersion.DSE_V2;
}

/** QUERY and BATCH may name a keyspace with flag 0x80 (spec v5 §4.1.4). */
export function hasKeyspaceFlag(version: number): boolean {
  return version === ProtocolVersion.V5 || version === ProtocolVersion.DSE_V2;
}

/** QUERY may carry now_in_seconds with flag 0x100 (spec v5 §4.1.4). DSE v2 does not know it. */
export function hasNowInSeconds(version: number): boolean {
  return version === ProtocolVersion.V5;
}

/** READ_FAILURE/WRITE_FAILURE carry a reason map instead of a count (spec v5 §8). */
export function hasFailureReasonMap(version: number): boolean {
  return version === ProtocolVersion.V5 || isDseVersion(version);
}

/** WRITE_TIMEOUT for CAS writes carries <contentions> (spec v5 §8). */
export function hasCasContentions(version: number): boolean {
  return version === ProtocolVersion.V5;
}

/** PREPARED metadata lists partition key indexes from v4 on (spec v4 §4.2.5.4). */
export function hasPkIndexes(version: number): boolean {
  return version !== ProtocolVersion.V3;
}

/**
 * How every message and log line spells a protocol version: v3, v4, v5, DSE_V1, DSE_V2 (the DSE
 * names as DSE and its drivers print them). The command line's value syntax (dsev1, dsev2, as
 * cql-proxy) is for input only.
 */
export function versionName(version: number): string {
  switch (version) {
    case 0x41:
      return 'DSE_V1';
    case 0x42:
      return 'DSE_V2';
    default:
      return `v${version}`;
  }
}

export const HEADER_LENGTH = 9;
/** Bit 7 of the version byte: 0 for requests, 1 for responses (spec v4 §2.1). */
export const RESPONSE_BIT = 0x80;
/** Cassandra's default native_transport_max_frame_size is 256 MiB (spec v4 §2.5 caps frames there). */
export const DEFAULT_MAX_FRAME_LENGTH = 256 * 1024 * 1024;

/** Header flags (spec v4 §2.2, v5 §2.4.1.2). */
export const HeaderFlag = {
  COMPRESSION: 0x01,
  TRACING: 0x02,
  CUSTOM_PAYLOAD: 0x04,
  WARNING: 0x08,
  USE_BETA: 0x10,
} as const;
export type HeaderFlag = (typeof HeaderFlag)[keyof typeof HeaderFlag];

/** Opcodes (spec v4 §2.4). */
export const Opcode = {
  ERROR: 0x00,
  STARTUP: 0x01,
  READY: 0x02,
  AUTHENTICATE: 0x03,
  OPTIONS: 0x05,
  SUPPORTED: 0x06,
  QUERY: 0x07,
  RESULT: 0x08,
  PREPARE: 0x09,
  EXECUTE: 0x0a,
  REGISTER: 0x0b,
  EVENT: 0x0c,
  BATCH: 0x0d,
  AUTH_CHALLENGE: 0x0e,
  AUTH_RESPONSE: 0x0f,
  AUTH_SUCCESS: 0x10,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

const OPCODE_NAMES = new Map<number, string>(Object.entries(Opcode).map(([k, v]) => [v, k]));

export function isKnownOpcode(opcode: number): opcode is Opcode {
  return OPCODE_NAMES.has(opcode);
}

export function opcodeName(opcode: number): string {
  return OPCODE_NAMES.get(opcode) ?? `0x${opcode.toString(16).padStart(2, '0')}`;
}

/** Error codes (spec v5 §8). */
export const ErrorCode = {
  SERVER_ERROR: 0x0000,
  PROTOCOL_ERROR: 0x000a,
  AUTHENTICATION_ERROR: 0x0100,
  UNAVAILABLE: 0x1000,
  OVERLOADED: 0x1001,
  IS_BOOTSTRAPPING: 0x1002,
  TRUNCATE_ERROR: 0x1003,
  WRITE_TIMEOUT: 0x1100,
  READ_TIMEOUT: 0x1200,
  READ_FAILURE: 0x1300,
  FUNCTION_FAILURE: 0x1400,
  WRITE_FAILURE: 0x1500,
  CDC_WRITE_FAILURE: 0x1600,
  CAS_WRITE_UNKNOWN: 0x1700,
  SYNTAX_ERROR: 0x2000,
  UNAUTHORIZED: 0x2100,
  INVALID: 0x2200,
  CONFIG_ERROR: 0x2300,
  ALREADY_EXISTS: 0x2400,
  UNPREPARED: 0x2500,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Consistency levels (spec v4 §3 [consistency]). */
export const Consistency = {
  ANY: 0x0000,
  ONE: 0x0001,
  TWO: 0x0002,
  THREE: 0x0003,
  QUORUM: 0x0004,
  ALL: 0x0005,
  LOCAL_QUORUM: 0x0006,
  EACH_QUORUM: 0x0007,
  SERIAL: 0x0008,
  LOCAL_SERIAL: 0x0009,
  LOCAL_ONE: 0x000a,
} as const;
export type Consistency = (typeof Consistency)[keyof typeof Consistency];

const CONSISTENCY_NAMES = new Map<number, string>(
  Object.entries(Consistency).map(([k, v]) => [v, k]),
);

export function consistencyName(value: number): string {
  return CONSISTENCY_NAMES.get(value) ?? `UNKNOWN(${value})`;
}

export function parseConsistency(name: string): Consistency | undefined {
  const key = name.trim().toUpperCase();
  return Object.hasOwn(Consistency, key) ? Consistency[key as keyof typeof Consistency] : undefined;
}

/** QUERY / EXECUTE parameter flags (spec v5 §4.1.4). */
export const QueryFlag = {
  VALUES: 0x01,
  SKIP_METADATA: 0x02,
  PAGE_SIZE: 0x04,
  WITH_PAGING_STATE: 0x08,
  WITH_SERIAL_CONSISTENCY: 0x10,
  WITH_DEFAULT_TIMESTAMP: 0x20,
  WITH_NAMES_FOR_VALUES: 0x40,
  WITH_KEYSPACE: 0x80,
  WITH_NOW_IN_SECONDS: 0x100,
} as const;

/** RESULT kinds (spec v4 §4.2.5). */
export const ResultKind = {
  VOID: 0x0001,
  ROWS: 0x0002,
  SET_KEYSPACE: 0x0003,
  PREPARED: 0x0004,
  SCHEMA_CHANGE: 0x0005,
} as const;
export type ResultKind = (typeof ResultKind)[keyof typeof ResultKind];

/** Rows metadata flags (spec v5 §4.2.5.2). */
export const RowsFlag = {
  GLOBAL_TABLES_SPEC: 0x0001,
  HAS_MORE_PAGES: 0x0002,
  NO_METADATA: 0x0004,
  METADATA_CHANGED: 0x0008,
} as const;

/** Column type option ids (spec v5 §4.2.5.2). */
export const DataType = {
  CUSTOM: 0x0000,
  ASCII: 0x0001,
  BIGINT: 0x0002,
  BLOB: 0x0003,
  BOOLEAN: 0x0004,
  COUNTER: 0x0005,
  DECIMAL: 0x0006,
  DOUBLE: 0x0007,
  FLOAT: 0x0008,
  INT: 0x0009,
  TIMESTAMP: 0x000b,
  UUID: 0x000c,
  VARCHAR: 0x000d,
  VARINT: 0x000e,
  TIMEUUID: 0x000f,
  INET: 0x0010,
  DATE: 0x0011,
  TIME: 0x0012,
  SMALLINT: 0x0013,
  TINYINT: 0x0014,
  DURATION: 0x0015,
  LIST: 0x0020,
  MAP: 0x0021,
  SET: 0x0022,
  UDT: 0x0030,
  TUPLE: 0x0031,
} as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

/** BATCH types (spec v4 §4.1.7). */
export const BatchType = {
  LOGGED: 0,
  UNLOGGED: 1,
  COUNTER: 2,
} as const;
export type BatchType = (typeof BatchType)[keyof typeof BatchType];

/** Event types a client may REGISTER for (spec v4 §4.2.6). */
export const EventType = {
  TOPOLOGY_CHANGE: 'TOPOLOGY_CHANGE',
  STATUS_CHANGE: 'STATUS_CHANGE',
  SCHEMA_CHANGE: 'SCHEMA_CHANGE',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];
