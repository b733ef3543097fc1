// The simulated Astra database, assembled: N CQL nodes on 127.0.0.1..127.0.0.N sharing one port
// and one engine, and Astra's front end in front of them (metadata service, SNI proxy, DevOps API,
// secure connect bundle), plus the admin API that injects faults. `startSimulator()` brings it all
// up and returns the JSON line `npm run sim` prints (issue 3's contract).

import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Consistency, EventType, ProtocolVersion } from '../src/protocol/constants.js';
import { decodeStringMap, encodeText } from '../src/protocol/values.js';
import { startAdminApi } from './admin-api.js';
import type { AdminApi, AdminNodeStatus, AdminTarget } from './admin-api.js';
import { makeSecureConnectBundle } from './bundle.js';
import type { SecureConnectBundle } from './bundle.js';
import { startDevopsApi } from './devops-api.js';
import type { DevopsApi } from './devops-api.js';
import type { Engine, NodeIdentity } from './engine/contract.js';
import { createEngine } from './engine/index.js';
import { FaultSet } from './faults.js';
import type { FaultRule } from './faults.js';
import { makeMetadataDocument, startMetadataService } from './metadata-service.js';
import { DEFAULT_VNODES, Ownership, vnodeTokens } from './ownership.js';
import type { MetadataService } from './metadata-service.js';
import { MAX_QUEUED_BYTES } from './node/connection.js';
import { startCqlNode } from './node/cql-node.js';
import type { ClusterView, CqlNode } from './node/cql-node.js';
import { DEFAULT_PROTOCOL_VERSIONS } from './node/negotiation.js';
import { UserDirectory } from './node/users.js';
import type { SimulatorUser } from './node/users.js';
import { startSniProxy } from './sni-proxy.js';
import type { NodeAddress, SniProxy } from './sni-proxy.js';
import { makeCertificateAuthority, makeServerCertificate } from './tls/certs.js';

export interface SimulatorOptions {
  /** Default 3; at most 254 (127.0.0.1 .. 127.0.0.254). */
  readonly nodes?: number;
  /** Where the bundle is written; default a fresh temporary directory, removed by close(). */
  readonly outDir?: string;
  /** Default: a random `AstraCS:<24 letters>:<64 hex>`. */
  readonly token?: string;
  /** Default [3, 4]; add 5 for v5 with segments. */
  readonly protocolVersions?: readonly number[];
  /** The CQL port every node listens on; default a port free on all their addresses. */
  readonly port?: number;
  /** Region = local_dc = data_center. Default `dc1`. */
  readonly region?: string;
  /** The class named in AUTHENTICATE; default PasswordAuthenticator. */
  readonly authenticatorClass?: string;
  /**
   * Users besides `token` (which keeps every keyspace), for every node whichever way a client
   * comes in (SNI proxy or contact points): `keyspaces` absent = every keyspace, present = only
   * those (plus reading the system keyspaces). More can be added at run time (`POST /users`).
   */
  readonly users?: readonly SimulatorUser[];
  /** The bundle's keyspace, created at start as Astra creates a database's first keyspace. */
  readonly keyspace?: string;
  /**
   * Tokens per node (vnodes), interleaved over the ring; default 8. system.local/system.peers
   * report them, and they decide which nodes own a partition (GET /stats counts replicas).
   */
  readonly vnodes?: number;
  /** Default createEngine(). */
  readonly engine?: Engine;
  /**
   * How long a schema change made on one node takes to reach the others (ms); until then the
   * nodes' schema_version differ and the others answer "unconfigured table". Default 0. Changed
   * at run time with `POST /schema-delay` (admin API).
   */
  readonly schemaDelayMs?: number;
  readonly log?: (message: string) => void;
}

/** The JSON line of `npm run sim` (issue 3). */
export interface SimulatorInfo {
  readonly bundle: string;
  readonly token: string;
  readonly databaseId: string;
  readonly region: string;
  readonly metadataUrl: string;
  readonly sniProxy: string;
  readonly devopsApiUrl: string;
  /** The nodes' addresses, for contact-points mode (no TLS). */
  readonly contactPoints: readonly string[];
  readonly adminUrl: string;
  /** The CQL port shared by the nodes. */
  readonly port: number;
  readonly nodes: readonly { readonly hostId: string; readonly address: string }[];
}

