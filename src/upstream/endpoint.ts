// Where one upstream connection goes, and with which TLS settings (built in
// src/tls/upstream-tls.ts): a node behind Astra's SNI proxy, or a contact point by address.

import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import {
  type BundleIdentity,
  type ContactPointTls,
  contactPointTlsOptions,
  sniProxyTlsOptions,
} from '../tls/upstream-tls.js';

export type { ContactPointTls } from '../tls/upstream-tls.js';

export interface Endpoint {
  /** Identity of the node for pools, logs and errors (cql-proxy's endpoint key). */
  key: string;
  /** TCP target. */
  host: string;
  port: number;
  /** TLS settings; absent for plain TCP. */
  tls?: ConnectionOptions;
}

/** `host:port`, with brackets around an IPv6 literal. */
export function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** A node behind Astra's SNI proxy, reached with servername = its host id. */
export function astraEndpoint(
  bundle: BundleIdentity,
  sniProxy: { host: string; port: number },
  hostId: string,
): Endpoint {
  return {
    key: `${hostPort(sniProxy.host, sniProxy.port)}:${hostId}`,
    host: sniProxy.host,
    port: sniProxy.port,
    tls: sniProxyTlsOptions(bundle, hostId),
  };
}

/** A Cassandra node by address: plain TCP, or TLS when `tls` is given. */
export function contactPointEndpoint(host: string, port: number, tls?: ContactPointTls): Endpoint {
  const endpoint: Endpoint = { key: hostPort(host, port), host, port };
  if (tls !== undefined) endpoint.tls = contactPointTlsOptions(host, tls);
  return endpoint;
}
