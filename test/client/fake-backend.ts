// A Backend for client-side tests: no cluster, canned answers. Every request a session receives is
// recorded (a copy of the frame as it arrived, and its body decompressed), and answered on the next
// turn: SELECTs with one row (`k` = 'fake-row', or 64 KiB of 'a' when the query says BIG; N such
// rows for BIG xN),
// system_schema reads with no rows, PREPARE with an id of its own, everything else with RESULT
// Void; a query containing FAIL gets an INVALID error.
// Sessions can be made congested, or told to hold their answers until released.

import { createHash } from 'node:crypto';
import { bodyCompressor, type BodyCompressionName } from '../../src/protocol/compression.js';
import {
  DataType,
  ErrorCode,
  HEADER_LENGTH,
  HeaderFlag,
  Opcode,
  ResultKind,
  hasResultMetadataId,
} from '../../src/protocol/constants.js';
import { decodeBatch } from '../../src/protocol/messages/batch.js';
import { nativeType } from '../../src/protocol/messages/column-type.js';
import { errorFrame } from '../../src/protocol/messages/error.js';
import { decodeExecute } from '../../src/protocol/messages/execute.js';
import { readBodyExtras } from '../../src/protocol/messages/frame-extras.js';
import { decodePrepare } from '../../src/protocol/messages/prepare.js';
import { decodeQuery } from '../../src/protocol/messages/query.js';
import { type ResultMessage, resultFrame, rowsFrame } from '../../src/protocol/messages/result.js';
import type { SchemaChange } from '../../src/protocol/messages/schema-change.js';
import { CqlReader } from '../../src/protocol/reader.js';
import { encodeText } from '../../src/protocol/values.js';
import {
  type Backend,
  type BackendSession,
  type ClusterInfo,
  CqlSessionError,
  type ForwardedRequest,
  type SessionCredentials,
} from '../../src/upstream/contract.js';

export const FAKE_DC = 'dc-fake';
export const FAKE_CQL_VERSION = '3.4.5';
export const FAKE_RELEASE_VERSION = '4.0.11';
export const FAKE_PARTITIONER = 'org.apache.cassandra.dht.Murmur3Partitioner';
/** The cell size of the answer to a SELECT containing BIG. */
export const BIG_CELL_LENGTH = 64 * 1024;
export const MISSING_KEYSPACE_MESSAGE = "Keyspace 'missing' does not exist";
/** The password the fake cluster accepts from any user (pass-through authentication). */
export const FAKE_CLUSTER_PASSWORD = 'cluster-password';

export interface FakeBackendOptions {
  clientVersions?: readonly number[];
  productType?: string;
  dseVersion?: string;
}

export interface ReceivedRequest {
  session: FakeSession;
  /** A copy of the frame as the session got it. */
  frame: Buffer;
  opcode: number;
  streamId: number;
  flags: number;
  /** The body, decompressed when the frame was compressed. */
  body: Buffer;
  /** The message after the body extras (custom payload). */
  message: Buffer;
  /** The request's own idempotency callback, to call as the upstream side would. */
  idempotent: () => boolean;
}

export class FakeBackend implements Backend {
  readonly info: ClusterInfo;
  readonly sessions = new Map<string, FakeSession>();
  readonly sessionCalls: {
    version: number;
    keyspace: string | undefined;
    compression: BodyCompressionName | undefined;
    /** The client's user, for pass-through sessions. */
    username?: string;
  }[] = [];
  readonly received: ReceivedRequest[] = [];
  private readonly schemaListeners = new Set<(change: SchemaChange) => void>();
  /** New sessions start congested when set. */
  congestNewSessions = false;
  /** When set, every session() call rejects with it. */
  sessionFailure: Error | undefined;

  constructor(options: FakeBackendOptions = {}) {
    const clientVersions = options.clientVersions ?? [4, 3];
    this.info = {
      releaseVersion: FAKE_RELEASE_VERSION,
      cqlVersion: FAKE_CQL_VERSION,
      partitioner: FAKE_PARTITIONER,
      dataCenter: FAKE_DC,
      dseVersion: options.dseVersion,
      productType: options.productType,
      protocolVersion: Math.max(...clientVersions),
      clientVersions,
    };
  }