export interface Simulator {
  readonly info: SimulatorInfo;
  readonly nodes: readonly CqlNode[];
  readonly engine: Engine;
  readonly bundle: SecureConnectBundle;
  /** The SNI proxy in front of the nodes, for its figures (connections, buffered bytes). */
  readonly sniProxy: SniProxy;
  /** Rules for every node (each node also has its own: `nodes[i].faults`). */
  readonly faults: FaultSet;
  /** The accounts every node accepts (`token` and the extra users); changes apply at once. */
  readonly users: UserDirectory;
  /** Stops node i: its connections close, new ones are refused; the others send DOWN. */
  stopNode(index: number): Promise<void>;
  /** Starts node i again; the others send UP. */
  startNode(index: number): Promise<void>;
  /** The host ids of the replicas of a partition (serialized key), if the keyspace is known. */
  replicas(keyspace: string, partitionKey: Uint8Array): Set<string> | undefined;
  close(): Promise<void>;
}

export const DEFAULT_NODES = 3;
export const DEFAULT_REGION = 'dc1';
export const DEFAULT_KEYSPACE = 'default_keyspace';
export const BUNDLE_FILE = 'secure-connect-sim.zip';
const LOOPBACK = '127.0.0.1';
const MAX_NODES = 254;
const MAX_VNODES = 256;
const PORT_ATTEMPTS = 20;
const TOKEN_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const MURMUR3_MIN = -(2n ** 63n);
const MURMUR3_SPAN = 2n ** 64n;

/** A token shaped like Astra's application tokens: `AstraCS:<24 letters>:<64 hex>`. */
export function randomAstraToken(): string {
  let letters = '';
  for (let i = 0; i < 24; i++) letters += TOKEN_LETTERS.charAt(randomInt(TOKEN_LETTERS.length));
  return `AstraCS:${letters}:${randomBytes(32).toString('hex')}`;
}

