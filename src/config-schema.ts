// Every option of the command line: its flag names, environment variable, YAML key, default and
// the syntax of its value, in one table that drives parsing (config-parse.ts) and --help alike, so
// the two cannot drift apart. The cql-proxy options keep cql-proxy's names, short letters,
// environment variables and defaults (docs/cql-proxy-compat.md §1) so existing manifests work
// unchanged; the one deliberate difference is --bind, loopback unless asked.

import { isIP } from 'node:net';

export const PROGRAM_NAME = 'cql-proxy-ts';
/** Kept equal to package.json's version by a test (the parser is pure and reads no files). */
export const PROGRAM_VERSION = '0.1.0';

export const OPTION_GROUPS = [
  'Astra',
  'Cluster',
  'Listener',
  'Limits',
  'Timeouts',
  'Operations',
] as const;
export type OptionGroup = (typeof OPTION_GROUPS)[number];

/** How a raw value is read: one word, an on/off switch, or a comma-separated list. */
export type OptionShape = 'value' | 'boolean' | 'list';

export interface OptionSpec {
  /** Long flag without `--`, and the YAML key. */
  name: string;
  short?: string;
  /** Environment variable; cql-proxy gives --unsupported-write-consistency-override none. */
  env?: string;
  group: OptionGroup;
  shape: OptionShape;
  /** Placeholder shown in --help after the flag. */
  arg?: string;
  /** Written as a user would write it, and parsed the same way. */
  default?: string;
  /** The value never appears in an error line. */
  secret?: boolean;
  /** Not a cql-proxy option. */
  ours?: boolean;
  /** Only on the command line and in the environment, not a YAML key. */
  notInFile?: boolean;
  help: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  // Astra
  {
    name: 'astra-bundle',
    short: 'b',
    env: 'ASTRA_BUNDLE',
    group: 'Astra',
    shape: 'value',
    arg: '<zip>',
    help: 'secure connect bundle (zip) of the database',
  },
  {
    name: 'astra-token',
    short: 't',
    env: 'ASTRA_TOKEN',
    group: 'Astra',
    shape: 'value',
    arg: '<token>',
    secret: true,
    help: 'application token (AstraCS:...), also the password of user "token"',
  },
  {
    name: 'astra-token-file',
    env: 'ASTRA_TOKEN_FILE',
    group: 'Astra',
    shape: 'value',
    arg: '<file>',
    ours: true,
    help: 'read the token from a file (trimmed), so it never shows in ps',
  },
  {
    name: 'astra-database-id',
    short: 'i',
    env: 'ASTRA_DATABASE_ID',
    group: 'Astra',
    shape: 'value',
    arg: '<uuid>',
    help: 'database id: with a token, the bundle is downloaded from Astra',
  },
  {
    name: 'astra-api-url',
    env: 'ASTRA_API_URL',
    group: 'Astra',
    shape: 'value',
    arg: '<url>',
    default: 'https://api.astra.datastax.com',
    help: 'DevOps API base URL (http only to a loopback address)',
  },
  {
    name: 'astra-timeout',
    env: 'ASTRA_TIMEOUT',
    group: 'Astra',
    shape: 'value',
    arg: '<duration>',
    default: '10s',
    help: 'timeout of the bundle download and of the metadata service request',
  },
  // Cluster
  {
    name: 'contact-points',
    short: 'c',
    env: 'CONTACT_POINTS',
    group: 'Cluster',
    shape: 'list',
    arg: '<hosts>',
    help: 'Cassandra nodes, comma-separated: host, host:port or [ipv6]:port',
  },
  {
    name: 'port',
    short: 'r',
    env: 'PORT',
    group: 'Cluster',
    shape: 'value',
    arg: '<port>',
    default: '9042',
    help: 'port of contact points without one, and of discovered nodes',
  },
  {
    name: 'username',
    short: 'u',
    env: 'USERNAME',
    group: 'Cluster',
    shape: 'value',
    arg: '<name>',
    help: 'cluster username (Astra with a token: "token")',
  },
  {
    name: 'password',
    short: 'p',
    env: 'PASSWORD',
    group: 'Cluster',
    shape: 'value',
    arg: '<password>',
    secret: true,
    help: 'cluster password (Astra with a token: the token)',
  },
  {
    name: 'password-file',
    env: 'PASSWORD_FILE',
    group: 'Cluster',
    shape: 'value',
    arg: '<file>',
    ours: true,
    help: 'read the cluster password from a file (trimmed), so it never shows in ps',
  },
  {
    name: 'protocol-version',
    short: 'n',
    env: 'PROTOCOL_VERSION',
    group: 'Cluster',
    shape: 'value',
    arg: '<version>',
    default: 'v5',
    help: 'first version tried upstream, then lower: v3, v4, v5, dsev1, dsev2',
  },
  {
    name: 'num-conns',
    env: 'NUM_CONNS',
    group: 'Cluster',
    shape: 'value',
    arg: '<n>',
    default: '1',
    help: 'connections to each node per keyspace session',
  },
  {
    name: 'cluster-ca-file',
    env: 'CLUSTER_CA_FILE',
    group: 'Cluster',
    shape: 'value',
    arg: '<pem>',
    ours: true,
    help: 'TLS to contact points: CA certificates to trust (PEM)',
  },
  {
    name: 'cluster-cert-file',
    env: 'CLUSTER_CERT_FILE',
    group: 'Cluster',
    shape: 'value',
    arg: '<pem>',
    ours: true,
    help: 'TLS to contact points: client certificate (PEM)',
  },
  {
    name: 'cluster-key-file',
    env: 'CLUSTER_KEY_FILE',
    group: 'Cluster',
    shape: 'value',
    arg: '<pem>',
    ours: true,
    help: 'TLS to contact points: its private key (PEM)',
  },
  {
    name: 'cluster-server-name',
    env: 'CLUSTER_SERVER_NAME',
    group: 'Cluster',
    shape: 'value',
    arg: '<name>',
    ours: true,
    help: 'TLS to contact points: SNI and certificate name',
  },
  {
    name: 'cluster-tls-insecure',
    env: 'CLUSTER_TLS_INSECURE',
    group: 'Cluster',
    shape: 'boolean',
    ours: true,
    help: 'TLS to contact points, certificates unchecked (tests only)',
  },
  {
    name: 'unsupported-write-consistencies',
    env: 'UNSUPPORTED_WRITE_CONSISTENCIES',
    group: 'Cluster',
    shape: 'list',
    arg: '<levels>',
    help: 'write levels to rewrite, e.g. ANY,ONE,LOCAL_ONE for Astra',
  },
  {
    name: 'unsupported-write-consistency-override',
    group: 'Cluster',
    shape: 'value',
    arg: '<level>',
    default: 'LOCAL_QUORUM',
    help: 'the level those writes get instead',
  },
  {
    name: 'idempotent-graph',
    env: 'IDEMPOTENT_GRAPH',
    group: 'Cluster',
    shape: 'boolean',
    help: 'retry DSE Graph queries as idempotent (use with care)',
  },
  // Listener
  {
    name: 'bind',
    short: 'a',
    env: 'BIND',
    group: 'Listener',
    shape: 'value',
    arg: '<addr>',
    default: '127.0.0.1:9042',
    help: 'where drivers connect: host:port, IP, or :port (all interfaces)',
  },
  {
    name: 'max-protocol-version',
    short: 'm',
    env: 'MAX_PROTOCOL_VERSION',
    group: 'Listener',
    shape: 'value',
    arg: '<version>',
    default: 'v5',
    help: 'highest version accepted from clients, at least --protocol-version',
  },
  {
    name: 'proxy-cert-file',
    env: 'PROXY_CERT_FILE',
    group: 'Listener',
    shape: 'value',
    arg: '<pem>',
    help: 'TLS for clients: certificate chain (PEM)',
  },
  {
    name: 'proxy-key-file',
    env: 'PROXY_KEY_FILE',
    group: 'Listener',
    shape: 'value',
    arg: '<pem>',
    help: 'TLS for clients: private key (PEM)',
  },
  {
    name: 'proxy-ca-file',
    env: 'PROXY_CA_FILE',
    group: 'Listener',
    shape: 'value',
    arg: '<pem>',
    ours: true,
    help: 'TLS for clients: require client certificates signed by these CAs (PEM)',
  },
  {
    name: 'proxy-tls-min-version',
    env: 'PROXY_TLS_MIN_VERSION',
    group: 'Listener',
    shape: 'value',
    arg: '<version>',
    default: 'TLSv1.2',
    ours: true,
    help: 'TLS for clients: oldest version accepted, TLSv1.2 or TLSv1.3',
  },
  {
    name: 'client-auth',
    env: 'CLIENT_AUTH',
    group: 'Listener',
    shape: 'value',
    arg: '<none|users|passthrough>',
    ours: true,
    help: 'who may connect (default: users if client users are given, else none)',
  },
  {
    name: 'client-username',
    env: 'CLIENT_USERNAME',
    group: 'Listener',
    shape: 'value',
    arg: '<name>',
    ours: true,
    help: 'a user clients log in as (turns on --client-auth users)',
  },
  {
    name: 'client-password',
    env: 'CLIENT_PASSWORD',
    group: 'Listener',
    shape: 'value',
    arg: '<password>',
    secret: true,
    ours: true,
    help: 'that user\u2019s password',
  },
  {
    name: 'client-password-file',
    env: 'CLIENT_PASSWORD_FILE',
    group: 'Listener',
    shape: 'value',
    arg: '<file>',
    ours: true,
    help: 'read that password from a file (trimmed)',
  },
  {
    name: 'client-users-file',
    env: 'CLIENT_USERS_FILE',
    group: 'Listener',
    shape: 'value',
    arg: '<file>',
    ours: true,
    help: 'users clients log in as, one name:hash a line (see hash-password)',
  },
  {
    name: 'rpc-address',
    env: 'RPC_ADDRESS',
    group: 'Listener',
    shape: 'value',
    arg: '<addr>',
    help: 'rpc_address in system.local; required with peers',
  },
  {
    name: 'data-center',
    env: 'DATA_CENTER',
    group: 'Listener',
    shape: 'value',
    arg: '<name>',
    help: 'data center in system tables (default: the cluster\u2019s)',
  },
  {
    name: 'tokens',
    env: 'TOKENS',
    group: 'Listener',
    shape: 'list',
    arg: '<tokens>',
    help: 'tokens in system.local, comma-separated (not recommended)',
  },
  // Limits: what one client, and all clients together, may make the proxy spend
  {
    name: 'max-client-connections',
    env: 'MAX_CLIENT_CONNECTIONS',
    group: 'Limits',
    shape: 'value',
    arg: '<n>',
    default: '4096',
    ours: true,
    help: 'more clients are closed on arrival (fewer if file descriptors are fewer)',
  },
  {
    name: 'max-frame-size',
    env: 'MAX_FRAME_SIZE',
    group: 'Limits',
    shape: 'value',
    arg: '<size>',
    default: '16MiB',
    ours: true,
    help: 'largest client frame, header included (64KiB before STARTUP)',
  },
  {
    name: 'max-client-requests',
    env: 'MAX_CLIENT_REQUESTS',
    group: 'Limits',
    shape: 'value',
    arg: '<n>',
    default: '1024',
    ours: true,
    help: 'requests in flight per client connection; more wait unread',
  },
  {
    name: 'max-client-request-bytes',
    env: 'MAX_CLIENT_REQUEST_BYTES',
    group: 'Limits',
    shape: 'value',
    arg: '<size>',
    default: '64MiB',
    ours: true,
    help: 'bytes of requests in flight per client connection; more wait unread',
  },
  {
    name: 'max-client-output',
    env: 'MAX_CLIENT_OUTPUT',
    group: 'Limits',
    shape: 'value',
    arg: '<size>',
    default: '8MiB',
    ours: true,
    help: 'answers queued for a client that does not read; past it, it is not read (8x: closed)',
  },
  {
    name: 'memory-budget',
    env: 'MEMORY_BUDGET',
    group: 'Limits',
    shape: 'value',
    arg: '<size|auto>',
    default: 'auto',
    ours: true,
    help: 'bytes in flight for all clients together; past it none is read (auto: heap limit/4)',
  },
  {
    name: 'max-queued-requests',
    env: 'MAX_QUEUED_REQUESTS',
    group: 'Limits',
    shape: 'value',
    arg: '<n>',
    default: '8192',
    ours: true,
    help: 'requests waiting for a free upstream stream id; more get OVERLOADED',
  },
  {
    name: 'max-orphaned-streams',
    env: 'MAX_ORPHANED_STREAMS',
    group: 'Limits',
    shape: 'value',
    arg: '<n>',
    default: '256',
    ours: true,
    help: 'timed-out requests still unanswered on one upstream connection before it is replaced',
  },
  {
    name: 'max-prepared-cache',
    env: 'MAX_PREPARED_CACHE',
    group: 'Limits',
    shape: 'value',
    arg: '<size>',
    default: '64MiB',
    ours: true,
    help: 'PREPARE requests kept to repair UNPREPARED, least recently used out',
  },
  // Timeouts
  {
    name: 'heartbeat-interval',
    env: 'HEARTBEAT_INTERVAL',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '30s',
    help: 'period of heartbeats on idle upstream connections',
  },
  {
    name: 'connect-timeout',
    env: 'CONNECT_TIMEOUT',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '10s',
    help: 'TCP, TLS and handshake to a node; also each heartbeat',
  },
  {
    name: 'idle-timeout',
    env: 'IDLE_TIMEOUT',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '60s',
    help: 'a connection without heartbeat replies this long is replaced',
  },
  {
    name: 'readiness-timeout',
    env: 'READINESS_TIMEOUT',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '30s',
    help: '/readiness fails once the cluster has been unreachable this long',
  },
  {
    name: 'request-timeout',
    env: 'REQUEST_TIMEOUT',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '12s',
    ours: true,
    help: 'a request unanswered this long gets an error (schema changes and TRUNCATE: --schema-timeout)',
  },
  {
    name: 'schema-timeout',
    env: 'SCHEMA_TIMEOUT',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '60s',
    ours: true,
    help: 'the same for CREATE/ALTER/DROP and TRUNCATE, prepared or not (as truncate_request_timeout)',
  },
  {
    name: 'schema-agreement-timeout',
    env: 'SCHEMA_AGREEMENT_TIMEOUT',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '10s',
    ours: true,
    help: "a schema change's answer waits this long at most for every node to agree on the schema, as drivers do (0: no wait)",
  },
  {
    name: 'drain-timeout',
    env: 'DRAIN_TIMEOUT',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '15s',
    ours: true,
    help: 'on SIGTERM/SIGINT, time left to requests in flight (0: close at once)',
  },
  {
    name: 'handshake-timeout',
    env: 'HANDSHAKE_TIMEOUT',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '10s',
    ours: true,
    help: 'clients that have not sent STARTUP by then are closed (0: never)',
  },
  {
    name: 'client-idle-timeout',
    env: 'CLIENT_IDLE_TIMEOUT',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '0',
    ours: true,
    help: 'clients silent both ways this long are closed (0: never)',
  },
  {
    name: 'client-write-timeout',
    env: 'CLIENT_WRITE_TIMEOUT',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '30s',
    ours: true,
    help: 'clients that take none of their queued answers this long are closed (0: never)',
  },
  {
    name: 'tcp-keepalive',
    env: 'TCP_KEEPALIVE',
    group: 'Timeouts',
    shape: 'value',
    arg: '<duration>',
    default: '60s',
    ours: true,
    help: 'TCP keepalive probes on idle client sockets after this long (0: off)',
  },
  // Operations
  {
    name: 'config',
    short: 'f',
    env: 'CONFIG_FILE',
    group: 'Operations',
    shape: 'value',
    arg: '<file>',
    notInFile: true,
    help: 'YAML file: long option names as keys, plus peers',
  },
  {
    name: 'log-level',
    env: 'LOG_LEVEL',
    group: 'Operations',
    shape: 'value',
    arg: '<level>',
    default: 'info',
    ours: true,
    help: 'trace, debug, info, warn, error, fatal or silent',
  },
  {
    name: 'debug',
    env: 'DEBUG',
    group: 'Operations',
    shape: 'boolean',
    help: 'same as --log-level debug',
  },
  {
    name: 'health-check',
    env: 'HEALTH_CHECK',
    group: 'Operations',
    shape: 'boolean',
    help: 'serve /liveness and /readiness on --http-bind',
  },
  {
    name: 'metrics',
    env: 'METRICS',
    group: 'Operations',
    shape: 'boolean',
    ours: true,
    help: 'serve Prometheus /metrics on --http-bind',
  },
  {
    name: 'http-bind',
    env: 'HTTP_BIND',
    group: 'Operations',
    shape: 'value',
    arg: '<addr>',
    default: ':8000',
    help: 'HTTP server for health and metrics (an IP gets port 8000)',
  },
  {
    name: 'workers',
    env: 'WORKERS',
    group: 'Operations',
    shape: 'value',
    arg: '<n|auto>',
    default: '1',
    ours: true,
    help: 'processes sharing the client port (auto: one per CPU); upstream connections multiply by n, and --max-client-connections and --memory-budget are split between them',
  },
];