  session(
    version: number,
    keyspace: string | undefined,
    compression: BodyCompressionName | undefined,
    credentials?: SessionCredentials,
  ): Promise<BackendSession> {
    this.sessionCalls.push({
      version,
      keyspace,
      compression,
      ...(credentials === undefined ? {} : { username: credentials.username }),
    });
    if (this.sessionFailure !== undefined) return Promise.reject(this.sessionFailure);
    // Pass-through logins: the fake cluster knows one password for every user.
    if (credentials !== undefined && credentials.password !== FAKE_CLUSTER_PASSWORD) {
      return Promise.reject(
        new CqlSessionError(
          ErrorCode.AUTHENTICATION_ERROR,
          `Provided username ${credentials.username} and/or password are incorrect`,
        ),
      );
    }
    if (keyspace === 'missing') {
      return Promise.reject(new CqlSessionError(ErrorCode.INVALID, MISSING_KEYSPACE_MESSAGE));
    }
    if (keyspace === 'unreachable') return Promise.reject(new Error('connection refused'));
    const key = `${version}/${keyspace ?? ''}/${compression ?? ''}/${credentials?.username ?? ''}`;
    let session = this.sessions.get(key);
    if (session === undefined) {
      session = new FakeSession(this, version, keyspace, compression);
      session.congested = this.congestNewSessions;
      this.sessions.set(key, session);
    }
    return Promise.resolve(session);
  }

  onSchemaChange(listener: (change: SchemaChange) => void): () => void {
    this.schemaListeners.add(listener);
    return () => this.schemaListeners.delete(listener);
  }

  get schemaListenerCount(): number {
    return this.schemaListeners.size;
  }

  emitSchemaChange(change: SchemaChange): void {
    for (const listener of this.schemaListeners) listener(change);
  }

  /** Request queries (QUERY strings) received, in order. */
  queries(): string[] {
    return this.received
      .filter((r) => r.opcode === Opcode.QUERY)
      .map((r) => decodeQuery(r.message, r.session.version).query);
  }
}

const VARCHAR = nativeType(DataType.VARCHAR);

function messageOf(body: Buffer, flags: number, version: number): Buffer {
  const reader = new CqlReader(body);
  readBodyExtras(reader, flags, false, version);
  return body.subarray(reader.pos);
}

export class FakeSession implements BackendSession {
  readonly version: number;
  readonly keyspace: string | undefined;
  readonly compression: BodyCompressionName | undefined;
  congested = false;
  /** When set, answers wait in `held` until release(). */
  holding = false;
  readonly held: ForwardedRequest[] = [];
  private readonly backend: FakeBackend;
  private uncongestedListeners: (() => void)[] = [];
  private readonly prepared = new Map<string, string>();

  constructor(
    backend: FakeBackend,
    version: number,
    keyspace: string | undefined,
    compression: BodyCompressionName | undefined,
  ) {
    this.backend = backend;
    this.version = version;
    this.keyspace = keyspace;
    this.compression = compression;
  }

  send(request: ForwardedRequest): void {
    const frame = Buffer.from(request.frame);
    const flags = frame.readUInt8(1);
    let body: Buffer = frame.subarray(HEADER_LENGTH);
    if ((flags & HeaderFlag.COMPRESSION) !== 0) {
      if (this.compression === undefined) throw new Error('compressed frame on a plain session');
      body = bodyCompressor(this.compression).decompress(body, 1 << 24);
    }
    const message = messageOf(body, flags, this.version);
    this.backend.received.push({
      session: this,
      frame,
      opcode: frame.readUInt8(4),
      streamId: frame.readInt16BE(2),
      flags,
      body,
      message,
      idempotent: request.idempotent,
    });
    if (this.holding) {
      this.held.push(request);
      return;
    }
    setImmediate(() => request.onResponse(this.answer(frame, message)));
  }

  onceUncongested(listener: () => void): void {
    if (!this.congested) {
      listener();
      return;
    }
    this.uncongestedListeners.push(listener);
  }

  setCongested(congested: boolean): void {
    this.congested = congested;
    if (congested) return;
    const listeners = this.uncongestedListeners;
    this.uncongestedListeners = [];
    for (const listener of listeners) listener();
  }

  /** Answers every held request, in order. */
  release(): void {
    this.holding = false;
    this.releaseSome(this.held.length);
  }

