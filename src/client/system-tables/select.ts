// The selection of a SELECT on a proxy-answered table: columns, aliases, count and the functions
// of now(), computed over the rows the WHERE clause kept.

import type { Selector } from '../../protocol/cql-system-select.js';
import type { ColumnType } from '../../protocol/messages/column-type.js';
import {
  encodeBigint,
  encodeTimestamp,
  encodeTimeuuid,
  encodeUuid,
} from '../../protocol/values.js';
import { randomUuid, timeUuid } from '../uuids.js';
import { BIGINT, type Column, TIMESTAMP, TIMEUUID, UUID } from './definitions.js';

type Row = readonly (Buffer | null)[];

/** One output column: its name and type, and how to compute the cell from a source row. */
export interface Output {
  name: string;
  type: ColumnType;
  cell: (row: Row | undefined, rows: readonly Row[], ms: number) => Buffer | null;
}

function output(selector: Selector, columns: readonly Column[]): Output | string {
  const indexOf = (name: string): number => columns.findIndex((c) => c.name === name);
  switch (selector.kind) {
    case 'column': {
      const i = indexOf(selector.name);
      const column = columns[i];
      if (column === undefined) return `Undefined column name ${selector.name}`;
      return { name: selector.name, type: column.type, cell: (row) => row?.[i] ?? null };
    }
    case 'count': {
      if (selector.column === undefined) {
        return { name: 'count', type: BIGINT, cell: (_row, rows) => encodeBigint(rows.length) };
      }
      const i = indexOf(selector.column);
      if (i < 0) return `Undefined column name ${selector.column}`;
      return {
        name: `system.count(${selector.column})`,
        type: BIGINT,
        cell: (_row, rows) => encodeBigint(rows.filter((r) => r[i] != null).length),
      };
    }
    case 'now':
      return {
        name: 'system.now()',
        type: TIMEUUID,
        cell: (_row, _rows, ms) => encodeTimeuuid(timeUuid(ms)),
      };
    case 'uuid':
      return { name: 'system.uuid()', type: UUID, cell: () => encodeUuid(randomUuid()) };
    case 'toTimestamp':
      return {
        name: 'system.totimestamp(system.now())',
        type: TIMESTAMP,
        cell: (_row, _rows, ms) => encodeTimestamp(ms),
      };
    case 'toUnixTimestamp':
      return {
        name: 'system.tounixtimestamp(system.now())',
        type: BIGINT,
        cell: (_row, _rows, ms) => encodeBigint(ms),
      };
  }
}

/** The output columns of `selectors` over `columns`; a string is Cassandra's error message. */
export function outputsOf(
  selectors: '*' | readonly Selector[],
  columns: readonly Column[],
): Output[] | string {
  if (selectors === '*') {
    return columns.map((c, i) => ({ name: c.name, type: c.type, cell: (row) => row?.[i] ?? null }));
  }
  const outputs: Output[] = [];
  for (const selector of selectors) {
    const out = output(selector, columns);
    if (typeof out === 'string') return out;
    outputs.push(selector.alias === undefined ? out : { ...out, name: selector.alias });
  }
  return outputs;
}

/**
 * The result rows. With an aggregate the result is one row; plain columns beside it take the
 * first row's values (null when there is none), as Cassandra does. LIMIT cuts the result.
 */
export function selectRows(
  selectors: '*' | readonly Selector[],
  outputs: readonly Output[],
  rows: readonly Row[],
  limit: number | undefined,
): (Buffer | null)[][] {
  const aggregate = selectors !== '*' && selectors.some((s) => s.kind === 'count');
  const sources: (Row | undefined)[] = aggregate ? [rows[0]] : [...rows];
  const ms = Date.now();
  const out = sources.map((row) => outputs.map((o) => o.cell(row, rows, ms)));
  return limit === undefined ? out : out.slice(0, limit);
}
