import { describe, expect, it } from 'vitest';
import { DataType, ProtocolVersion, ResultKind } from '../../src/protocol/constants.js';
import { clientVersionsFor, rowsOf } from '../../src/upstream/topology.js';

const { V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;

describe('clientVersionsFor', () => {
  it('offers the negotiated version and the standard ones below it', () => {
    expect(clientVersionsFor(V5, undefined)).toEqual([V5, V4, V3]);
    expect(clientVersionsFor(V4, undefined)).toEqual([V4, V3]);
    expect(clientVersionsFor(V3, undefined)).toEqual([V3]);
  });

  it('offers DSE versions to a DSE cluster, but not v5 (unknown there)', () => {
    expect(clientVersionsFor(DSE_V2, undefined)).toEqual([DSE_V2, DSE_V1, V4, V3]);
    expect(clientVersionsFor(DSE_V1, undefined)).toEqual([DSE_V1, V4, V3]);
  });

  it('never offers more than --max-protocol-version', () => {
    expect(clientVersionsFor(V5, V4)).toEqual([V4, V3]);
    expect(clientVersionsFor(DSE_V2, V4)).toEqual([V4, V3]);
    expect(clientVersionsFor(V4, V5)).toEqual([V4, V3]);
  });
});

describe('rowsOf', () => {
  it('names each cell by its column, and has no rows for other results', () => {
    const text = { id: DataType.VARCHAR } as const;
    const rows = rowsOf({
      kind: ResultKind.ROWS,
      metadata: {
        columnCount: 2,
        columns: [
          { keyspace: 'system', table: 'local', name: 'key', type: text },
          { keyspace: 'system', table: 'local', name: 'rack', type: text },
        ],
      },
      rows: [[Buffer.from('local'), null]],
    });
    expect(rows).toEqual([{ key: Buffer.from('local'), rack: null }]);
    expect(rowsOf({ kind: ResultKind.VOID })).toEqual([]);
  });
});
