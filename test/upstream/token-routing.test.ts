// The proxy's ring and replica placement (token-ring.ts) against the simulator's independent
// implementation (sim/ownership.ts) over random keys, racks and strategies; and the Router reading
// EXECUTE frames: known ids routed to their replicas, anything else left to round robin.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { NodeIdentity } from '../../sim/engine/contract.js';
import { Ownership, vnodeTokens } from '../../sim/ownership.js';
import { Opcode, ProtocolVersion } from '../../src/protocol/constants.js';
import { encodeHeader } from '../../src/protocol/header.js';
import { encodeExecute } from '../../src/protocol/messages/execute.js';
import { murmur3TokenInto } from '../../src/protocol/murmur3.js';
import { encodeStringSet, encodeText } from '../../src/protocol/values.js';
import { Router } from '../../src/upstream/routing.js';
import { TokenRing, parseReplication, replicaTable } from '../../src/upstream/token-ring.js';

const NTS = 'org.apache.cassandra.locator.NetworkTopologyStrategy';
const SIMPLE = 'org.apache.cassandra.locator.SimpleStrategy';

function cluster(racks: string[], dcs: string[], vnodes: number): NodeIdentity[] {
  return racks.map((rack, i) => {
    const tokens = vnodeTokens(i, racks.length, vnodes);
    return {
      hostId: `h${i}`,
      address: `127.0.0.${i + 1}`,
      port: 9042,
      dataCenter: dcs[i]!,
      rack,
      token: tokens[0]!,
      tokens,
    };
  });
}

function proxyReplicas(
  nodes: NodeIdentity[],
  options: Map<string, string>,
  key: Buffer,
): Set<string> {
  const ring = new TokenRing(
    nodes.map((n, i) => ({
      ordinal: i,
      dataCenter: n.dataCenter,
      rack: n.rack,
      tokens: n.tokens!,
    })),
  );
  const table = replicaTable(ring, parseReplication(options)!);
  const t = new Int32Array(2);
  murmur3TokenInto(key, 0, key.length, t);
  return new Set([...table[ring.indexOf(t[0]!, t[1]!)]!].map((o) => `h${o}`));
}

describe('replica placement agrees with the simulator', () => {
  const cases: { name: string; nodes: NodeIdentity[]; options: Map<string, string> }[] = [
    {
      name: 'SimpleStrategy RF 1, 3 nodes',
      nodes: cluster(['r', 'r', 'r'], ['dc1', 'dc1', 'dc1'], 8),
      options: new Map([
        ['class', SIMPLE],
        ['replication_factor', '1'],
      ]),
    },
    {
      name: 'SimpleStrategy RF 2, 5 nodes',
      nodes: cluster(['r', 'r', 'r', 'r', 'r'], ['dc1', 'dc1', 'dc1', 'dc1', 'dc1'], 4),
      options: new Map([
        ['class', SIMPLE],
        ['replication_factor', '2'],
      ]),
    },
    {
      name: 'NetworkTopologyStrategy, two DCs and racks',
      nodes: cluster(['a', 'a', 'b', 'c', 'a', 'b'], ['dc1', 'dc1', 'dc1', 'dc1', 'dc2', 'dc2'], 8),
      options: new Map([
        ['class', NTS],
        ['dc1', '2'],
        ['dc2', '1'],
      ]),
    },
    {
      name: 'NetworkTopologyStrategy, RF above the racks',
      nodes: cluster(['a', 'a', 'b', 'b', 'a'], ['dc1', 'dc1', 'dc1', 'dc1', 'dc1'], 4),
      options: new Map([
        ['class', NTS],
        ['dc1', '3'],
      ]),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const sim = new Ownership(
        () => c.nodes,
        () => c.options,
      );
      for (let i = 0; i < 500; i++) {
        const key = randomBytes(1 + (i % 20));
        expect(proxyReplicas(c.nodes, c.options, key)).toEqual(sim.replicas('ks', key));
      }
    });
  }

  it('parses the strategies it can place and refuses the others', () => {
    expect(
      parseReplication(
        new Map([
          ['class', 'SimpleStrategy'],
          ['replication_factor', '3'],
        ]),
      ),
    ).toEqual({ kind: 'simple', rf: 3 });
    expect(
      parseReplication(
        new Map([
          ['class', NTS],
          ['dc1', '3/1'],
        ]),
      ),
    ).toEqual({ kind: 'network', rf: new Map([['dc1', 3]]) });
    expect(
      parseReplication(new Map([['class', 'org.apache.cassandra.locator.LocalStrategy']])),
    ).toBeUndefined();
  });
});

