import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { OPTIONS, OPTIONS_BY_NAME } from '../../src/config/schema.js';
import { Consistency, ProtocolVersion } from '../../src/protocol/constants.js';
import { DB_ID, ok, run } from './helpers.js';

const CP = ['--contact-points', '10.0.0.1'];
const BUNDLE = ['--astra-bundle', 'scb.zip'];

describe('defaults', () => {
  it('fills every default of cql-proxy, except --bind on loopback and v5 protocol versions', () => {
    const c = ok(CP);
    const expected: Config = {
      astraBundle: undefined,
      astraToken: undefined,
      astraDatabaseId: undefined,
      astraApiUrl: 'https://api.astra.datastax.com',
      astraTimeoutMs: 10_000,
      contactPoints: [{ host: '10.0.0.1', port: 9042 }],
      username: undefined,
      password: undefined,
      port: 9042,
      protocolVersion: ProtocolVersion.V5,
      maxProtocolVersion: ProtocolVersion.V5,
      numConns: 1,
      clusterTls: undefined,
      bind: { host: '127.0.0.1', port: 9042 },
      proxyCertFile: undefined,
      proxyKeyFile: undefined,
      proxyCaFile: undefined,
      proxyTlsMinVersion: 'TLSv1.2',
      maxClientConnections: 4096,
      rpcAddress: undefined,
      dataCenter: undefined,
      tokens: undefined,
      peers: [],
      unsupportedWriteConsistencies: [],
      unsupportedWriteConsistencyOverride: Consistency.LOCAL_QUORUM,
      idempotentGraph: false,
      heartbeatIntervalMs: 30_000,
      connectTimeoutMs: 10_000,
      idleTimeoutMs: 60_000,
      readinessTimeoutMs: 30_000,
      requestTimeoutMs: 12_000,
      schemaTimeoutMs: 60_000,
      schemaAgreementTimeoutMs: 10_000,
      drainTimeoutMs: 15_000,
      healthCheck: false,
      metrics: false,
      httpBind: { host: '0.0.0.0', port: 8000 },
      workers: 1,
      logLevel: 'info',
      maxFrameLength: 16 * 1024 * 1024,
      clientAuth: { mode: 'none', explicit: false },
      maxClientRequests: 1024,
      maxClientRequestBytes: 64 * 1024 * 1024,
      maxClientOutputBytes: 8 * 1024 * 1024,
      memoryBudget: undefined,
      maxQueuedRequests: 8192,
      maxOrphanedStreams: 256,
      maxPreparedCacheBytes: 64 * 1024 * 1024,
      maxPreparedIds: 10_000,
      maxUpstreamFrameLength: 256 * 1024 * 1024,
      handshakeTimeoutMs: 10_000,
      clientIdleTimeoutMs: 0,
      clientWriteTimeoutMs: 30_000,
      tcpKeepAliveMs: 60_000,
      reconnectDelayMs: 500,
      maxReconnectDelayMs: 60_000,
      topologyRefreshDelayMs: 1_000,
      sessionIdleTimeoutMs: 600_000,
    };
    expect(c).toStrictEqual(expected);
  });

  it('is deterministic: the same input gives the same output', () => {
    const argv = [...BUNDLE, '--astra-token', 'AstraCS:a', '--num-conns', '3'];
    expect(run(argv, { BIND: ':9000' })).toStrictEqual(run(argv, { BIND: ':9000' }));
  });
});

/**
 * One case per option: a value as the user writes it, the mode arguments it needs, and what it
 * becomes. Each case runs by long flag, short flag, environment variable and YAML key.
 */
interface FlagCase {
  name: string;
  value: string;
  base?: string[];
  files?: Record<string, string>;
  check: (c: Config) => unknown;
  expected: unknown;
}

const TLS_BASE = [...CP, '--cluster-ca-file', 'ca.pem'];

/** A well-formed users-file hash (format only: parsing does not run scrypt). */
const HASH = `scrypt$16384$8$1$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32, 2).toString('base64')}`;

