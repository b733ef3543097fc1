// Keyspace sessions that nobody uses close their connections, and reopen them for the next
// request, invisibly to the client (cql-proxy keeps them forever). The idle time is shortened
// for the test; in production it is 10 minutes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeClient } from './helpers/node-driver.js';
import { startStack, type Stack } from './helpers/stack.js';

const IDLE_MS = 300;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack('contact-points', {
    proxyArgs: ['--session-idle-timeout', `${IDLE_MS}ms`],
  });
}, 60_000);

afterAll(async () => {
  await stack.close();
});

/** Open connections from the proxy to the cluster, over every node and session. */
function upstreamConnections(): number {
  return stack.proxy.cluster.nodeStates().reduce((n, s) => n + s.connections, 0);
}

async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('idle keyspace sessions', () => {
  it('close their connections, then reopen them for the same client without an error', async () => {
    const nodes = stack.sim.info.contactPoints.length;
    const setup = nodeClient(stack.port, stack.sim.info.region);
    await setup.execute(
      "CREATE KEYSPACE IF NOT EXISTS idle_ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    await setup.execute('CREATE TABLE IF NOT EXISTS idle_ks.t (k int PRIMARY KEY, v text)');
    await setup.shutdown();
    const baseline = upstreamConnections();

    // A client in the keyspace: the proxy opens a session for it, one connection per node.
    const client = nodeClient(stack.port, stack.sim.info.region, { keyspace: 'idle_ks' });
    try {
      await client.execute('INSERT INTO t (k, v) VALUES (?, ?)', [1, 'one'], { prepare: true });
      expect(upstreamConnections()).toBe(baseline + nodes);

      // Left alone, the keyspace session closes its connections; the default session stays.
      await waitFor(() => upstreamConnections() === baseline, 'the idle session to sleep');

      // The same client, on the same connection, carries on as if nothing happened.
      const row = (
        await client.execute('SELECT v FROM t WHERE k = ?', [1], { prepare: true })
      ).first();
      expect(row.get('v')).toBe('one');
      expect(upstreamConnections()).toBe(baseline + nodes);
    } finally {
      await client.shutdown();
    }
  }, 60_000);
});
