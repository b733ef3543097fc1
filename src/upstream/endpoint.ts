// Where one upstream connection goes, and with which TLS settings.
//
// Astra (docs/astra.md §2.3, docs/cql-proxy-compat.md §2.4): every node sits behind one SNI
// proxy; the TLS server name is the node's host id, a UUID, so the proxy knows where to route.
// That UUID is not a name the server certificate could carry: the certificate is checked against
// the bundle's config.json `host` instead, as cql-proxy does (its VerifyPeerCertificate with
// DNSName = bundle host). The chain is still verified against the bundle's CA
// (rejectUnauthorized).
//
// Contact points (docs/cql-proxy-compat.md §2.6): plain TCP, or TLS with a CA and an optional
// client certificate, which Amazon Keyspaces and TLS-enabled Cassandra need and cql-proxy lacks.

import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { SecureConnectBundle } from '../bundle/secure-connect-bundle.js';

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

/**
 * A node behind Astra's SNI proxy: TLS to the proxy with servername = the node's host id, the
 * bundle's client certificate, and the server certificate checked against the bundle's host.
 */
export function astraEndpoint(
  bundle: Pick<SecureConnectBundle, 'host' | 'ca' | 'cert' | 'key'>,
  sniProxy: { host: string; port: number },
  hostId: string,
): Endpoint {
  const expectedHost = bundle.host;
  return {
    key: `${hostPort(sniProxy.host, sniProxy.port)}:${hostId}`,
    host: sniProxy.host,
    port: sniProxy.port,
    tls: {
      servername: hostId,
      ca: [bundle.ca],
      cert: bundle.cert,
      key: bundle.key,
      rejectUnauthorized: true,
      // Called after the chain was verified; Node would check the certificate against the
      // servername (the UUID), which no certificate names.
      checkServerIdentity: (_servername: string, cert: PeerCertificate) =>
        checkServerIdentity(expectedHost, cert),
    },
  };
}

export interface ContactPointTls {
  /** PEM of the CA to trust; the system CAs when absent. */
  ca?: string;
  /** PEM client certificate and key, for servers that require client authentication. */
  cert?: string;
  key?: string;
  /** The name to send as SNI and check the certificate against; default the host. */
  serverName?: string;
  /** Default true. False accepts any certificate: for tests and trusted networks only. */
  rejectUnauthorized?: boolean;
}

/** A Cassandra node by address: plain TCP, or TLS when `tls` is given. */
export function contactPointEndpoint(host: string, port: number, tls?: ContactPointTls): Endpoint {
  const endpoint: Endpoint = { key: hostPort(host, port), host, port };
  if (tls === undefined) return endpoint;
  const options: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized ?? true };
  if (tls.ca !== undefined) options.ca = [tls.ca];
  if (tls.cert !== undefined) options.cert = tls.cert;
  if (tls.key !== undefined) options.key = tls.key;
  const serverName = tls.serverName ?? host;
  // SNI must not carry an IP literal (RFC 6066 §3); Node then checks the certificate against the
  // host, IP SANs included.
  if (isIP(serverName) === 0) options.servername = serverName;
  else if (tls.serverName !== undefined) {
    const name = serverName;
    options.checkServerIdentity = (_host: string, cert: PeerCertificate) =>
      checkServerIdentity(name, cert);
  }
  endpoint.tls = options;
  return endpoint;
}
