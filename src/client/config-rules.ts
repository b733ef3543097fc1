// The rules of the client side's configuration that tie several settings together, each stated
// once. Two layers apply them: the command-line parser (src/config/parse.ts), which reports the
// first broken rule at start-up in one line naming the flags, environment variables or file the
// user wrote, and validateClientSideConfig()/buildTopology() (config.ts, topology.ts), which
// guard library users who build a ClientSideConfig themselves and name its fields. Each rule
// calls the layer's `refuse` with its one-line complaint when it is broken.

import { consistencyName } from '../protocol/constants.js';

/** Throws the layer's own error (a ConfigError line, a CONFIG_INVALID ProxyError). */
export type Refuse = (complaint: string) => never;

/** How the caller names the settings the rules speak of. */
export interface SettingNames {
  writeConsistencyOverride: string;
  unsupportedWriteConsistencies: string;
  rpcAddress: string;
  /** The peer list, with where it came from when that helps (`peers in proxy.yaml`). */
  peers: string;
  /** A peer's own rpc address, as the peer list spells the key. */
  peerRpcAddress: string;
}

/** The names of ClientSideConfig's fields, for library users. */
export const FIELD_NAMES: SettingNames = {
  writeConsistencyOverride: 'writeConsistencyOverride',
  unsupportedWriteConsistencies: 'unsupportedWriteConsistencies',
  rpcAddress: 'rpcAddress',
  peers: 'peers',
  peerRpcAddress: 'rpcAddress',
};

/** Writes are rewritten to the override: it cannot be one of the levels it replaces. */
export function checkOverrideNotUnsupported(
  override: number,
  unsupported: Iterable<number>,
  names: SettingNames,
  refuse: Refuse,
): void {
  for (const level of unsupported) {
    if (level !== override) continue;
    refuse(
      `the write consistency override ${consistencyName(override)} ` +
        `(${names.writeConsistencyOverride}) is itself listed in ${names.unsupportedWriteConsistencies}`,
    );
  }
}

/** Peers are listed in system.peers beside this proxy, which must then have an address too. */
export function checkPeersHaveOurAddress(
  peerCount: number,
  rpcAddress: string | undefined,
  names: SettingNames,
  refuse: Refuse,
): void {
  if (peerCount > 0 && rpcAddress === undefined) {
    refuse(`${names.peers} are configured but ${names.rpcAddress} is not set`);
  }
}

/** Every peer has an address (`index` counts from 0; the complaint counts from 1). */
export function checkPeerHasAddress(
  index: number,
  rpcAddress: string | undefined,
  names: Pick<SettingNames, 'peerRpcAddress'>,
  refuse: Refuse,
): asserts rpcAddress is string {
  if (rpcAddress === undefined || rpcAddress === '') {
    refuse(`no ${names.peerRpcAddress} provided for peer #${index + 1}`);
  }
}

/**
 * With tokens given for this proxy, the ring is the operator's: every peer needs its tokens too
 * (cql-proxy's rule). The caller passes the peers that count: the parser all of them, the
 * topology those other than this proxy itself.
 */
export function checkPeersHaveTokens(
  tokens: readonly string[] | undefined,
  peers: readonly { tokens?: readonly string[] | undefined }[],
  refuse: Refuse,
): void {
  if (tokens !== undefined && peers.some((p) => p.tokens === undefined)) {
    refuse('tokens must be provided for all peer proxies if tokens are provided for this proxy');
  }
}