const FLAG_CASES: FlagCase[] = [
  {
    name: 'client-auth',
    value: 'Passthrough',
    base: CP,
    check: (c) => c.clientAuth,
    expected: { mode: 'passthrough', explicit: true },
  },
  {
    name: 'client-username',
    value: 'app',
    base: [...CP, '--client-password', 'pw'],
    check: (c) => c.clientAuth,
    expected: { mode: 'users', users: [{ username: 'app', password: 'pw' }], explicit: false },
  },
  {
    name: 'client-password',
    value: 's3cret',
    base: [...CP, '--client-username', 'app'],
    check: (c) => c.clientAuth.mode === 'users' && c.clientAuth.users[0],
    expected: { username: 'app', password: 's3cret' },
  },
  {
    name: 'client-password-file',
    value: '/run/secrets/client-pw',
    base: [...CP, '--client-username', 'app'],
    files: { '/run/secrets/client-pw': 'from-file\n' },
    check: (c) => c.clientAuth.mode === 'users' && c.clientAuth.users[0],
    expected: { username: 'app', password: 'from-file' },
  },
  {
    name: 'client-users-file',
    value: '/etc/proxy/users',
    base: CP,
    files: { '/etc/proxy/users': `# users\n\nalice:${HASH}\nbob:${HASH}\n` },
    check: (c) => (c.clientAuth.mode === 'users' ? c.clientAuth.users.map((u) => u.username) : []),
    expected: ['alice', 'bob'],
  },
  { name: 'astra-bundle', value: 'b.zip', check: (c) => c.astraBundle, expected: 'b.zip' },
  {
    name: 'astra-token',
    value: 'AstraCS:abc:def',
    base: ['--astra-database-id', DB_ID],
    check: (c) => [c.astraToken, c.username, c.password],
    expected: ['AstraCS:abc:def', 'token', 'AstraCS:abc:def'],
  },
  {
    name: 'astra-token-file',
    value: '/run/secrets/token',
    base: ['--astra-database-id', DB_ID],
    files: { '/run/secrets/token': '  AstraCS:from-file\n' },
    check: (c) => [c.astraToken, c.password],
    expected: ['AstraCS:from-file', 'AstraCS:from-file'],
  },
  {
    name: 'astra-database-id',
    value: DB_ID.toUpperCase(),
    base: ['--astra-token', 'AstraCS:t'],
    check: (c) => c.astraDatabaseId,
    expected: DB_ID.toUpperCase(),
  },
  {
    name: 'astra-api-url',
    value: 'http://127.0.0.1:8443/',
    base: BUNDLE,
    check: (c) => c.astraApiUrl,
    expected: 'http://127.0.0.1:8443',
  },
  {
    name: 'astra-timeout',
    value: '1m30s',
    base: BUNDLE,
    check: (c) => c.astraTimeoutMs,
    expected: 90_000,
  },
  {
    name: 'contact-points',
    value: '10.0.0.1, cass-2.local:9043,[fd00::3]:9044,fd00::4,',
    check: (c) => c.contactPoints,
    expected: [
      { host: '10.0.0.1', port: 9042 },
      { host: 'cass-2.local', port: 9043 },
      { host: 'fd00::3', port: 9044 },
      { host: 'fd00::4', port: 9042 },
    ],
  },
  {
    name: 'port',
    value: '19042',
    base: ['--contact-points', '10.0.0.1,10.0.0.2:9043'],
    check: (c) => [c.port, c.contactPoints],
    expected: [
      19042,
      [
        { host: '10.0.0.1', port: 19042 },
        { host: '10.0.0.2', port: 9043 },
      ],
    ],
  },
  {
    name: 'username',
    value: 'cassandra',
    base: CP,
    check: (c) => c.username,
    expected: 'cassandra',
  },
  {
    name: 'password',
    value: 's3cret pass',
    base: CP,
    check: (c) => c.password,
    expected: 's3cret pass',
  },
  {
    name: 'password-file',
    value: '/run/secrets/password',
    base: [...CP, '--username', 'cassandra'],
    files: { '/run/secrets/password': '  s3cret pass\n' },
    check: (c) => [c.username, c.password],
    expected: ['cassandra', 's3cret pass'],
  },
  {
    name: 'protocol-version',
    value: 'V4',
    base: CP,
    check: (c) => [c.protocolVersion, c.maxProtocolVersion],
    expected: [4, 5],
  },
  {
    name: 'max-protocol-version',
    value: 'dsev1',
    base: CP,
    check: (c) => c.maxProtocolVersion,
    expected: ProtocolVersion.DSE_V1,
  },
  { name: 'num-conns', value: '4', base: CP, check: (c) => c.numConns, expected: 4 },
  {
    name: 'cluster-ca-file',
    value: 'ca.pem',
    base: CP,
    check: (c) => c.clusterTls,
    expected: { caFile: 'ca.pem' },
  },
  {
    name: 'cluster-cert-file',
    value: 'client.pem',
    base: [...CP, '--cluster-key-file', 'client.key'],
    check: (c) => c.clusterTls,
    expected: { certFile: 'client.pem', keyFile: 'client.key' },
  },
  {
    name: 'cluster-key-file',
    value: 'client.key',
    base: [...TLS_BASE, '--cluster-cert-file', 'client.pem'],
    check: (c) => c.clusterTls,
    expected: { caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'client.key' },
  },
  {
    name: 'cluster-server-name',
    value: 'cassandra.eu-west-1.amazonaws.com',
    base: CP,
    check: (c) => c.clusterTls,
    expected: { serverName: 'cassandra.eu-west-1.amazonaws.com' },
  },
  {
    name: 'cluster-tls-insecure',
    value: 'true',
    base: CP,
    check: (c) => c.clusterTls,
    expected: { insecure: true },
  },
  {
    name: 'unsupported-write-consistencies',
    value: 'any,One, local_one',
    base: BUNDLE,
    check: (c) => c.unsupportedWriteConsistencies,
    expected: [Consistency.ANY, Consistency.ONE, Consistency.LOCAL_ONE],
  },
  {
    name: 'unsupported-write-consistency-override',
    value: 'each_quorum',
    base: BUNDLE,
    check: (c) => c.unsupportedWriteConsistencyOverride,
    expected: Consistency.EACH_QUORUM,
  },
  {
    name: 'idempotent-graph',
    value: 'true',
    base: CP,
    check: (c) => c.idempotentGraph,
    expected: true,
  },
  {
    name: 'bind',
    value: '0.0.0.0:19042',
    base: CP,
    check: (c) => c.bind,
    expected: { host: '0.0.0.0', port: 19042 },
  },
  {
    name: 'proxy-cert-file',
    value: 'proxy.pem',
    base: [...CP, '--proxy-key-file', 'proxy.key'],
    check: (c) => [c.proxyCertFile, c.proxyKeyFile],
    expected: ['proxy.pem', 'proxy.key'],
  },
  {
    name: 'proxy-key-file',
    value: 'proxy.key',
    base: [...CP, '--proxy-cert-file', 'proxy.pem'],
    check: (c) => [c.proxyCertFile, c.proxyKeyFile],
    expected: ['proxy.pem', 'proxy.key'],
  },
  {
    name: 'proxy-ca-file',
    value: 'clients-ca.pem',
    base: [...CP, '--proxy-cert-file', 'proxy.pem', '--proxy-key-file', 'proxy.key'],
    check: (c) => c.proxyCaFile,
    expected: 'clients-ca.pem',
  },
  {
    name: 'proxy-tls-min-version',
    value: 'tlsv1.3',
    base: [...CP, '--proxy-cert-file', 'proxy.pem', '--proxy-key-file', 'proxy.key'],
    check: (c) => c.proxyTlsMinVersion,
    expected: 'TLSv1.3',
  },
  {
    name: 'max-client-connections',
    value: '500',
    base: CP,
    check: (c) => c.maxClientConnections,
    expected: 500,
  },
  {
    name: 'max-frame-size',
    value: '32MiB',
    base: CP,
    check: (c) => c.maxFrameLength,
    expected: 32 * 1024 * 1024,
  },
  {
    name: 'max-client-requests',
    value: '256',
    base: CP,
    check: (c) => c.maxClientRequests,
    expected: 256,
  },
  {
    name: 'max-client-request-bytes',
    value: '4MiB',
    base: CP,
    check: (c) => c.maxClientRequestBytes,
    expected: 4 * 1024 * 1024,
  },
  {
    name: 'max-client-output',
    value: '512KiB',
    base: CP,
    check: (c) => c.maxClientOutputBytes,
    expected: 512 * 1024,
  },
  {
    name: 'memory-budget',
    value: '1GiB',
    base: CP,
    check: (c) => c.memoryBudget,
    expected: 1024 * 1024 * 1024,
  },
  {
    name: 'max-queued-requests',
    value: '100',
    base: CP,
    check: (c) => c.maxQueuedRequests,
    expected: 100,
  },
  {
    name: 'max-orphaned-streams',
    value: '64',
    base: CP,
    check: (c) => c.maxOrphanedStreams,
    expected: 64,
  },
  {
    name: 'max-prepared-cache',
    value: '8MiB',
    base: CP,
    check: (c) => c.maxPreparedCacheBytes,
    expected: 8 * 1024 * 1024,
  },
  {
    name: 'max-prepared-ids',
    value: '500',
    base: CP,
    check: (c) => c.maxPreparedIds,
    expected: 500,
  },
  {
    name: 'max-upstream-frame-size',
    value: '32MiB',
    base: CP,
    check: (c) => c.maxUpstreamFrameLength,
    expected: 32 * 1024 * 1024,
  },
  {
    name: 'handshake-timeout',
    value: '2s',
    base: CP,
    check: (c) => c.handshakeTimeoutMs,
    expected: 2_000,
  },
  {
    name: 'client-idle-timeout',
    value: '5m',
    base: CP,
    check: (c) => c.clientIdleTimeoutMs,
    expected: 300_000,
  },
  {
    name: 'client-write-timeout',
    value: '1m',
    base: CP,
    check: (c) => c.clientWriteTimeoutMs,
    expected: 60_000,
  },
  {
    name: 'tcp-keepalive',
    value: '0',
    base: CP,
    check: (c) => c.tcpKeepAliveMs,
    expected: 0,
  },
  {
    name: 'reconnect-delay',
    value: '2s',
    base: CP,
    check: (c) => c.reconnectDelayMs,
    expected: 2_000,
  },
  {
    name: 'max-reconnect-delay',
    value: '5m',
    base: CP,
    check: (c) => c.maxReconnectDelayMs,
    expected: 300_000,
  },
  {
    name: 'topology-refresh-delay',
    value: '250ms',
    base: CP,
    check: (c) => c.topologyRefreshDelayMs,
    expected: 250,
  },
  {
    name: 'session-idle-timeout',
    value: '0',
    base: CP,
    check: (c) => c.sessionIdleTimeoutMs,
    expected: 0,
  },
  {
    name: 'rpc-address',
    value: '10.1.1.1',
    base: CP,
    check: (c) => c.rpcAddress,
    expected: '10.1.1.1',
  },
  {
    name: 'data-center',
    value: 'dc-east',
    base: CP,
    check: (c) => c.dataCenter,
    expected: 'dc-east',
  },
  {
    name: 'tokens',
    value: '-9223372036854775808,0',
    base: CP,
    check: (c) => c.tokens,
    expected: ['-9223372036854775808', '0'],
  },
  {
    name: 'heartbeat-interval',
    value: '10s',
    base: CP,
    check: (c) => c.heartbeatIntervalMs,
    expected: 10_000,
  },
  {
    name: 'connect-timeout',
    value: '2500ms',
    base: CP,
    check: (c) => c.connectTimeoutMs,
    expected: 2_500,
  },
  { name: 'idle-timeout', value: '2m', base: CP, check: (c) => c.idleTimeoutMs, expected: 120_000 },
  {
    name: 'readiness-timeout',
    value: '1h',
    base: CP,
    check: (c) => c.readinessTimeoutMs,
    expected: 3_600_000,
  },
  {
    name: 'request-timeout',
    value: '1.5s',
    base: CP,
    check: (c) => c.requestTimeoutMs,
    expected: 1_500,
  },
  {
    name: 'schema-timeout',
    value: '2m',
    base: CP,
    check: (c) => c.schemaTimeoutMs,
    expected: 120_000,
  },
  {
    name: 'schema-agreement-timeout',
    value: '0',
    base: CP,
    check: (c) => c.schemaAgreementTimeoutMs,
    expected: 0,
  },
  {
    name: 'drain-timeout',
    value: '2500ms',
    base: CP,
    check: (c) => c.drainTimeoutMs,
    expected: 2_500,
  },
  {
    name: 'config',
    value: 'proxy.yaml',
    base: CP,
    files: { 'proxy.yaml': 'num-conns: 7\n' },
    check: (c) => c.numConns,
    expected: 7,
  },
  { name: 'log-level', value: 'WARN', base: CP, check: (c) => c.logLevel, expected: 'warn' },
  { name: 'debug', value: 'true', base: CP, check: (c) => c.logLevel, expected: 'debug' },
  { name: 'health-check', value: 'true', base: CP, check: (c) => c.healthCheck, expected: true },
  { name: 'metrics', value: '1', base: CP, check: (c) => c.metrics, expected: true },
  {
    name: 'http-bind',
    value: '127.0.0.2',
    base: CP,
    check: (c) => c.httpBind,
    expected: { host: '127.0.0.2', port: 8000 },
  },
  { name: 'workers', value: '3', base: CP, check: (c) => c.workers, expected: 3 },
];

