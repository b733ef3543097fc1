// QUERY, PREPARE, EXECUTE and BATCH on a ready connection: decoded with the protocol codecs,
// handed to the engine, and the engine's answer turned into a RESULT or ERROR frame. Decoding and
// running are two steps so that fault rules (which look at the query text) can act in between.

import {
  BatchType,
  ErrorCode,
  Opcode,
  ResultKind,
  hasPkIndexes,
  hasResultMetadataId,
} from '../../src/protocol/constants.js';
import { decodeBatch } from '../../src/protocol/messages/batch.js';
import type { DecodedBatch } from '../../src/protocol/messages/batch.js';
import { errorFrame } from '../../src/protocol/messages/error.js';
import type { CqlErrorMessage } from '../../src/protocol/messages/error.js';
import { decodeExecute } from '../../src/protocol/messages/execute.js';
import { decodePrepare } from '../../src/protocol/messages/prepare.js';
import { decodeQuery } from '../../src/protocol/messages/query.js';
import type { DecodedQueryParameters } from '../../src/protocol/messages/query-parameters.js';
import { resultFrame } from '../../src/protocol/messages/result.js';
import type { ResultMessage, RowsMetadata } from '../../src/protocol/messages/result.js';
import { CqlRequestError } from '../engine/contract.js';
import type {
  BatchChild,
  BoundValue,
  Engine,
  EngineResult,
  ExecutionContext,
  PreparedStatementInfo,
  StatementOptions,
} from '../engine/contract.js';
import { serializePartitionKey } from '../engine/partition-key.js';
import type { FaultWriteType } from '../faults.js';
import type { PreparedCache } from './prepared-cache.js';

/** What a request needs from its connection and node. */
export interface RequestScope {
  readonly engine: Engine;
  readonly prepared: PreparedCache;
  readonly version: number;
  /** The statement's execution context; `keyspace` overrides the connection's (v5 PREPARE). */
  context(keyspace?: string): ExecutionContext;
  /** USE succeeded: the connection's keyspace changes. */
  setKeyspace(keyspace: string): void;
  /** Unexpected engine failures (bugs), answered as SERVER_ERROR. */
  log(message: string): void;
  /**
   * A statement of one partition is about to run here: its keyspace and serialized partition key
   * (for the replica / remote coordinator counts of GET /stats).
   */
  notePartition?(keyspace: string, partitionKey: Buffer): void;
}

/** A decoded request, ready to run once the fault rules have had their say. */
export interface PlannedRequest {
  readonly kind: 'plan';
  /** The query texts fault rules match: the statement, the prepared text, or every child's. */
  readonly queries: readonly string[];
  readonly consistency: number;
  readonly writeType: FaultWriteType;
  /** Whether fault rules apply: QUERY, EXECUTE and BATCH; not PREPARE, which drivers repeat. */
  readonly faultable: boolean;
  /** Runs the request on the engine and returns the whole response frame. */
  execute(): Buffer;
}

/** A request answered without the engine (UNPREPARED on this node). */
export interface ImmediateAnswer {
  readonly kind: 'answer';
  readonly frame: Buffer;
}

/**
 * Decodes a request body (flags and extras already stripped). Throws ProtocolError on a malformed
 * body: the caller closes the connection.
 */
export function planRequest(
  opcode: number,
  body: Buffer,
  streamId: number,
  scope: RequestScope,
): PlannedRequest | ImmediateAnswer {
  switch (opcode) {
    case Opcode.QUERY:
      return planQuery(body, streamId, scope);
    case Opcode.PREPARE:
      return planPrepare(body, streamId, scope);
    case Opcode.EXECUTE:
      return planExecute(body, streamId, scope);
    case Opcode.BATCH:
      return planBatch(body, streamId, scope);
    default:
      throw new Error(`planRequest: opcode ${opcode} is not a statement`);
  }
}

// native_protocol_v4.spec §4.1.4 QUERY: <query: [long string]><query_parameters>
function planQuery(body: Buffer, streamId: number, scope: RequestScope): PlannedRequest {
  const { query, parameters } = decodeQuery(body, scope.version);
  return {
    kind: 'plan',
    queries: [query],
    consistency: parameters.consistency,
    writeType: 'SIMPLE',
    faultable: true,
    execute: () =>
      answer(scope, streamId, () => {
        const result = scope.engine.execute(query, statementOptions(parameters), scope.context());
        return toResultMessage(scope, result, parameters.skipMetadata === true, undefined);
      }),
  };
}

// native_protocol_v5.spec §4.1.5 PREPARE: <query: [long string]><flags: [int]>[<keyspace: [string]>]
function planPrepare(body: Buffer, streamId: number, scope: RequestScope): PlannedRequest {
  const prepare = decodePrepare(body, scope.version);
  return {
    kind: 'plan',
    queries: [prepare.query],
    consistency: 0,
    writeType: 'SIMPLE',
    faultable: false,
    execute: () =>
      answer(scope, streamId, () => {
        const info = scope.engine.prepare(prepare.query, scope.context(prepare.keyspace));
        scope.prepared.remember(info.id, prepare.query);
        return preparedMessage(scope.version, info);
      }),
  };
}

