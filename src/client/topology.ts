// The cluster the proxy shows its clients: itself, plus the peer proxies configured to sit behind
// the same load balancer (docs/cql-proxy-compat.md §4.3). Built once from the config; the rpc
// address of this proxy may stay open (then each client sees the address it connected to).

import { parseInetAddr } from '../protocol/writer.js';
import { invalid, type ClientSideConfig } from './config.js';
import {
  FIELD_NAMES,
  checkPeerHasAddress,
  checkPeersHaveOurAddress,
  checkPeersHaveTokens,
} from './config-rules.js';

export interface PeerNode {
  rpcAddress: string;
  /** undefined: the same data center as this proxy. */
  dataCenter: string | undefined;
  tokens: readonly string[];
}

export interface ProxyTopology {
  /** undefined: the local address of each client's connection. */
  rpcAddress: string | undefined;
  /** undefined: the cluster's local data center. */
  dataCenter: string | undefined;
  tokens: readonly string[];
  peers: readonly PeerNode[];
}

/** What a one-node ring owns: everything, from the lowest Murmur3 token. */
export const SINGLE_NODE_TOKEN = '-9223372036854775808';

const MIN_TOKEN = -(1n << 63n);
const MAX_UINT64 = (1n << 64n) - 1n;

/** 16-byte form of an address, so IPv4 and IPv6 sort in one order (IPv4 as ::ffff:a.b.c.d). */
function sortKey(address: string): Buffer {
  const bytes = parseInetAddr(address);
  if (bytes.length === 16) return bytes;
  const mapped = Buffer.alloc(16);
  mapped.writeUInt16BE(0xffff, 10);
  bytes.copy(mapped, 12);
  return mapped;
}

function sameAddress(a: string, b: string): boolean {
  return sortKey(a).equals(sortKey(b));
}

/**
 * Even token split over `addresses`, sorted by address bytes: token_i = MIN + i * (MAX_UINT64 / n
 * + 1), cql-proxy's formula. Unlike cql-proxy, n counts each node once: its peers list usually
 * names the proxy itself too, which it counted twice and so left part of the ring to nobody.
 */
function splitTokens(addresses: readonly string[]): Map<string, string> {
  const sorted = [...addresses].sort((a, b) => Buffer.compare(sortKey(a), sortKey(b)));
  const step = MAX_UINT64 / BigInt(sorted.length) + 1n;
  return new Map(sorted.map((address, i) => [address, String(MIN_TOKEN + BigInt(i) * step)]));
}

/** Validates the peers configuration (cql-proxy's buildNodes rules) and computes the tokens. */
export function buildTopology(config: ClientSideConfig): ProxyTopology {
  const { rpcAddress } = config;
  const peers: {
    rpcAddress: string;
    dataCenter: string | undefined;
    tokens?: readonly string[];
  }[] = [];
  config.peers.forEach((peer, i) => {
    checkPeerHasAddress(i, peer.rpcAddress, FIELD_NAMES, invalid);
    let key: Buffer;
    try {
      key = sortKey(peer.rpcAddress);
    } catch {
      invalid(`invalid rpc address '${peer.rpcAddress}' for peer #${i + 1}`);
    }
    checkPeersHaveOurAddress(config.peers.length, rpcAddress, FIELD_NAMES, invalid);
    // The shared peers list of several proxies names each of them, this one included.
    if (rpcAddress !== undefined && sameAddress(peer.rpcAddress, rpcAddress)) return;
    if (peers.some((p) => sortKey(p.rpcAddress).equals(key))) {
      invalid(`peer ${peer.rpcAddress} is listed twice`);
    }
    if (peer.tokens?.length === 0) invalid(`empty tokens for peer ${peer.rpcAddress}`);
    peers.push({ rpcAddress: peer.rpcAddress, dataCenter: peer.dataCenter, ...tokensOf(peer) });
  });

  checkPeersHaveTokens(config.tokens, peers, invalid);
  const withTokens = peers.filter((p) => p.tokens !== undefined).length;
  if (config.tokens === undefined && withTokens > 0) {
    invalid('tokens are given for peer proxies but not for this proxy: give them for all or none');
  }

  const base = { rpcAddress, dataCenter: config.dataCenter };
  if (config.tokens !== undefined) {
    return {
      ...base,
      tokens: config.tokens,
      peers: peers.map((p) => ({ ...p, tokens: p.tokens ?? [] })),
    };
  }
  if (peers.length === 0 || rpcAddress === undefined) {
    return { ...base, tokens: [SINGLE_NODE_TOKEN], peers: [] };
  }
  const tokens = splitTokens([rpcAddress, ...peers.map((p) => p.rpcAddress)]);
  const tokenOf = (address: string): string[] => [tokens.get(address) ?? SINGLE_NODE_TOKEN];
  return {
    ...base,
    tokens: tokenOf(rpcAddress),
    peers: peers.map((p) => ({
      rpcAddress: p.rpcAddress,
      dataCenter: p.dataCenter,
      tokens: tokenOf(p.rpcAddress),
    })),
  };
}

function tokensOf(peer: { tokens?: readonly string[] }): { tokens?: readonly string[] } {
  return peer.tokens === undefined ? {} : { tokens: peer.tokens };
}