describe('each option by long flag, short flag, environment variable and YAML key', () => {
  it('has a case for every option', () => {
    expect(FLAG_CASES.map((c) => c.name).sort()).toStrictEqual(OPTIONS.map((o) => o.name).sort());
  });

  for (const fc of FLAG_CASES) {
    const spec = OPTIONS_BY_NAME.get(fc.name);
    if (spec === undefined) throw new Error(fc.name);
    const base = fc.base ?? [];
    const files = fc.files ?? {};

    it(`--${fc.name} ${fc.value}`, () => {
      expect(fc.check(ok([...base, `--${fc.name}`, fc.value], {}, files))).toStrictEqual(
        fc.expected,
      );
      expect(fc.check(ok([...base, `--${fc.name}=${fc.value}`], {}, files))).toStrictEqual(
        fc.expected,
      );
    });

    if (spec.short !== undefined) {
      const short = spec.short;
      it(`-${short} ${fc.value}`, () => {
        expect(fc.check(ok([...base, `-${short}`, fc.value], {}, files))).toStrictEqual(
          fc.expected,
        );
      });
    }

    const envName = spec.env;
    if (envName !== undefined) {
      it(`${envName}=${fc.value}`, () => {
        expect(fc.check(ok(base, { [envName]: fc.value }, files))).toStrictEqual(fc.expected);
      });
    }

    if (spec.notInFile !== true) {
      it(`${fc.name}: ${fc.value} in the YAML file`, () => {
        const yaml = `${fc.name}: ${JSON.stringify(fc.value)}\n`;
        const c = ok([...base, '--config', 'f.yaml'], {}, { ...files, 'f.yaml': yaml });
        expect(fc.check(c)).toStrictEqual(fc.expected);
      });
    }
  }

  it('--unsupported-write-consistency-override has no environment variable, as cql-proxy', () => {
    expect(OPTIONS_BY_NAME.get('unsupported-write-consistency-override')?.env).toBeUndefined();
    const c = ok(BUNDLE, { UNSUPPORTED_WRITE_CONSISTENCY_OVERRIDE: 'ONE' });
    expect(c.unsupportedWriteConsistencyOverride).toBe(Consistency.LOCAL_QUORUM);
  });

  it('uses the short names and environment variables of cql-proxy', () => {
    const expected: Record<string, [string | undefined, string | undefined]> = {
      'astra-bundle': ['b', 'ASTRA_BUNDLE'],
      'astra-token': ['t', 'ASTRA_TOKEN'],
      'astra-database-id': ['i', 'ASTRA_DATABASE_ID'],
      'astra-api-url': [undefined, 'ASTRA_API_URL'],
      'astra-timeout': [undefined, 'ASTRA_TIMEOUT'],
      'contact-points': ['c', 'CONTACT_POINTS'],
      username: ['u', 'USERNAME'],
      password: ['p', 'PASSWORD'],
      port: ['r', 'PORT'],
      'protocol-version': ['n', 'PROTOCOL_VERSION'],
      'max-protocol-version': ['m', 'MAX_PROTOCOL_VERSION'],
      bind: ['a', 'BIND'],
      config: ['f', 'CONFIG_FILE'],
      debug: [undefined, 'DEBUG'],
      'health-check': [undefined, 'HEALTH_CHECK'],
      'http-bind': [undefined, 'HTTP_BIND'],
      'heartbeat-interval': [undefined, 'HEARTBEAT_INTERVAL'],
      'connect-timeout': [undefined, 'CONNECT_TIMEOUT'],
      'idle-timeout': [undefined, 'IDLE_TIMEOUT'],
      'readiness-timeout': [undefined, 'READINESS_TIMEOUT'],
      'idempotent-graph': [undefined, 'IDEMPOTENT_GRAPH'],
      'num-conns': [undefined, 'NUM_CONNS'],
      'proxy-cert-file': [undefined, 'PROXY_CERT_FILE'],
      'proxy-key-file': [undefined, 'PROXY_KEY_FILE'],
      'rpc-address': [undefined, 'RPC_ADDRESS'],
      'data-center': [undefined, 'DATA_CENTER'],
      tokens: [undefined, 'TOKENS'],
      'unsupported-write-consistencies': [undefined, 'UNSUPPORTED_WRITE_CONSISTENCIES'],
      'unsupported-write-consistency-override': [undefined, undefined],
    };
    for (const [name, [short, env]] of Object.entries(expected)) {
      const spec = OPTIONS_BY_NAME.get(name);
      expect([name, spec?.short, spec?.env]).toStrictEqual([name, short, env]);
      expect(spec?.ours).toBeUndefined();
    }
    // Ours: an UPPER_SNAKE environment variable of the same name.
    for (const o of OPTIONS.filter((x) => x.ours === true)) {
      expect(o.env).toBe(o.name.toUpperCase().replaceAll('-', '_'));
    }
  });
});