describe('Router', () => {
  const ID = Buffer.alloc(16, 0xab);
  function executeFrame(id: Buffer, values: Buffer[]): Buffer {
    const body = encodeExecute(ProtocolVersion.V4, { id, parameters: { consistency: 1, values } });
    const header = encodeHeader({
      version: 4,
      response: false,
      flags: 0,
      streamId: 1,
      opcode: Opcode.EXECUTE,
      bodyLength: body.length,
    });
    return Buffer.concat([header, body]);
  }

  function router(): Router {
    const r = new Router();
    const nodes = cluster(['r', 'r', 'r'], ['dc1', 'dc1', 'dc1'], 8);
    r.setRing(
      nodes.map((n) => ({
        key: n.hostId,
        dataCenter: n.dataCenter,
        rack: n.rack,
        tokens: n.tokens!,
      })),
    );
    r.setReplication([
      {
        keyspace_name: encodeText('ks'),
        replication: Buffer.concat([
          // map<text, text> {class: SimpleStrategy, replication_factor: 1}
          encodeMap([
            ['class', SIMPLE],
            ['replication_factor', '1'],
          ]),
        ]),
      },
    ]);
    return r;
  }

  function encodeMap(entries: [string, string][]): Buffer {
    const parts: Buffer[] = [Buffer.alloc(4)];
    parts[0]!.writeInt32BE(entries.length);
    for (const [k, v] of entries) {
      for (const s of [k, v]) {
        const b = Buffer.from(s);
        const len = Buffer.alloc(4);
        len.writeInt32BE(b.length);
        parts.push(len, b);
      }
    }
    return Buffer.concat(parts);
  }

  it('routes an EXECUTE of a known id to the replica the simulator names', () => {
    const r = router();
    const nodes = cluster(['r', 'r', 'r'], ['dc1', 'dc1', 'dc1'], 8);
    const sim = new Ownership(
      () => nodes,
      () =>
        new Map([
          ['class', SIMPLE],
          ['replication_factor', '1'],
        ]),
    );
    r.notePrepared(ID, 'ks', [0]);
    for (let i = 0; i < 200; i++) {
      const key = randomBytes(8);
      const replicas = r.replicasOf(executeFrame(ID, [key]), 4);
      expect(replicas).toBeDefined();
      const [host] = [...sim.replicas('ks', key)!];
      expect([...replicas!]).toEqual([r.ordinalOf(host!)]);
    }
    expect(r.stats.routed).toBe(200);
  });

  it('leaves unknown ids, keyspaces and QUERY to round robin, and can be turned off', () => {
    const r = router();
    expect(r.replicasOf(executeFrame(ID, [Buffer.from('k')]), 4)).toBeUndefined();
    r.notePrepared(Buffer.alloc(16, 1), 'other', [0]);
    expect(r.replicasOf(executeFrame(Buffer.alloc(16, 1), [Buffer.from('k')]), 4)).toBeUndefined();
    expect(r.replicasOf(executeFrame(Buffer.alloc(16, 2), [Buffer.from('k')]), 4)).toBeUndefined();
    r.notePrepared(ID, 'ks', [0]);
    const f = executeFrame(ID, [Buffer.from('k')]);
    expect(r.replicasOf(f, 4)).toBeDefined();
    const query = Buffer.from(f);
    query[4] = Opcode.QUERY;
    expect(r.replicasOf(query, 4)).toBeUndefined();
    r.enabled = false;
    expect(r.replicasOf(f, 4)).toBeUndefined();
    expect(encodeStringSet(['1']).length).toBeGreaterThan(0);
  });

  it('forgets a dropped keyspace and picks up an altered one', () => {
    const r = router();
    r.notePrepared(ID, 'ks', [0]);
    const f = executeFrame(ID, [Buffer.from('k')]);
    expect(r.replicasOf(f, 4)?.length).toBe(1);
    r.setKeyspaceReplication(
      'ks',
      new Map([
        ['class', SIMPLE],
        ['replication_factor', '3'],
      ]),
    );
    expect(r.replicasOf(f, 4)?.length).toBe(3);
    r.setReplication([]);
    expect(r.replicasOf(f, 4)).toBeUndefined();
  });
});
