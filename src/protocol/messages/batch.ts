// BATCH (opcode 0x0D).
// native_protocol_v4.spec §4.1.7:
//   <type: [byte]><n: [short]><query_1>...<query_n><consistency><flags>[<serial_consistency>][<timestamp>]
// native_protocol_v5.spec §4.1.7 adds [<keyspace>][<now_in_seconds>] and makes <flags> an [int];
// dse_protocol_v1/v2 §4.1.7: [int] flags; v2 adds [<keyspace>].
// Each <query_i> is <kind: [byte]><string_or_id><n: [short]>[<name_1>]<value_1>...[<name_n>]<value_n>
// with kind 0 = [long string] query, 1 = [short bytes] prepared id; "<name_i> ... must be present if
// and only if the 0x40 flag is provided for the batch" and precedes its value. Values are [value]
// from v4 on and [bytes] in v3.
//
// The 0x40 flag comes after the statements whose layout it decides, so the grammar cannot be read
// front to back (CASSANDRA-10246: Cassandra never implemented batch names, and drivers never set
// 0x40 on a BATCH). The decoders read without names first, then with names, and keep the reading
// whose flags agree with it.
//
// The consistency comes after every statement, so reaching it means walking them all:
// decodeBatchHead does that walk without decoding strings or keeping values.

import {
  BatchType,
  QueryFlag,
  hasKeyspaceFlag,
  hasNowInSeconds,
  versionName,
  ProtocolVersion,
} from '../constants.js';
import { ProtocolError, ProtocolErrorCode, malformed } from '../errors.js';
import { CqlReader } from '../reader.js';
import { CqlWriter } from '../writer.js';
import { checkCount, checkInt, checkLong, checkShort, checkVersion } from './field-checks.js';
import {
  readBoundValue,
  readQueryFlags,
  writeBoundValue,
  writeQueryFlags,
  type CqlValue,
  type CqlValueInput,
} from './query-parameters.js';

/** <kind> of a batch statement. */
export const BatchStatementKind = {
  QUERY: 0,
  PREPARED: 1,
} as const;

export type BatchStatement =
  | { kind: 'query'; query: string; values: CqlValue[]; names?: string[] }
  | { kind: 'prepared'; id: Buffer; values: CqlValue[]; names?: string[] };

export type BatchStatementInput =
  | {
      kind: 'query';
      query: string;
      values: readonly CqlValueInput[];
      names?: readonly string[];
    }
  | {
      kind: 'prepared';
      id: Uint8Array;
      values: readonly CqlValueInput[];
      names?: readonly string[];
    };

export interface BatchMessage {
  type: BatchType;
  statements: readonly BatchStatementInput[];
  consistency: number;
  serialConsistency?: number;
  defaultTimestamp?: bigint;
  /** v5 and DSE v2. */
  keyspace?: string;
  /** v5 only. */
  nowInSeconds?: number;
}

export interface DecodedBatch {
  type: BatchType;
  statements: BatchStatement[];
  consistency: number;
  /** Offset of the [consistency] short within the body, for rewriteConsistency. */
  consistencyOffset: number;
  /** The raw flags, unsigned. */
  flags: number;
  serialConsistency?: number;
  defaultTimestamp?: bigint;
  keyspace?: string;
  nowInSeconds?: number;
}

export interface BatchHead {
  type: BatchType;
  statementCount: number;
  consistency: number;
  consistencyOffset: number;
  flags: number;
}

// "the 4 rightmost bits must always be 0 as their corresponding options do not make sense for Batch"
const BATCH_BASE_FLAGS =
  QueryFlag.WITH_SERIAL_CONSISTENCY |
  QueryFlag.WITH_DEFAULT_TIMESTAMP |
  QueryFlag.WITH_NAMES_FOR_VALUES;

/** Flag bits a BATCH may carry in `version`. DSE continuous paging does not apply to batches. */
export function batchFlagMask(version: number): number {
  checkVersion(version);
  let mask: number = BATCH_BASE_FLAGS;
  if (hasKeyspaceFlag(version)) mask |= QueryFlag.WITH_KEYSPACE;
  if (hasNowInSeconds(version)) mask |= QueryFlag.WITH_NOW_IN_SECONDS;
  return mask;
}

function readBatchType(reader: CqlReader): BatchType {
  const type = reader.readByte();
  if (type !== BatchType.LOGGED && type !== BatchType.UNLOGGED && type !== BatchType.COUNTER) {
    throw malformed(`invalid BATCH type ${type}`);
  }
  return type;
}

function invalidKind(kind: number): never {
  throw malformed(`invalid BATCH statement kind ${kind} (must be 0 or 1)`);
}

/**
 * Walks the statements to find <consistency><flags>: the statements are checked for length and
 * kind but their strings are not decoded. Reads nothing after the flags.
 */