describe('switches', () => {
  it('accepts a bare flag, =value, a separate value and --no-', () => {
    expect(ok([...CP, '--health-check']).healthCheck).toBe(true);
    expect(ok([...CP, '--health-check', '--metrics']).metrics).toBe(true);
    expect(ok([...CP, '--health-check=false']).healthCheck).toBe(false);
    expect(ok([...CP, '--health-check', 'no']).healthCheck).toBe(false);
    expect(ok([...CP, '--health-check=on']).healthCheck).toBe(true);
    expect(ok([...CP, '--no-health-check'], { HEALTH_CHECK: 'true' }).healthCheck).toBe(false);
  });

  it('reads environment switches as Go strconv.ParseBool does (and yes/no)', () => {
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True', 'yes', 'on']) {
      expect(ok(CP, { METRICS: v }).metrics).toBe(true);
    }
    for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False', 'no', 'off']) {
      expect(ok(CP, { METRICS: v }).metrics).toBe(false);
    }
  });

  it('treats an empty environment variable as unset', () => {
    const c = ok(CP, { NUM_CONNS: '', BIND: '', DEBUG: '', ASTRA_TOKEN: '' });
    expect([c.numConns, c.bind.port, c.logLevel, c.astraToken]).toStrictEqual([
      1,
      9042,
      'info',
      undefined,
    ]);
  });

  it('takes the last of a repeated flag', () => {
    expect(ok([...CP, '--num-conns', '2', '--num-conns', '3']).numConns).toBe(3);
  });
});