// native_protocol_v5.spec §4.1.6 EXECUTE: <id>[<result_metadata_id>]<query_parameters>
function planExecute(
  body: Buffer,
  streamId: number,
  scope: RequestScope,
): PlannedRequest | ImmediateAnswer {
  const execute = decodeExecute(body, scope.version);
  // The id is a view into the socket chunk; the engine and the error frame may outlive it.
  const id = Buffer.from(execute.id);
  const query = scope.prepared.query(id);
  if (query === undefined) return { kind: 'answer', frame: unpreparedFrame(scope, streamId, id) };
  const { parameters } = execute;
  return {
    kind: 'plan',
    queries: [query],
    consistency: parameters.consistency,
    writeType: 'SIMPLE',
    faultable: true,
    execute: () =>
      answer(scope, streamId, () => {
        notePrepared(scope, [{ id, values: parameters.values ?? [], names: parameters.names }]);
        const result = scope.engine.executePrepared(
          id,
          statementOptions(parameters),
          scope.context(),
        );
        // spec v5 §4.1.6: a <result_metadata_id> that is not the statement's current one gets the
        // full metadata back with Metadata_changed and the new id, whatever Skip_metadata says.
        let newMetadataId: Buffer | undefined;
        if (execute.resultMetadataId !== undefined && result.kind === 'rows') {
          const current = scope.engine.preparedInfo(id)?.resultMetadataId;
          if (current !== undefined && !current.equals(execute.resultMetadataId)) {
            newMetadataId = current;
          }
        }
        const skip = parameters.skipMetadata === true && newMetadataId === undefined;
        return toResultMessage(scope, result, skip, newMetadataId);
      }),
  };
}

const BATCH_WRITE_TYPES: Readonly<Record<number, FaultWriteType>> = {
  [BatchType.LOGGED]: 'BATCH',
  [BatchType.UNLOGGED]: 'UNLOGGED_BATCH',
  [BatchType.COUNTER]: 'COUNTER',
};

// native_protocol_v4.spec §4.1.7 BATCH: <type><n><query_1>...<query_n><consistency><flags>...
function planBatch(
  body: Buffer,
  streamId: number,
  scope: RequestScope,
): PlannedRequest | ImmediateAnswer {
  const batch: DecodedBatch = decodeBatch(body, scope.version);
  const queries: string[] = [];
  const children: BatchChild[] = [];
  for (const statement of batch.statements) {
    const names = statement.names === undefined ? {} : { names: statement.names };
    if (statement.kind === 'query') {
      queries.push(statement.query);
      children.push({
        kind: 'query',
        query: statement.query,
        values: owned(statement.values),
        ...names,
      });
      continue;
    }
    const id = Buffer.from(statement.id);
    const query = scope.prepared.query(id);
    // Cassandra's BatchMessage.execute looks every id up first, answering UNPREPARED for the
    // first one it does not know.
    if (query === undefined) return { kind: 'answer', frame: unpreparedFrame(scope, streamId, id) };
    queries.push(query);
    children.push({ kind: 'prepared', id, values: owned(statement.values), ...names });
  }
  const options: StatementOptions = { consistency: batch.consistency, values: [] };
  if (batch.serialConsistency !== undefined) options.serialConsistency = batch.serialConsistency;
  if (batch.defaultTimestamp !== undefined) options.timestamp = batch.defaultTimestamp;
  if (batch.keyspace !== undefined) options.keyspace = batch.keyspace;
  return {
    kind: 'plan',
    queries,
    consistency: batch.consistency,
    writeType: BATCH_WRITE_TYPES[batch.type] ?? 'BATCH',
    faultable: true,
    execute: () =>
      answer(scope, streamId, () => {
        // A child given as text has no known partition: the batch is not counted.
        if (children.every((c) => c.kind === 'prepared')) notePrepared(scope, children);
        const result = scope.engine.batch(batch.type, children, options, scope.context());
        return toResultMessage(scope, result, false, undefined);
      }),
  };
}

/**
 * Tells the scope the partition that prepared statements `statements` all write or read, if they
 * have one: every statement's partition key bound by markers (its pk indexes), one keyspace and
 * one serialized key between them. Drivers compute the same routing key.
 */
function notePrepared(
  scope: RequestScope,
  statements: readonly {
    id: Buffer;
    values: readonly BoundValue[];
    names?: readonly string[] | undefined;
  }[],
): void {
  if (scope.notePartition === undefined || statements.length === 0) return;
  let keyspace: string | undefined;
  let key: Buffer | undefined;
  for (const s of statements) {
    const info = scope.engine.preparedInfo(s.id);
    if (info === undefined || info.pkIndexes.length === 0) return;
    const parts: Buffer[] = [];
    for (const index of info.pkIndexes) {
      let value: BoundValue | undefined;
      if (s.names === undefined) value = s.values[index];
      else {
        const name = info.variables[index]?.name;
        const j = name === undefined ? -1 : s.names.indexOf(name);
        value = j < 0 ? undefined : s.values[j];
      }
      if (!Buffer.isBuffer(value)) return;
      parts.push(value);
    }
    const ks = info.variables[info.pkIndexes[0] ?? 0]?.keyspace;
    if (ks === undefined || (keyspace !== undefined && ks !== keyspace)) return;
    let serialized: Buffer;
    try {
      serialized = serializePartitionKey(parts);
    } catch {
      return;
    }
    if (key !== undefined && !key.equals(serialized)) return;
    keyspace = ks;
    key = serialized;
  }
  if (keyspace !== undefined && key !== undefined) scope.notePartition(keyspace, key);
}

