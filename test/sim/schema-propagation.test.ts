// Schema propagation in the simulator (sim/engine/schema-views.ts): a change made on one node
// reaches the others after schemaDelayMs; until then their schema_version differs (in their own
// system.local and in the others' system.peers) and they answer "unconfigured table".

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorInfo } from '../../sim/simulator.js';
import { decodeInet, decodeUuid } from '../../src/protocol/values.js';
import { createEngine } from '../../sim/engine/index.js';
import type { Engine } from '../../sim/engine/contract.js';
import { CqlRequestError } from '../../sim/engine/contract.js';
import { contextFor, opts, rowsOf } from './engine/engine-helpers.js';

function run(e: Engine, node: number, query: string) {
  return e.execute(query, opts(), contextFor(undefined, node));
}

function errorOf(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    if (error instanceof CqlRequestError) return error.message;
    throw error;
  }
  return 'no error';
}

/** Node `node`'s view: its own version and, by address, the versions its peers rows report. */
function versions(e: Engine, node: number): { local: string; peers: Map<string, string> } {
  const local = rowsOf(run(e, node, "SELECT schema_version FROM system.local WHERE key='local'"));
  const peers = rowsOf(run(e, node, 'SELECT peer, schema_version FROM system.peers'));
  return {
    local: decodeUuid(local[0]?.[0] ?? null) ?? '',
    peers: new Map(
      peers.map((r) => [decodeInet(r[0] ?? null) ?? '', decodeUuid(r[1] ?? null) ?? '']),
    ),
  };
}