describe('precedence: flags > environment > file > defaults', () => {
  const file = {
    'p.yaml': 'num-conns: 2\nbind: 127.0.0.3:9000\nlog-level: error\ncontact-points: [10.9.9.9]\n',
  };

  it('a flag beats the environment and the file', () => {
    const c = ok(
      ['-f', 'p.yaml', '--num-conns', '4', '--bind', ':1'],
      { NUM_CONNS: '3', BIND: ':2' },
      file,
    );
    expect([c.numConns, c.bind]).toStrictEqual([4, { host: '0.0.0.0', port: 1 }]);
  });

  it('the environment beats the file', () => {
    const c = ok(['-f', 'p.yaml'], { NUM_CONNS: '3', LOG_LEVEL: 'trace' }, file);
    expect([c.numConns, c.logLevel, c.bind]).toStrictEqual([
      3,
      'trace',
      { host: '127.0.0.3', port: 9000 },
    ]);
  });

  it('the file beats the defaults', () => {
    const c = ok(['-f', 'p.yaml'], {}, file);
    expect([c.numConns, c.logLevel, c.contactPoints]).toStrictEqual([
      2,
      'error',
      [{ host: '10.9.9.9', port: 9042 }],
    ]);
  });

  it('the file can be named by CONFIG_FILE, and --config beats it', () => {
    const files = { ...file, 'q.yaml': 'num-conns: 5\ncontact-points: 10.0.0.1\n' };
    expect(ok([], { CONFIG_FILE: 'p.yaml' }, files).numConns).toBe(2);
    expect(ok(['--config', 'q.yaml'], { CONFIG_FILE: 'p.yaml' }, files).numConns).toBe(5);
  });

  it('a list from a flag replaces the whole list from the file', () => {
    const c = ok(['-f', 'p.yaml', '-c', '10.0.0.1'], {}, file);
    expect(c.contactPoints).toStrictEqual([{ host: '10.0.0.1', port: 9042 }]);
  });

  it('--debug is --log-level debug; the stronger source wins, --log-level on a tie', () => {
    expect(ok([...CP, '--debug']).logLevel).toBe('debug');
    expect(ok([...CP, '--debug', '--log-level', 'trace']).logLevel).toBe('trace');
    expect(ok([...CP, '--log-level', 'trace'], { DEBUG: 'true' }).logLevel).toBe('trace');
    expect(ok([...CP, '--debug'], { LOG_LEVEL: 'warn' }).logLevel).toBe('debug');
    expect(ok(CP, { DEBUG: 'true' }, {}).logLevel).toBe('debug');
    expect(ok(['-f', 'p.yaml'], { DEBUG: '1' }, file).logLevel).toBe('debug');
    expect(ok(CP, { DEBUG: 'false' }).logLevel).toBe('info');
  });
});