export const OPTIONS_BY_NAME: ReadonlyMap<string, OptionSpec> = new Map(
  OPTIONS.map((o) => [o.name, o]),
);

/** YAML keys other than the long flags. */
export const FILE_ONLY_KEYS = ['peers'] as const;
export const PEER_KEYS = ['rpc-address', 'data-center', 'tokens'] as const;

// --- Value syntax. Each reader returns the value or throws ValueError with the reason only; the
// caller adds which option and which source (flag, environment variable, file) it came from.

export class ValueError extends Error {
  override name = 'ValueError';
}

const DURATION_UNITS_NS: ReadonlyMap<string, number> = new Map([
  ['ns', 1],
  ['us', 1e3],
  ['\u00b5s', 1e3], // µs (micro sign)
  ['\u03bcs', 1e3], // μs (Greek mu), both accepted by Go
  ['ms', 1e6],
  ['s', 1e9],
  ['m', 60e9],
  ['h', 3600e9],
]);
const DURATION_PART = /^(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/;
/** setTimeout clamps anything longer to 1 ms, so longer durations would silently misfire. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * A Go duration string (time.ParseDuration, what cql-proxy accepts): an optional sign, then one
 * or more decimal numbers each with a unit ns, us, µs, ms, s, m, h, e.g. `10s`, `1m30s`, `1.5h`.
 * A bare number is refused (Go accepts only `0`): `60` could mean seconds or milliseconds, and a
 * guess would be wrong for someone. Returns nanoseconds (a float: 596h fits well within 2^53).
 */
export function parseDurationNs(text: string): number {
  let rest = text.trim();
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new ValueError('expected a duration such as 500ms, 10s, 1m30s or 1h');
  if (/^\d+(\.\d*)?$/.test(rest)) {
    throw new ValueError(`a duration needs a unit, e.g. ${rest}s or ${rest}ms`);
  }
  let ns = 0;
  let parts = 0;
  while (rest.length > 0) {
    const m = DURATION_PART.exec(rest);
    const whole = m?.[1] ?? '';
    const frac = m?.[2] ?? '';
    if (m === null || (whole === '' && frac === '')) {
      throw new ValueError('expected a duration such as 500ms, 10s, 1m30s or 1h');
    }
    const unit = DURATION_UNITS_NS.get(m[3] ?? '') ?? 0;
    ns += Number(`${whole === '' ? '0' : whole}.${frac === '' ? '0' : frac}`) * unit;
    rest = rest.slice(m[0].length);
    parts += 1;
  }
  if (parts === 0) throw new ValueError('expected a duration such as 500ms, 10s, 1m30s or 1h');
  return sign * ns;
}

/** Shows a millisecond count back the way a user writes it (for messages). */
export function formatDurationMs(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const SIZE_UNITS: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['b', 1],
  ['kib', 1024],
  ['mib', 1024 ** 2],
  ['gib', 1024 ** 3],
]);

