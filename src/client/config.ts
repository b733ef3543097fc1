// What the client-facing side of the proxy needs from the configuration. The command-line layer
// fills it from flags, environment variables and the YAML file; validateClientSideConfig() turns a
// bad value into one clear ProxyError line before anything listens.

import { isIP } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { Consistency } from '../protocol/constants.js';
import { ProxyError, ProxyErrorCode } from '../errors.js';
import type { ClientAuthConfig } from './auth/client-auth.js';
import { FIELD_NAMES, checkOverrideNotUnsupported } from './config-rules.js';
import { DEFAULT_CLIENT_LIMITS, type ClientLimits } from './limits.js';
import { defaultMemoryBudget } from './memory-budget.js';

/**
 * Another proxy behind the same load balancer, listed in system.peers
 * (docs/cql-proxy-compat.md §4.3).
 */
export interface PeerConfig {
  rpcAddress: string;
  /** Defaults to this proxy's data center. */
  dataCenter?: string;
  tokens?: readonly string[];
}

/** PEM contents (not file names) of the certificate chain and key clients see. */
export interface ClientTlsConfig {
  cert: string | Buffer;
  key: string | Buffer;
  /**
   * CA certificates a client certificate must chain to. Given, every client must present one
   * (mutual TLS: Node's requestCert and rejectUnauthorized); absent, none is asked for.
   */
  ca?: string | Buffer;
  /** Oldest TLS version accepted; Node's default (TLSv1.2) when absent. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Where newer certificates come from (src/tls/client-tls.ts): reloads without a restart. */
  updates?: ClientTlsUpdates;
}

/** What a TLS server must offer to be given new certificates (tls.Server#setSecureContext). */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export interface ClientTlsUpdates {
  /**
   * Registers a server started with `started`: from then on every reload installs the new
   * certificates on it (new connections get them, open ones keep theirs). If the files changed
   * since `started` was read, the current ones are installed at once. Returns the undo.
   */
  attach(server: SecureContextTarget, started: ClientTlsConfig): () => void;
}

export interface ClientSideConfig {
  /** Where clients connect: loopback by default, unlike cql-proxy's all-interfaces default. */
  bind: { host: string; port: number };
  tls?: ClientTlsConfig;
  /** Largest request frame (header included), also the limit on a decompressed body. */
  maxFrameLength: number;
  /**
   * Connections beyond this are closed as soon as they arrive (and counted). Lowered at start to
   * what the file descriptor limit allows, keeping a reserve (descriptors.ts).
   */
  maxClientConnections?: number;
  /**
   * Prepared ids whose kind is remembered (prepared-registry.ts): whether an EXECUTE may be
   * retried, is a read, or is a schema change. DEFAULT_PREPARED_CAPACITY when absent.
   */
  maxPreparedIds?: number;
  /** What one client connection may make the proxy spend (limits.ts). */
  limits: ClientLimits;
  /** Bytes all clients together may hold in flight (memory-budget.ts). */
  memoryBudget: number;
  /** Who may use the proxy (auth/client-auth.ts). */
  auth: ClientAuthConfig;
  /** system.local rpc_address; by default the local address of each client's own connection. */
  rpcAddress?: string;
  /** system.local data_center; by default the cluster's local data center. */
  dataCenter?: string;
  /** system.local tokens; by default one token, or an even split across the peers. */
  tokens?: readonly string[];
  peers: readonly PeerConfig[];
  /** Write consistency levels the cluster refuses (Astra: ANY, ONE, LOCAL_ONE); empty = no rewrite. */
  unsupportedWriteConsistencies: ReadonlySet<number>;
  /**
   * Whether DSE Graph queries (custom payload key `graph-source`) may be retried on another node
   * (cql-proxy --idempotent-graph); by default they are not.
   */
  idempotentGraph?: boolean;
  /** What such writes are rewritten to. */
  writeConsistencyOverride: number;
}