describe('modes and credentials', () => {
  it('bundle alone: no credentials are invented', () => {
    const c = ok(BUNDLE);
    expect([c.astraBundle, c.username, c.password]).toStrictEqual([
      'scb.zip',
      undefined,
      undefined,
    ]);
  });

  it('bundle + token: user "token", the token as password', () => {
    const c = ok([...BUNDLE, '-t', 'AstraCS:x']);
    expect([c.astraToken, c.username, c.password]).toStrictEqual([
      'AstraCS:x',
      'token',
      'AstraCS:x',
    ]);
  });

  it('bundle + client id and secret: used as given', () => {
    const c = ok([...BUNDLE, '-u', 'clientId', '-p', 'secret']);
    expect([c.username, c.password]).toStrictEqual(['clientId', 'secret']);
  });

  it('bundle + token + explicit username/password: the explicit pair wins', () => {
    const c = ok([...BUNDLE, '-t', 'AstraCS:x', '-u', 'clientId', '-p', 'secret']);
    expect([c.astraToken, c.username, c.password]).toStrictEqual([
      'AstraCS:x',
      'clientId',
      'secret',
    ]);
  });

  it('token + database id: user "token", password the token', () => {
    const c = ok(['-t', 'AstraCS:x', '-i', DB_ID]);
    expect([c.astraBundle, c.astraToken, c.astraDatabaseId, c.username, c.password]).toStrictEqual([
      undefined,
      'AstraCS:x',
      DB_ID,
      'token',
      'AstraCS:x',
    ]);
  });

  it('token mode: an explicit --username/--password pair wins (cql-proxy would force the token)', () => {
    const c = ok(['-t', 'AstraCS:x', '-i', DB_ID, '-u', 'u', '-p', 'p']);
    expect([c.username, c.password]).toStrictEqual(['u', 'p']);
    // Only a pair replaces the token login: a lone username (say USERNAME, which some systems
    // set for every process) or a lone password does not.
    const onlyUser = ok(['-t', 'AstraCS:x', '-i', DB_ID, '-u', 'u']);
    expect([onlyUser.username, onlyUser.password]).toStrictEqual(['token', 'AstraCS:x']);
    const fromEnvironment = ok(['-t', 'AstraCS:x', '-i', DB_ID], { USERNAME: 'alice' });
    expect([fromEnvironment.username, fromEnvironment.password]).toStrictEqual([
      'token',
      'AstraCS:x',
    ]);
    const onlyPassword = ok([...BUNDLE, '-t', 'AstraCS:x', '-p', 'other']);
    expect([onlyPassword.username, onlyPassword.password]).toStrictEqual(['token', 'AstraCS:x']);
  });

  it('bundle wins over a database id given alongside (ignored, as cql-proxy)', () => {
    const c = ok([...BUNDLE, '-i', DB_ID]);
    expect(c.astraBundle).toBe('scb.zip');
  });

  it('contact points: credentials as given, none by default', () => {
    expect(ok([...CP, '-u', 'cassandra', '-p', 'cassandra'])).toMatchObject({
      username: 'cassandra',
      password: 'cassandra',
    });
  });

  it('token from ASTRA_TOKEN_FILE in the environment', () => {
    const c = ok(['-i', DB_ID], { ASTRA_TOKEN_FILE: '/t' }, { '/t': 'AstraCS:f\r\n' });
    expect(c.astraToken).toBe('AstraCS:f');
  });
});

