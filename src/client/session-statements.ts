// QUERY, PREPARE, EXECUTE and BATCH of one client connection (client-session.ts): what the
// proxy answers itself (USE, system tables, statements it prepared), what it forwards, the
// consistency rewrite and the lazy idempotency checks.

import { createHash } from 'node:crypto';
import { errorMessage } from '../errors.js';
import {
  BatchType,
  ErrorCode,
  Opcode,
  ResultKind,
  consistencyName,
  hasResultMetadataId,
} from '../protocol/constants.js';
import { classifyQuery } from '../protocol/cql-classifier.js';
import { decodeBatch, decodeBatchHead } from '../protocol/messages/batch.js';
import { decodeExecute, decodeExecuteHead } from '../protocol/messages/execute.js';
import { decodePrepare } from '../protocol/messages/prepare.js';
import { decodeQuery, decodeQueryHead } from '../protocol/messages/query.js';
import {
  type ColumnSpec,
  type PreparedMetadata,
  type PreparedResult,
  resultFrame,
  rowsFrame,
} from '../protocol/messages/result.js';
import { rewriteConsistency } from '../protocol/messages/rewrite-consistency.js';
import { CqlReader } from '../protocol/reader.js';
import { BoundedLru } from './bounded-lru.js';
import type { PreparedInfo } from './prepared-registry.js';
import { type FrameMessage, frameMessage } from '../protocol/frame-body.js';
import { recompressedFrame } from './request-body.js';
import {
  type BoundValues,
  type SystemStatement,
  type SystemTableContext,
  answerSystemStatement,
  prepareSystemSelect,
} from './system-tables.js';
import {
  type LocalStatement,
  GRAPH_SOURCE,
  LOCAL_STATEMENTS_CAPACITY,
  ALWAYS,
  NEVER,
  isLongRunning,
  plainAddress,
} from './session-shared.js';
import type { ClientSession } from './client-session.js';
import { forward, useKeyspace } from './session-forwarding.js';

export function frameMessageOf(s: ClientSession, frame: Buffer): FrameMessage {
  return frameMessage(frame, s.version, false, s.decompress);
}

export function query(s: ClientSession, frame: Buffer, streamId: number): void {
  const message = frameMessageOf(s, frame);
  const head = decodeQueryHead(message.body.subarray(message.start), s.version);
  const cls = classifyQuery(head.query, s.keyspace);
  switch (cls.kind) {
    case 'use':
      useKeyspace(s, streamId, cls.keyspace);
      return;
    case 'system':
      answerSystem(
        s,
        streamId,
        { table: cls.table, selectors: cls.selectors, query: head.query },
        () => decodeQuery(message.body.subarray(message.start), s.version).parameters,
        false,
      );
      return;
    case 'invalid':
      s.error(streamId, ErrorCode.INVALID, cls.message);
      return;
    case 'forward': {
      if (cls.statement === 'use') {
        refuseUse(s, streamId);
        return;
      }
      const out =
        cls.statement !== 'select' && rewrites(s, head.consistency)
          ? rewrite(s, frame, message, head.consistencyOffset, head.consistency)
          : frame;
      // DSE Graph queries are not CQL: the lexer cannot judge them, the flag decides
      // (docs/cql-proxy-compat.md §4.7).
      const idempotent =
        message.extras.customPayload?.has(GRAPH_SOURCE) === true
          ? s.config.idempotentGraph === true
          : cls.idempotent;
      forward(s, {
        frame: out,
        idempotent: idempotent ? ALWAYS : NEVER,
        longRunning: isLongRunning(cls, head.query),
      });
    }
  }
}

/**
 * A USE the lexer could not read (`USE a b`): forwarding it would move a pooled connection
 * shared with other clients to another keyspace, so it is refused here.
 */
export function refuseUse(s: ClientSession, streamId: number): void {
  s.error(streamId, ErrorCode.SYNTAX_ERROR, 'Invalid USE statement: expected USE <keyspace>');
}

