// ERROR (opcode 0x00): native_protocol_v5.spec §4.2.1 "an error code ([int]) followed by a [string]
// error message. Then, depending on the exception, more content may follow" (§8).
//
// Version differences (v3 §9, v4 §9, v5 §8):
// - READ_FAILURE, FUNCTION_FAILURE and WRITE_FAILURE appear in v4; CAS_WRITE_UNKNOWN in v5. They are
//   decoded by their layout in any version: the code alone says what follows.
// - READ_FAILURE / WRITE_FAILURE carry <numfailures: [int]> in v3/v4 and a <reasonmap> in v5 and
//   DSE (hasFailureReasonMap): [int] n, then n pairs <endpoint: [inetaddr]><failurecode: [short]>.
// - WRITE_TIMEOUT carries <contentions: [short]> in v5 when <writeType> is "CAS" (hasCasContentions).
//
// Unknown codes decode to the generic shape (code + message): they are the server's business, not
// a protocol violation. TypeScript cannot narrow a union whose members include `code: number`, so
// such values are a separate UnknownCqlError and isKnownError() narrows to the precise union.

import { ErrorCode, Opcode, hasCasContentions, hasFailureReasonMap } from '../constants.js';
import { malformed } from '../errors.js';
import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import {
  checkInt,
  checkReadCount,
  checkVersion,
  checkCount,
  checkStreamId,
  checkShort,
} from './field-checks.js';

/** Codes whose body ends after the message. */
export type SimpleErrorCode =
  | typeof ErrorCode.SERVER_ERROR
  | typeof ErrorCode.PROTOCOL_ERROR
  | typeof ErrorCode.AUTHENTICATION_ERROR
  | typeof ErrorCode.OVERLOADED
  | typeof ErrorCode.IS_BOOTSTRAPPING
  | typeof ErrorCode.TRUNCATE_ERROR
  | typeof ErrorCode.CDC_WRITE_FAILURE
  | typeof ErrorCode.SYNTAX_ERROR
  | typeof ErrorCode.UNAUTHORIZED
  | typeof ErrorCode.INVALID
  | typeof ErrorCode.CONFIG_ERROR;

export interface SimpleError {
  code: SimpleErrorCode;
  message: string;
}

/** 0x1000: <cl><required: [int]><alive: [int]> */
export interface UnavailableError {
  code: typeof ErrorCode.UNAVAILABLE;
  message: string;
  consistency: number;
  required: number;
  alive: number;
}

/** 0x1100: <cl><received><blockfor><writeType: [string]>[<contentions: [short]>] */
export interface WriteTimeoutError {
  code: typeof ErrorCode.WRITE_TIMEOUT;
  message: string;
  consistency: number;
  received: number;
  blockFor: number;
  /** SIMPLE, BATCH, UNLOGGED_BATCH, COUNTER, BATCH_LOG, CAS, VIEW, CDC. */
  writeType: string;
  /** v5 only, and only when writeType is CAS. Encoded as 0 when absent there. */
  contentions?: number;
}

/** 0x1200: <cl><received><blockfor><data_present: [byte]> */
export interface ReadTimeoutError {
  code: typeof ErrorCode.READ_TIMEOUT;
  message: string;
  consistency: number;
  received: number;
  blockFor: number;
  dataPresent: boolean;
}

/** One <endpoint: [inetaddr]><failurecode: [short]> pair of a v5 <reasonmap>. */
export interface FailureReason {
  address: string;
  reason: number;
}

interface FailureCounts {
  /** v3/v4 <numfailures>; with a reason map, the number of its entries. */
  numFailures: number;
  /**
   * v5/DSE <reasonmap>, in wire order (an array, so duplicate endpoints survive a round trip).
   * Always set by the decoder for those versions; when encoding them, an absent map is written
   * as an empty one.
   */
  reasonMap?: FailureReason[];
}

/** 0x1300: <cl><received><blockfor><numfailures | reasonmap><data_present: [byte]> */
export interface ReadFailureError extends FailureCounts {
  code: typeof ErrorCode.READ_FAILURE;
  message: string;
  consistency: number;
  received: number;
  blockFor: number;
  dataPresent: boolean;
}

/** 0x1500: <cl><received><blockfor><numfailures | reasonmap><writeType: [string]> */
export interface WriteFailureError extends FailureCounts {
  code: typeof ErrorCode.WRITE_FAILURE;
  message: string;
  consistency: number;
  received: number;
  blockFor: number;
  writeType: string;
}

/** 0x1400: <keyspace: [string]><function: [string]><arg_types: [string list]> */
export interface FunctionFailureError {
  code: typeof ErrorCode.FUNCTION_FAILURE;
  message: string;
  keyspace: string;
  functionName: string;
  argTypes: string[];
}

/** 0x1700 (v5): <cl><received><blockfor> */
export interface CasWriteUnknownError {
  code: typeof ErrorCode.CAS_WRITE_UNKNOWN;
  message: string;
  consistency: number;
  received: number;
  blockFor: number;
}