describe('protocol versions', () => {
  const cases: [string, number][] = [
    ['3', 3],
    ['v3', 3],
    ['4', 4],
    ['V4', 4],
    ['5', 5],
    ['v5', 5],
    ['65', ProtocolVersion.DSE_V1],
    ['DSEv1', ProtocolVersion.DSE_V1],
    ['66', ProtocolVersion.DSE_V2],
    ['dsev2', ProtocolVersion.DSE_V2],
  ];
  for (const [text, version] of cases) {
    it(`${text} → 0x${version.toString(16)} (dsev2 is DSE v2, not cql-proxy's DSE v1)`, () => {
      const c = ok([...CP, '-n', text, '-m', 'dsev2']);
      expect(c.protocolVersion).toBe(version);
      expect(ok([...CP, '-m', text, '-n', 'v3']).maxProtocolVersion).toBe(version);
    });
  }

  it('without --max-protocol-version, the maximum rises to --protocol-version', () => {
    const c = ok([...CP, '--protocol-version', 'dsev2']);
    expect([c.protocolVersion, c.maxProtocolVersion]).toStrictEqual([
      ProtocolVersion.DSE_V2,
      ProtocolVersion.DSE_V2,
    ]);
    expect(ok([...CP, '-n', 'v3']).maxProtocolVersion).toBe(ProtocolVersion.V5);
  });
});

describe('drain timeout', () => {
  it('0 means close at once, in any spelling of zero', () => {
    expect(ok([...CP, '--drain-timeout', '0']).drainTimeoutMs).toBe(0);
    expect(ok([...CP, '--drain-timeout', '0s']).drainTimeoutMs).toBe(0);
    expect(ok([...CP], { DRAIN_TIMEOUT: '0ms' }).drainTimeoutMs).toBe(0);
  });

  it('turns client users on by themselves, and refuses half-given or contradictory ones', () => {
    const users = (argv: string[], env: Record<string, string> = {}): string => {
      const result = run([...CP, ...argv], env);
      if ('error' in result) return result.error;
      return 'config' in result ? JSON.stringify(result.config.clientAuth.mode) : 'help';
    };
    expect(users(['--client-username', 'a'])).toBe(
      '--client-username needs --client-password or --client-password-file',
    );
    expect(users(['--client-password', 'p'])).toBe('--client-password needs --client-username');
    expect(users(['--client-auth', 'users'])).toBe(
      '--client-auth users needs --client-username or --client-users-file',
    );
    expect(
      users(['--client-auth', 'none', '--client-username', 'a', '--client-password', 'p']),
    ).toBe(
      '--client-username and --client-users-file need --client-auth users, not none (--client-auth)',
    );
    expect(users(['--client-auth', 'open'])).toContain('expected one of none, users, passthrough');
    expect(users([], { CLIENT_USERNAME: 'a', CLIENT_PASSWORD: 'p' })).toBe('"users"');
  });

  it('names the line of a bad users file, never quoting a hash', () => {
    const result = run(
      [...CP, '--client-users-file', 'u'],
      {},
      { u: `alice:${HASH}\nbob:nothash\n` },
    );
    expect(result).toEqual({
      error:
        "invalid users file 'u' (--client-users-file): line 2 (user 'bob'): not a password hash: expected scrypt$N$r$p$salt$key",
      exitCode: 2,
    });
  });

  it('reads --memory-budget auto (any case) as "derive from the heap limit"', () => {
    expect(ok([...CP, '--memory-budget', 'AUTO']).memoryBudget).toBeUndefined();
    expect(ok([...CP], { MEMORY_BUDGET: '256MiB' }).memoryBudget).toBe(256 * 1024 * 1024);
  });
});

