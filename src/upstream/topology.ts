// Reading the cluster's topology answers: system.local/system.peers rows by column name, and the
// protocol versions a client may use once the control connection negotiated one.

import { ProtocolVersion, ResultKind, isDseVersion } from '../protocol/constants.js';
import type { ResultMessage } from '../protocol/messages/result.js';

/** One row of a system table: each cell's bytes by column name (null when the cell is null). */
export interface Row {
  [column: string]: Buffer | null;
}

/** The rows of a RESULT, or none when it is not a ROWS result. */
export function rowsOf(result: ResultMessage): Row[] {
  if (result.kind !== ResultKind.ROWS) return [];
  const columns = result.metadata.columns ?? [];
  return result.rows.map((cells) => {
    const row: Row = {};
    columns.forEach((c, i) => {
      row[c.name] = cells[i] ?? null;
    });
    return row;
  });
}

/** The versions clients may use: the negotiated one and the standard ones below it, down to v3. */
export function clientVersionsFor(negotiated: number, cap: number | undefined): number[] {
  const chain = [
    ProtocolVersion.DSE_V2,
    ProtocolVersion.DSE_V1,
    ProtocolVersion.V5,
    ProtocolVersion.V4,
    ProtocolVersion.V3,
  ];
  const start = chain.indexOf(negotiated as (typeof chain)[number]);
  const versions = (
    start < 0 ? [ProtocolVersion.V4, ProtocolVersion.V3] : chain.slice(start)
  ).filter(
    // A DSE cluster speaks DSE versions and v4/v3; whether it also speaks v5 is unknown.
    (v) => !(v === ProtocolVersion.V5 && isDseVersion(negotiated)),
  );
  if (cap === undefined) return versions;
  const capIndex = chain.indexOf(cap as (typeof chain)[number]);
  return versions.filter((v) => chain.indexOf(v) >= capIndex);
}