/** Node i's single Murmur3 token, spread evenly over the ring. */
export function murmur3Token(index: number, count: number): string {
  return (MURMUR3_MIN + (MURMUR3_SPAN * BigInt(index)) / BigInt(count)).toString();
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const count = options.nodes ?? DEFAULT_NODES;
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) {
    throw new Error(`nodes must be an integer in [1, ${MAX_NODES}], got ${count}`);
  }
  const vnodes = options.vnodes ?? DEFAULT_VNODES;
  if (!Number.isInteger(vnodes) || vnodes < 1 || vnodes > MAX_VNODES) {
    throw new Error(`vnodes must be an integer in [1, ${MAX_VNODES}], got ${vnodes}`);
  }
  const log = options.log ?? (() => undefined);
  const token = options.token ?? randomAstraToken();
  const region = options.region ?? DEFAULT_REGION;
  const keyspace = options.keyspace ?? DEFAULT_KEYSPACE;
  const databaseId = randomUUID();
  const engine = options.engine ?? createEngine();
  const faults = new FaultSet();
  // Before anything listens: a bad user definition fails the start with nothing to close.
  const users = new UserDirectory(token, options.users ?? []);
  const closers: (() => Promise<void>)[] = [];
  const ownOutDir = options.outDir === undefined;
  const outDir = options.outDir ?? (await mkdtemp(join(tmpdir(), 'astra-sim-')));
  if (ownOutDir) closers.push(() => rm(outDir, { recursive: true, force: true }));
  else await mkdir(outDir, { recursive: true });

  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        log(`close: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };

  try {
    const identities: NodeIdentity[] = Array.from({ length: count }, (_, i) => {
      const tokens = vnodeTokens(i, count, vnodes);
      return {
        hostId: randomUUID(),
        address: `127.0.0.${i + 1}`,
        port: options.port ?? 0,
        dataCenter: region,
        rack: 'rack1',
        token: tokens[0] ?? murmur3Token(i, count),
        tokens,
      };
    });
    createKeyspace(engine, keyspace, region, identities[0]!, log);
    // After the first keyspace: Astra's database has it everywhere before anyone connects.
    if (options.schemaDelayMs !== undefined) engine.schemaDelayMs = options.schemaDelayMs;

    let nodes: CqlNode[] = [];
    const ownership = new Ownership(
      () => nodes.map((n) => n.identity),
      keyspaceReplication(engine, identities[0]!),
    );
    const cluster: ClusterView = {
      // Every other node, down ones included: Cassandra keeps a stopped node in system.peers
      // (only decommission removes it). Listing only the live ones made the Node.js driver drop a
      // stopped host for good when its control connection moved and re-read system.peers.
      peers: (self) =>
        nodes.filter((n) => n.identity.hostId !== self.hostId).map((n) => n.identity),
      faults,
      isReplica: (self, ks, key) => ownership.replicas(ks, key)?.has(self.hostId),
    };
    nodes = await startNodes(identities, options, engine, users, cluster, log);
    closers.push(async () => {
      for (const node of nodes) await node.stop();
    });
    const port = nodes[0]!.identity.port;

    // One server certificate for both TLS listeners, as Astra; names as each driver checks them
    // (docs/astra.md §2.5).
    const ca = makeCertificateAuthority();
    const serverCertificate = makeServerCertificate(ca, {
      commonName: LOOPBACK,
      dnsNames: [LOOPBACK, 'localhost'],
      ipAddresses: [LOOPBACK],
    });
    const tls = { ca: ca.certPem, cert: serverCertificate.certPem, key: serverCertificate.keyPem };

    let nextNode = 0;
    const route = (serverName: string | undefined): NodeAddress | undefined => {
      if (serverName === undefined || serverName === LOOPBACK) {
        // No host id (cqlsh, tools using cql_port): any coordinator, round robin over those up.
        const up = nodes.filter((n) => n.up);
        if (up.length === 0) return undefined;
        const node = up[nextNode++ % up.length]!;
        return { host: node.identity.address, port };
      }
      const node = nodes.find((n) => n.identity.hostId === serverName);
      // A down node keeps its route: the connection is refused behind the proxy, as in Astra.
      return node === undefined ? undefined : { host: node.identity.address, port };
    };
    const sniProxy: SniProxy = await startSniProxy({ host: LOOPBACK, port: 0, tls, route });
    closers.push(() => sniProxy.close());

    const metadata: MetadataService = await startMetadataService({
      host: LOOPBACK,
      port: 0,
      tls,
      metadata: () =>
        makeMetadataDocument({
          localDc: region,
          contactPoints: nodes.filter((n) => n.up).map((n) => n.identity.hostId),
          sniProxyAddress: sniProxy.address,
        }),
    });
    closers.push(() => metadata.close());

    const bundle = makeSecureConnectBundle({
      ca,
      host: LOOPBACK,
      metadataPort: metadata.port,
      sniPort: sniProxy.port,
      keyspace,
      localDc: region,
    });
    const bundlePath = join(outDir, BUNDLE_FILE);
    await writeFile(bundlePath, bundle.zip);

    const devops: DevopsApi = await startDevopsApi({
      host: LOOPBACK,
      port: 0,
      databases: new Map([
        [databaseId, { token, bundle: () => bundle.zip, datacenterId: `${databaseId}-1` }],
      ]),
    });
    closers.push(() => devops.close());

    const stopNode = async (index: number): Promise<void> => {
      const node = nodeAt(nodes, index);
      if (!node.up) return;
      await node.stop();
      engine.setNodeUp?.(node.identity.hostId, false);
      announce(nodes, node, 'DOWN');
      log(`node ${index} (${node.identity.address}) stopped`);
    };
    const startNode = async (index: number): Promise<void> => {
      const node = nodeAt(nodes, index);
      if (node.up) return;
      await node.start();
      engine.setNodeUp?.(node.identity.hostId, true);
      announce(nodes, node, 'UP');
      log(`node ${index} (${node.identity.address}) started`);
    };

    const target: AdminTarget = {
      nodeCount: count,
      nodeStatus: (index): AdminNodeStatus => {
        const node = nodeAt(nodes, index);
        return {
          index,
          hostId: node.identity.hostId,
          address: node.address,
          up: node.up,
          readingPaused: node.readingPaused,
        };
      },
      stopNode,
      startNode,
      forgetPrepared: (index) => nodeAt(nodes, index).forgetPrepared(),
      pauseReading: (index) => nodeAt(nodes, index).pauseReading(),
      resumeReading: (index) => nodeAt(nodes, index).resumeReading(),
      connections: (index) => ({
        queueLimit: MAX_QUEUED_BYTES,
        connections: nodeAt(nodes, index).connectionStats(),
      }),
      addFault: (rule: FaultRule, node) => {
        if (node === undefined) faults.add(rule);
        else nodeAt(nodes, node).faults.add(rule);
      },
      faults: () => ({ cluster: faults.rules, nodes: nodes.map((n) => n.faults.rules) }),
      schemaDelayMs: () => engine.schemaDelayMs ?? 0,
      setSchemaDelayMs: (ms) => {
        engine.schemaDelayMs = ms;
      },
      partitionStats: () =>
        nodes.map((n, index) => ({ index, hostId: n.identity.hostId, ...n.partitionStats() })),
      resetPartitionStats: () => {
        for (const n of nodes) n.resetPartitionStats();
      },
      users: () => users.list(),
      setUser: (user) => users.set(user),
      deleteUser: (username) => users.delete(username),
      clearFaults: () => {
        let cleared = faults.size;
        faults.clear();
        for (const node of nodes) {
          cleared += node.faults.size;
          node.faults.clear();
        }
        return cleared;
      },
    };
    const admin: AdminApi = await startAdminApi({ host: LOOPBACK, port: 0, target, log });
    closers.push(() => admin.close());

    const info: SimulatorInfo = {
      bundle: bundlePath,
      token,
      databaseId,
      region,
      metadataUrl: metadata.url,
      sniProxy: sniProxy.address,
      devopsApiUrl: devops.url,
      contactPoints: nodes.map((n) => n.identity.address),
      adminUrl: admin.url,
      port,
      nodes: nodes.map((n) => ({ hostId: n.identity.hostId, address: n.address })),
    };
    log(`simulator up: ${count} nodes on port ${port}, SNI proxy ${sniProxy.address}`);
    return {
      info,
      nodes,
      engine,
      bundle,
      sniProxy,
      faults,
      users,
      stopNode,
      startNode,
      replicas: (ks, key) => ownership.replicas(ks, key),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function nodeAt(nodes: readonly CqlNode[], index: number): CqlNode {
  const node = nodes[index];
  if (node === undefined)
    throw new RangeError(`no node ${index}: nodes are 0..${nodes.length - 1}`);
  return node;
}

/** STATUS_CHANGE from every other node that is up, as gossip makes each coordinator do. */
function announce(nodes: readonly CqlNode[], subject: CqlNode, change: 'UP' | 'DOWN'): void {
  const address = { address: subject.identity.address, port: subject.identity.port };
  for (const node of nodes) {
    if (node === subject || !node.up) continue;
    node.sendEvent({ type: EventType.STATUS_CHANGE, change, address });
  }
}

/**
 * Starts every node on one port: the first picks it (or takes options.port), the others bind the
 * same number on their own address. A port taken on one of the addresses means another try.
 */
async function startNodes(
  identities: readonly NodeIdentity[],
  options: SimulatorOptions,
  engine: Engine,
  users: UserDirectory,
  cluster: ClusterView,
  log: (message: string) => void,
): Promise<CqlNode[]> {
  const protocolVersions = options.protocolVersions ?? DEFAULT_PROTOCOL_VERSIONS;
  const attempts = options.port === undefined ? PORT_ATTEMPTS : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const started: CqlNode[] = [];
    let port = options.port ?? 0;
    try {
      for (const identity of identities) {
        const node = await startCqlNode({
          identity: { ...identity, port },
          host: identity.address,
          port,
          engine,
          users,
          protocolVersions,
          cluster,
          log,
          ...(options.authenticatorClass === undefined
            ? {}
            : { authenticatorClass: options.authenticatorClass }),
        });
        started.push(node);
        port = node.identity.port;
      }
      return started;
    } catch (error) {
      lastError = error;
      for (const node of started) await node.stop();
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE') throw error;
      log(`port ${port} is taken on one of the node addresses; trying another`);
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/**
 * A keyspace's replication, read from system_schema.keyspaces as any client would, and cached
 * until the next schema change.
 */
function keyspaceReplication(
  engine: Engine,
  node: NodeIdentity,
): (keyspace: string) => ReadonlyMap<string, string> | undefined {
  const cache = new Map<string, ReadonlyMap<string, string> | undefined>();
  engine.onSchemaChange(() => cache.clear());
  return (keyspace) => {
    if (cache.has(keyspace)) return cache.get(keyspace);
    let replication: ReadonlyMap<string, string> | undefined;
    try {
      const result = engine.execute(
        'SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?',
        { consistency: Consistency.ONE, values: [encodeText(keyspace)] },
        { node, peers: () => [], keyspace: undefined, protocolVersion: ProtocolVersion.V4 },
      );
      const cell = result.kind === 'rows' ? result.rows[0]?.[0] : undefined;
      replication = cell === undefined ? undefined : (decodeStringMap(cell) ?? undefined);
    } catch {
      replication = undefined;
    }
    cache.set(keyspace, replication);
    return replication;
  };
}

/** Astra creates a database with its first keyspace; the bundle names it. */
function createKeyspace(
  engine: Engine,
  keyspace: string,
  region: string,
  node: NodeIdentity,
  log: (message: string) => void,
): void {
  const query =
    `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ` +
    `{'class': 'NetworkTopologyStrategy', '${region}': '3'}`;
  try {
    engine.execute(
      query,
      { consistency: Consistency.LOCAL_QUORUM, values: [] },
      { node, peers: () => [], keyspace: undefined, protocolVersion: ProtocolVersion.V4 },
    );
  } catch (error) {
    log(
      `could not create keyspace ${keyspace}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
