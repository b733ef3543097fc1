// What the parts of a client connection share (client-session.ts and its session-*.ts modules):
// the pause reasons, the socket callbacks, small helpers.

import { type BodyCompressionName } from '../protocol/compression.js';
import { ErrorCode } from '../protocol/constants.js';
import type { ForwardClass } from '../protocol/cql-classifier.js';
import { CqlScanner } from '../protocol/cql-scanner.js';
import { type FramedSocketOptions } from '../transport/framed-socket.js';
import { PauseReason } from './limit-stats.js';
import { type SystemStatement } from './system-tables.js';
import type { ClientSession } from './client-session.js';

/** A statement prepared by the proxy itself: EXECUTE of its id is answered here too. */
export type LocalStatement =
  { kind: 'system'; statement: SystemStatement } | { kind: 'use'; keyspace: string };

// Reasons to stop reading the client socket; reading resumes when none is left. The HOLD reasons
// also hold frames already read (the rest of the chunk) until they clear, so each limit is exact.
export const PAUSE_BLOCKED = 1;
export const PAUSE_CONGESTED = 2;
export const PAUSE_SHUTDOWN = 4;
export const PAUSE_REQUESTS = 8;
export const PAUSE_REQUEST_BYTES = 16;
export const PAUSE_OUTPUT = 32;
export const PAUSE_MEMORY = 64;
export const HOLD =
  PAUSE_BLOCKED | PAUSE_REQUESTS | PAUSE_REQUEST_BYTES | PAUSE_OUTPUT | PAUSE_MEMORY;
/** The holds updateHolds() recomputes from the connection's counters. */
export const COUNTED_HOLDS = PAUSE_REQUESTS | PAUSE_REQUEST_BYTES | PAUSE_OUTPUT;
export const PAUSE_REASON_BITS: readonly [number, PauseReason][] = [
  [PAUSE_REQUESTS, PauseReason.REQUESTS],
  [PAUSE_REQUEST_BYTES, PauseReason.REQUEST_BYTES],
  [PAUSE_OUTPUT, PauseReason.OUTPUT],
  [PAUSE_MEMORY, PauseReason.MEMORY],
];

/** The custom payload key that marks a DSE Graph query. */
export const GRAPH_SOURCE = 'graph-source';

/** The weight of the newest answer in the running estimate of this client's answer sizes. */
export const ESTIMATE_WEIGHT = 1 / 8;
/** Locally prepared statements kept per connection (drivers prepare a handful at most). */
export const LOCAL_STATEMENTS_CAPACITY = 256;
/** How long a connection being closed for a protocol error may take to hang up itself. */
export const CLOSE_GRACE_MS = 5_000;

export const ALWAYS = (): boolean => true;
export const NEVER = (): boolean => false;

/** For the first word of a statement the lexer calls 'other' (TRUNCATE). */
export const FIRST_WORD = new CqlScanner();

/**
 * A schema change (whatever the lexer calls DDL: CREATE/ALTER/DROP of anything) or TRUNCATE:
 * such a statement gets --schema-timeout rather than --request-timeout.
 */
export function isLongRunning(cls: ForwardClass, query: string): boolean {
  if (cls.statement === 'ddl') return true;
  if (cls.statement !== 'other') return false;
  const s = FIRST_WORD.reset(query);
  s.next();
  return s.isWord('truncate');
}

/**
 * A client connection's FramedSocket callbacks as methods on one small object, instead of a
 * closure each per connection (thousands of idle clients: docs/design.md "Limits").
 */
export class SessionSocketEvents implements FramedSocketOptions {
  readonly incoming = 'request';
  private readonly session: ClientSession;
  readonly maxFrameLength: number;

  constructor(session: ClientSession, maxFrameLength: number) {
    this.session = session;
    this.maxFrameLength = maxFrameLength;
  }

  onFrame(frame: Buffer): void {
    this.session.onFrame(frame);
  }

  onError(err: Error): void {
    this.session.onConnectionError(err);
  }

  onClose(): void {
    this.session.onClosed();
  }

  onQueuedBytes(delta: number): void {
    this.session.onQueuedBytes(delta);
  }

  onWritten(): void {
    this.session.onOutputWritten();
  }
}

/** Error codes whose body ends after the message: the ones a session error may carry as is. */
export const SIMPLE_ERROR_CODES: ReadonlySet<number> = new Set([
  ErrorCode.SERVER_ERROR,
  ErrorCode.PROTOCOL_ERROR,
  ErrorCode.AUTHENTICATION_ERROR,
  ErrorCode.OVERLOADED,
  ErrorCode.IS_BOOTSTRAPPING,
  ErrorCode.TRUNCATE_ERROR,
  ErrorCode.CDC_WRITE_FAILURE,
  ErrorCode.SYNTAX_ERROR,
  ErrorCode.UNAUTHORIZED,
  ErrorCode.INVALID,
  ErrorCode.CONFIG_ERROR,
]);
export const KNOWN_ERROR_CODES: ReadonlySet<number> = new Set(Object.values(ErrorCode));

/** STARTUP's COMPRESSION value, if the proxy serves it with this framing. */
export function allowedCompression(
  requested: string,
  v5: boolean,
): BodyCompressionName | undefined {
  if (requested === 'lz4') return 'lz4';
  // v5 compresses segments, and only with LZ4 (spec v5 §2.2).
  if (requested === 'snappy' && !v5) return 'snappy';
  return undefined;
}

/** An IPv4 address on a dual-stack socket shows as ::ffff:a.b.c.d; drivers want a.b.c.d. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined || address === '') return '127.0.0.1';
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}
