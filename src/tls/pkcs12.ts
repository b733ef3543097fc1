// The client certificate and key out of a PKCS#12 file, as PEM.
//
// Older secure connect bundles carry only `cert.pfx` (with `pfxCertPassword` in config.json)
// instead of the `cert` and `key` PEM entries (docs/astra.md §1). Node's TLS accepts a PFX
// directly, but the rest of the proxy (certificate checks, logs of the subject, the metadata
// service request) wants PEM, so the file is unpacked once at start-up. node-forge reads it:
// Node's crypto has no PKCS#12 parser.

import { X509Certificate, createPublicKey } from 'node:crypto';
import forge from 'node-forge';

/**
 * The private key of a PKCS#12 file and the certificate that belongs to it, as PEM. The file
 * may also hold the CA: the certificate taken is the one whose public key is the private key's.
 * Throws an Error saying what is wrong (bad password, no key, no matching certificate).
 */
export function readPkcs12(pfx: Buffer, password: string): { cert: string; key: string } {
  const asn1 = forge.asn1.fromDer(forge.util.createBuffer(pfx.toString('binary')));
  const p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, password);
  const certOid = forge.pki.oids.certBag ?? '';
  const shroudedOid = forge.pki.oids.pkcs8ShroudedKeyBag ?? '';
  const keyOid = forge.pki.oids.keyBag ?? '';
  const key =
    p12.getBags({ bagType: shroudedOid })[shroudedOid]?.[0]?.key ??
    p12.getBags({ bagType: keyOid })[keyOid]?.[0]?.key;
  if (key === undefined) throw new Error('it holds no private key');
  const keyPem = forge.pki.privateKeyToPem(key);
  const publicPem = spki(createPublicKey(keyPem));
  const certs = (p12.getBags({ bagType: certOid })[certOid] ?? []).flatMap((bag) =>
    bag.cert === undefined ? [] : [forge.pki.certificateToPem(bag.cert)],
  );
  const cert = certs.find((pem) => spki(new X509Certificate(pem).publicKey) === publicPem);
  if (cert === undefined) throw new Error('it holds no certificate for its private key');
  return { cert, key: keyPem };
}

function spki(key: ReturnType<typeof createPublicKey>): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
