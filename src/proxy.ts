// Wires one proxy: the upstream target (Astra bundle, Astra token, or contact points), the cluster
// (control connection and sessions), the client side (listener and client sessions), and the
// operations side (health, metrics). start() fails with a ProxyError naming what went wrong;
// close() undoes everything, draining client connections first when asked (src/ops/shutdown.ts).

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { errorMessage, ProxyError, ProxyErrorCode } from './errors.js';
import type { Config } from './config/config.js';
import type { Logger } from './ops/logger.js';
import { startOperations, type Operations } from './ops/operations.js';
import { closeGracefully } from './ops/shutdown.js';
import { downloadSecureConnectBundle } from './bundle/devops-api.js';
import { fetchAstraMetadata } from './bundle/metadata-service.js';
import {
  readSecureConnectBundle,
  readSecureConnectBundleFile,
} from './bundle/secure-connect-bundle.js';
import { startClientSide, type ClientSide } from './client/client-side.js';
import type { ClientSideConfig } from './client/config.js';
import { defaultMemoryBudget } from './client/memory-budget.js';
import { versionName } from './protocol/constants.js';
import { Cluster } from './upstream/cluster.js';
import type { ClusterTarget } from './upstream/topology.js';
import { type ClientTls, loadClientTls } from './tls/client-tls.js';
import { readClusterTls } from './tls/cluster-tls-files.js';

