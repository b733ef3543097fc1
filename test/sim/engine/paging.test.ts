import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/protocol/constants.js';
import { createEngine } from '../../../sim/engine/index.js';
import type { BoundValue, Engine, EngineResult } from '../../../sim/engine/contract.js';
import { errorOf, int, q, readInt, rowsOf } from './engine-helpers.js';

const PARTITIONS = 137;
const ROWS = 10_000;

function loaded(): Engine {
  const e = createEngine();
  q(
    e,
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
  );
  q(e, 'CREATE TABLE ks.t (p int, c int, v int, PRIMARY KEY (p, c))');
  for (let i = 0; i < ROWS; i++) {
    q(e, 'INSERT INTO ks.t (p, c, v) VALUES (?, ?, ?)', [int(i % PARTITIONS), int(i), int(i)]);
  }
  return e;
}

/** Every page of a query, following the paging state until there is none (bounded). */
function pages(
  e: Engine,
  query: string,
  pageSize: number,
  values: BoundValue[] = [],
): EngineResult[] {
  const out: EngineResult[] = [];
  let pagingState: Buffer | undefined;
  for (let i = 0; i < ROWS + 10; i++) {
    const r = q(
      e,
      query,
      values,
      'ks',
      pagingState === undefined ? { pageSize } : { pageSize, pagingState },
    );
    out.push(r);
    if (r.kind !== 'rows' || r.pagingState === undefined) return out;
    pagingState = r.pagingState;
  }
  throw new Error('paging did not end');
}

function allRows(results: EngineResult[]): (Buffer | null)[][] {
  return results.flatMap(rowsOf);
}

describe('paging', () => {
  const e = loaded();
  const unpaged = rowsOf(q(e, 'SELECT v FROM t', [], 'ks')).map((r) => readInt(r[0]));

  it('a full scan without paging returns every row', () => {
    expect(unpaged).toHaveLength(ROWS);
    expect(new Set(unpaged).size).toBe(ROWS);
  });

  it.each([1, 7, 100, 333, 5000, ROWS, ROWS + 1])(
    'pages of %i rows return every row exactly once, in the unpaged order',
    (pageSize) => {
      const results = pages(e, 'SELECT v FROM t', pageSize);
      const values = allRows(results).map((r) => readInt(r[0]));
      expect(values).toEqual(unpaged);
      for (const r of results.slice(0, -1)) expect(rowsOf(r)).toHaveLength(pageSize);
      // No empty trailing page: the last page says there is no more.
      expect(rowsOf(results[results.length - 1]!).length).toBeGreaterThan(0);
    },
  );

  it('LIMIT holds across pages', () => {
    const values = allRows(pages(e, 'SELECT v FROM t LIMIT 2500', 1000)).map((r) => readInt(r[0]));
    expect(values).toEqual(unpaged.slice(0, 2500));
  });

  it('PER PARTITION LIMIT holds across pages', () => {
    const rows = allRows(pages(e, 'SELECT p, c FROM t PER PARTITION LIMIT 3', 4));
    expect(rows).toHaveLength(PARTITIONS * 3);
    const perPartition = new Map<number, number>();
    for (const r of rows)
      perPartition.set(readInt(r[0]) ?? -1, (perPartition.get(readInt(r[0]) ?? -1) ?? 0) + 1);
    expect([...perPartition.values()].every((n) => n === 3)).toBe(true);
  });

  it('pages within one partition, in reversed order', () => {
    const forward = rowsOf(q(e, 'SELECT c FROM t WHERE p = 5', [], 'ks')).map((r) => readInt(r[0]));
    const reversed = allRows(pages(e, 'SELECT c FROM t WHERE p = 5 ORDER BY c DESC', 9)).map((r) =>
      readInt(r[0]),
    );
    expect(reversed).toEqual([...forward].reverse());
  });

  it('pages through partitions named by IN, in clause order', () => {
    const rows = allRows(
      pages(e, 'SELECT p, c FROM t WHERE p IN (?, 3, 1) AND c < 1000', 5, [int(100)]),
    );
    // c ≡ p (mod 137) below 1000: 7 rows for p = 100, 8 for p = 3 and p = 1.
    expect(rows.map((r) => readInt(r[0]))).toEqual([
      ...Array<number>(7).fill(100),
      ...Array<number>(8).fill(3),
      ...Array<number>(8).fill(1),
    ]);
  });

  it('pages through a clustering slice', () => {
    const rows = allRows(pages(e, 'SELECT c FROM t WHERE p = 0 AND c >= 137 AND c < 1370', 2));
    expect(rows.map((r) => readInt(r[0]))).toEqual(
      Array.from({ length: 9 }, (_, i) => (i + 1) * 137),
    );
  });

  it('count(*) ignores the page size', () => {
    const r = q(e, 'SELECT count(*) FROM t', [], 'ks', { pageSize: 10 });
    expect(rowsOf(r)[0]?.[0]?.readBigInt64BE(0)).toBe(BigInt(ROWS));
    expect(r.kind === 'rows' && r.pagingState).toBeFalsy();
  });

  it('DISTINCT pages over partitions', () => {
    const rows = allRows(pages(e, 'SELECT DISTINCT p FROM t', 10));
    expect(new Set(rows.map((r) => readInt(r[0]))).size).toBe(PARTITIONS);
    expect(rows).toHaveLength(PARTITIONS);
  });

  it('a bad paging state is a protocol error, as in Cassandra', () => {
    const err = errorOf(() =>
      q(e, 'SELECT * FROM t', [], 'ks', { pageSize: 10, pagingState: Buffer.from('garbage') }),
    );
    expect(err.error.code).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(err.message).toBe('Invalid value for the paging state');
  });
});

describe('paging while data changes', () => {
  it('resumes after the last row even when its partition is gone, never repeating a row', () => {
    const e = loaded();
    const first = q(e, 'SELECT p, c FROM t', [], 'ks', { pageSize: 50 });
    const seen = rowsOf(first);
    const lastP = readInt(seen[seen.length - 1]?.[0]);
    q(e, 'DELETE FROM ks.t WHERE p = ?', [int(lastP ?? 0)]);
    const state = first.kind === 'rows' ? first.pagingState : undefined;
    expect(state).toBeDefined();
    let pagingState = state;
    const rest: (Buffer | null)[][] = [];
    while (pagingState !== undefined) {
      const r = q(e, 'SELECT p, c FROM t', [], 'ks', { pageSize: 1000, pagingState });
      rest.push(...rowsOf(r));
      pagingState = r.kind === 'rows' ? r.pagingState : undefined;
    }
    const key = (r: (Buffer | null)[]): string => `${readInt(r[0])}/${readInt(r[1])}`;
    const firstKeys = new Set(seen.map(key));
    expect(rest.some((r) => firstKeys.has(key(r)))).toBe(false);
    expect(rest.some((r) => readInt(r[0]) === lastP)).toBe(false);
    const deleted = Math.ceil((ROWS - (lastP ?? 0)) / PARTITIONS);
    expect(seen.length + rest.length).toBe(
      ROWS - deleted + seen.filter((r) => readInt(r[0]) === lastP).length,
    );
  });
});

describe('paging system tables', () => {
  it('system_schema.columns pages like any table', () => {
    const e = createEngine();
    const all = rowsOf(
      q(e, 'SELECT keyspace_name, table_name, column_name FROM system_schema.columns'),
    );
    const paged = allRows(
      pages(e, 'SELECT keyspace_name, table_name, column_name FROM system_schema.columns', 7),
    );
    expect(paged).toEqual(all);
    expect(all.length).toBeGreaterThan(50);
  });
});
