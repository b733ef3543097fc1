// Token-aware routing: which nodes own the partition of a request, worked out from its frame.
//
// The router learns three things: the ring (tokens of system.local/system.peers, setRing), each
// keyspace's replication (system_schema.keyspaces, setReplication) and, from PREPARED answers,
// each prepared id's keyspace and partition key indexes (notePrepared). For an EXECUTE whose id it
// knows, it reads the bound values at those indexes straight from the frame (routing-key.ts),
// hashes them (Murmur3), finds the ring range and returns the replicas of that range: a table per
// keyspace, computed once per ring and replication, so a request costs a hash lookup of its id,
// a walk over its values, the hash and a binary search. A BATCH is routed when all of its
// statements are prepared ones of one keyspace that name one token. Anything else (QUERY, an
// unknown id, named values, a compressed frame) is not routed: the session goes round robin.
//
// Nodes are small numbers (ordinals), stable for a node key for the router's life, so a session
// maps replicas to its pools through an array, not a Map.

import { Opcode } from '../protocol/constants.js';
import {
  batchToken,
  executeId,
  executeToken,
  type FrameSlice,
  type PkIndexes,
} from '../protocol/routing-key.js';
import { decodeStringMap, decodeStringSet, decodeText, decodeUuid } from '../protocol/values.js';
import { TokenRing, parseReplication, replicaTable, type Replication } from './token-ring.js';
import type { Row } from './topology.js';

/** Prepared statements remembered for routing; beyond it the oldest half is forgotten. */
const MAX_PREPARED = 100_000;

/** One keyspace's routing state; prepared entries point at it, so updates reach them all. */
class KeyspaceRoute {
  readonly name: string;
  replication: Replication | undefined;
  /** Replicas per ring index, for the current ring; undefined until first needed. */
  table: Int32Array[] | undefined;

  constructor(name: string) {
    this.name = name;
  }
}

interface PreparedRoute {
  readonly id: Buffer;
  readonly keyspace: KeyspaceRoute;
  readonly pkIndexes: PkIndexes;
  /** The next entry whose id has the same first four bytes. */
  next: PreparedRoute | undefined;
}

/** A node as the ring knows it: the key of its pools (or of a row the proxy does not serve). */
export interface RingSource {
  key: string;
  dataCenter: string;
  rack: string;
  tokens: readonly string[];
}

/** The ring facts of a system.local/system.peers row; `key` is its node's key when it has one. */
export function ringSource(row: Row, key: string | undefined): RingSource {
  const hostId = decodeUuid(row.host_id ?? null) ?? '';
  return {
    key: key ?? `row:${hostId}`,
    dataCenter: decodeText(row.data_center ?? null) ?? '',
    rack: decodeText(row.rack ?? null) ?? '',
    tokens: decodeStringSet(row.tokens ?? null) ?? [],
  };
}

export interface RouterStats {
  /** Requests for which replicas were found. */
  routed: number;
  /** EXECUTE/BATCH requests that could not be routed (unknown id, keyspace or key). */
  unrouted: number;
}

export class Router {
  readonly stats: RouterStats = { routed: 0, unrouted: 0 };
  /** False: nothing is routed (every request round robin), for comparisons. */
  enabled = true;
  private readonly ordinals = new Map<string, number>();
  private ring: TokenRing | undefined;
  private readonly keyspaces = new Map<string, KeyspaceRoute>();
  private readonly prepared = new Map<number, PreparedRoute>();
  private preparedCount = 0;
  private readonly idSlice: FrameSlice = { start: 0, end: 0 };
  private readonly token = new Int32Array(2);
  private readonly scratch = new Int32Array(2);
  /** The keyspace of the BATCH being read (batchLookup). */
  private batchKeyspace: KeyspaceRoute | undefined;

  private lookedUpBatchKeyspace(): KeyspaceRoute | undefined {
    return this.batchKeyspace;
  }

  /** The small number of a node key, the same for the router's life. */
  ordinalOf(key: string): number {
    let ordinal = this.ordinals.get(key);
    if (ordinal === undefined) {
      ordinal = this.ordinals.size;
      this.ordinals.set(key, ordinal);
    }
    return ordinal;
  }

  /** The ring from the topology rows; replica tables are recomputed when next needed. */
  setRing(nodes: readonly RingSource[]): void {
    const ring = new TokenRing(
      nodes.map((n) => ({
        ordinal: this.ordinalOf(n.key),
        dataCenter: n.dataCenter,
        rack: n.rack,
        tokens: n.tokens,
      })),
    );
    this.ring = ring.size === 0 ? undefined : ring;
    for (const ks of this.keyspaces.values()) ks.table = undefined;
  }

  /** Every keyspace's replication, from the rows of system_schema.keyspaces. */
  setReplication(rows: readonly Row[]): void {
    const seen = new Set<string>();
    for (const row of rows) {
      const name = decodeText(row.keyspace_name ?? null);
      const options = decodeStringMap(row.replication ?? null);
      if (name === null) continue;
      seen.add(name);
      const ks = this.keyspace(name);
      ks.replication = options === null ? undefined : parseReplication(options);
      ks.table = undefined;
    }
    for (const ks of this.keyspaces.values()) {
      if (seen.has(ks.name)) continue;
      ks.replication = undefined;
      ks.table = undefined;
    }
  }

