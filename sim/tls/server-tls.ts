// TLS settings shared by the two Astra listeners (metadata service, SNI proxy): both present the
// same server certificate and insist on a client certificate signed by the bundle's CA, as Astra
// does (docs/astra.md §2.1: mutual TLS; cql-proxy's test server uses RequireAndVerifyClientCert).

import type { TlsOptions } from 'node:tls';

/** PEM strings: the CA that signs client certificates, and the server's own certificate and key. */
export interface ServerTlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export function mutualTlsOptions(material: ServerTlsMaterial): TlsOptions {
  return {
    ca: [material.ca],
    cert: material.cert,
    key: material.key,
    // Ask for a client certificate and fail the handshake unless it chains to `ca`.
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
}
