// Command line, environment variables and the optional YAML file → one validated Config.
// Pure: the caller (main.ts) passes argv, the environment and a file reader, and does the I/O
// (printing help, printing the error line, exiting with code 2). Every problem is one line naming
// where the bad value came from (--flag, ENV_VAR, or key in file), and never quoting a secret.
//
// Precedence is flags > environment > file > defaults. cql-proxy applies the YAML file last, so
// there the file overrides flags and environment (docs/cql-proxy-compat.md §1); we do not,
// because a flag typed on the command line should win over a file written long ago.

import type { Config } from './config.js';
import {
  PROGRAM_NAME,
  PROGRAM_VERSION,
  parseHostPort,
  parseInteger,
  renderHelp,
  type LogLevel,
} from './schema.js';
import { Consistency, consistencyName, versionName } from '../protocol/constants.js';
import {
  checkOverrideNotUnsupported,
  checkPeersHaveOurAddress,
  checkPeersHaveTokens,
  type SettingNames,
} from '../client/config-rules.js';
import { ConfigError, PEER_RPC_ADDRESS, Reader, SOURCE_RANK, Sources, fail } from './sources.js';
import { readClientAuth, readSecretFile, readTokenFile } from './client-auth.js';
import {
  parseApiUrl,
  parseConsistencyName,
  parseDatabaseId,
  parseFrameSize,
  parseHostName,
  parseLogLevel,
  parsePositiveSize,
  parseProtocolVersion,
  parseTlsVersion,
  parseWorkers,
} from './option-values.js';

export type ParseConfigResult =
  { config: Config } | { help: string } | { error: string; exitCode: 2 };

export function parseConfig(
  argv: string[],
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
): ParseConfigResult {
  const early = helpOrVersion(argv);
  if (early !== undefined) return { help: early };
  try {
    return { config: buildConfig(new Sources(argv, env, readFile)) };
  } catch (err) {
    if (err instanceof ConfigError) return { error: err.message, exitCode: 2 };
    throw err;
  }
}

function helpOrVersion(argv: readonly string[]): string | undefined {
  const end = argv.indexOf('--');
  const args = end === -1 ? argv : argv.slice(0, end);
  if (args.includes('--help') || args.includes('-h')) return renderHelp();
  if (args.includes('--version')) return `${PROGRAM_NAME} ${PROGRAM_VERSION}`;
  return undefined;
}

// --- Building the Config

const WRITE_LEVELS_REFUSED: ReadonlySet<number> = new Set([
  Consistency.SERIAL,
  Consistency.LOCAL_SERIAL,
]);