export function prepare(s: ClientSession, frame: Buffer, streamId: number): void {
  const message = frameMessageOf(s, frame);
  const prepare = decodePrepare(message.body.subarray(message.start), s.version);
  const keyspace = prepare.keyspace ?? s.keyspace;
  const cls = classifyQuery(prepare.query, keyspace);
  switch (cls.kind) {
    case 'use':
      prepareLocally(s, streamId, prepare.query, keyspace, cls, [], {
        columns: [],
        pkIndexes: [],
      });
      return;
    case 'system': {
      const system = { table: cls.table, selectors: cls.selectors, query: prepare.query };
      const answer = prepareSystemSelect(system, tableContext(s));
      if (answer.kind === 'invalid') {
        s.error(streamId, ErrorCode.INVALID, answer.message);
        return;
      }
      const statement: LocalStatement = { kind: 'system', statement: system };
      // Cassandra sends pk_indexes from v4 on.
      const pkIndexes = s.version >= 4 ? answer.pkIndexes : [];
      prepareLocally(s, streamId, prepare.query, keyspace, statement, answer.columns, {
        columns: answer.variables,
        pkIndexes,
      });
      return;
    }
    case 'invalid':
      s.error(streamId, ErrorCode.INVALID, cls.message);
      return;
    case 'forward': {
      if (cls.statement === 'use') {
        refuseUse(s, streamId);
        return;
      }
      const info: PreparedInfo = {
        idempotent: cls.idempotent,
        select: cls.statement === 'select',
        longRunning: isLongRunning(cls, prepare.query),
      };
      // Preparing twice is harmless: a PREPARE may always be retried.
      forward(s, { frame, idempotent: ALWAYS }, (response) => notePrepared(s, response, info));
    }
  }
}

/**
 * Answers PREPARE of a system query or USE with an id of the proxy's own, MD5(query + keyspace)
 * as cql-proxy: the same statement gets the same id on every connection, as from Cassandra.
 */
export function prepareLocally(
  s: ClientSession,
  streamId: number,
  query: string,
  keyspace: string | undefined,
  statement: LocalStatement,
  columns: ColumnSpec[],
  variables: PreparedMetadata,
): void {
  const id = createHash('md5')
    .update(query, 'utf8')
    .update(keyspace ?? '', 'utf8')
    .digest();
  s.localStatements ??= new BoundedLru(LOCAL_STATEMENTS_CAPACITY);
  s.localStatements.set(id.toString('hex'), statement);
  const result: PreparedResult = {
    kind: ResultKind.PREPARED,
    id,
    metadata: variables,
    // A USE has no result columns: Cassandra sends No_metadata with a count of 0.
    resultMetadata:
      statement.kind === 'use' ? { columnCount: 0 } : { columnCount: columns.length, columns },
  };
  if (hasResultMetadataId(s.version)) {
    result.resultMetadataId = createHash('md5')
      .update(columns.map((c) => `${c.name}:${JSON.stringify(c.type)}`).join(','))
      .digest();
  }
  s.write(resultFrame(s.version, streamId, result));
}

/** Remembers what a statement prepared by the cluster is, from the PREPARED result's id. */
export function notePrepared(s: ClientSession, response: Buffer, info: PreparedInfo): void {
  if (response.readUInt8(4) !== Opcode.RESULT) return;
  try {
    const message = frameMessage(response, s.version, true, s.decompress);
    const reader = new CqlReader(message.body, message.start);
    if (reader.readInt() !== ResultKind.PREPARED) return;
    s.prepared.remember(reader.readShortBytes(), info);
  } catch (err) {
    s.log.debug({ err: errorMessage(err) }, 'unreadable PREPARED result from the cluster');
  }
}

export function execute(s: ClientSession, frame: Buffer, streamId: number): void {
  let message: FrameMessage | undefined;
  if (s.localStatements !== undefined && s.localStatements.size > 0) {
    message = frameMessageOf(s, frame);
    const reader = new CqlReader(message.body, message.start);
    const id = reader.readShortBytes();
    const local = id.length === 16 ? s.localStatements.get(id.toString('hex')) : undefined;
    if (local !== undefined) {
      executeLocally(s, streamId, local, message);
      return;
    }
  }
  // Only once a schema change or TRUNCATE was prepared is the id read for it (no allocation).
  let longRunning = false;
  if (s.prepared.hasLongRunning) {
    message ??= frameMessageOf(s, frame);
    longRunning = s.prepared.isLongRunningAt(message.body, message.start);
  }
  let out = frame;
  if (s.rewriteEnabled) {
    message ??= frameMessageOf(s, frame);
    const head = decodeExecuteHead(message.body.subarray(message.start), s.version);
    // An id the proxy did not see prepared counts as a write: the rewrite errs on that side.
    if (rewrites(s, head.consistency) && s.prepared.lookup(head.id)?.select !== true) {
      out = rewrite(s, frame, message, head.consistencyOffset, head.consistency);
    }
  }
  forward(s, { frame: out, idempotent: () => executeIdempotent(s, out), longRunning });
}

