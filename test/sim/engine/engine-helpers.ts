// Shared helpers for the engine tests: a three-node cluster context, statement shortcuts, and
// small value codecs for building bind values and reading cells.

import { Consistency } from '../../../src/protocol/constants.js';
import type {
  BoundValue,
  Engine,
  EngineResult,
  ExecutionContext,
  NodeIdentity,
  StatementOptions,
} from '../../../sim/engine/contract.js';
import { CqlRequestError } from '../../../sim/engine/contract.js';

export const NODES: readonly NodeIdentity[] = [
  {
    hostId: 'a2e24181-d732-402a-ab06-894a8b2f6094',
    address: '127.0.0.1',
    port: 9042,
    dataCenter: 'dc1',
    rack: 'rack1',
    token: '-9223372036854775808',
  },
  {
    hostId: 'ce00ba58-a377-4022-ba09-00394ee66cfb',
    address: '127.0.0.2',
    port: 9042,
    dataCenter: 'dc1',
    rack: 'rack1',
    token: '-3074457345618258603',
  },
  {
    hostId: '9e339fe3-2bf2-45ce-a660-76951f39a8e8',
    address: '127.0.0.3',
    port: 9042,
    dataCenter: 'dc1',
    rack: 'rack1',
    token: '3074457345618258602',
  },
];

export function contextFor(keyspace?: string, node = 0, protocolVersion = 4): ExecutionContext {
  const self = NODES[node] ?? NODES[0]!;
  return {
    node: self,
    peers: () => NODES.filter((n) => n !== self),
    keyspace,
    protocolVersion,
  };
}

export const QUORUM = Consistency.LOCAL_QUORUM;

export function opts(
  values: readonly BoundValue[] = [],
  extra: Partial<StatementOptions> = {},
): StatementOptions {
  return { consistency: QUORUM, values, ...extra };
}

/** Runs a query at LOCAL_QUORUM; `ks` is the connection keyspace. */
export function q(
  engine: Engine,
  query: string,
  values: readonly BoundValue[] = [],
  ks?: string,
  extra: Partial<StatementOptions> = {},
): EngineResult {
  return engine.execute(query, opts(values, extra), contextFor(ks));
}

export function rowsOf(result: EngineResult): (Buffer | null)[][] {
  if (result.kind !== 'rows') throw new Error(`expected rows, got ${result.kind}`);
  return result.rows;
}

export function columnNames(result: EngineResult): string[] {
  if (result.kind !== 'rows') throw new Error(`expected rows, got ${result.kind}`);
  return result.columns.map((c) => c.name);
}

/** The CqlRequestError a statement throws (fails the test if it does not throw one). */
export function errorOf(fn: () => unknown): CqlRequestError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CqlRequestError) return e;
    throw e;
  }
  throw new Error('expected a CqlRequestError');
}

export const int = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
};
export const bigint = (n: bigint | number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n), 0);
  return b;
};
export const text = (s: string): Buffer => Buffer.from(s, 'utf8');
export const readInt = (b: Buffer | null | undefined): number | null =>
  b === null || b === undefined ? null : b.readInt32BE(0);
export const readBigint = (b: Buffer | null | undefined): bigint | null =>
  b === null || b === undefined ? null : b.readBigInt64BE(0);
export const readText = (b: Buffer | null | undefined): string | null =>
  b === null || b === undefined ? null : b.toString('utf8');
