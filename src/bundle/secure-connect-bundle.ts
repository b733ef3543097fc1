// Reads an Astra Secure Connect Bundle in memory (never extracted to disk): config.json gives the
// metadata service address, ca.crt/cert/key the mutual TLS identity. Bundles that lack the PEM
// files carry the client identity in cert.pfx (PKCS#12, password pfxCertPassword), as the C#
// driver reads it. Layout: ../shared/docs/astra-formats.md §1.

import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import AdmZip from 'adm-zip';
import forge from 'node-forge';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';

export interface SecureConnectBundle {
  /** Metadata service host (config.json `host`), also the name server certificates are checked against. */
  host: string;
  /** Metadata service port (config.json `port`). */
  port: number;
  /** PEM of the CA that signs the servers' certificates. */
  ca: string;
  /** PEM of the client certificate. */
  cert: string;
  /** PEM of the client private key. */
  key: string;
  keyspace: string | undefined;
  localDc: string | undefined;
}

function invalid(source: string, message: string, cause?: unknown): ProxyError {
  return new ProxyError(
    ProxyErrorCode.BUNDLE_INVALID,
    `invalid secure connect bundle ${source}: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** @param source how to name the bundle in errors (its path or URL). */
export function readSecureConnectBundle(zip: Buffer, source: string): SecureConnectBundle {
  let entries: Map<string, Buffer>;
  try {
    const archive = new AdmZip(zip);
    entries = new Map(
      archive
        .getEntries()
        .filter((e) => !e.isDirectory)
        .map((e) => [e.entryName, e.getData()]),
    );
  } catch (err) {
    throw invalid(source, `not a zip file (${errorMessage(err)})`, err);
  }

  const configBytes = entries.get('config.json');
  if (configBytes === undefined) throw invalid(source, 'missing entry config.json');
  let config: unknown;
  try {
    config = JSON.parse(configBytes.toString('utf8'));
  } catch (err) {
    throw invalid(source, `config.json is not valid JSON (${errorMessage(err)})`, err);
  }
  if (typeof config !== 'object' || config === null) {
    throw invalid(source, 'config.json is not a JSON object');
  }
  const fields = config as Record<string, unknown>;
  const host = fields.host;
  const port = fields.port;
  if (typeof host !== 'string' || host === '') {
    throw invalid(source, 'config.json has no "host" (the metadata service address)');
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(source, 'config.json has no valid "port" (the metadata service port)');
  }

  const caBytes = entries.get('ca.crt');
  if (caBytes === undefined) throw invalid(source, 'missing entry ca.crt');
  const ca = caBytes.toString('utf8');
  checkCertificate(source, 'ca.crt', ca);

  let cert = entries.get('cert')?.toString('utf8');
  let key = entries.get('key')?.toString('utf8');
  if (cert === undefined || key === undefined) {
    const pfx = entries.get('cert.pfx');
    if (pfx === undefined) {
      throw invalid(
        source,
        `missing entry ${cert === undefined ? 'cert' : 'key'} (and no cert.pfx to fall back on)`,
      );
    }
    const password = fields.pfxCertPassword;
    if (typeof password !== 'string') {
      throw invalid(source, 'cert.pfx is present but config.json has no "pfxCertPassword"');
    }
    ({ cert, key } = readPkcs12(source, pfx, password));
  }
  checkCertificate(source, 'cert', cert);
  try {
    createPrivateKey(key);
  } catch (err) {
    throw invalid(source, `entry key is not a PEM private key (${errorMessage(err)})`, err);
  }

  return {
    host,
    port,
    ca,
    cert,
    key,
    keyspace: typeof fields.keyspace === 'string' ? fields.keyspace : undefined,
    localDc: typeof fields.localDC === 'string' ? fields.localDC : undefined,
  };
}

function checkCertificate(source: string, entry: string, pem: string): void {
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw invalid(source, `entry ${entry} is not a PEM certificate (${errorMessage(err)})`, err);
  }
}

/** The client certificate and key from a PKCS#12 file, as PEM. */
function readPkcs12(source: string, pfx: Buffer, password: string): { cert: string; key: string } {
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(pfx.toString('binary')));
    const p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, password);
    const certOid = forge.pki.oids.certBag ?? '';
    const shroudedOid = forge.pki.oids.pkcs8ShroudedKeyBag ?? '';
    const keyOid = forge.pki.oids.keyBag ?? '';
    const key =
      p12.getBags({ bagType: shroudedOid })[shroudedOid]?.[0]?.key ??
      p12.getBags({ bagType: keyOid })[keyOid]?.[0]?.key;
    if (key === undefined) throw new Error('it holds no private key');
    // The file may also hold the CA: take the certificate whose public key is the private key's.
    const keyPem = forge.pki.privateKeyToPem(key);
    const publicPem = createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }).toString();
    const certs = (p12.getBags({ bagType: certOid })[certOid] ?? []).flatMap((bag) =>
      bag.cert === undefined ? [] : [forge.pki.certificateToPem(bag.cert)],
    );
    const cert = certs.find(
      (pem) =>
        new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'pem' }).toString() ===
        publicPem,
    );
    if (cert === undefined) throw new Error('it holds no certificate for its private key');
    return { cert, key: keyPem };
  } catch (err) {
    throw invalid(source, `entry cert.pfx cannot be read (${errorMessage(err)})`, err);
  }
}
