// The cluster's token ring, as the `tokens` of system.local and system.peers describe it, and the
// replicas of each ring range for a keyspace's replication (system_schema.keyspaces), placed as
// Cassandra 4.0 places them:
//
// - a token belongs to the range of the first ring token at or after it (wrapping around);
// - SimpleStrategy: that node and the next distinct nodes clockwise, replication_factor in all;
// - NetworkTopologyStrategy: per data center, walking clockwise, a node of each rack not seen yet,
//   and nodes of racks already seen only while RF exceeds the racks (DatacenterEndpoints in
//   NetworkTopologyStrategy.calculateNaturalReplicas); "3/1" (transient replicas) counts 3;
// - EverywhereStrategy (DSE) and LocalStrategy: every node, and the local node (not routable).
//
// Tokens are kept as two 32-bit halves (high signed, low unsigned) so that a lookup compares
// numbers, never BigInts: see murmur3TokenInto.

/** One node of the ring: `ordinal` is the router's small number for it (routing.ts). */
export interface RingNode {
  ordinal: number;
  dataCenter: string;
  rack: string;
  /** Murmur3 tokens as decimal text (a system table's set<text>). */
  tokens: readonly string[];
}

export class TokenRing {
  /** Ring tokens, sorted: high halves (signed) and low halves (unsigned). */
  readonly hi: Int32Array;
  readonly lo: Uint32Array;
  /** The node ordinal owning each ring token. */
  readonly owner: Int32Array;
  readonly nodes: readonly RingNode[];
  private readonly byOrdinal = new Map<number, RingNode>();

  constructor(nodes: readonly RingNode[]) {
    this.nodes = nodes;
    const entries: { hi: number; lo: number; ordinal: number }[] = [];
    for (const node of nodes) {
      this.byOrdinal.set(node.ordinal, node);
      for (const text of node.tokens) {
        let t: bigint;
        try {
          t = BigInt(text);
        } catch {
          continue;
        }
        entries.push({
          hi: Number(BigInt.asIntN(32, t >> 32n)),
          lo: Number(BigInt.asUintN(32, t)),
          ordinal: node.ordinal,
        });
      }
    }
    entries.sort((a, b) => a.hi - b.hi || a.lo - b.lo);
    this.hi = Int32Array.from(entries, (e) => e.hi);
    this.lo = Uint32Array.from(entries, (e) => e.lo);
    this.owner = Int32Array.from(entries, (e) => e.ordinal);
  }

  get size(): number {
    return this.owner.length;
  }

  node(ordinal: number): RingNode | undefined {
    return this.byOrdinal.get(ordinal);
  }

  /**
   * The ring index whose range holds the token (hi signed, lo as int32 or uint32): the first ring
   * token at or after it, or 0 when it is past the last one. The ring must not be empty.
   */
  indexOf(hi: number, lo: number): number {
    const l = lo >>> 0;
    let a = 0;
    let b = this.owner.length;
    const rh = this.hi;
    const rl = this.lo;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const h = rh[mid]!;
      if (h < hi || (h === hi && rl[mid]! < l)) a = mid + 1;
      else b = mid;
    }
    return a === this.owner.length ? 0 : a;
  }
}

/** A keyspace's replication, parsed: undefined when the proxy cannot place its replicas. */
export type Replication =
  | { kind: 'simple'; rf: number }
  | { kind: 'network'; rf: ReadonlyMap<string, number> }
  | { kind: 'everywhere' };

/** Parses system_schema.keyspaces.replication (class short or fully qualified, options as text). */
export function parseReplication(options: ReadonlyMap<string, string>): Replication | undefined {
  const cls = options.get('class') ?? '';
  const short = cls.slice(cls.lastIndexOf('.') + 1);
  const factor = (text: string | undefined): number | undefined => {
    const n = Number((text ?? '').split('/')[0]);
    return Number.isInteger(n) && n >= 0 ? n : undefined;
  };
  switch (short) {
    case 'SimpleStrategy': {
      const rf = factor(options.get('replication_factor'));
      return rf === undefined ? undefined : { kind: 'simple', rf };
    }
    case 'NetworkTopologyStrategy': {
      const rf = new Map<string, number>();
      for (const [k, v] of options) {
        if (k === 'class') continue;
        const n = factor(v);
        if (n !== undefined && n > 0) rf.set(k, n);
      }
      return { kind: 'network', rf };
    }
    case 'EverywhereStrategy':
      return { kind: 'everywhere' };
    default:
      return undefined;
  }
}

/** The replicas of every ring range: table[i] lists the node ordinals for ring index i. */
export function replicaTable(ring: TokenRing, replication: Replication): Int32Array[] {
  const size = ring.size;
  const table: Int32Array[] = [];
  if (replication.kind === 'everywhere') {
    const all = Int32Array.from(ring.nodes, (n) => n.ordinal);
    for (let i = 0; i < size; i++) table.push(all);
    return table;
  }
  const distinct = new Set(ring.owner).size;
  for (let i = 0; i < size; i++) {
    const out: number[] = [];
    if (replication.kind === 'simple') {
      const rf = Math.min(replication.rf, distinct);
      for (let k = 0; k < size && out.length < rf; k++) {
        const o = ring.owner[(i + k) % size]!;
        if (!out.includes(o)) out.push(o);
      }
    } else {
      placeNetwork(ring, i, replication.rf, out);
    }
    table.push(Int32Array.from(out));
  }
  return table;
}

function placeNetwork(
  ring: TokenRing,
  start: number,
  rfByDc: ReadonlyMap<string, number>,
  out: number[],
): void {
  const size = ring.size;
  for (const [dc, rf] of rfByDc) {
    const inDc = ring.nodes.filter((n) => n.dataCenter === dc);
    let left = Math.min(rf, inDc.length);
    let repeats = rf - new Set(inDc.map((n) => n.rack)).size;
    const racks = new Set<string>();
    const placed: number[] = [];
    for (let k = 0; k < size && left > 0; k++) {
      const o = ring.owner[(start + k) % size]!;
      const node = ring.node(o);
      if (node === undefined || node.dataCenter !== dc || placed.includes(o)) continue;
      if (!racks.has(node.rack)) {
        racks.add(node.rack);
        placed.push(o);
        left--;
      } else if (repeats > 0) {
        repeats--;
        placed.push(o);
        left--;
      }
    }
    for (const o of placed) out.push(o);
  }
}
