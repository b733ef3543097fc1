// The nodes the system tables describe: the proxy itself (system.local) and the peer proxies
// configured beside it (system.peers, system.peers_v2), with every value a row needs.

import type { ClusterInfo } from '../../upstream/contract.js';
import { DEFAULT_BIND_PORT } from '../config.js';
import type { ProxyTopology } from '../topology.js';
import { nameBasedUuid } from '../uuids.js';

/** Everything a synthetic row depends on. */
export interface SystemTableContext {
  info: ClusterInfo;
  topology: ProxyTopology;
  /** The local address of the client's connection: the rpc_address when none is configured. */
  connectionAddress: string;
  /**
   * The local port of the client's connection: the native port (rpc_port, native_port) of the
   * proxy and of its peers, which listen like it. 9042 when unknown.
   */
  connectionPort?: number;
  /** The client's protocol version. */
  version: number;
}

/** One node as the system tables show it. */
export interface NodeView {
  /** Its rpc address, also its broadcast, listen and peer address. */
  address: string;
  dataCenter: string;
  tokens: readonly string[];
  hostId: string;
  nativePort: number;
  protocolVersion: number;
  gossipGeneration: number;
  /** The version the cluster's nodes agreed on (ClusterInfo.schemaVersion), if known. */
  agreedSchemaVersion: string | undefined;
}

/** The schema_version shown before the cluster's is known. */
export const SCHEMA_VERSION = '4f2b29e6-59b5-4e2d-8fd6-01e32e67f0d7';

/**
 * The schema_version of every node the proxy shows: the one place it is read from, so schema
 * agreement can swap the constant for a tracked version.
 */
export function schemaVersion(node: NodeView): string {
  return node.agreedSchemaVersion ?? SCHEMA_VERSION;
}

/** Seconds since the epoch when this process started, as a node's gossip generation is. */
const GOSSIP_GENERATION = Math.floor(Date.now() / 1000);

/** The rpc address clients should use for this proxy. */
export function localRpcAddress(ctx: SystemTableContext): string {
  return ctx.topology.rpcAddress ?? ctx.connectionAddress;
}

function localDataCenter(ctx: SystemTableContext): string {
  return ctx.topology.dataCenter ?? ctx.info.dataCenter;
}

function nativePort(ctx: SystemTableContext): number {
  return ctx.connectionPort ?? DEFAULT_BIND_PORT;
}

/** This proxy, as system.local describes it. */
export function localNode(ctx: SystemTableContext): NodeView {
  const address = localRpcAddress(ctx);
  return {
    address,
    dataCenter: localDataCenter(ctx),
    tokens: ctx.topology.tokens,
    hostId: nameBasedUuid(address),
    nativePort: nativePort(ctx),
    protocolVersion: ctx.version,
    gossipGeneration: GOSSIP_GENERATION,
    agreedSchemaVersion: ctx.info.schemaVersion,
  };
}

/** The peer proxies, in configuration order (this proxy left out). */
export function peerNodes(ctx: SystemTableContext): NodeView[] {
  return ctx.topology.peers.map((peer) => ({
    address: peer.rpcAddress,
    dataCenter: peer.dataCenter ?? localDataCenter(ctx),
    tokens: peer.tokens,
    hostId: nameBasedUuid(peer.rpcAddress),
    nativePort: nativePort(ctx),
    protocolVersion: ctx.version,
    gossipGeneration: GOSSIP_GENERATION,
    agreedSchemaVersion: ctx.info.schemaVersion,
  }));
}
