// Reading the cluster's topology: where the first control connection goes, system.local and
// system.peers rows by column name, the nodes and cluster facts they describe, and the protocol
// versions a client may use once the control connection negotiated one.
//
// Astra: the nodes come from system.local/system.peers of the region's coordinators, reached
// through the SNI proxy by host id (rows of other regions are ignored, as cql-proxy does).
// Contact points: the nodes are the rows' rpc_address (or peer) at --port.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { AstraMetadata } from '../bundle/metadata-service.js';
import type { SecureConnectBundle } from '../bundle/secure-connect-bundle.js';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import { ProtocolVersion, ResultKind, isDseVersion } from '../protocol/constants.js';
import type { ResultMessage } from '../protocol/messages/result.js';
import { decodeInet, decodeText, decodeUuid } from '../protocol/values.js';
import type { ClusterInfo } from './contract.js';
import {
  astraEndpoint,
  contactPointEndpoint,
  type ContactPointTls,
  type Endpoint,
} from './endpoint.js';

/** What the proxy connects to: an Astra database, or a Cassandra cluster by contact points. */
export type ClusterTarget =
  | { kind: 'astra'; bundle: SecureConnectBundle; metadata: AstraMetadata }
  | {
      kind: 'contact-points';
      contactPoints: readonly { host: string; port: number }[];
      /** Port of the nodes found in system.peers (cql-proxy's --port). */
      port: number;
      tls?: ContactPointTls;
    };

export interface ClusterNode {
  key: string;
  endpoint: Endpoint;
  hostId: string | undefined;
  /** rpc_address as the cluster reports it (the key of its events). */
  address: string | undefined;
  dataCenter: string | undefined;
}

/** One row of a system table: each cell's bytes by column name (null when the cell is null). */
export interface Row {
  [column: string]: Buffer | null;
}

/** The rows of a RESULT, or none when it is not a ROWS result. */
export function rowsOf(result: ResultMessage): Row[] {
  if (result.kind !== ResultKind.ROWS) return [];
  const columns = result.metadata.columns ?? [];
  return result.rows.map((cells) => {
    const row: Row = {};
    columns.forEach((c, i) => {
      row[c.name] = cells[i] ?? null;
    });
    return row;
  });
}

/** The versions clients may use: the negotiated one and the standard ones below it, down to v3. */
export function clientVersionsFor(negotiated: number, cap: number | undefined): number[] {
  const chain = [
    ProtocolVersion.DSE_V2,
    ProtocolVersion.DSE_V1,
    ProtocolVersion.V5,
    ProtocolVersion.V4,
    ProtocolVersion.V3,
  ];
  const start = chain.indexOf(negotiated as (typeof chain)[number]);
  const versions = (
    start < 0 ? [ProtocolVersion.V4, ProtocolVersion.V3] : chain.slice(start)
  ).filter(
    // A DSE cluster speaks DSE versions and v4/v3; whether it also speaks v5 is unknown.
    (v) => !(v === ProtocolVersion.V5 && isDseVersion(negotiated)),
  );
  if (cap === undefined) return versions;
  const capIndex = chain.indexOf(cap as (typeof chain)[number]);
  return versions.filter((v) => chain.indexOf(v) >= capIndex);
}

/**
 * Where the first control connection is tried: Astra's contact points (host ids behind the SNI
 * proxy), or every address of every contact point. Rejects when no contact point resolves.
 */
export async function initialEndpoints(target: ClusterTarget, logger: Logger): Promise<Endpoint[]> {
  if (target.kind === 'astra') {
    return target.metadata.contactPoints.map((hostId) =>
      astraEndpoint(target.bundle, target.metadata.sniProxy, hostId),
    );
  }
  const endpoints: Endpoint[] = [];
  for (const cp of target.contactPoints) {
    if (isIP(cp.host) !== 0) {
      endpoints.push(contactPointEndpoint(cp.host, cp.port, target.tls));
      continue;
    }
    try {
      for (const a of await lookup(cp.host, { all: true })) {
        endpoints.push(contactPointEndpoint(a.address, cp.port, target.tls));
      }
    } catch (err) {
      logger.warn({ host: cp.host, err: errorMessage(err) }, 'cannot resolve contact point');
    }
  }
  if (endpoints.length === 0) {
    throw new ProxyError(
      ProxyErrorCode.CLUSTER_UNAVAILABLE,
      `none of the contact points resolved: ${target.contactPoints.map((c) => c.host).join(', ')}`,
    );
  }
  return endpoints;
}

/** What the proxy tells its clients about the cluster, from the control connection's system.local. */
export function clusterInfoFrom(
  target: ClusterTarget,
  control: { version: number; supported: ReadonlyMap<string, readonly string[]> },
  local: Row,
  maxClientVersion: number | undefined,
): ClusterInfo {
  const version = control.version;
  return {
    releaseVersion: decodeText(local.release_version ?? null) ?? '',
    cqlVersion: decodeText(local.cql_version ?? null) ?? '3.4.5',
    partitioner: decodeText(local.partitioner ?? null) ?? '',
    dataCenter:
      target.kind === 'astra'
        ? target.metadata.region
        : (decodeText(local.data_center ?? null) ?? ''),
    dseVersion: decodeText(local.dse_version ?? null) ?? undefined,
    schemaVersion: decodeUuid(local.schema_version ?? null) ?? undefined,
    productType: control.supported.get('PRODUCT_TYPE')?.[0],
    protocolVersion: version,
    clientVersions: clientVersionsFor(version, maxClientVersion),
  };
}

/**
 * The node a system.local (`controlEndpoint`: the control connection's own) or system.peers row
 * describes, or undefined when the proxy does not use it (another Astra region, no address).
 */
export function nodeFromRow(
  target: ClusterTarget,
  row: Row,
  controlEndpoint: Endpoint | undefined,
  logger: Logger,
): ClusterNode | undefined {
  const hostId = decodeUuid(row.host_id ?? null) ?? undefined;
  const dataCenter = decodeText(row.data_center ?? null) ?? undefined;
  let address = decodeInet(row.rpc_address ?? null) ?? undefined;
  if (address === '0.0.0.0' || address === '::')
    address = decodeInet(row.peer ?? null) ?? undefined;
  if (target.kind === 'astra') {
    if (hostId === undefined) {
      logger.warn('ignoring a node without host_id');
      return undefined;
    }
    if (dataCenter !== target.metadata.region) return undefined;
    return {
      key: hostId,
      endpoint: astraEndpoint(target.bundle, target.metadata.sniProxy, hostId),
      hostId,
      address,
      dataCenter,
    };
  }
  const endpoint =
    controlEndpoint ??
    (address === undefined ? undefined : contactPointEndpoint(address, target.port, target.tls));
  if (endpoint === undefined) {
    logger.warn({ hostId }, 'ignoring a node without rpc_address or peer');
    return undefined;
  }
  return { key: endpoint.key, endpoint, hostId, address, dataCenter };
}