export interface RunningProxy {
  readonly cluster: Cluster;
  readonly clientSide: ClientSide;
  readonly operations: Operations;
  /** Where clients connect. */
  readonly address: { host: string; port: number };
  /**
   * Re-reads the client TLS certificate, key and CA files and installs them for new connections
   * (SIGHUP, src/main.ts). Resolves false when they are unusable (logged; the old ones stay) or
   * client TLS is off. Never rejects.
   */
  reloadTls(): Promise<boolean>;
  /**
   * Closes everything. With `drainTimeoutMs` > 0, stops accepting and reading first and lets the
   * requests already read be answered for up to that long (SIGTERM); with 0, at once.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/** What the proxy connects to, described for the start-up log line. */
interface TargetDescription {
  mode: 'astra-bundle' | 'astra-token' | 'contact-points';
  [field: string]: unknown;
}

/** What differs when the proxy runs as one of several processes. */
export interface ProxyTuning {
  /**
   * Set in a worker of --workers N (src/ops/workers.ts): no HTTP server (the primary serves it),
   * and the start-up fields go to `ready` rather than the "proxy is ready" line.
   */
  worker?: { ready(fields: Record<string, unknown>): void };
}

export async function startProxy(
  config: Config,
  logger: Logger,
  tuning: ProxyTuning = {},
): Promise<RunningProxy> {
  // First, so that a taken --http-bind fails before anything connects.
  const operations = await startOperations(config, logger.child({ component: 'ops' }), {
    http: tuning.worker === undefined,
  });
  try {
    return await startServing(config, logger, operations, tuning);
  } catch (err) {
    await operations.close();
    throw err;
  }
}

async function startServing(
  config: Config,
  logger: Logger,
  operations: Operations,
  tuning: ProxyTuning,
): Promise<RunningProxy> {
  const { target, description } = await resolveTarget(config);
  const credentials =
    config.username !== undefined || config.password !== undefined
      ? { username: config.username ?? '', password: config.password ?? '' }
      : undefined;
  const cluster = await Cluster.connect({
    target,
    credentials,
    protocolVersion: config.protocolVersion,
    maxClientVersion: config.maxProtocolVersion,
    numConnections: config.numConns,
    connectTimeoutMs: config.connectTimeoutMs,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    idleTimeoutMs: config.idleTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    schemaTimeoutMs: config.schemaTimeoutMs,
    schemaAgreementTimeoutMs: config.schemaAgreementTimeoutMs,
    maxQueuedRequests: config.maxQueuedRequests,
    // --max-frame-size bounds what clients send; answers come from the cluster the operator
    // chose, and a page of wide rows may exceed 16 MiB, so they keep Cassandra 3.x's 256 MiB by
    // default (their buffers grow as bytes arrive, like every frame's).
    maxFrameLength: config.maxUpstreamFrameLength,
    preparedCacheBytes: config.maxPreparedCacheBytes,
    maxOrphanedStreams: config.maxOrphanedStreams,
    refreshDebounceMs: config.topologyRefreshDelayMs,
    sessionIdleMs: config.sessionIdleTimeoutMs,
    reconnect: { baseMs: config.reconnectDelayMs, maxMs: config.maxReconnectDelayMs },
    logger: logger.child({ component: 'upstream' }),
    requestObserver: operations.requestObserver,
  });
  let clientSide: ClientSide;
  let clientTls: ClientTls | undefined;
  try {
    clientTls = await startClientTls(config, logger);
    clientSide = await startClientSide(await clientSideConfig(config, clientTls), cluster, {
      log: logger.child({ component: 'client' }),
    });
  } catch (err) {
    clientTls?.close();
    cluster.close();
    throw err;
  }
  const tls = clientTls;
  const info = cluster.info;
  const ready = {
    ...description,
    nodes: cluster.nodeList.map((n) => n.address ?? n.key),
    protocolVersion: versionName(info.protocolVersion),
    clientVersions: info.clientVersions.map(versionName),
    releaseVersion: info.releaseVersion,
    dataCenter: info.dataCenter,
    listen: `${clientSide.host}:${clientSide.port}`,
  };
  if (tuning.worker === undefined) logger.info(ready, 'proxy is ready');
  else tuning.worker.ready(ready);
  operations.running(cluster, clientSide);
  warnIfOpen(config, clientSide.host, logger);
  return {
    cluster,
    clientSide,
    operations,
    address: { host: clientSide.host, port: clientSide.port },
    reloadTls: async () => {
      if (tls !== undefined) return tls.reload('reload request');
      logger.info('client TLS is off: no certificates to reload');
      return false;
    },
    close: (options = {}) => {
      tls?.close();
      return closeGracefully(
        { operations, clientSide, cluster },
        options.drainTimeoutMs ?? 0,
        logger,
      );
    },
  };
}

/** The client-facing certificates, watched for rotation (src/tls/client-tls.ts); none without TLS. */
async function startClientTls(config: Config, logger: Logger): Promise<ClientTls | undefined> {
  if (config.proxyCertFile === undefined || config.proxyKeyFile === undefined) return undefined;
  return loadClientTls(
    {
      certFile: config.proxyCertFile,
      keyFile: config.proxyKeyFile,
      ...(config.proxyCaFile === undefined ? {} : { caFile: config.proxyCaFile }),
    },
    { minVersion: config.proxyTlsMinVersion, log: logger.child({ component: 'tls' }) },
  );
}

/**
 * A listener on an address other hosts can reach, with neither client authentication nor client
 * certificates, lets anyone who reaches it use the proxy's credentials: the warning to log once at
 * start-up, if any. `--client-auth none` given on purpose silences it (README "Security").
 */
export function openListenerWarning(
  config: Pick<Config, 'clientAuth' | 'proxyCaFile'>,
  boundHost: string,
): string | undefined {
  const auth = config.clientAuth;
  if (auth.mode !== 'none' || auth.explicit || config.proxyCaFile !== undefined) return undefined;
  if (isLoopback(boundHost)) return undefined;
  return (
    'clients are not authenticated: anyone who can reach this address uses the proxy\u2019s ' +
    'credentials (set --client-auth users or passthrough, or --proxy-ca-file; ' +
    '--client-auth none says it is on purpose)'
  );
}

function warnIfOpen(config: Config, boundHost: string, logger: Logger): void {
  const warning = openListenerWarning(config, boundHost);
  if (warning !== undefined) logger.warn({ bind: `${boundHost}:${config.bind.port}` }, warning);
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^::ffff:/i, '');
  return h === '::1' || h === 'localhost' || /^127\./.test(h);
}