/** 0x2400: <ks: [string]><table: [string]>; the table is "" when a keyspace already exists. */
export interface AlreadyExistsError {
  code: typeof ErrorCode.ALREADY_EXISTS;
  message: string;
  keyspace: string;
  table: string;
}

/** 0x2500: <id: [short bytes]>. The decoded id is a view into the body. */
export interface UnpreparedError {
  code: typeof ErrorCode.UNPREPARED;
  message: string;
  id: Buffer;
}

export type KnownCqlError =
  | SimpleError
  | UnavailableError
  | WriteTimeoutError
  | ReadTimeoutError
  | ReadFailureError
  | WriteFailureError
  | FunctionFailureError
  | CasWriteUnknownError
  | AlreadyExistsError
  | UnpreparedError;

/** A code this codec does not know: code and message only. */
export interface UnknownCqlError {
  code: number;
  message: string;
}

export type CqlErrorMessage = KnownCqlError | UnknownCqlError;

const KNOWN_CODES: ReadonlySet<number> = new Set(Object.values(ErrorCode));

/** Narrows to the union discriminated by literal codes, where `switch (e.code)` works. */
export function isKnownError(error: CqlErrorMessage): error is KnownCqlError {
  return KNOWN_CODES.has(error.code);
}

const CAS_WRITE_TYPE = 'CAS';

function readReasonMap(reader: CqlReader): FailureReason[] {
  const n = checkReadCount(reader.readInt(), '<reasonmap>');
  const out: FailureReason[] = [];
  for (let i = 0; i < n; i++) {
    const address = reader.readInetAddr();
    out.push({ address, reason: reader.readShort() });
  }
  return out;
}

function readFailures(reader: CqlReader, version: number): FailureCounts {
  if (hasFailureReasonMap(version)) {
    const reasonMap = readReasonMap(reader);
    return { numFailures: reasonMap.length, reasonMap };
  }
  return { numFailures: checkReadCount(reader.readInt(), '<numfailures>') };
}

// native_protocol_v5.spec §4.2.1 ERROR: <code: [int]><message: [string]>[extra fields by code, §8]
export function decodeError(body: Buffer, version: number): CqlErrorMessage {
  checkVersion(version);
  const reader = new CqlReader(body);
  const error = readError(reader, version);
  reader.expectEnd(`ERROR 0x${error.code.toString(16).padStart(4, '0')}`);
  return error;
}

function readError(reader: CqlReader, version: number): CqlErrorMessage {
  const code = reader.readInt();
  const message = reader.readString();
  switch (code) {
    case ErrorCode.UNAVAILABLE: {
      const consistency = reader.readConsistency();
      const required = reader.readInt();
      return { code, message, consistency, required, alive: reader.readInt() };
    }
    case ErrorCode.WRITE_TIMEOUT: {
      const consistency = reader.readConsistency();
      const received = reader.readInt();
      const blockFor = reader.readInt();
      const writeType = reader.readString();
      const error: WriteTimeoutError = {
        code,
        message,
        consistency,
        received,
        blockFor,
        writeType,
      };
      if (hasCasContentions(version) && writeType === CAS_WRITE_TYPE) {
        error.contentions = reader.readShort();
      }
      return error;
    }
    case ErrorCode.READ_TIMEOUT: {
      const consistency = reader.readConsistency();
      const received = reader.readInt();
      const blockFor = reader.readInt();
      const dataPresent = reader.readByte() !== 0;
      return { code, message, consistency, received, blockFor, dataPresent };
    }
    case ErrorCode.READ_FAILURE: {
      const consistency = reader.readConsistency();
      const received = reader.readInt();
      const blockFor = reader.readInt();
      const failures = readFailures(reader, version);
      const dataPresent = reader.readByte() !== 0;
      return { code, message, consistency, received, blockFor, ...failures, dataPresent };
    }
    case ErrorCode.WRITE_FAILURE: {
      const consistency = reader.readConsistency();
      const received = reader.readInt();
      const blockFor = reader.readInt();
      const failures = readFailures(reader, version);
      const writeType = reader.readString();
      return { code, message, consistency, received, blockFor, ...failures, writeType };
    }
    case ErrorCode.FUNCTION_FAILURE: {
      const keyspace = reader.readString();
      const functionName = reader.readString();
      return { code, message, keyspace, functionName, argTypes: reader.readStringList() };
    }
    case ErrorCode.CAS_WRITE_UNKNOWN: {
      const consistency = reader.readConsistency();
      const received = reader.readInt();
      return { code, message, consistency, received, blockFor: reader.readInt() };
    }
    case ErrorCode.ALREADY_EXISTS: {
      const keyspace = reader.readString();
      return { code, message, keyspace, table: reader.readString() };
    }
    case ErrorCode.UNPREPARED:
      return { code, message, id: reader.readShortBytes() };
    default:
      // Simple codes and unknown codes alike: nothing more is defined after the message.
      return { code, message };
  }
}

