// The proxy's own answers to SELECTs on system.local, system.peers, system.peers_v2 and the legacy
// schema tables (docs/cql-proxy-compat.md §4.2–§4.4): drivers must see a cluster whose only
// node (or whose nodes, with peer proxies) is the proxy, so they send everything to it.
//
// The tables have every column Cassandra 4.0 declares, with its type, and `SELECT *` lists them in
// Cassandra's order (partition key, clustering, then the rest by name): system-tables/
// definitions.ts. WHERE and LIMIT work as on Cassandra for `=` and `IN`, with literals or bind
// markers that PREPARE announces (system-tables/where.ts).
//
// Differences from cql-proxy, on purpose: native_protocol_version is the version number ('4', as
// Cassandra writes it, not 'ProtocolVersion OSS 4'); count(*) is a bigint, as Cassandra's, and is
// right with zero peers (one row, 0); peers_v2 exists when the reported release is Cassandra 4.0
// or later (docs/design.md, "System tables"), otherwise it is "unconfigured table peers_v2" as on
// Cassandra 3.x; unknown columns get Cassandra's "Undefined column name x"; toTimestamp(now()),
// toUnixTimestamp(now()) and uuid() are served; the legacy tables honour selectors too.

import type { Selector, SystemTable } from '../protocol/cql-system-select.js';
import type { ColumnType } from '../protocol/messages/column-type.js';
import type { ColumnSpec } from '../protocol/messages/result.js';
import { type TableDefinition, tableDefinition } from './system-tables/definitions.js';
import { type SystemTableContext, localNode, peerNodes } from './system-tables/nodes.js';
import { outputsOf, selectRows } from './system-tables/select.js';
import {
  type BoundValues,
  applyRestrictions,
  bindValues,
  parseRestrictions,
} from './system-tables/where.js';

export { CLUSTER_NAME, RACK, STORAGE_PORT, hasPeersV2 } from './system-tables/definitions.js';
export {
  SCHEMA_VERSION,
  type SystemTableContext,
  localRpcAddress,
  schemaVersion,
} from './system-tables/nodes.js';
export type { BoundValues } from './system-tables/where.js';

export type SystemAnswer =
  | { kind: 'rows'; columns: ColumnSpec[]; rows: (Buffer | null)[][] }
  | { kind: 'invalid'; message: string };

/** A SELECT the lexer classified as on a proxy-answered table, and its query string. */
export interface SystemStatement {
  table: SystemTable;
  selectors: '*' | readonly Selector[];
  /** The CQL text, for its WHERE and LIMIT; absent, the statement has neither. */
  query?: string;
}

export type SystemPrepared =
  | {
      kind: 'prepared';
      /** The result columns. */
      columns: ColumnSpec[];
      /** The bind markers, in order. */
      variables: ColumnSpec[];
      /** Bind marker index of each partition key column, or none (protocol v4+). */
      pkIndexes: number[];
    }
  | { kind: 'invalid'; message: string };

function specOf(table: SystemTable): (name: string, type: ColumnType) => ColumnSpec {
  return (name, type) => ({ keyspace: 'system', table, name, type });
}

function rowsOf(definition: TableDefinition, ctx: SystemTableContext): (Buffer | null)[][] {
  const nodes =
    definition.rowsOf === 'local'
      ? [localNode(ctx)]
      : definition.rowsOf === 'peers'
        ? peerNodes(ctx)
        : [];
  return nodes.map((node) => definition.columns.map((c) => c.cell(node)));
}

/** What PREPARE of a SELECT on a proxy-answered table answers: its columns and bind markers. */
export function prepareSystemSelect(
  statement: SystemStatement,
  ctx: SystemTableContext,
): SystemPrepared {
  const { table } = statement;
  const definition = tableDefinition(table, ctx.info);
  if (definition === undefined) return { kind: 'invalid', message: `unconfigured table ${table}` };
  const outputs = outputsOf(statement.selectors, definition.columns);
  if (typeof outputs === 'string') return { kind: 'invalid', message: outputs };
  const restrictions = parseRestrictions(statement.query ?? '', definition.columns);
  if (typeof restrictions === 'string') return { kind: 'invalid', message: restrictions };
  const spec = specOf(table);
  return {
    kind: 'prepared',
    columns: outputs.map((o) => spec(o.name, o.type)),
    variables: restrictions.variables.map((v) => spec(v.name, v.type)),
    pkIndexes: restrictions.pkIndexes,
  };
}

/**
 * The answer to a SELECT on a proxy-answered table, with the values bound to its markers (QUERY
 * with values, or EXECUTE: `prepared` picks Cassandra's message for a wrong number of values).
 * `bound` may be a function: the request's values are then decoded only when the statement has
 * markers (a statement without any ignores the values it was sent).
 */
export function answerSystemStatement(
  statement: SystemStatement,
  ctx: SystemTableContext,
  bound: BoundValues | (() => BoundValues) = {},
  prepared = false,
): SystemAnswer {
  const { table, selectors } = statement;
  const definition = tableDefinition(table, ctx.info);
  if (definition === undefined) return { kind: 'invalid', message: `unconfigured table ${table}` };
  const outputs = outputsOf(selectors, definition.columns);
  if (typeof outputs === 'string') return { kind: 'invalid', message: outputs };
  const restrictions = parseRestrictions(statement.query ?? '', definition.columns);
  if (typeof restrictions === 'string') return { kind: 'invalid', message: restrictions };
  const { variables } = restrictions;
  const values =
    variables.length === 0
      ? []
      : bindValues(variables, typeof bound === 'function' ? bound() : bound, prepared);
  if (typeof values === 'string') return { kind: 'invalid', message: values };
  const applied = applyRestrictions(restrictions, rowsOf(definition, ctx), values);
  if (typeof applied === 'string') return { kind: 'invalid', message: applied };
  const spec = specOf(table);
  return {
    kind: 'rows',
    columns: outputs.map((o) => spec(o.name, o.type)),
    rows: selectRows(selectors, outputs, applied.rows, applied.limit),
  };
}

/** The answer to `SELECT <selectors> FROM system.<table>`, with no WHERE or LIMIT. */
export function answerSystemSelect(
  table: SystemTable,
  selectors: '*' | readonly Selector[],
  ctx: SystemTableContext,
): SystemAnswer {
  return answerSystemStatement({ table, selectors }, ctx);
}
