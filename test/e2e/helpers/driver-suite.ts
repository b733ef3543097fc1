// The driver matrix every upstream mode runs (issue 4, "Tests"): through one proxy in front of a
// simulated Astra that offers v3, v4 and v5, the Node.js driver, the Python driver (v4 + lz4,
// v4 + snappy, v3, v5 + LZ4 segments) and gocql (v4, v3, v4 + snappy) each see one host, create
// schema, round-trip every type, page 10,000 rows, prepare, batch and USE; schema changes made by
// one client reach the others as events.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolVersion } from '../../../src/protocol/constants.js';
import { buildGocql, runGocql, type GocqlBinary } from './gocql.js';
import { nodeClient, runNodeScenario } from './node-driver.js';
import { runPythonScenario, watchForTable } from './python.js';
import { startStack, waitFor, withDeadline, type ProxyMode, type Stack } from './stack.js';

const ROWS = 10_000;
const DRIVER_TEST_MS = 120_000;

const PYTHON_CASES = [
  { protocol: 4, compression: 'lz4', name: 'v4 + lz4' },
  { protocol: 4, compression: 'snappy', name: 'v4 + snappy' },
  { protocol: 3, compression: false, name: 'v3, uncompressed' },
  { protocol: 5, compression: 'lz4', name: 'v5 + LZ4 segments' },
] as const;

const GOCQL_CASES = [
  { proto: 4, compression: undefined, name: 'v4' },
  { proto: 3, compression: undefined, name: 'v3' },
  { proto: 4, compression: 'snappy', name: 'v4 + snappy' },
] as const;

/** Keyspace names must be unique per scenario: the simulator's store is shared. */
function keyspaceName(...parts: (string | number | false | undefined)[]): string {
  return parts
    .filter((p) => p !== undefined && p !== false)
    .join('_')
    .replace(/[^a-z0-9_]/g, '_');
}

export function describeDriverSuite(mode: ProxyMode): void {
  let stack: Stack;
  let gocql: GocqlBinary;
  const dc = (): string => stack.sim.info.region;

  beforeAll(async () => {
    const [s, g] = await Promise.all([
      startStack(mode, { simulator: { protocolVersions: [3, 4, 5] } }),
      buildGocql(),
    ]);
    stack = s;
    gocql = g;
  }, 240_000);

  afterAll(async () => {
    await stack?.close();
    await gocql?.remove();
  });

  it(`starts in ${mode} mode, negotiates v5 with the cluster and logs one ready line`, () => {
    const ready = stack.logs.filter((l) => l.msg === 'proxy is ready');
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({
      mode,
      protocolVersion: 'v5',
      clientVersions: ['v5', 'v4', 'v3'],
      dataCenter: stack.sim.info.region,
      listen: `127.0.0.1:${stack.port}`,
    });
    expect(ready[0]?.nodes).toHaveLength(stack.sim.info.nodes.length);
    expect(stack.proxy.cluster.info.protocolVersion).toBe(ProtocolVersion.V5);
  });

  describe('Node.js cassandra-driver', () => {
    it(
      'sees one host; schema, every type, a 300 KB value, counters, batches, 10,000 rows paged, USE',
      async () => {
        await runNodeScenario(stack.port, dc(), keyspaceName('node', mode), ROWS);
      },
      DRIVER_TEST_MS,
    );

    it('learns of a keyspace another client creates (SCHEMA_CHANGE through the proxy)', async () => {
      const watcher = nodeClient(stack.port, dc());
      const other = nodeClient(stack.port, dc());
      const keyspace = keyspaceName('node_events', mode);
      try {
        await Promise.all([watcher.connect(), other.connect()]);
        expect(watcher.metadata.keyspaces[keyspace]).toBeUndefined();
        await other.execute(
          `CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
        );
        // The driver adds a keyspace to its metadata only when the event arrives.
        await waitFor(
          () => watcher.metadata.keyspaces[keyspace] !== undefined,
          10_000,
          `the keyspace ${keyspace} in the Node driver's metadata`,
        );
      } finally {
        await Promise.all([watcher.shutdown(), other.shutdown()]);
      }
    });
  });

  describe('Python driver', () => {
    for (const { protocol, compression, name } of PYTHON_CASES) {
      it(
        `${name}: one host, every type, a 300 KB value, 10,000 rows paged, batches, USE`,
        async () => {
          const keyspace = keyspaceName('py', mode, protocol, compression);
          const out = await runPythonScenario({
            host: '127.0.0.1',
            port: stack.port,
            protocol,
            compression,
            keyspace,
            rows: ROWS,
          });
          expect(out).toMatchObject({
            hosts: 1,
            protocol,
            releaseVersion: '4.0.0.6816',
            compressed: compression !== false,
            typesRoundTrip: true,
            counter: 3,
            largeValue: 300_000,
            rowsPaged: ROWS,
            pages: ROWS / 500,
            batchRows: ROWS / 10,
            useKeyspace: 'v1',
            metadataTables: ['counters', 'paged', 'types'],
          });
          // v5: the client is served in checksummed segments, compressed with LZ4.
          expect(out.segments).toEqual(protocol === 5 ? [true, true] : null);
        },
        DRIVER_TEST_MS,
      );
    }

    it('a Python client sees a table another client creates (SCHEMA_CHANGE events)', async () => {
      const keyspace = keyspaceName('py_events', mode);
      const creator = nodeClient(stack.port, dc());
      const watcher = watchForTable({
        host: '127.0.0.1',
        port: stack.port,
        protocol: 4,
        compression: false,
        keyspace,
        table: 'created_later',
      });
      try {
        await creator.connect();
        await creator.execute(
          `CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
        );
        await withDeadline(watcher.ready, 30_000, 'python watcher connecting');
        await creator.execute(`CREATE TABLE ${keyspace}.created_later (k int PRIMARY KEY)`);
        expect(await withDeadline(watcher.seen, 30_000, 'python watcher')).toBe('created_later');
      } finally {
        watcher.kill();
        await creator.shutdown();
      }
    });
  });

  describe('gocql', () => {
    for (const { proto, compression, name } of GOCQL_CASES) {
      it(
        `${name}: one host, every type, 10,000 rows paged, batches, USE`,
        async () => {
          const keyspace = keyspaceName('go', mode, proto, compression);
          const out = await runGocql(gocql, {
            port: stack.port,
            proto,
            ...(compression === undefined ? {} : { compression }),
            keyspace,
            rows: ROWS,
          });
          expect(out).toEqual({
            hosts: 1,
            releaseVersion: '4.0.0.6816',
            rowsPaged: ROWS,
            pages: ROWS / 500,
            counter: 3,
            typesRoundTrip: true,
            batchRows: ROWS / 10,
            useKeyspace: '1',
            protoVersion: proto,
          });
        },
        DRIVER_TEST_MS,
      );
    }
  });
}