/**
 * Private copies of bound values: the decoder hands out views into the socket's chunk, and the
 * store keeps values for the life of the simulator — a 100-byte value must not pin a 64 KiB chunk.
 */
function owned<T>(values: readonly T[]): T[] {
  return values.map((v) => (Buffer.isBuffer(v) ? (Buffer.from(v) as T) : v));
}

/** <query_parameters> as the engine takes them. */
export function statementOptions(parameters: DecodedQueryParameters): StatementOptions {
  const options: StatementOptions = {
    consistency: parameters.consistency,
    values: owned(parameters.values ?? []),
  };
  if (parameters.names !== undefined) options.names = parameters.names;
  if (parameters.pageSize !== undefined) options.pageSize = parameters.pageSize;
  if (parameters.pagingState !== undefined && parameters.pagingState !== null) {
    options.pagingState = parameters.pagingState;
  }
  if (parameters.serialConsistency !== undefined) {
    options.serialConsistency = parameters.serialConsistency;
  }
  if (parameters.defaultTimestamp !== undefined) options.timestamp = parameters.defaultTimestamp;
  if (parameters.keyspace !== undefined) options.keyspace = parameters.keyspace;
  return options;
}

/** Runs `work`; engine errors become ERROR frames, anything else SERVER_ERROR. */
function answer(scope: RequestScope, streamId: number, work: () => ResultMessage): Buffer {
  const version = scope.version;
  let result: ResultMessage;
  try {
    result = work();
  } catch (error) {
    if (error instanceof CqlRequestError) return errorFrame(version, streamId, error.error);
    return serverError(scope, streamId, error);
  }
  try {
    return resultFrame(version, streamId, result);
  } catch (error) {
    // The engine returned something the codec refuses (wrong cell count, bad type): a bug there,
    // reported to the client the way Cassandra reports its own bugs.
    return serverError(scope, streamId, error);
  }
}

function serverError(scope: RequestScope, streamId: number, error: unknown): Buffer {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  scope.log(`engine failure answered as SERVER_ERROR: ${text}`);
  const message: CqlErrorMessage = { code: ErrorCode.SERVER_ERROR, message: text };
  return errorFrame(scope.version, streamId, message);
}

function unpreparedFrame(scope: RequestScope, streamId: number, id: Buffer): Buffer {
  // Cassandra's QueryProcessor text, so logs read the same as against a real node.
  const message =
    `Prepared query with ID ${id.toString('hex')} not found (either the query was not prepared ` +
    'on this host (maybe the host has been restarted?) or you have prepared too many queries ' +
    'and it has been evicted from the internal cache)';
  return errorFrame(scope.version, streamId, { code: ErrorCode.UNPREPARED, message, id });
}

function toResultMessage(
  scope: RequestScope,
  result: EngineResult,
  skipMetadata: boolean,
  newMetadataId: Buffer | undefined,
): ResultMessage {
  switch (result.kind) {
    case 'void':
      return { kind: ResultKind.VOID };
    case 'rows': {
      const metadata: RowsMetadata = { columnCount: result.columns.length };
      // spec v4 §4.1.4 Skip_metadata: the driver decodes with the metadata it got at PREPARE.
      if (!skipMetadata) metadata.columns = result.columns;
      if (newMetadataId !== undefined) metadata.newMetadataId = newMetadataId;
      if (result.pagingState !== undefined) metadata.pagingState = result.pagingState;
      return { kind: ResultKind.ROWS, metadata, rows: result.rows };
    }
    case 'set_keyspace':
      scope.setKeyspace(result.keyspace);
      return { kind: ResultKind.SET_KEYSPACE, keyspace: result.keyspace };
    case 'schema_change':
      return { kind: ResultKind.SCHEMA_CHANGE, change: result.change };
  }
}

// native_protocol_v5.spec §4.2.5.4 Prepared: <id>[<result_metadata_id>]<metadata><result_metadata>
function preparedMessage(version: number, info: PreparedStatementInfo): ResultMessage {
  const resultMetadata: RowsMetadata =
    info.resultColumns.length === 0
      ? // Statements without rows: No_metadata and no columns, as Cassandra sends them.
        { columnCount: 0 }
      : { columnCount: info.resultColumns.length, columns: info.resultColumns };
  const message: ResultMessage = {
    kind: ResultKind.PREPARED,
    id: info.id,
    metadata: {
      columns: info.variables,
      pkIndexes: hasPkIndexes(version) ? info.pkIndexes : [],
    },
    resultMetadata,
  };
  if (hasResultMetadataId(version)) message.resultMetadataId = info.resultMetadataId;
  return message;
}