describe('addresses', () => {
  const binds: [string, { host: string; port: number }][] = [
    ['127.0.0.1:9042', { host: '127.0.0.1', port: 9042 }],
    [':9042', { host: '0.0.0.0', port: 9042 }],
    ['10.1.2.3', { host: '10.1.2.3', port: 9042 }],
    ['::1', { host: '::1', port: 9042 }],
    ['[::]:19042', { host: '::', port: 19042 }],
    ['[fe80::1]', { host: 'fe80::1', port: 9042 }],
    ['localhost', { host: 'localhost', port: 9042 }],
    ['proxy.svc.cluster.local:0', { host: 'proxy.svc.cluster.local', port: 0 }],
  ];
  for (const [text, expected] of binds) {
    it(`--bind ${text}`, () => {
      expect(ok([...CP, '--bind', text]).bind).toStrictEqual(expected);
    });
  }

  it('--http-bind: a bare IP gets port 8000, :port means all interfaces', () => {
    expect(ok([...CP, '--http-bind', '::1']).httpBind).toStrictEqual({ host: '::1', port: 8000 });
    expect(ok([...CP, '--http-bind', ':9100']).httpBind).toStrictEqual({
      host: '0.0.0.0',
      port: 9100,
    });
  });
});

describe('YAML file', () => {
  const peersYaml = `# several proxies behind a load balancer (docs/cql-proxy-compat.md §4.3)
contact-points:
  - 10.0.0.1
  - 10.0.0.2:9043
rpc-address: 10.0.1.1
data-center: dc1
tokens: ["-9223372036854775808"]
peers:
- rpc-address: 10.0.1.2
  data-center: dc2
  tokens:
    - -3074457345618258602
- { rpc-address: 10.0.1.3, tokens: [3074457345618258602] }
health-check: true
idle-timeout: 90s
unsupported-write-consistencies: [ANY, ONE]
`;

  it('reads options and peers', () => {
    const c = ok(['-f', 'proxy.yaml'], {}, { 'proxy.yaml': peersYaml });
    expect(c.contactPoints).toStrictEqual([
      { host: '10.0.0.1', port: 9042 },
      { host: '10.0.0.2', port: 9043 },
    ]);
    expect([c.rpcAddress, c.dataCenter, c.tokens]).toStrictEqual([
      '10.0.1.1',
      'dc1',
      ['-9223372036854775808'],
    ]);
    expect(c.peers).toStrictEqual([
      { rpcAddress: '10.0.1.2', dataCenter: 'dc2', tokens: ['-3074457345618258602'] },
      { rpcAddress: '10.0.1.3', tokens: ['3074457345618258602'] },
    ]);
    expect([c.healthCheck, c.idleTimeoutMs, c.unsupportedWriteConsistencies]).toStrictEqual([
      true,
      90_000,
      [Consistency.ANY, Consistency.ONE],
    ]);
  });

  it('peers without tokens anywhere, and peer tokens as a comma string', () => {
    const yaml =
      'rpc-address: 10.0.1.1\npeers:\n  - rpc-address: 10.0.1.2\n  - rpc-address: proxy-3.local\n    tokens: "1, 2"\n';
    const c = ok([...CP, '-f', 'f.yaml'], {}, { 'f.yaml': yaml });
    expect(c.peers).toStrictEqual([
      { rpcAddress: '10.0.1.2' },
      { rpcAddress: 'proxy-3.local', tokens: ['1', '2'] },
    ]);
  });

  it('an empty file, a comment-only file and empty keys change nothing', () => {
    for (const text of [
      '',
      '# nothing\n',
      '---\n',
      'num-conns:\npeers:\n',
      'num-conns: ""\ntokens: []\n',
    ]) {
      expect(ok([...CP, '-f', 'f.yaml'], {}, { 'f.yaml': text }).numConns).toBe(1);
    }
  });

  it('YAML numbers and booleans are read as the flags would be', () => {
    const yaml =
      'num-conns: 3\nport: 9043\nmetrics: yes\nidempotent-graph: True\nprotocol-version: 4\n';
    const c = ok([...CP, '-f', 'f.yaml'], {}, { 'f.yaml': yaml });
    expect([c.numConns, c.port, c.metrics, c.idempotentGraph, c.protocolVersion]).toStrictEqual([
      3,
      9043,
      true,
      true,
      4,
    ]);
  });
});

describe('help and version', () => {
  it('--help and -h return the help, before any validation', () => {
    const help = run(['--help']);
    expect(help).toHaveProperty('help');
    expect(run(['--num-conns', 'abc', '-h'])).toStrictEqual(help);
    expect(run(['--bogus', '--help'])).toStrictEqual(help);
  });

  it('--version', () => {
    expect(run(['--version'])).toStrictEqual({ help: 'cql-proxy-ts 0.1.0' });
  });
});
