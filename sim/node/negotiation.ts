// What a simulated node says while a connection is being set up: which protocol versions it serves,
// the exact refusal Cassandra sends for the others (drivers step down on its text), the SUPPORTED
// options, and the checks on the STARTUP options (docs/astra.md §6, docs/drivers.md §4).

import { ProtocolVersion, versionName } from '../../src/protocol/constants.js';
import type { BodyCompressionName } from '../../src/protocol/compression.js';
import { StartupOption } from '../../src/protocol/messages/startup.js';

/** The versions Astra serves (docs/astra.md §6.1): v5 only when asked. */
export const DEFAULT_PROTOCOL_VERSIONS: readonly number[] = [
  ProtocolVersion.V3,
  ProtocolVersion.V4,
];
const SERVABLE_VERSIONS: ReadonlySet<number> = new Set([
  ProtocolVersion.V3,
  ProtocolVersion.V4,
  ProtocolVersion.V5,
]);

/** Astra's CQL version (docs/astra.md §3.2); drivers put the first value in STARTUP. */
export const CQL_VERSION = '3.4.5';
export const PRODUCT_TYPE = 'DATASTAX_APOLLO';
export const COMPRESSIONS: readonly BodyCompressionName[] = ['lz4', 'snappy'];

/** Checks a node's configured versions: a non-empty subset of v3, v4, v5, sorted. */
export function checkProtocolVersions(versions: readonly number[]): number[] {
  if (versions.length === 0) throw new Error('a node must offer at least one protocol version');
  for (const v of versions) {
    if (!SERVABLE_VERSIONS.has(v)) {
      throw new Error(`protocol version ${v} cannot be offered: choose among 3, 4 and 5`);
    }
  }
  return [...new Set(versions)].sort((a, b) => a - b);
}

/** Cassandra's ProtocolVersion.toString in lists: `4/v4`. */
function versionLabel(version: number): string {
  return `${version}/${versionName(version)}`;
}

/**
 * Cassandra's ProtocolVersion.decode refusal. Node, Java and cql-proxy look for "Invalid or
 * unsupported protocol version", Python for "unsupported protocol version" (docs/drivers.md §2.1).
 */
export function unsupportedVersionMessage(requested: number, offered: readonly number[]): string {
  return `Invalid or unsupported protocol version (${requested}); supported versions are (${offered.map(versionLabel).join(', ')})`;
}

/**
 * The version byte of that refusal: the highest offered. Node retries with the version of the
 * error frame (0x84 → straight to v4; 0x85 → not a driver version → v4), Python steps down one by
 * one whatever it says (docs/drivers.md §1.4, §2.1).
 */
export function refusalVersion(offered: readonly number[]): number {
  return Math.max(...offered);
}

/** SUPPORTED, before and after STARTUP alike (docs/astra.md §6.2: Python reads the first one). */
export function supportedOptions(offered: readonly number[]): Map<string, string[]> {
  return new Map([
    [StartupOption.CQL_VERSION, [CQL_VERSION]],
    // Python does options['COMPRESSION'] and fails with a KeyError without it.
    [StartupOption.COMPRESSION, [...COMPRESSIONS]],
    ['PROTOCOL_VERSIONS', offered.map(versionLabel)],
    ['PRODUCT_TYPE', [PRODUCT_TYPE]],
  ]);
}

/** A STARTUP the node refuses, with Cassandra's text. */
export class StartupRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupRefused';
  }
}

export interface StartupSettings {
  compression: BodyCompressionName | undefined;
}

/**
 * Checks the STARTUP options (Cassandra StartupMessage.execute) and returns the compression to use.
 * Only LZ4 exists in v5, where it compresses segments (spec v5 §2.2).
 */
export function acceptStartup(
  options: ReadonlyMap<string, string>,
  version: number,
): StartupSettings {
  const cqlVersion = options.get(StartupOption.CQL_VERSION);
  if (cqlVersion === undefined) {
    throw new StartupRefused('Missing value CQL_VERSION in STARTUP message');
  }
  // Node sends 3.0.0, Python the server's 3.4.5: any 3.x is served.
  if (!/^3(\.\d+){0,2}$/.test(cqlVersion)) {
    throw new StartupRefused(
      `Unsupported CQL version ${cqlVersion}: this node serves ${CQL_VERSION}`,
    );
  }
  const requested = options.get(StartupOption.COMPRESSION);
  if (requested === undefined || requested === '') return { compression: undefined };
  const name = requested.toLowerCase();
  if (name !== 'lz4' && name !== 'snappy') {
    throw new StartupRefused(`Unknown compression algorithm: ${requested}`);
  }
  if (version === ProtocolVersion.V5 && name !== 'lz4') {
    throw new StartupRefused(
      `Unsupported compression algorithm ${requested} with protocol v5: only lz4 is supported`,
    );
  }
  return { compression: name };
}