export function decodeBatchHead(body: Buffer, version: number): BatchHead {
  const mask = batchFlagMask(version);
  const reader = new CqlReader(body);
  const type = readBatchType(reader);
  const statementCount = reader.readShort();
  const start = reader.pos;
  // Whether values carry names is told by a flag that comes after them (the flaw of
  // CASSANDRA-10246), so the walk guesses: without names first, as every driver sends, then with
  // names. A reading counts only if the flags it lands on agree with it.
  let unnamedError: ProtocolError | undefined;
  try {
    const head = skipStatementsThenReadHead(reader, version, mask, statementCount, false);
    if ((head.flags & QueryFlag.WITH_NAMES_FOR_VALUES) === 0) {
      return batchHead(type, statementCount, head);
    }
  } catch (error) {
    if (!ProtocolError.isProtocolError(error)) throw error;
    unnamedError = error;
  }
  reader.pos = start;
  let head: Tail;
  try {
    head = skipStatementsThenReadHead(reader, version, mask, statementCount, true);
  } catch (error) {
    if (unnamedError !== undefined) throw unnamedError;
    throw error;
  }
  if ((head.flags & QueryFlag.WITH_NAMES_FOR_VALUES) === 0) {
    throw unnamedError ?? malformed('BATCH statements do not parse without or with value names');
  }
  return batchHead(type, statementCount, head);
}

interface Tail {
  consistency: number;
  consistencyOffset: number;
  flags: number;
}

// Field by field rather than a spread, which costs more than the walk on a small batch.
function batchHead(type: BatchType, statementCount: number, tail: Tail): BatchHead {
  return {
    type,
    statementCount,
    consistency: tail.consistency,
    consistencyOffset: tail.consistencyOffset,
    flags: tail.flags,
  };
}

function skip(reader: CqlReader, n: number, what: string): void {
  reader.need(n, what);
  reader.pos += n;
}

function skipStatementsThenReadHead(
  reader: CqlReader,
  version: number,
  mask: number,
  count: number,
  named: boolean,
): Tail {
  const v3 = version === ProtocolVersion.V3;
  for (let i = 0; i < count; i++) {
    const kind = reader.readByte();
    if (kind === BatchStatementKind.QUERY) {
      const n = reader.readInt();
      if (n < 0) throw malformed(`negative [long string] length ${n}`);
      skip(reader, n, '[long string]');
    } else if (kind === BatchStatementKind.PREPARED) {
      skip(reader, reader.readShort(), '[short bytes]');
    } else {
      invalidKind(kind);
    }
    const values = reader.readShort();
    for (let j = 0; j < values; j++) {
      if (named) skip(reader, reader.readShort(), '[string]');
      const n = reader.readInt();
      if (n >= 0) skip(reader, n, '[value]');
      else if (n < -2 && !v3) throw malformed(`invalid [value] length ${n}`);
    }
  }
  const consistencyOffset = reader.pos;
  const consistency = reader.readConsistency();
  const flags = readQueryFlags(reader, version, mask);
  return { consistency, consistencyOffset, flags };
}

/** A whole-body reading with or without value names; throws unless the flags agree. */
function decodeBatchAs(body: Buffer, version: number, named: boolean): DecodedBatch {
  const mask = batchFlagMask(version);
  const reader = new CqlReader(body);
  const type = readBatchType(reader);
  const count = reader.readShort();
  const statements: BatchStatement[] = [];
  for (let i = 0; i < count; i++) {
    const kind = reader.readByte();
    const statement: BatchStatement =
      kind === BatchStatementKind.QUERY
        ? { kind: 'query', query: reader.readLongString(), values: [] }
        : kind === BatchStatementKind.PREPARED
          ? { kind: 'prepared', id: reader.readShortBytes(), values: [] }
          : invalidKind(kind);
    const n = reader.readShort();
    const names: string[] = [];
    for (let j = 0; j < n; j++) {
      if (named) names.push(reader.readString());
      statement.values.push(readBoundValue(reader, version));
    }
    if (named) statement.names = names;
    statements.push(statement);
  }
  const consistencyOffset = reader.pos;
  const consistency = reader.readConsistency();
  const flags = readQueryFlags(reader, version, mask);
  if (((flags & QueryFlag.WITH_NAMES_FOR_VALUES) !== 0) !== named) {
    throw new NamesMismatch();
  }
  const out: DecodedBatch = { type, statements, consistency, consistencyOffset, flags };
  if ((flags & QueryFlag.WITH_SERIAL_CONSISTENCY) !== 0) {
    out.serialConsistency = reader.readConsistency();
  }
  if ((flags & QueryFlag.WITH_DEFAULT_TIMESTAMP) !== 0) out.defaultTimestamp = reader.readLong();
  // batchFlagMask has refused these bits in versions without them.
  if ((flags & QueryFlag.WITH_KEYSPACE) !== 0) out.keyspace = reader.readString();
  if ((flags & QueryFlag.WITH_NOW_IN_SECONDS) !== 0) out.nowInSeconds = reader.readInt();
  reader.expectEnd('BATCH');
  return out;
}

