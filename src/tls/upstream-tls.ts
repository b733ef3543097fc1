// TLS toward the cluster: to each Astra node through the SNI proxy, to Astra's metadata service,
// and to contact points (TLS-enabled Cassandra, Amazon Keyspaces).
//
// Astra (docs/astra.md §2.3, docs/cql-proxy-compat.md §2.4): every node sits behind one SNI
// proxy; the TLS server name is the node's host id, a UUID, so the proxy knows where to route.
// That UUID is not a name the server certificate could carry: the certificate is checked against
// the bundle's config.json `host` instead, as cql-proxy does (its VerifyPeerCertificate with
// DNSName = bundle host). The chain is still verified against the bundle's CA
// (rejectUnauthorized). The metadata service is reached by that same host name, so Node's own
// identity check applies there unchanged.
//
// Contact points (docs/cql-proxy-compat.md §2.6): plain TCP, or TLS with a CA and an optional
// client certificate, which Amazon Keyspaces and TLS-enabled Cassandra need and cql-proxy lacks.

import { isIP } from 'node:net';
import { type ConnectionOptions, type PeerCertificate, checkServerIdentity } from 'node:tls';
import type { SecureConnectBundle } from '../bundle/secure-connect-bundle.js';

/** The mutual TLS identity a bundle carries, and the host its server certificates name. */
export type BundleIdentity = Pick<SecureConnectBundle, 'host' | 'ca' | 'cert' | 'key'>;

/** TLS to the SNI proxy for the node `hostId`, its certificate checked against the bundle host. */
export function sniProxyTlsOptions(bundle: BundleIdentity, hostId: string): ConnectionOptions {
  const expectedHost = bundle.host;
  return {
    servername: hostId,
    ca: [bundle.ca],
    cert: bundle.cert,
    key: bundle.key,
    rejectUnauthorized: true,
    // Called after the chain was verified; Node would check the certificate against the
    // servername (the UUID), which no certificate names.
    checkServerIdentity: (_servername: string, cert: PeerCertificate) =>
      checkServerIdentity(expectedHost, cert),
  };
}

/** TLS to the metadata service at the bundle's host: the bundle's CA and client certificate. */
export function metadataServiceTlsOptions(
  bundle: BundleIdentity,
): Required<Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>> {
  return { ca: bundle.ca, cert: bundle.cert, key: bundle.key, rejectUnauthorized: true };
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

/** TLS to a contact point at `host`. */
export function contactPointTlsOptions(host: string, tls: ContactPointTls): ConnectionOptions {
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
  return options;
}