function setup(delayMs: number) {
  let now = 1_700_000_000_000;
  const e = createEngine({ now: () => now, schemaDelayMs: delayMs });
  run(
    e,
    0,
    "CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '3'}",
  );
  now += delayMs + 1;
  return {
    e,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('schema propagation', () => {
  it('with no delay (the default) every node sees a change at once and reports one version', () => {
    const { e } = setup(0);
    run(e, 0, 'CREATE TABLE ks.t (k int PRIMARY KEY, v int)');
    expect(rowsOf(run(e, 1, 'SELECT * FROM ks.t'))).toEqual([]);
    const v = versions(e, 0).local;
    for (const node of [0, 1, 2]) {
      expect(versions(e, node).local).toBe(v);
      expect([...versions(e, node).peers.values()]).toEqual([v, v]);
    }
  });

  it('with a delay, the other nodes do not know the table and report another version until it passes', () => {
    const { e, advance } = setup(500);
    const before = versions(e, 1).local;
    run(e, 0, 'CREATE TABLE ks.t (k int PRIMARY KEY, v int)');
    // The node that ran it knows the table at once.
    run(e, 0, 'INSERT INTO ks.t (k, v) VALUES (1, 1)');
    expect(errorOf(() => run(e, 1, 'INSERT INTO ks.t (k, v) VALUES (2, 2)'))).toBe(
      'unconfigured table t',
    );
    expect(errorOf(() => run(e, 2, 'SELECT * FROM ks.t'))).toBe('unconfigured table t');
    expect(errorOf(() => e.prepare('SELECT * FROM ks.t', contextFor(undefined, 2)))).toBe(
      'unconfigured table t',
    );

    const v0 = versions(e, 0);
    const v1 = versions(e, 1);
    expect(v0.local).not.toBe(before);
    expect(v1.local).not.toBe(v0.local);
    // Gossip: node 0's peers rows show nodes 1 and 2 behind it, node 1's show node 0 ahead.
    expect(v0.peers.get('127.0.0.2')).toBe(v1.local);
    expect(v0.peers.get('127.0.0.3')).toBe(v1.local);
    expect(v1.peers.get('127.0.0.1')).toBe(v0.local);

    advance(499);
    expect(errorOf(() => run(e, 1, 'SELECT * FROM ks.t'))).toBe('unconfigured table t');
    advance(2);
    expect(rowsOf(run(e, 1, 'SELECT k FROM ks.t'))).toHaveLength(1);
    const agreed = versions(e, 0).local;
    for (const node of [0, 1, 2]) {
      expect(versions(e, node).local).toBe(agreed);
      expect([...versions(e, node).peers.values()]).toEqual([agreed, agreed]);
    }
  });

  it('a keyspace not seen yet does not exist there (USE and tables in it)', () => {
    const { e, advance } = setup(300);
    run(
      e,
      1,
      "CREATE KEYSPACE ks2 WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '3'}",
    );
    expect(errorOf(() => run(e, 0, 'USE ks2'))).toBe("Keyspace 'ks2' does not exist");
    run(e, 1, 'CREATE TABLE ks2.t (k int PRIMARY KEY)');
    expect(errorOf(() => run(e, 2, 'SELECT * FROM ks2.t'))).toBe("Keyspace 'ks2' does not exist");
    advance(301);
    run(e, 0, 'USE ks2');
    expect(rowsOf(run(e, 2, 'SELECT * FROM ks2.t'))).toEqual([]);
  });

  it('a stopped node does not get the changes until it starts again', () => {
    const { e, advance } = setup(100);
    const host2 = contextFor(undefined, 2).node.hostId;
    e.setNodeUp?.(host2, false);
    run(e, 0, 'CREATE TABLE ks.t (k int PRIMARY KEY)');
    advance(1_000);
    const v0 = versions(e, 0);
    expect(versions(e, 1).local).toBe(v0.local);
    // Its peers' rows about it show it behind, long after the delay.
    expect(v0.peers.get('127.0.0.3')).not.toBe(v0.local);
    expect(versions(e, 1).peers.get('127.0.0.3')).toBe(v0.peers.get('127.0.0.3'));
    e.setNodeUp?.(host2, true);
    expect(versions(e, 2).local).toBe(v0.local);
    expect(versions(e, 0).peers.get('127.0.0.3')).toBe(v0.local);
    expect(rowsOf(run(e, 2, 'SELECT * FROM ks.t'))).toEqual([]);
  });

  it('the delay can change at run time; it applies to later changes', () => {
    const { e, advance } = setup(0);
    expect(e.schemaDelayMs).toBe(0);
    e.schemaDelayMs = 200;
    run(e, 0, 'CREATE TABLE ks.t (k int PRIMARY KEY)');
    expect(errorOf(() => run(e, 1, 'SELECT * FROM ks.t'))).toBe('unconfigured table t');
    e.schemaDelayMs = 0;
    run(e, 0, 'CREATE TABLE ks.u (k int PRIMARY KEY)');
    expect(rowsOf(run(e, 1, 'SELECT * FROM ks.u'))).toEqual([]);
    advance(201);
    expect(rowsOf(run(e, 1, 'SELECT * FROM ks.t'))).toEqual([]);
    expect(() => {
      e.schemaDelayMs = -1;
    }).toThrow(RangeError);
  });
});

describe('the simulator and its admin API', () => {
  it('SimulatorOptions.schemaDelayMs sets the delay (not for the first keyspace); GET/POST /schema-delay read and change it', async () => {
    const sim = await startSimulator({ nodes: 2, schemaDelayMs: 250 });
    try {
      const call = async (method: string, body?: unknown) => {
        const response = await fetch(`${sim.info.adminUrl}/schema-delay`, {
          method,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: response.status, json: await response.json() };
      };
      expect(sim.engine.schemaDelayMs).toBe(250);
      // The bundle's keyspace was created before the delay applied: every node has it.
      for (const node of sim.nodes) {
        sim.engine.execute('USE default_keyspace', opts(), {
          node: node.identity,
          peers: () => [],
          keyspace: undefined,
          protocolVersion: 4,
        });
      }
      expect(await call('GET')).toEqual({ status: 200, json: { ms: 250 } });
      expect(await call('POST', { ms: 500 })).toEqual({ status: 200, json: { ms: 500 } });
      expect(sim.engine.schemaDelayMs).toBe(500);
      expect((await call('POST', { ms: -1 })).status).toBe(400);
      expect((await call('POST', { delay: 1 })).status).toBe(400);
      expect((await call('DELETE')).status).toBe(405);
      expect(sim.engine.schemaDelayMs).toBe(500);
    } finally {
      await sim.close();
    }
  });
});

describe('npm run sim -- --schema-delay', () => {
  const CLI = ['--import', 'tsx', 'sim/main.ts'];

  async function run(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stderr };
  }

  it('sets the delay the admin API then reports', async () => {
    const child = spawn(process.execPath, [...CLI, '--nodes', '1', '--schema-delay', '750ms'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    try {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      for (let i = 0; i < 600 && !stdout.includes('\n'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const info = JSON.parse(stdout) as SimulatorInfo;
      const response = await fetch(`${info.adminUrl}/schema-delay`);
      expect(await response.json()).toEqual({ ms: 750 });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 40_000);

  it('refuses what is not a duration (exit 2, with the usage)', async () => {
    const bad = await run(['--schema-delay', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--schema-delay must be a duration like 500ms or 2s, got "soon"/);
    expect(bad.stderr).toMatch(/usage: npm run sim/);
  }, 40_000);
});