export const DEFAULT_BIND_HOST = '127.0.0.1';
export const DEFAULT_BIND_PORT = 9042;
/** The smallest frame length limit accepted (a STARTUP with options fits well within it). */
export const MIN_FRAME_LENGTH_LIMIT = 1024;
/** Cassandra 4.x's native_transport_max_frame_size default (3.x had 256 MiB). */
export const DEFAULT_MAX_FRAME_LENGTH = 16 * 1024 * 1024;
/** More open client connections are refused (and fewer when descriptors are fewer). */
export const DEFAULT_MAX_CLIENT_CONNECTIONS = 4096;
export const DEFAULT_WRITE_CONSISTENCY_OVERRIDE: number = Consistency.LOCAL_QUORUM;

/** A config with every default filled in; `overrides` wins field by field. */
export function clientSideConfig(overrides: Partial<ClientSideConfig> = {}): ClientSideConfig {
  return {
    bind: { host: DEFAULT_BIND_HOST, port: DEFAULT_BIND_PORT },
    maxFrameLength: DEFAULT_MAX_FRAME_LENGTH,
    maxClientConnections: DEFAULT_MAX_CLIENT_CONNECTIONS,
    limits: { ...DEFAULT_CLIENT_LIMITS },
    memoryBudget: defaultMemoryBudget(),
    auth: { mode: 'none' },
    peers: [],
    unsupportedWriteConsistencies: new Set(),
    writeConsistencyOverride: DEFAULT_WRITE_CONSISTENCY_OVERRIDE,
    ...overrides,
  };
}

/** How this layer refuses a configuration: a CONFIG_INVALID ProxyError of one line. */
export function invalid(message: string): never {
  throw new ProxyError(ProxyErrorCode.CONFIG_INVALID, message);
}

const KNOWN_CONSISTENCIES: ReadonlySet<number> = new Set(Object.values(Consistency));

/** Throws a CONFIG_INVALID ProxyError naming the first bad value. */
export function validateClientSideConfig(config: ClientSideConfig): void {
  const { port } = config.bind;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    invalid(`invalid bind port ${port}: expected 0-65535`);
  }
  if (!Number.isInteger(config.maxFrameLength) || config.maxFrameLength < MIN_FRAME_LENGTH_LIMIT) {
    invalid(
      `invalid max frame length ${config.maxFrameLength}: expected at least ${MIN_FRAME_LENGTH_LIMIT} bytes`,
    );
  }
  const max = config.maxClientConnections;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    invalid(`invalid max client connections ${max}: expected a positive integer`);
  }
  const preparedIds = config.maxPreparedIds;
  if (preparedIds !== undefined && (!Number.isSafeInteger(preparedIds) || preparedIds < 1)) {
    invalid(`invalid max prepared ids ${preparedIds}: expected a positive integer`);
  }
  const limits = config.limits;
  for (const [name, value] of Object.entries(limits)) {
    const min = name.endsWith('Ms') ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < min) {
      invalid(`invalid client limit ${name} ${value}: expected an integer >= ${min}`);
    }
  }
  if (!Number.isSafeInteger(config.memoryBudget) || config.memoryBudget < 1) {
    invalid(`invalid memory budget ${config.memoryBudget}: expected a positive number of bytes`);
  }
  if (config.rpcAddress !== undefined && isIP(config.rpcAddress) === 0) {
    invalid(`invalid rpc address '${config.rpcAddress}': expected an IP address`);
  }
  if (config.tokens?.length === 0) invalid('tokens must not be empty when given');
  for (const level of config.unsupportedWriteConsistencies) {
    if (!KNOWN_CONSISTENCIES.has(level)) invalid(`unknown consistency level ${level}`);
  }
  if (!KNOWN_CONSISTENCIES.has(config.writeConsistencyOverride)) {
    invalid(`unknown consistency level ${config.writeConsistencyOverride}`);
  }
  checkOverrideNotUnsupported(
    config.writeConsistencyOverride,
    config.unsupportedWriteConsistencies,
    FIELD_NAMES,
    invalid,
  );
}