export function executeLocally(
  s: ClientSession,
  streamId: number,
  statement: LocalStatement,
  message: FrameMessage,
): void {
  if (statement.kind === 'use') {
    useKeyspace(s, streamId, statement.keyspace);
  } else {
    const body = message.body.subarray(message.start);
    const bound = (): BoundValues => decodeExecute(body, s.version).parameters;
    answerSystem(s, streamId, statement.statement, bound, true);
  }
}

export function executeIdempotent(s: ClientSession, frame: Buffer): boolean {
  try {
    const message = frameMessageOf(s, frame);
    const id = new CqlReader(message.body, message.start).readShortBytes();
    return s.prepared.lookup(id)?.idempotent ?? false;
  } catch {
    return false;
  }
}

export function batch(s: ClientSession, frame: Buffer): void {
  let out = frame;
  if (s.rewriteEnabled) {
    const message = frameMessageOf(s, frame);
    const head = decodeBatchHead(message.body.subarray(message.start), s.version);
    // Every batch is a write (docs/cql-proxy-compat.md §4.9).
    if (rewrites(s, head.consistency)) {
      out = rewrite(s, frame, message, head.consistencyOffset, head.consistency);
    }
  }
  forward(s, { frame: out, idempotent: () => batchIdempotent(s, out) });
}

/**
 * A batch may be retried when each of its statements may (docs/cql-proxy-compat.md §4.7);
 * counters never.
 */
export function batchIdempotent(s: ClientSession, frame: Buffer): boolean {
  try {
    const message = frameMessageOf(s, frame);
    const batch = decodeBatch(message.body.subarray(message.start), s.version);
    if (batch.type === BatchType.COUNTER) return false;
    return batch.statements.every((statement) => {
      if (statement.kind === 'prepared') {
        return s.prepared.lookup(statement.id)?.idempotent === true;
      }
      const cls = classifyQuery(statement.query, s.keyspace);
      return cls.kind === 'forward' && cls.idempotent;
    });
  } catch {
    return false;
  }
}

export function rewrites(s: ClientSession, consistency: number): boolean {
  return s.rewriteEnabled && s.config.unsupportedWriteConsistencies.has(consistency);
}

/**
 * Replaces the request's consistency with the override. An uncompressed body is rewritten in
 * place (two bytes of the frame); a compressed one was decompressed to be read, so it is
 * rewritten there and compressed again into a fresh frame.
 */
export function rewrite(
  s: ClientSession,
  frame: Buffer,
  message: FrameMessage,
  consistencyOffset: number,
  previous: number,
): Buffer {
  const level = s.config.writeConsistencyOverride;
  rewriteConsistency(message.body, message.start + consistencyOffset, level);
  s.log.debug(
    { from: consistencyName(previous), to: consistencyName(level) },
    'write consistency rewritten',
  );
  if (!message.copied || s.compressor === undefined) return frame;
  return recompressedFrame(frame, message.body, s.compressor);
}

export function answerSystem(
  s: ClientSession,
  streamId: number,
  statement: SystemStatement,
  bound: () => BoundValues,
  prepared: boolean,
): void {
  const answer = answerSystemStatement(statement, tableContext(s), bound, prepared);
  if (answer.kind === 'invalid') {
    s.error(streamId, ErrorCode.INVALID, answer.message);
    return;
  }
  s.write(rowsFrame(s.version, streamId, { columns: answer.columns, rows: answer.rows }));
}

export function tableContext(s: ClientSession): SystemTableContext {
  // Read off the socket when a system table is asked for, not kept per connection: the socket
  // is open while its requests are answered.
  const socket = s.framed.socket;
  const connectionPort = socket.localPort;
  return {
    info: s.backend.info,
    topology: s.topology,
    connectionAddress: plainAddress(socket.localAddress),
    ...(connectionPort === undefined ? {} : { connectionPort }),
    version: s.version,
  };
}