async function resolveTarget(
  config: Config,
): Promise<{ target: ClusterTarget; description: TargetDescription }> {
  if (config.astraBundle !== undefined || config.astraToken !== undefined) {
    let zip: Buffer;
    let source: string;
    let mode: TargetDescription['mode'];
    if (config.astraBundle !== undefined) {
      source = config.astraBundle;
      mode = 'astra-bundle';
      zip = await readSecureConnectBundleFile(config.astraBundle);
    } else {
      if (config.astraDatabaseId === undefined || config.astraToken === undefined) {
        throw new ProxyError(
          ProxyErrorCode.CONFIG_INVALID,
          'database ID is required when using a token',
        );
      }
      mode = 'astra-token';
      source = `database ${config.astraDatabaseId}`;
      zip = await downloadSecureConnectBundle({
        apiUrl: config.astraApiUrl,
        token: config.astraToken,
        databaseId: config.astraDatabaseId,
        timeoutMs: config.astraTimeoutMs,
      });
    }
    const bundle = readSecureConnectBundle(zip, source);
    const metadata = await fetchAstraMetadata(bundle, { timeoutMs: config.astraTimeoutMs });
    // Astra's bundle host is <database id>-<region>.db.astra.datastax.com.
    const databaseId =
      config.astraDatabaseId ??
      /^([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})-/i.exec(bundle.host)?.[1];
    return {
      target: { kind: 'astra', bundle, metadata },
      description: {
        mode,
        ...(config.astraBundle === undefined ? {} : { bundle: config.astraBundle }),
        ...(databaseId === undefined ? {} : { databaseId }),
        region: metadata.region,
        sniProxy: `${metadata.sniProxy.host}:${metadata.sniProxy.port}`,
      },
    };
  }
  if (config.contactPoints.length > 0) {
    const tls = await readClusterTls(config.clusterTls);
    return {
      target: {
        kind: 'contact-points',
        contactPoints: config.contactPoints,
        port: config.port,
        ...(tls === undefined ? {} : { tls }),
      },
      description: {
        mode: 'contact-points',
        contactPoints: config.contactPoints.map((c) => `${c.host}:${c.port}`),
        tls: tls !== undefined,
      },
    };
  }
  throw new ProxyError(
    ProxyErrorCode.CONFIG_INVALID,
    'must provide either --astra-bundle, --astra-token with --astra-database-id, or --contact-points',
  );
}

/** cql-proxy resolves --rpc-address and the peers' addresses with DNS; system tables need IPs. */
async function resolveAddress(address: string, what: string): Promise<string> {
  if (isIP(address) !== 0) return address;
  try {
    return (await lookup(address)).address;
  } catch (err) {
    throw new ProxyError(
      ProxyErrorCode.CONFIG_INVALID,
      `cannot resolve ${what} ${address}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
}

async function clientSideConfig(
  config: Config,
  tls: ClientTls | undefined,
): Promise<ClientSideConfig> {
  const rpcAddress =
    config.rpcAddress === undefined
      ? undefined
      : await resolveAddress(config.rpcAddress, '--rpc-address');
  const peers = await Promise.all(
    config.peers.map(async (p, i) => ({
      ...p,
      rpcAddress: await resolveAddress(p.rpcAddress, `peer #${i + 1} rpc-address`),
    })),
  );
  return {
    bind: config.bind,
    ...(tls === undefined ? {} : { tls: tls.config }),
    maxFrameLength: config.maxFrameLength,
    maxClientConnections: config.maxClientConnections,
    maxPreparedIds: config.maxPreparedIds,
    limits: {
      maxRequestsInFlight: config.maxClientRequests,
      maxRequestBytesInFlight: config.maxClientRequestBytes,
      maxOutputBytes: config.maxClientOutputBytes,
      writeTimeoutMs: config.clientWriteTimeoutMs,
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      idleTimeoutMs: config.clientIdleTimeoutMs,
      keepAliveMs: config.tcpKeepAliveMs,
    },
    memoryBudget: config.memoryBudget ?? defaultMemoryBudget(),
    auth: config.clientAuth,
    ...(rpcAddress === undefined ? {} : { rpcAddress }),
    ...(config.dataCenter === undefined ? {} : { dataCenter: config.dataCenter }),
    ...(config.tokens === undefined ? {} : { tokens: config.tokens }),
    peers,
    unsupportedWriteConsistencies: new Set(config.unsupportedWriteConsistencies),
    idempotentGraph: config.idempotentGraph,
    writeConsistencyOverride: config.unsupportedWriteConsistencyOverride,
  };
}
