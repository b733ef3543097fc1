// In-memory storage of one table: partitions keyed by their serialized partition key and kept in
// Murmur3 token order (then key bytes, as Cassandra's DecoratedKey orders them), rows in each
// partition kept sorted by clustering. Sorted arrays with binary search: inserts cost a splice,
// lookups and page resumption cost a log.
//
// Cells carry their write time and expiry so TTL, USING TIMESTAMP and writetime()/ttl() work;
// deletions remove data outright (no tombstones), so a later write with an older timestamp is not
// shadowed by an earlier delete. Expired cells are skipped when read and never purged.

import { murmur3Token } from './murmur3.js';

export interface Liveness {
  /** Write time, microseconds since the epoch. */
  writetime: bigint;
  /** ms since the epoch after which the data is gone; undefined for no TTL. */
  expiresAt: number | undefined;
  /** The TTL it was written with, in seconds. */
  ttl: number | undefined;
}

export interface Cell extends Liveness {
  value: Buffer;
}

export interface StoredRow {
  clustering: Buffer[];
  cells: Map<string, Cell>;
  /** The row marker INSERT writes: the row exists while it lives, even with no cells. */
  marker: Liveness | undefined;
}

export interface Partition {
  key: Buffer;
  token: bigint;
  /** The partition key components, in partition key order. */
  keyValues: Buffer[];
  rows: StoredRow[];
  statics: Map<string, Cell>;
}

export function isLive(l: Liveness, nowMs: number): boolean {
  return l.expiresAt === undefined || l.expiresAt > nowMs;
}

export function rowIsLive(row: StoredRow, nowMs: number): boolean {
  if (row.marker !== undefined && isLive(row.marker, nowMs)) return true;
  for (const cell of row.cells.values()) if (isLive(cell, nowMs)) return true;
  return false;
}

export function hasLiveStatics(p: Partition, nowMs: number): boolean {
  for (const cell of p.statics.values()) if (isLive(cell, nowMs)) return true;
  return false;
}

function comparePartitionPosition(
  token: bigint,
  key: Buffer,
  p: { token: bigint; key: Buffer },
): number {
  if (token !== p.token) return token < p.token ? -1 : 1;
  return Buffer.compare(key, p.key);
}

export class TableStore {
  private readonly byKey = new Map<string, Partition>();
  private readonly ordered: Partition[] = [];
  private readonly compareClustering: (a: readonly Buffer[], b: readonly Buffer[]) => number;

  constructor(compareClustering: (a: readonly Buffer[], b: readonly Buffer[]) => number) {
    this.compareClustering = compareClustering;
  }

  get size(): number {
    return this.ordered.length;
  }

  get(key: Buffer): Partition | undefined {
    return this.byKey.get(key.toString('latin1'));
  }

  getOrCreate(key: Buffer, keyValues: Buffer[]): Partition {
    const existing = this.get(key);
    if (existing !== undefined) return existing;
    const p: Partition = {
      key: Buffer.from(key),
      token: murmur3Token(key),
      keyValues: keyValues.map((v) => Buffer.from(v)),
      rows: [],
      statics: new Map(),
    };
    this.byKey.set(key.toString('latin1'), p);
    this.ordered.splice(this.indexOf(p.token, p.key, false), 0, p);
    return p;
  }

  /** Drops a partition left with no rows and no static cells. */
  removeIfEmpty(p: Partition): void {
    if (p.rows.length > 0 || p.statics.size > 0) return;
    this.remove(p);
  }

  remove(p: Partition): void {
    const mapKey = p.key.toString('latin1');
    if (this.byKey.get(mapKey) !== p) return;
    this.byKey.delete(mapKey);
    const i = this.indexOf(p.token, p.key, false);
    if (this.ordered[i] === p) this.ordered.splice(i, 1);
  }

  clear(): void {
    this.byKey.clear();
    this.ordered.length = 0;
  }

  at(index: number): Partition | undefined {
    return this.ordered[index];
  }

  /**
   * Index of the first partition at or after (token, key); with `after`, strictly after it.
   */
  indexOf(token: bigint, key: Buffer, after: boolean): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.ordered[mid];
      if (p === undefined) break;
      const c = comparePartitionPosition(token, key, p);
      if (c > 0 || (after && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first partition whose token is >= token (or > token with `after`). */
  indexOfToken(token: bigint, after: boolean): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.ordered[mid];
      if (p === undefined) break;
      if (p.token < token || (after && p.token === token)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first row at or after `clustering` (strictly after with `after`). */
  rowIndex(p: Partition, clustering: readonly Buffer[], after: boolean): number {
    let lo = 0;
    let hi = p.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const row = p.rows[mid];
      if (row === undefined) break;
      const c = this.compareClustering(row.clustering, clustering);
      if (c < 0 || (after && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  findRow(p: Partition, clustering: readonly Buffer[]): StoredRow | undefined {
    const row = p.rows[this.rowIndex(p, clustering, false)];
    if (row === undefined || this.compareClustering(row.clustering, clustering) !== 0) {
      return undefined;
    }
    return row;
  }

  getOrCreateRow(p: Partition, clustering: readonly Buffer[]): StoredRow {
    const i = this.rowIndex(p, clustering, false);
    const existing = p.rows[i];
    if (existing !== undefined && this.compareClustering(existing.clustering, clustering) === 0) {
      return existing;
    }
    const row: StoredRow = {
      clustering: clustering.map((v) => Buffer.from(v)),
      cells: new Map(),
      marker: undefined,
    };
    p.rows.splice(i, 0, row);
    return row;
  }

  removeRow(p: Partition, row: StoredRow): void {
    const i = this.rowIndex(p, row.clustering, false);
    if (p.rows[i] === row) p.rows.splice(i, 1);
  }
}