/** The error code, read without decoding the rest: the proxy's first look at any ERROR. */
export function peekErrorCode(body: Buffer): number {
  if (body.length < 4) throw malformed(`truncated ERROR: ${body.length} bytes, need 4 for <code>`);
  return body.readInt32BE(0);
}

/**
 * The unknown prepared id of an UNPREPARED error (a view into the body), or undefined for any
 * other code. The message is skipped without decoding it: the proxy re-prepares on this path.
 */
export function peekUnpreparedId(body: Buffer): Buffer | undefined {
  if (peekErrorCode(body) !== ErrorCode.UNPREPARED) return undefined;
  const reader = new CqlReader(body, 4);
  reader.readShortBytes(); // <message>: a [string] has the same framing as [short bytes]
  const id = reader.readShortBytes();
  reader.expectEnd('ERROR UNPREPARED');
  return id;
}

function writeCounts(
  writer: CqlWriter,
  error: { consistency: number; received: number; blockFor: number },
): void {
  checkShort(error.consistency, '<cl>');
  checkInt(error.received, '<received>');
  checkInt(error.blockFor, '<blockfor>');
  writer.writeConsistency(error.consistency).writeInt(error.received).writeInt(error.blockFor);
}

function writeFailures(writer: CqlWriter, version: number, error: FailureCounts): void {
  if (!hasFailureReasonMap(version)) {
    checkInt(error.numFailures, '<numfailures>');
    writer.writeInt(error.numFailures);
    return;
  }
  const reasons = error.reasonMap ?? [];
  writer.writeInt(reasons.length);
  for (const r of reasons) {
    checkShort(r.reason, '<failurecode>');
    writer.writeInetAddr(r.address).writeShort(r.reason);
  }
}

function writeError(writer: CqlWriter, version: number, error: CqlErrorMessage): void {
  checkVersion(version);
  checkInt(error.code, '<code>');
  writer.writeInt(error.code).writeString(error.message);
  if (!isKnownError(error)) return;
  switch (error.code) {
    case ErrorCode.UNAVAILABLE:
      checkShort(error.consistency, '<cl>');
      checkInt(error.required, '<required>');
      checkInt(error.alive, '<alive>');
      writer.writeConsistency(error.consistency).writeInt(error.required).writeInt(error.alive);
      return;
    case ErrorCode.WRITE_TIMEOUT:
      writeCounts(writer, error);
      writer.writeString(error.writeType);
      if (hasCasContentions(version) && error.writeType === CAS_WRITE_TYPE) {
        const contentions = error.contentions ?? 0;
        checkShort(contentions, '<contentions>');
        writer.writeShort(contentions);
      }
      return;
    case ErrorCode.READ_TIMEOUT:
      writeCounts(writer, error);
      writer.writeByte(error.dataPresent ? 1 : 0);
      return;
    case ErrorCode.READ_FAILURE:
      writeCounts(writer, error);
      writeFailures(writer, version, error);
      writer.writeByte(error.dataPresent ? 1 : 0);
      return;
    case ErrorCode.WRITE_FAILURE:
      writeCounts(writer, error);
      writeFailures(writer, version, error);
      writer.writeString(error.writeType);
      return;
    case ErrorCode.FUNCTION_FAILURE:
      checkCount(error.argTypes.length, 'function argument types');
      writer.writeString(error.keyspace).writeString(error.functionName);
      writer.writeStringList(error.argTypes);
      return;
    case ErrorCode.CAS_WRITE_UNKNOWN:
      writeCounts(writer, error);
      return;
    case ErrorCode.ALREADY_EXISTS:
      writer.writeString(error.keyspace).writeString(error.table);
      return;
    case ErrorCode.UNPREPARED:
      writer.writeShortBytes(error.id);
      return;
    case ErrorCode.SERVER_ERROR:
    case ErrorCode.PROTOCOL_ERROR:
    case ErrorCode.AUTHENTICATION_ERROR:
    case ErrorCode.OVERLOADED:
    case ErrorCode.IS_BOOTSTRAPPING:
    case ErrorCode.TRUNCATE_ERROR:
    case ErrorCode.CDC_WRITE_FAILURE:
    case ErrorCode.SYNTAX_ERROR:
    case ErrorCode.UNAUTHORIZED:
    case ErrorCode.INVALID:
    case ErrorCode.CONFIG_ERROR:
      return;
  }
}

// native_protocol_v5.spec §4.2.1 ERROR: <code: [int]><message: [string]>[extra fields by code, §8]
export function encodeError(version: number, error: CqlErrorMessage): Buffer {
  const writer = new CqlWriter(64 + error.message.length * 3);
  writeError(writer, version, error);
  return writer.finish();
}

/** A whole ERROR frame (header included) on `streamId`: the proxy answers with these itself. */
export function errorFrame(version: number, streamId: number, error: CqlErrorMessage): Buffer {
  checkStreamId(streamId);
  const writer = new CqlWriter(64 + error.message.length * 3, true);
  writeError(writer, version, error);
  return writer.finishFrame(version, 0, streamId, Opcode.ERROR, true);
}
