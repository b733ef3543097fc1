// The contract between the simulated node's CQL server (sim/node/) and the storage engine
// (sim/engine/). The server owns the wire: frames, handshake, compression, segments, events.
// The engine owns the data: parsing CQL text, schema, storage, system tables, guardrails.
// Both sides import only this file from each other.

import type { ColumnSpec } from '../../src/protocol/messages/result.js';
import type { CqlErrorMessage } from '../../src/protocol/messages/error.js';
import type { SchemaChange } from '../../src/protocol/messages/schema-change.js';
import type { Unset } from '../../src/protocol/reader.js';

/** What a node says about itself in system.local / system.peers. */
export interface NodeIdentity {
  hostId: string;
  /** rpc_address / peer / broadcast_address: the node's own loopback address. */
  address: string;
  /** The CQL port. */
  port: number;
  dataCenter: string;
  rack: string;
  /** One Murmur3 token, as text: the first of `tokens` when the node has vnodes. */
  token: string;
  /** Every token the node owns (vnodes), as text; absent: `token` alone. */
  tokens?: readonly string[];
}

/**
 * The role a statement runs as (the connection's authenticated user), for the permission check
 * (permissions.ts). The simulator grants per keyspace: a role has every permission on the
 * keyspaces it may use, none elsewhere.
 */
export interface Role {
  readonly name: string;
  /** The keyspaces the role may read and write; undefined: every keyspace (a superuser). */
  readonly keyspaces: ReadonlySet<string> | undefined;
}

/** The node a statement runs on, and the cluster around it (for system.local/system.peers). */
export interface ExecutionContext {
  node: NodeIdentity;
  /** The other nodes of the cluster, stopped ones included (as in Cassandra), for system.peers. */
  peers: () => readonly NodeIdentity[];
  /** The connection's keyspace (USE), or undefined. */
  keyspace: string | undefined;
  /** The negotiated protocol version (for native_protocol_version and value encodings). */
  protocolVersion: number;
  /**
   * Who runs the statement. Absent: nothing is checked, as Cassandra with AllowAllAuthenticator
   * (no login) or for its own internal queries.
   */
  role?: Role;
}

export type BoundValue = Buffer | null | Unset;

export interface StatementOptions {
  consistency: number;
  serialConsistency?: number;
  /** Positional values, or values in the order of `names` when names are given. */
  values: readonly BoundValue[];
  names?: readonly string[];
  /** Rows per page; undefined or <= 0 means no paging. */
  pageSize?: number;
  /** The paging state the engine itself returned for the previous page. */
  pagingState?: Buffer;
  /** Client-supplied write timestamp (microseconds). */
  timestamp?: bigint;
  /** v5 per-query keyspace (flag 0x80); overrides the connection's. */
  keyspace?: string;
}

export type EngineResult =
  | { kind: 'void' }
  | { kind: 'rows'; columns: ColumnSpec[]; rows: (Buffer | null)[][]; pagingState?: Buffer }
  | { kind: 'set_keyspace'; keyspace: string }
  | { kind: 'schema_change'; change: SchemaChange };

export interface PreparedStatementInfo {
  /** MD5 of the query text and keyspace, as Cassandra computes prepared ids (16 bytes). */
  id: Buffer;
  /** Bind markers. */
  variables: ColumnSpec[];
  /** Indexes of the partition key columns among the bind markers (spec v4 §4.2.5.4). */
  pkIndexes: number[];
  /** The result columns (empty for statements without rows). */
  resultColumns: ColumnSpec[];
  /** Result metadata id for v5 (a hash of resultColumns). */
  resultMetadataId: Buffer;
}

export type BatchChild =
  | { kind: 'query'; query: string; values: readonly BoundValue[]; names?: readonly string[] }
  | { kind: 'prepared'; id: Buffer; values: readonly BoundValue[]; names?: readonly string[] };

/** A CQL error the server sends as an ERROR frame. */
export class CqlRequestError extends Error {
  readonly error: CqlErrorMessage;

  constructor(error: CqlErrorMessage) {
    super(error.message);
    this.name = 'CqlRequestError';
    this.error = error;
  }
}

export interface Engine {
  /** QUERY. Throws CqlRequestError (Syntax, Invalid, AlreadyExists, guardrail...). */
  execute(query: string, options: StatementOptions, context: ExecutionContext): EngineResult;
  /** PREPARE: parses and validates, remembers the statement by id. */
  prepare(query: string, context: ExecutionContext): PreparedStatementInfo;
  /** The prepared statement with that id, if the engine knows it. */
  preparedInfo(id: Buffer): PreparedStatementInfo | undefined;
  /** EXECUTE. Throws CqlRequestError with UNPREPARED for an unknown id. */
  executePrepared(id: Buffer, options: StatementOptions, context: ExecutionContext): EngineResult;
  /** BATCH: all children applied, or none if one fails validation. */
  batch(
    type: number,
    children: readonly BatchChild[],
    options: StatementOptions,
    context: ExecutionContext,
  ): EngineResult;
  /**
   * How long a schema change made on one node takes to reach the others (ms, 0 = at once);
   * until then each node reports its own schema_version and does not know the new tables.
   * Optional: an engine without it propagates at once.
   */
  schemaDelayMs?: number;
  /** A node stopped or started: a stopped node does not get schema changes until it is back. */
  setNodeUp?(hostId: string, up: boolean): void;
  /** Subscribes to schema changes (DDL), which the server turns into SCHEMA_CHANGE events. */
  onSchemaChange(listener: (change: SchemaChange) => void): () => void;
}
