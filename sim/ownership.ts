// Which nodes own a partition: the simulated cluster's token ring (each node's vnode tokens) and a
// keyspace's replication, placed as Cassandra 4.0 places replicas. A partition's token belongs to
// the first ring token at or after it (wrapping around); SimpleStrategy takes the next distinct
// nodes clockwise, NetworkTopologyStrategy does so per data center, one node per rack first
// (DatacenterEndpoints in NetworkTopologyStrategy.calculateNaturalReplicas).
//
// The product has its own implementation (src/upstream/replication.ts); this one is written
// independently, BigInt and all, so the simulator checks the proxy's routing rather than
// agreeing with it by construction.

import { murmur3Token } from './engine/murmur3.js';
import type { NodeIdentity } from './engine/contract.js';

const SIMPLE = 'org.apache.cassandra.locator.SimpleStrategy';
const NETWORK = 'org.apache.cassandra.locator.NetworkTopologyStrategy';
const MURMUR3_MIN = -(2n ** 63n);
const MURMUR3_SPAN = 2n ** 64n;

/** Default vnodes per simulated node. */
export const DEFAULT_VNODES = 8;

/**
 * Node `index`'s `vnodes` tokens (as text), interleaved with the other nodes' over the ring: slot
 * `v * count + index` of `count * vnodes` equal slots, moved a little within it (deterministic) so
 * that ranges are not all the same size. With one vnode, node i's token is slot i's start.
 */
export function vnodeTokens(index: number, count: number, vnodes: number): string[] {
  const slots = BigInt(count * vnodes);
  const slot = MURMUR3_SPAN / slots;
  const tokens: string[] = [];
  for (let v = 0; v < vnodes; v++) {
    const p = BigInt(v * count + index);
    // A fraction of the slot in [0, 1/4): from a tiny LCG on the slot number.
    const jitter = vnodes === 1 ? 0n : (slot * BigInt((p * 2654435761n) % 1000n)) / 4000n;
    tokens.push((MURMUR3_MIN + slot * p + jitter).toString());
  }
  return tokens;
}

interface RingEntry {
  token: bigint;
  node: NodeIdentity;
}

export class Ownership {
  private readonly nodes: () => readonly NodeIdentity[];
  private readonly replication: (keyspace: string) => ReadonlyMap<string, string> | undefined;
  private ring: RingEntry[] = [];
  private ringKey = '';

  constructor(
    nodes: () => readonly NodeIdentity[],
    replication: (keyspace: string) => ReadonlyMap<string, string> | undefined,
  ) {
    this.nodes = nodes;
    this.replication = replication;
  }

  /** The host ids of the replicas of `partitionKey` (serialized) in `keyspace`; undefined if unknown. */
  replicas(keyspace: string, partitionKey: Uint8Array): Set<string> | undefined {
    const replication = this.replication(keyspace);
    if (replication === undefined) return undefined;
    const ring = this.currentRing();
    if (ring.length === 0) return undefined;
    const token = murmur3Token(partitionKey);
    let start = ring.findIndex((e) => e.token >= token);
    if (start < 0) start = 0;
    const ordered: NodeIdentity[] = [];
    for (let i = 0; i < ring.length; i++) ordered.push(ring[(start + i) % ring.length]!.node);
    const cls = replication.get('class');
    if (cls === SIMPLE) {
      const rf = Number(replication.get('replication_factor') ?? '1');
      const out = new Set<string>();
      for (const node of ordered) {
        if (out.size >= rf) break;
        out.add(node.hostId);
      }
      return out;
    }
    if (cls !== NETWORK) return undefined;
    const out = new Set<string>();
    for (const [dc, text] of replication) {
      if (dc === 'class') continue;
      for (const id of placeInDc(ordered, dc, Number(text))) out.add(id);
    }
    return out;
  }

  private currentRing(): RingEntry[] {
    const nodes = this.nodes();
    const key = nodes.map((n) => `${n.hostId}:${(n.tokens ?? [n.token]).join(',')}`).join(';');
    if (key !== this.ringKey) {
      this.ringKey = key;
      this.ring = nodes
        .flatMap((node) => (node.tokens ?? [node.token]).map((t) => ({ token: BigInt(t), node })))
        .sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0));
    }
    return this.ring;
  }
}

/** NetworkTopologyStrategy in one data center: distinct racks first, then repeats as RF allows. */
function placeInDc(ordered: readonly NodeIdentity[], dc: string, rf: number): string[] {
  const inDc = ordered.filter((n) => n.dataCenter === dc);
  const nodeCount = new Set(inDc.map((n) => n.hostId)).size;
  const rackCount = new Set(inDc.map((n) => n.rack)).size;
  let left = Math.min(rf, nodeCount);
  let repeats = rf - rackCount;
  const racks = new Set<string>();
  const out: string[] = [];
  for (const node of inDc) {
    if (left <= 0) break;
    if (out.includes(node.hostId)) continue;
    if (!racks.has(node.rack)) {
      racks.add(node.rack);
      out.push(node.hostId);
      left--;
    } else if (repeats > 0) {
      repeats--;
      out.push(node.hostId);
      left--;
    }
  }
  return out;
}