  /** A keyspace's replication changed or it was dropped: `options` undefined forgets it. */
  setKeyspaceReplication(name: string, options: ReadonlyMap<string, string> | undefined): void {
    const ks = this.keyspace(name);
    ks.replication = options === undefined ? undefined : parseReplication(options);
    ks.table = undefined;
  }

  /** Whether the replication of `keyspace` is known (and placeable). */
  hasReplication(keyspace: string): boolean {
    return this.keyspaces.get(keyspace)?.replication !== undefined;
  }

  /** How many ring tokens are known. */
  get ringSize(): number {
    return this.ring?.size ?? 0;
  }

  /** A PREPARED answer: the statement's keyspace and partition key indexes, by prepared id. */
  notePrepared(id: Uint8Array, keyspace: string, pkIndexes: readonly number[]): void {
    if (pkIndexes.length === 0 || id.length === 0) return;
    const hash = idHash(id, 0, id.length);
    for (let e = this.prepared.get(hash); e !== undefined; e = e.next) {
      if (e.id.equals(id)) return;
    }
    if (this.preparedCount >= MAX_PREPARED) {
      this.prepared.clear();
      this.preparedCount = 0;
    }
    const entry: PreparedRoute = {
      id: Buffer.from(id),
      keyspace: this.keyspace(keyspace),
      pkIndexes: [...pkIndexes],
      next: this.prepared.get(hash),
    };
    this.prepared.set(hash, entry);
    this.preparedCount++;
  }

  /**
   * The node ordinals of the replicas of the partition a request frame names (EXECUTE, BATCH), or
   * undefined when that is not known. Never throws: a frame it cannot read is not routed.
   */
  replicasOf(frame: Buffer, version: number): Int32Array | undefined {
    const ring = this.ring;
    if (ring === undefined || this.preparedCount === 0 || !this.enabled) return undefined;
    const opcode = frame[4];
    let keyspace: KeyspaceRoute | undefined;
    if (opcode === Opcode.EXECUTE) {
      const slice = this.idSlice;
      if (!executeId(frame, slice)) return this.unrouted();
      const entry = this.find(frame, slice.start, slice.end);
      if (entry === undefined) return this.unrouted();
      keyspace = entry.keyspace;
      if (keyspace.replication === undefined) return this.unrouted();
      if (!executeToken(frame, version, slice.end, entry.pkIndexes, this.token))
        return this.unrouted();
    } else if (opcode === Opcode.BATCH) {
      this.batchKeyspace = undefined;
      if (!batchToken(frame, this.batchLookup, this.token, this.scratch)) return this.unrouted();
      // Set by batchLookup during batchToken: read through a method, since TypeScript's
      // narrowing of the field to `undefined` above cannot see that call.
      keyspace = this.lookedUpBatchKeyspace();
      if (keyspace?.replication === undefined) return this.unrouted();
    } else {
      return undefined;
    }
    let table = keyspace.table;
    if (table === undefined) {
      table = replicaTable(ring, keyspace.replication);
      keyspace.table = table;
    }
    this.stats.routed++;
    return table[ring.indexOf(this.token[0]!, this.token[1]!)];
  }

  private unrouted(): undefined {
    this.stats.unrouted++;
    return undefined;
  }

  private readonly batchLookup = (
    frame: Buffer,
    start: number,
    end: number,
  ): PkIndexes | undefined => {
    const entry = this.find(frame, start, end);
    if (entry === undefined) return undefined;
    if (this.batchKeyspace === undefined) this.batchKeyspace = entry.keyspace;
    else if (this.batchKeyspace !== entry.keyspace) return undefined;
    return entry.pkIndexes;
  };

  private find(frame: Buffer, start: number, end: number): PreparedRoute | undefined {
    const length = end - start;
    for (let e = this.prepared.get(idHash(frame, start, end)); e !== undefined; e = e.next) {
      const id = e.id;
      if (id.length !== length) continue;
      let i = 0;
      while (i < length && id[i] === frame[start + i]) i++;
      if (i === length) return e;
    }
    return undefined;
  }

  private keyspace(name: string): KeyspaceRoute {
    let ks = this.keyspaces.get(name);
    if (ks === undefined) {
      ks = new KeyspaceRoute(name);
      this.keyspaces.set(name, ks);
    }
    return ks;
  }
}

/**
 * The first four bytes of an id (an MD5: uniform), with its length for shorter ids, kept to 30
 * bits: a small integer key is what a Map hashes fastest.
 */
function idHash(bytes: Uint8Array, start: number, end: number): number {
  if (end - start < 4) {
    let h = end - start;
    for (let i = start; i < end; i++) h = (h << 8) | bytes[i]!;
    return h & 0x3fffffff;
  }
  return (
    ((bytes[start]! << 24) |
      (bytes[start + 1]! << 16) |
      (bytes[start + 2]! << 8) |
      bytes[start + 3]!) &
    0x3fffffff
  );
}