/** The reading's guess about value names disagrees with the 0x40 flag it found. */
class NamesMismatch extends ProtocolError {
  constructor() {
    super(ProtocolErrorCode.MALFORMED, 'BATCH value names do not match the 0x40 flag');
  }
}

// native_protocol_v5.spec §4.1.7 BATCH: <type><n><query_1>...<query_n><consistency><flags>
// [<serial_consistency>][<timestamp>][<keyspace>][<now_in_seconds>]
export function decodeBatch(body: Buffer, version: number): DecodedBatch {
  // As in decodeBatchHead: read without value names (what drivers send), then with them.
  let unnamedError: ProtocolError;
  try {
    return decodeBatchAs(body, version, false);
  } catch (error) {
    if (!ProtocolError.isProtocolError(error)) throw error;
    unnamedError = error;
  }
  try {
    return decodeBatchAs(body, version, true);
  } catch (error) {
    // Report the failure of the reading the flags asked for.
    throw unnamedError instanceof NamesMismatch ? error : unnamedError;
  }
}

function unavailable(field: string, version: number): never {
  throw malformed(`BATCH cannot carry ${field} with protocol ${versionName(version)}`);
}

// native_protocol_v5.spec §4.1.7 BATCH: <type><n><query_1>...<query_n><consistency><flags>
// [<serial_consistency>][<timestamp>][<keyspace>][<now_in_seconds>]
export function encodeBatch(version: number, batch: BatchMessage): Buffer {
  checkVersion(version);
  const type: number = batch.type;
  if (type !== BatchType.LOGGED && type !== BatchType.UNLOGGED && type !== BatchType.COUNTER) {
    throw malformed(`invalid BATCH type ${type}`);
  }
  checkCount(batch.statements.length, 'BATCH statements');
  // One flag names the values of every statement, so either all statements are named or none is.
  const named = batch.statements.some((s) => s.names !== undefined);
  let flags = 0;
  if (named) flags |= QueryFlag.WITH_NAMES_FOR_VALUES;
  if (batch.serialConsistency !== undefined) flags |= QueryFlag.WITH_SERIAL_CONSISTENCY;
  if (batch.defaultTimestamp !== undefined) flags |= QueryFlag.WITH_DEFAULT_TIMESTAMP;
  if (batch.keyspace !== undefined) {
    if (!hasKeyspaceFlag(version)) unavailable('a keyspace', version);
    flags |= QueryFlag.WITH_KEYSPACE;
  }
  if (batch.nowInSeconds !== undefined) {
    if (!hasNowInSeconds(version)) unavailable('now_in_seconds', version);
    flags |= QueryFlag.WITH_NOW_IN_SECONDS;
  }

  const writer = new CqlWriter(256);
  writer.writeByte(type);
  writer.writeShort(batch.statements.length);
  for (const statement of batch.statements) {
    if (statement.kind === 'query') {
      writer.writeByte(BatchStatementKind.QUERY).writeLongString(statement.query);
    } else {
      writer.writeByte(BatchStatementKind.PREPARED).writeShortBytes(statement.id);
    }
    const { values, names } = statement;
    checkCount(values.length, 'values in a BATCH statement');
    if (named && (names === undefined ? values.length > 0 : names.length !== values.length)) {
      throw malformed('a named BATCH needs exactly one name per value in every statement');
    }
    writer.writeShort(values.length);
    for (let i = 0; i < values.length; i++) {
      if (named) writer.writeString(names?.[i] ?? '');
      writeBoundValue(writer, version, values[i] ?? null);
    }
  }
  checkShort(batch.consistency, 'consistency');
  writer.writeConsistency(batch.consistency);
  writeQueryFlags(writer, version, flags);
  if (batch.serialConsistency !== undefined) {
    checkShort(batch.serialConsistency, 'serial consistency');
    writer.writeConsistency(batch.serialConsistency);
  }
  if (batch.defaultTimestamp !== undefined) {
    checkLong(batch.defaultTimestamp, 'default timestamp');
    writer.writeLong(batch.defaultTimestamp);
  }
  if (batch.keyspace !== undefined) writer.writeString(batch.keyspace);
  if (batch.nowInSeconds !== undefined) {
    checkInt(batch.nowInSeconds, 'now_in_seconds');
    writer.writeInt(batch.nowInSeconds);
  }
  return writer.finish();
}
