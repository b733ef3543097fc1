// The client-facing half of the proxy, wired: the listener, one ClientSession per connection, and
// what the sessions share (the proxy's topology, the registry of prepared ids). The upstream half
// comes in as a Backend.

import type { Backend } from '../upstream/contract.js';
import { type ClientSideConfig, validateClientSideConfig } from './config.js';
import { ClientSession } from './client-session.js';
import { type ClientListenerOptions, startClientListener } from './listener.js';
import { type ClientLog, SILENT_LOG } from './log.js';
import { PreparedRegistry } from './prepared-registry.js';
import { buildTopology } from './topology.js';

export interface ClientSideOptions {
  log?: ClientLog;
  /** Prepared ids remembered (idempotency, reads vs writes); default 10,000. */
  preparedCapacity?: number;
}

export interface ClientSide {
  /** The address actually bound (port 0 in the config picks one). */
  readonly host: string;
  readonly port: number;
  /** Client connections currently open. */
  readonly connections: number;
  /** Connections refused because of maxClientConnections. */
  readonly refused: number;
  /** Connections accepted since start. */
  readonly accepted: number;
  /** Bytes read from and written to clients since start. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Requests read from clients and not answered yet. */
  readonly pendingRequests: number;
  /**
   * Graceful shutdown: stops accepting and reading requests, waits up to `timeoutMs` for those
   * already read to be answered, then closes each connection after its last answer is written.
   * Resolves with the requests pending when it began, and those still unanswered when the time
   * ran out (0 normally).
   */
  drain(timeoutMs: number): Promise<{ pending: number; unanswered: number }>;
  /** Stops accepting and closes every client connection. */
  close(): Promise<void>;
}

/** How often drain() looks at the requests still pending. */
const DRAIN_POLL_MS = 10;
/** Time given to connections to take their last answers and hang up, even at the deadline. */
const MIN_HANGUP_MS = 250;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Validates the config, listens, and serves every client connection against `backend`. */
export async function startClientSide(
  config: ClientSideConfig,
  backend: Backend,
  options: ClientSideOptions = {},
): Promise<ClientSide> {
  validateClientSideConfig(config);
  const topology = buildTopology(config);
  const prepared = new PreparedRegistry(options.preparedCapacity);
  const log = options.log ?? SILENT_LOG;
  const listenerOptions: ClientListenerOptions = {
    host: config.bind.host,
    port: config.bind.port,
    log,
  };
  if (config.tls !== undefined) listenerOptions.tls = config.tls;
  if (config.maxClientConnections !== undefined) {
    listenerOptions.maxClientConnections = config.maxClientConnections;
  }
  const sessions = new Set<ClientSession>();
  const listener = await startClientListener(listenerOptions, (socket) => {
    const session = new ClientSession({
      socket,
      backend,
      config,
      topology,
      prepared,
      log,
      onClose: () => sessions.delete(session),
    });
    sessions.add(session);
  });
  const pendingRequests = (): number => {
    let n = 0;
    for (const s of sessions) n += s.pendingRequests;
    return n;
  };
  log.info({ host: listener.host, port: listener.port }, 'proxy is listening for clients');
  return {
    host: listener.host,
    port: listener.port,
    get connections() {
      return listener.connections;
    },
    get refused() {
      return listener.refused;
    },
    get accepted() {
      return listener.accepted;
    },
    get bytesIn() {
      return listener.bytesRead;
    },
    get bytesOut() {
      return listener.bytesWritten;
    },
    get pendingRequests() {
      return pendingRequests();
    },
    drain: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      listener.stopAccepting();
      for (const s of sessions) s.stopReading();
      const pending = pendingRequests();
      while (pendingRequests() > 0 && Date.now() < deadline) await sleep(DRAIN_POLL_MS);
      const unanswered = pendingRequests();
      for (const s of sessions) s.shutdown();
      const hangUpBy = Math.max(deadline, Date.now() + MIN_HANGUP_MS);
      while (listener.connections > 0 && Date.now() < hangUpBy) await sleep(DRAIN_POLL_MS);
      await listener.close();
      return { pending, unanswered };
    },
    close: () => listener.close(),
  };
}
