// Proof that the simulated Astra is faithful (issue 3): the real drivers' OWN Astra support
// connects to it without the proxy — the Node.js driver with `cloud.secureConnectBundle`, the
// Python driver with `cloud={'secure_connect_bundle': ...}` — and so do both drivers in
// contact-points mode. Each runs the full scenario: schema, every native type and collections,
// 10,000 rows paged, prepared statements, batches, USE.
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../sim/simulator.js';
import { runNodeScenarioOn, type NodeTarget } from '../e2e/helpers/node-driver.js';
import { runPythonScenario } from '../e2e/helpers/python.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ nodes: 3, protocolVersions: [3, 4, 5], log: () => undefined });
}, 60_000);

afterAll(async () => {
  await sim.close();
});

function readTimeout(): { readTimeout: number; connectTimeout: number } {
  return { readTimeout: 30_000, connectTimeout: 10_000 };
}

describe('the Node.js driver directly against the simulator', () => {
  it('connects with the secure connect bundle, sees every node, and runs the scenario', async () => {
    const target: NodeTarget = {
      hosts: 3,
      client: (keyspace) =>
        new cassandra.Client({
          cloud: { secureConnectBundle: sim.info.bundle },
          credentials: { username: 'token', password: sim.info.token },
          socketOptions: readTimeout(),
          ...(keyspace === undefined ? {} : { keyspace }),
        }),
    };
    await runNodeScenarioOn(target, 'direct_node_cloud');
  }, 120_000);

  it('connects through contact points (plain TCP) and runs the scenario', async () => {
    const target: NodeTarget = {
      hosts: 3,
      client: (keyspace) =>
        new cassandra.Client({
          contactPoints: sim.info.contactPoints.map((h) => `${h}:${sim.info.port}`),
          localDataCenter: sim.info.region,
          credentials: { username: 'token', password: sim.info.token },
          socketOptions: readTimeout(),
          ...(keyspace === undefined ? {} : { keyspace }),
        }),
    };
    await runNodeScenarioOn(target, 'direct_node_cp');
  }, 120_000);

  it('fails with the driver authentication error on a wrong token', async () => {
    const client = new cassandra.Client({
      cloud: { secureConnectBundle: sim.info.bundle },
      credentials: { username: 'token', password: 'AstraCS:wrong:0000' },
    });
    const error = await client.connect().then(
      () => undefined,
      (err: unknown) => err,
    );
    await client.shutdown();
    expect(error).toBeInstanceOf(cassandra.errors.NoHostAvailableError);
    const inner = Object.values(
      (error as cassandra.errors.NoHostAvailableError).innerErrors as Record<string, unknown>,
    );
    expect(inner.length).toBeGreaterThan(0);
    for (const e of inner) expect(e).toBeInstanceOf(cassandra.errors.AuthenticationError);
  });
});

describe('the Python driver directly against the simulator', () => {
  const cases = [
    { name: 'cloud bundle, v4 + lz4', protocol: 4, compression: 'lz4', bundle: true },
    { name: 'cloud bundle, v5 + LZ4 segments', protocol: 5, compression: 'lz4', bundle: true },
    { name: 'contact points, v4 + snappy', protocol: 4, compression: 'snappy', bundle: false },
    { name: 'contact points, v3', protocol: 3, compression: false, bundle: false },
  ] as const;
  for (const c of cases) {
    it(`${c.name}: every node, every type, 10,000 rows paged, prepared, batches, USE`, async () => {
      const keyspace = `direct_py_${c.protocol}_${c.compression === false ? 'none' : c.compression}_${c.bundle ? 'cloud' : 'cp'}`;
      const report = await runPythonScenario({
        host: sim.info.contactPoints[0] ?? '127.0.0.1',
        port: sim.info.port,
        protocol: c.protocol,
        compression: c.compression,
        keyspace,
        token: sim.info.token,
        ...(c.bundle ? { bundle: sim.info.bundle } : {}),
      });
      expect(report.hosts).toBe(3);
      expect(report.protocol).toBe(c.protocol);
      expect(report.typesRoundTrip).toBe(true);
      expect(report.rowsPaged).toBe(10_000);
      expect(report.batchRows).toBe(1000);
      expect(report.useKeyspace).toBe('v1');
      expect(report.metadataTables).toEqual(expect.arrayContaining(['paged', 'types']));
    }, 120_000);
  }
});