/** A byte count: a whole number of bytes, or with a binary unit B, KiB, MiB, GiB (any case), as Cassandra writes them. */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = SIZE_UNITS.get((m?.[2] ?? '').toLowerCase());
  if (m === null || unit === undefined) {
    throw new ValueError('expected a size such as 256MiB, 512KiB or a number of bytes');
  }
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) throw new ValueError('too large');
  return bytes;
}

export function formatSize(bytes: number): string {
  for (const [unit, factor] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}`;
}

/** Go's strconv.ParseBool (what cql-proxy's environment variables accept), plus yes/no/on/off, any case. */
export function parseBoolean(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (['1', 't', 'true', 'yes', 'y', 'on'].includes(t)) return true;
  if (['0', 'f', 'false', 'no', 'n', 'off'].includes(t)) return false;
  throw new ValueError('expected true or false');
}

export function parseInteger(text: string, min: number, max: number): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) {
    throw new ValueError(
      max === Number.MAX_SAFE_INTEGER
        ? `expected an integer of at least ${min}`
        : `expected an integer from ${min} to ${max}`,
    );
  }
  const n = Number(t);
  if (n < min || n > max) {
    throw new ValueError(
      max === Number.MAX_SAFE_INTEGER ? `must be at least ${min}` : `must be from ${min} to ${max}`,
    );
  }
  return n;
}

/** A DNS name as it may appear in an address (letters, digits, `-`, `_`, dots). */
function isHostname(text: string): boolean {
  return (
    text.length <= 253 &&
    /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(
      text,
    ) &&
    !/^\d+$/.test(text)
  );
}

export function isHost(text: string): boolean {
  return isIP(text) !== 0 || isHostname(text);
}

export interface HostPort {
  host: string;
  port: number;
}

/**
 * `host:port`, `[ipv6]:port`, or a host alone (gets `defaultPort`: cql-proxy's maybeAddPort does
 * this for IPs; host names get it too). `:port` means every interface when `emptyHost` is given
 * (Go's listen semantics, which cql-proxy inherits), and is refused otherwise.
 */
export function parseHostPort(
  text: string,
  defaultPort: number,
  options: { emptyHost?: string; minPort: number },
): HostPort {
  const t = text.trim();
  const expected = options.emptyHost === undefined ? 'host[:port]' : 'host:port, :port or an IP';
  const port = (p: string): number => {
    if (!/^\d{1,5}$/.test(p) || Number(p) < options.minPort || Number(p) > 65535) {
      throw new ValueError(`port must be from ${options.minPort} to 65535`);
    }
    return Number(p);
  };
  if (t.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(t);
    if (m === null || isIP(m[1] ?? '') !== 6) {
      throw new ValueError(`expected ${expected} (IPv6 as [addr]:port)`);
    }
    return { host: m[1] ?? '', port: m[2] === undefined ? defaultPort : port(m[2]) };
  }
  if (isIP(t) !== 0) return { host: t, port: defaultPort };
  if (/^\d+$/.test(t)) {
    throw new ValueError(
      options.emptyHost === undefined
        ? `expected ${expected}`
        : `expected ${expected} (did you mean ':${t}'?)`,
    );
  }
  const colon = t.lastIndexOf(':');
  if (colon === -1) {
    if (!isHostname(t)) throw new ValueError(`expected ${expected}`);
    return { host: t, port: defaultPort };
  }
  const host = t.slice(0, colon);
  if (host.includes(':'))
    throw new ValueError('an IPv6 address with a port needs brackets: [addr]:port');
  if (host === '') {
    if (options.emptyHost === undefined) throw new ValueError(`expected ${expected}`);
    return { host: options.emptyHost, port: port(t.slice(colon + 1)) };
  }
  if (!isHost(host)) throw new ValueError(`expected ${expected}`);
  return { host, port: port(t.slice(colon + 1)) };
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// --- Help

function flagColumn(o: OptionSpec): string {
  const short = o.short === undefined ? '    ' : `-${o.short}, `;
  return `  ${short}--${o.name}${o.arg === undefined ? '' : ` ${o.arg}`}`;
}

function helpLine(flags: string, width: number, text: string, notes: string[]): string {
  const suffix = notes.length === 0 ? '' : `  [${notes.join('; ')}]`;
  return `${flags.padEnd(width)}  ${text}${suffix}`;
}

/** --help: the options grouped, one line each with its environment variable and default. */
export function renderHelp(): string {
  // Longer flags overflow the column rather than push every description far right.
  const width = 36;
  const lines: string[] = [
    `Usage: ${PROGRAM_NAME} [options]`,
    '',
    'A CQL proxy: unmodified Cassandra drivers reach Astra DB or a Cassandra cluster through one local port.',
    'Each option can also come from the environment variable shown, or from the --config YAML file',
    '(keys are the long option names).',
  ];
  for (const group of OPTION_GROUPS) {
    lines.push('', `${group}:`);
    for (const o of OPTIONS.filter((x) => x.group === group)) {
      const notes = [o.env === undefined ? 'no env' : `env ${o.env}`];
      if (o.default !== undefined) notes.push(`default ${o.default}`);
      lines.push(helpLine(flagColumn(o), width, o.help, notes));
    }
    if (group === 'Cluster') {
      lines.push('  (any --cluster-* option turns TLS to the contact points on)');
    }
    if (group === 'Listener') {
      lines.push(
        helpLine(
          '  peers (YAML only)',
          width,
          'other proxies in system.peers: [{rpc-address, data-center, tokens}]',
          [],
        ),
      );
    }
    if (group === 'Operations') {
      lines.push(helpLine('  -h, --help', width, 'show this help', []));
      lines.push(helpLine('      --version', width, 'show the version', []));
    }
  }
  lines.push(
    '',
    'Precedence: command-line flags > environment variables > --config file > defaults.',
    '  (cql-proxy lets the file override flags and environment variables; this proxy does not.)',
    'Durations are Go-style: 500ms, 10s, 1m30s, 1h (a unit is required). Sizes: 1048576, 512KiB, 256MiB.',
    'Lists are comma-separated, or YAML lists in the file. Booleans: true/false, 1/0, yes/no, on/off.',
    '',
    'Examples:',
    `  ${PROGRAM_NAME} --astra-bundle secure-connect-db.zip --astra-token AstraCS:...`,
    `  ASTRA_TOKEN=AstraCS:... ${PROGRAM_NAME} --astra-database-id 3f1c2e6a-0d4b-4a8e-9d7e-5b8f0c1a2b3c`,
    `  ${PROGRAM_NAME} --astra-token-file /run/secrets/astra-token --astra-database-id <uuid> --bind 0.0.0.0:9042`,
    `  PASSWORD=... ${PROGRAM_NAME} --contact-points 10.0.0.1,10.0.0.2:9043,[fd00::3] --username cassandra`,
    `  ${PROGRAM_NAME} --config proxy.yaml --log-level debug`,
    '',
    'Commands:',
    `  ${PROGRAM_NAME} hash-password [name] < password   print a hash line for --client-users-file`,
  );
  return lines.join('\n');
}