  /** Answers the first `count` held requests, in order; later ones keep being held. */
  releaseSome(count: number): void {
    for (const request of this.held.splice(0, count)) {
      const frame = Buffer.from(request.frame);
      const flags = frame.readUInt8(1);
      let body: Buffer = frame.subarray(HEADER_LENGTH);
      if ((flags & HeaderFlag.COMPRESSION) !== 0 && this.compression !== undefined) {
        body = bodyCompressor(this.compression).decompress(body, 1 << 24);
      }
      request.onResponse(this.answer(frame, messageOf(body, flags, this.version)));
    }
  }

  private answer(frame: Buffer, body: Buffer): Buffer {
    const streamId = frame.readInt16BE(2);
    const version = this.version;
    const opcode = frame.readUInt8(4);
    let response: Buffer;
    switch (opcode) {
      case Opcode.QUERY: {
        const { query } = decodeQuery(body, version);
        response = this.answerQuery(streamId, query);
        break;
      }
      case Opcode.PREPARE: {
        const { query } = decodePrepare(body, version);
        const id = createHash('md5').update(`fake:${query}`).digest();
        this.prepared.set(id.toString('hex'), query);
        const select = /^\s*select/i.test(query);
        const result: ResultMessage = {
          kind: ResultKind.PREPARED,
          id,
          metadata: { columns: [], pkIndexes: [] },
          resultMetadata: select
            ? {
                columnCount: 1,
                columns: [{ keyspace: 'ks', table: 't', name: 'k', type: VARCHAR }],
              }
            : { columnCount: 0 },
        };
        if (hasResultMetadataId(version)) result.resultMetadataId = id.subarray(0, 8);
        response = resultFrame(version, streamId, result);
        break;
      }
      case Opcode.EXECUTE: {
        const { id } = decodeExecute(body, version);
        const query = this.prepared.get(id.toString('hex'));
        response =
          query === undefined
            ? errorFrame(version, streamId, { code: ErrorCode.UNPREPARED, message: 'unknown', id })
            : this.answerQuery(streamId, query);
        break;
      }
      case Opcode.BATCH:
        decodeBatch(body, version);
        response = resultFrame(version, streamId, { kind: ResultKind.VOID });
        break;
      default:
        response = errorFrame(version, streamId, {
          code: ErrorCode.PROTOCOL_ERROR,
          message: `fake backend got opcode ${opcode}`,
        });
    }
    return this.compressed(response);
  }

  private answerQuery(streamId: number, query: string): Buffer {
    const version = this.version;
    if (query.includes('FAIL')) {
      return errorFrame(version, streamId, { code: ErrorCode.INVALID, message: 'fake failure' });
    }
    if (/^\s*select/i.test(query)) {
      if (query.includes('BIG')) {
        // "BIG x16" makes 16 rows of the big cell.
        const times = Number(/BIG x(\d+)/.exec(query)?.[1] ?? 1);
        return rowsFrame(version, streamId, {
          columns: [{ keyspace: 'ks', table: 't', name: 'k', type: VARCHAR }],
          rows: Array.from({ length: times }, () => [Buffer.alloc(BIG_CELL_LENGTH, 0x61)]),
        });
      }
      const schema = /\bfrom\s+system_(virtual_)?schema\./i.test(query);
      return rowsFrame(version, streamId, {
        columns: [{ keyspace: 'ks', table: 't', name: 'k', type: VARCHAR }],
        rows: schema ? [] : [[encodeText('fake-row')]],
      });
    }
    return resultFrame(version, streamId, { kind: ResultKind.VOID });
  }

  /** As a node would: bodies compressed with the session's compression (v3/v4 only). */
  private compressed(frame: Buffer): Buffer {
    if (this.compression === undefined || this.version === 5) return frame;
    const body = bodyCompressor(this.compression).compress(frame.subarray(HEADER_LENGTH));
    const out = Buffer.alloc(HEADER_LENGTH + body.length);
    frame.copy(out, 0, 0, HEADER_LENGTH);
    out.writeUInt8(frame.readUInt8(1) | HeaderFlag.COMPRESSION, 1);
    out.writeInt32BE(body.length, 5);
    body.copy(out, HEADER_LENGTH);
    return out;
  }
}
