// Prepared statement ids and metadata as Cassandra computes them: the id is the MD5 of the
// keyspace (when the connection has one) followed by the query text (QueryProcessor.computeId),
// the v5 result metadata id an MD5 of the result columns, and the partition key indexes the bind
// markers that give each partition key column with `=` (spec v4 §4.2.5.4), or none.

import { createHash } from 'node:crypto';
import type { ColumnSpec } from '../../src/protocol/messages/result.js';
import type { PreparedStatementInfo } from './contract.js';
import type { Plan } from './planner.js';

export function preparedId(query: string, keyspace: string | undefined): Buffer {
  return createHash('md5')
    .update(keyspace === undefined ? query : keyspace + query, 'utf8')
    .digest();
}

export function resultMetadataId(columns: readonly ColumnSpec[]): Buffer {
  const h = createHash('md5');
  for (const c of columns)
    h.update(`${c.keyspace}\0${c.table}\0${c.name}\0${JSON.stringify(c.type)}\0`);
  return h.digest();
}

function pkIndexes(plan: Plan): number[] {
  if (plan.kind !== 'select' && plan.kind !== 'modification') return [];
  const out: number[] = [];
  for (const r of plan.where.partition) {
    const only = r?.values?.length === 1 ? r.values[0] : undefined;
    if (only?.kind !== 'bind') return [];
    out.push(only.index);
  }
  return out;
}

export function preparedInfo(
  query: string,
  keyspace: string | undefined,
  plan: Plan,
): PreparedStatementInfo {
  const resultColumns = plan.kind === 'select' ? plan.columns : [];
  return {
    id: preparedId(query, keyspace),
    variables: plan.bindings.variables(),
    pkIndexes: pkIndexes(plan),
    resultColumns,
    resultMetadataId: resultMetadataId(resultColumns),
  };
}
