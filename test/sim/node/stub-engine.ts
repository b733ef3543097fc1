// A tiny Engine for the node's wire tests: just enough CQL to exercise the server (system.local,
// system.peers, peers_v2 refused, CREATE KEYSPACE with its schema event, USE, a few canned
// statements), so the tests see the wire and not an engine's behaviour.

import { createHash } from 'node:crypto';
import { DataType, ErrorCode } from '../../../src/protocol/constants.js';
import { nativeType } from '../../../src/protocol/messages/column-type.js';
import type { ColumnSpec } from '../../../src/protocol/messages/result.js';
import type { SchemaChange } from '../../../src/protocol/messages/schema-change.js';
import { encodeInet, encodeInt, encodeText, encodeUuid } from '../../../src/protocol/values.js';
import { CqlRequestError } from '../../../sim/engine/contract.js';
import type {
  BatchChild,
  Engine,
  EngineResult,
  ExecutionContext,
  PreparedStatementInfo,
  StatementOptions,
} from '../../../sim/engine/contract.js';

const TEXT = nativeType(DataType.VARCHAR);
const INT = nativeType(DataType.INT);
const UUID = nativeType(DataType.UUID);
const INET = nativeType(DataType.INET);

function column(table: string, name: string, type: ColumnSpec['type']): ColumnSpec {
  return { keyspace: 'system', table, name, type };
}

const LOCAL_COLUMNS = [
  column('local', 'key', TEXT),
  column('local', 'host_id', UUID),
  column('local', 'rpc_address', INET),
  column('local', 'release_version', TEXT),
];
const PEERS_COLUMNS = [
  column('peers', 'peer', INET),
  column('peers', 'host_id', UUID),
  column('peers', 'rpc_address', INET),
];

/** Every call the engine received, for assertions. */
export interface StubCall {
  method: 'execute' | 'prepare' | 'executePrepared' | 'batch';
  query?: string;
  options?: StatementOptions;
  children?: readonly BatchChild[];
  context: ExecutionContext;
}

export interface StubEngine extends Engine {
  readonly calls: StubCall[];
}

function invalid(message: string): CqlRequestError {
  return new CqlRequestError({ code: ErrorCode.INVALID, message });
}

/**
 * Statements understood:
 *   SELECT ... FROM system.local | system.peers | system.peers_v2
 *   CREATE KEYSPACE <name> ...        → SCHEMA_CHANGE result and event
 *   USE <name>                        → SET_KEYSPACE
 *   SELECT keyspace                   → one row: the context keyspace (or null)
 *   SELECT big <n>                    → one text cell of n bytes
 *   SELECT echo                       → one row per bound value (ints), no values → 0 rows
 *   INSERT ...                        → VOID
 *   FAIL                              → Invalid "stub failure"
 * PREPARE remembers any statement; its variables are one int per `?`.
 */
export function createStubEngine(): StubEngine {
  const listeners = new Set<(change: SchemaChange) => void>();
  const prepared = new Map<string, { query: string; info: PreparedStatementInfo }>();
  const calls: StubCall[] = [];

  const run = (
    query: string,
    options: StatementOptions,
    context: ExecutionContext,
  ): EngineResult => {
    const q = query.trim();
    if (/FROM\s+system\.peers_v2\b/i.test(q)) throw invalid('unconfigured table peers_v2');
    if (/FROM\s+system\.local\b/i.test(q)) {
      const n = context.node;
      return {
        kind: 'rows',
        columns: LOCAL_COLUMNS,
        rows: [
          [
            encodeText('local'),
            encodeUuid(n.hostId),
            encodeInet(n.address),
            encodeText('4.0.0.6816'),
          ],
        ],
      };
    }
    if (/FROM\s+system\.peers\b/i.test(q)) {
      return {
        kind: 'rows',
        columns: PEERS_COLUMNS,
        rows: context
          .peers()
          .map((p) => [encodeInet(p.address), encodeUuid(p.hostId), encodeInet(p.address)]),
      };
    }
    const create = /^CREATE\s+KEYSPACE\s+(\w+)/i.exec(q);
    if (create !== null) {
      const change: SchemaChange = {
        changeType: 'CREATED',
        target: 'KEYSPACE',
        keyspace: create[1]!.toLowerCase(),
      };
      for (const listener of listeners) listener(change);
      return { kind: 'schema_change', change };
    }
    const use = /^USE\s+"?(\w+)"?$/i.exec(q);
    if (use !== null) return { kind: 'set_keyspace', keyspace: use[1]! };
    if (/^SELECT\s+keyspace$/i.test(q)) {
      const ks = options.keyspace ?? context.keyspace;
      return {
        kind: 'rows',
        columns: [column('stub', 'keyspace', TEXT)],
        rows: [[ks === undefined ? null : encodeText(ks)]],
      };
    }
    const big = /^SELECT\s+big\s+(\d+)$/i.exec(q);
    if (big !== null) {
      return {
        kind: 'rows',
        columns: [column('stub', 'big', TEXT)],
        rows: [[Buffer.alloc(Number(big[1]), 'x')]],
      };
    }
    if (/^SELECT\s+echo\b/i.test(q)) {
      return {
        kind: 'rows',
        columns: [column('stub', 'v', INT)],
        rows: options.values.map((v) => [Buffer.isBuffer(v) ? Buffer.from(v) : encodeInt(-1)]),
      };
    }
    if (/^INSERT\b/i.test(q)) return { kind: 'void' };
    if (/^FAIL$/i.test(q)) throw invalid('stub failure');
    throw new CqlRequestError({
      code: ErrorCode.SYNTAX_ERROR,
      message: `line 1:0 no viable alternative at input '${q.split(/\s+/)[0] ?? ''}'`,
    });
  };

  return {
    calls,
    execute(query, options, context) {
      calls.push({ method: 'execute', query, options, context });
      return run(query, options, context);
    },
    prepare(query, context) {
      calls.push({ method: 'prepare', query, context });
      const id = createHash('md5')
        .update(`${context.keyspace ?? ''}${query}`)
        .digest();
      const markers = (query.match(/\?/g) ?? []).length;
      const variables = Array.from({ length: markers }, (_, i) => column('stub', `v${i}`, INT));
      const resultColumns = /^SELECT\s+echo/i.test(query) ? [column('stub', 'v', INT)] : [];
      const info: PreparedStatementInfo = {
        id,
        variables,
        pkIndexes: markers > 0 ? [0] : [],
        resultColumns,
        resultMetadataId: createHash('md5').update(`meta:${query}`).digest(),
      };
      prepared.set(id.toString('hex'), { query, info });
      return info;
    },
    preparedInfo(id) {
      return prepared.get(id.toString('hex'))?.info;
    },
    executePrepared(id, options, context) {
      const entry = prepared.get(id.toString('hex'));
      calls.push({
        method: 'executePrepared',
        options,
        context,
        ...(entry && { query: entry.query }),
      });
      if (entry === undefined) {
        throw new CqlRequestError({ code: ErrorCode.UNPREPARED, message: 'unknown id', id });
      }
      return run(entry.query, options, context);
    },
    batch(_type, children, options, context) {
      calls.push({ method: 'batch', children, options, context });
      return { kind: 'void' };
    },
    onSchemaChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