function buildConfig(sources: Sources): Config {
  const r = new Reader(sources);

  // Astra
  const astraBundle = r.text('astra-bundle');
  let astraToken = r.text('astra-token');
  const tokenFile = r.text('astra-token-file');
  if (tokenFile !== undefined) {
    if (astraToken !== undefined) {
      fail(`${r.where('astra-token')} and ${r.where('astra-token-file')} cannot be used together`);
    }
    astraToken = readTokenFile(sources, tokenFile, r.where('astra-token-file'));
  }
  // Not quoted back: a token pasted here by mistake must not end up in a log.
  const astraDatabaseId = r.parsed('astra-database-id', parseDatabaseId, false);
  const astraApiUrl = r.required('astra-api-url', parseApiUrl);
  const astraTimeoutMs = r.duration('astra-timeout');

  // Cluster
  const port = r.required('port', (t) => parseInteger(t, 1, 65535));
  const contactPoints =
    r.list('contact-points', (item) => parseHostPort(item, port, { minPort: 1 })) ?? [];
  const username = r.text('username');
  let password = r.text('password');
  const passwordFile = r.text('password-file');
  if (passwordFile !== undefined) {
    if (password !== undefined) {
      fail(`${r.where('password')} and ${r.where('password-file')} cannot be used together`);
    }
    password = readSecretFile(sources, passwordFile, r.where('password-file'), 'password');
  }
  const protocolVersion = r.required('protocol-version', parseProtocolVersion);
  const numConns = r.required('num-conns', (t) => parseInteger(t, 1, Number.MAX_SAFE_INTEGER));
  const caFile = r.text('cluster-ca-file');
  const certFile = r.text('cluster-cert-file');
  const keyFile = r.text('cluster-key-file');
  const serverName = r.parsed('cluster-server-name', parseHostName);
  const insecure = r.bool('cluster-tls-insecure');
  const unsupportedWriteConsistencies = [
    ...new Set(r.list('unsupported-write-consistencies', parseConsistencyName) ?? []),
  ];
  const unsupportedWriteConsistencyOverride = r.required(
    'unsupported-write-consistency-override',
    parseConsistencyName,
  );
  const idempotentGraph = r.bool('idempotent-graph');

  // Listener
  const bind = r.required('bind', (t) =>
    parseHostPort(t, 9042, { emptyHost: '0.0.0.0', minPort: 0 }),
  );
  // Unless set, the client-side maximum follows the upstream version asked for, so
  // `--protocol-version dsev2` alone works; set explicitly, it must not be lower (as cql-proxy).
  const maxSet = r.isSet('max-protocol-version');
  const maxProtocolVersion = maxSet
    ? r.required('max-protocol-version', parseProtocolVersion)
    : Math.max(r.required('max-protocol-version', parseProtocolVersion), protocolVersion);
  const proxyCertFile = r.text('proxy-cert-file');
  const proxyKeyFile = r.text('proxy-key-file');
  const proxyCaFile = r.text('proxy-ca-file');
  const proxyTlsMinVersion = r.required('proxy-tls-min-version', parseTlsVersion);
  const clientAuth = readClientAuth(r, sources);

  // Limits
  const count = (t: string): number => parseInteger(t, 1, Number.MAX_SAFE_INTEGER);
  const maxClientConnections = r.required('max-client-connections', count);
  const maxFrameLength = r.required('max-frame-size', parseFrameSize);
  const maxClientRequests = r.required('max-client-requests', (t) => parseInteger(t, 1, 32768));
  const maxClientRequestBytes = r.required('max-client-request-bytes', parsePositiveSize);
  const maxClientOutputBytes = r.required('max-client-output', parsePositiveSize);
  const memoryBudget = r.required('memory-budget', (t) =>
    t.trim().toLowerCase() === 'auto' ? 'auto' : parsePositiveSize(t),
  );
  const maxQueuedRequests = r.required('max-queued-requests', count);
  const maxOrphanedStreams = r.required('max-orphaned-streams', (t) => parseInteger(t, 1, 32768));
  const maxPreparedCacheBytes = r.required('max-prepared-cache', parsePositiveSize);
  const maxPreparedIds = r.required('max-prepared-ids', count);
  const maxUpstreamFrameLength = r.required('max-upstream-frame-size', parseFrameSize);
  const rpcAddress = r.parsed('rpc-address', parseHostName);
  const dataCenter = r.text('data-center');
  const tokens = r.list('tokens', (t) => t);
  const peers = sources.peers ?? [];

  // Timeouts
  const heartbeatIntervalMs = r.duration('heartbeat-interval');
  const connectTimeoutMs = r.duration('connect-timeout');
  const idleTimeoutMs = r.duration('idle-timeout');
  const readinessTimeoutMs = r.duration('readiness-timeout');
  const requestTimeoutMs = r.duration('request-timeout');
  const schemaTimeoutMs = r.duration('schema-timeout');
  const schemaAgreementTimeoutMs = r.duration('schema-agreement-timeout', true);
  const drainTimeoutMs = r.duration('drain-timeout', true);
  const handshakeTimeoutMs = r.duration('handshake-timeout', true);
  const clientIdleTimeoutMs = r.duration('client-idle-timeout', true);
  const clientWriteTimeoutMs = r.duration('client-write-timeout', true);
  const tcpKeepAliveMs = r.duration('tcp-keepalive', true);
  const reconnectDelayMs = r.duration('reconnect-delay');
  const maxReconnectDelayMs = r.duration('max-reconnect-delay');
  const topologyRefreshDelayMs = r.duration('topology-refresh-delay');
  const sessionIdleTimeoutMs = r.duration('session-idle-timeout', true);

  // Operations
  const logLevel = resolveLogLevel(r, sources);
  const healthCheck = r.bool('health-check');
  const metrics = r.bool('metrics');
  const workers = r.required('workers', parseWorkers);
  const httpBind = r.required('http-bind', (t) =>
    parseHostPort(t, 8000, { emptyHost: '0.0.0.0', minPort: 0 }),
  );

  // Modes: bundle first, then token + database id, then contact points (cql-proxy's order), but a
  // second mode given alongside is an error here rather than silently ignored.
  const hasContactPoints = contactPoints.length > 0;
  if (astraBundle !== undefined && hasContactPoints) {
    fail(`${r.where('astra-bundle')} and ${r.where('contact-points')} cannot be used together`);
  }
  const tokenWhere = tokenFile !== undefined ? r.where('astra-token-file') : r.where('astra-token');
  if (astraBundle === undefined && astraToken !== undefined && hasContactPoints) {
    fail(`${tokenWhere} cannot be used with ${r.where('contact-points')} (the token is for Astra)`);
  }
  if (astraBundle === undefined && astraToken !== undefined && astraDatabaseId === undefined) {
    fail(
      'database ID is required when using a token: add --astra-database-id (or use --astra-bundle)',
    );
  }
  if (astraBundle === undefined && astraToken === undefined && astraDatabaseId !== undefined) {
    fail(
      hasContactPoints
        ? `${r.where('astra-database-id')} cannot be used with ${r.where('contact-points')}`
        : `${r.where('astra-database-id')} requires --astra-token`,
    );
  }
  if (astraBundle === undefined && astraToken === undefined && !hasContactPoints) {
    fail(
      'must provide either --astra-bundle, --astra-token with --astra-database-id, or --contact-points',
    );
  }
  const astra = !hasContactPoints;

  // Backend TLS is for contact points; Astra connections use the bundle's certificates.
  const tlsNames = [
    'cluster-ca-file',
    'cluster-cert-file',
    'cluster-key-file',
    'cluster-server-name',
  ];
  const tlsGiven = tlsNames.filter((n) => r.isSet(n));
  if (insecure) tlsGiven.push('cluster-tls-insecure');
  const firstTls = tlsGiven[0];
  if (astra && firstTls !== undefined) {
    fail(
      `${r.where(firstTls)} applies to --contact-points only (Astra uses the bundle's certificates)`,
    );
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    fail('both --cluster-cert-file and --cluster-key-file are required for a client certificate');
  }
  let clusterTls: Config['clusterTls'];
  if (firstTls !== undefined) {
    clusterTls = {};
    if (caFile !== undefined) clusterTls.caFile = caFile;
    if (certFile !== undefined) clusterTls.certFile = certFile;
    if (keyFile !== undefined) clusterTls.keyFile = keyFile;
    if (serverName !== undefined) clusterTls.serverName = serverName;
    if (insecure) clusterTls.insecure = true;
  }

  if ((proxyCertFile === undefined) !== (proxyKeyFile === undefined)) {
    fail('both --proxy-cert-file and --proxy-key-file are required for TLS');
  }
  // Client certificates and the TLS version only mean something with the proxy's own certificate.
  for (const name of ['proxy-ca-file', 'proxy-tls-min-version']) {
    if (proxyCertFile === undefined && r.isSet(name)) {
      fail(`${r.where(name)} needs TLS for clients: add --proxy-cert-file and --proxy-key-file`);
    }
  }
  if (idleTimeoutMs <= heartbeatIntervalMs) {
    fail(
      `--idle-timeout must be greater than --heartbeat-interval ` +
        `(heartbeat interval: ${shownValue(r, 'heartbeat-interval')}, idle timeout: ${shownValue(r, 'idle-timeout')})`,
    );
  }
  if (maxReconnectDelayMs < reconnectDelayMs) {
    fail(
      `${r.where('max-reconnect-delay')} must be at least ${r.where('reconnect-delay')} ` +
        `(reconnect delay: ${shownValue(r, 'reconnect-delay')}, maximum: ${shownValue(r, 'max-reconnect-delay')})`,
    );
  }
  if (maxProtocolVersion < protocolVersion) {
    fail(
      `${r.where('max-protocol-version')} (${versionName(maxProtocolVersion)}) must be at least ` +
        `${r.where('protocol-version')} (${versionName(protocolVersion)})`,
    );
  }
  // The rules the client side checks again for library users are stated once, in
  // src/client/config-rules.ts; here they name what the user wrote.
  const names: SettingNames = {
    writeConsistencyOverride: r.where('unsupported-write-consistency-override'),
    unsupportedWriteConsistencies: r.where('unsupported-write-consistencies'),
    rpcAddress: r.where('rpc-address'),
    peers: `peers in ${sources.fileLabel ?? 'the configuration file'}`,
    peerRpcAddress: PEER_RPC_ADDRESS,
  };
  checkOverrideNotUnsupported(
    unsupportedWriteConsistencyOverride,
    unsupportedWriteConsistencies,
    names,
    fail,
  );
  if (WRITE_LEVELS_REFUSED.has(unsupportedWriteConsistencyOverride)) {
    fail(
      `--unsupported-write-consistency-override cannot be ${consistencyName(unsupportedWriteConsistencyOverride)}: ` +
        'serial levels apply to conditional updates only',
    );
  }
  checkPeersHaveOurAddress(peers.length, rpcAddress, names, fail);
  checkPeersHaveTokens(tokens, peers, fail);

  // Credentials: with a token (Astra), the proxy logs in as user "token" with the token as
  // password, unless BOTH --username and --password are given (e.g. a client id and secret).
  // cql-proxy forces "token" in token mode; an explicit pair wins here. A lone username is not
  // enough: USERNAME is set by the system on some machines (Windows, some desktop sessions) and
  // must not turn a working token into a failed login. Without a token they are used as given.
  let user = username;
  if (astra && astraToken !== undefined && (username === undefined || password === undefined)) {
    user = 'token';
    password = astraToken;
  }

  return {
    astraBundle,
    astraToken,
    astraDatabaseId,
    astraApiUrl,
    astraTimeoutMs,
    contactPoints,
    username: user,
    password,
    port,
    protocolVersion,
    maxProtocolVersion,
    numConns,
    clusterTls,
    bind,
    proxyCertFile,
    proxyKeyFile,
    proxyCaFile,
    proxyTlsMinVersion,
    maxClientConnections,
    rpcAddress,
    dataCenter,
    tokens,
    peers,
    unsupportedWriteConsistencies,
    unsupportedWriteConsistencyOverride,
    idempotentGraph,
    heartbeatIntervalMs,
    connectTimeoutMs,
    idleTimeoutMs,
    readinessTimeoutMs,
    requestTimeoutMs,
    schemaTimeoutMs,
    schemaAgreementTimeoutMs,
    drainTimeoutMs,
    healthCheck,
    metrics,
    httpBind,
    workers,
    logLevel,
    maxFrameLength,
    clientAuth,
    maxClientRequests,
    maxClientRequestBytes,
    maxClientOutputBytes,
    memoryBudget: memoryBudget === 'auto' ? undefined : memoryBudget,
    maxQueuedRequests,
    maxOrphanedStreams,
    maxPreparedCacheBytes,
    maxPreparedIds,
    maxUpstreamFrameLength,
    handshakeTimeoutMs,
    clientIdleTimeoutMs,
    clientWriteTimeoutMs,
    tcpKeepAliveMs,
    reconnectDelayMs,
    maxReconnectDelayMs,
    topologyRefreshDelayMs,
    sessionIdleTimeoutMs,
  };
}

function shownValue(r: Reader, name: string): string {
  const s = r.setting(name);
  return typeof s?.value === 'string' ? s.value.trim() : '';
}

/**
 * --debug is --log-level debug. When both are set, the one from the stronger source wins (flag >
 * environment > file), and --log-level on a tie: DEBUG=true in an old manifest must not override
 * `--log-level trace` typed today.
 */
function resolveLogLevel(r: Reader, sources: Sources): LogLevel {
  const level = r.required('log-level', parseLogLevel);
  if (!r.bool('debug')) return level;
  const levelSource = sources.get('log-level')?.source ?? 'default';
  const debugSource = sources.get('debug')?.source ?? 'default';
  return SOURCE_RANK[debugSource] < SOURCE_RANK[levelSource] ? 'debug' : level;
}
