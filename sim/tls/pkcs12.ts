// PKCS#12 for the bundle's `cert.pfx` (C# driver) and `identity.jks` (Java driver: JDK 9+ opens
// PKCS#12 through KeyStore.getInstance("JKS"), and Astra's own test bundle ships identity.jks as
// PKCS#12, docs/astra.md §1.1).
//
// Triple-DES (pbeWithSHAAnd3-KeyTripleDES-CBC) for the key bag and a SHA-1 MAC: the algorithms
// every reader understands, old .NET and Java 8 included, and still in OpenSSL 3's default provider.

import forge from 'node-forge';

export interface Pkcs12Options {
  /** PEM certificates, the end-entity first, then its issuers. */
  readonly chainPem: readonly string[];
  /** PEM private key of the first certificate. */
  readonly keyPem: string;
  readonly password: string;
  /** Becomes the entry's alias in Java (the PKCS#9 friendlyName attribute). */
  readonly friendlyName: string;
}

export function makePkcs12(options: Pkcs12Options): Buffer {
  const key = forge.pki.privateKeyFromPem(options.keyPem);
  const chain = options.chainPem.map((pem) => forge.pki.certificateFromPem(pem));
  const pfx = forge.pkcs12.toPkcs12Asn1(key, chain, options.password, {
    algorithm: '3des',
    friendlyName: options.friendlyName,
  });
  // forge works in "binary" strings: one char per byte.
  return Buffer.from(forge.asn1.toDer(pfx).getBytes(), 'binary');
}
