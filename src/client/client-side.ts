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
  /** Stops accepting and closes every client connection. */
  close(): Promise<void>;
}

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
  const listener = await startClientListener(listenerOptions, (socket) => {
    new ClientSession({ socket, backend, config, topology, prepared, log });
  });
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
    close: () => listener.close(),
  };
}
