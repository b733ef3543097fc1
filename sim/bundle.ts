// The Secure Connect Bundle of the simulated database: the zip every driver's `cloud` option reads,
// with Astra's eight files at the zip root (docs/astra.md §1.1) so that Node/Python (ca.crt, cert,
// key), Java (identity.jks, trustStore.jks), C# (cert.pfx) and cqlsh (cqlshrc) all find theirs.

import { randomInt, X509Certificate } from 'node:crypto';
import AdmZip from 'adm-zip';
import { makeClientCertificate } from './tls/certs.js';
import type { CertificateAuthority, IssuedCertificate } from './tls/certs.js';
import { writeJksTrustStore } from './tls/jks.js';
import { makePkcs12 } from './tls/pkcs12.js';

export const BUNDLE_FILE_NAMES = [
  'config.json',
  'ca.crt',
  'cert',
  'key',
  'cert.pfx',
  'identity.jks',
  'trustStore.jks',
  'cqlshrc',
] as const;
export type BundleFileName = (typeof BUNDLE_FILE_NAMES)[number];

/** `config.json` (docs/astra.md §1.2), field names and order as Astra writes them. */
export interface BundleConfig {
  readonly username?: string;
  readonly password?: string;
  readonly host: string;
  /** The metadata service's port. */
  readonly port: number;
  /** The SNI proxy's port: read by cqlsh and tools, by no driver. */
  readonly cql_port: number;
  readonly keyspace: string;
  readonly localDC: string;
  readonly caCertLocation: './ca.crt';
  readonly keyLocation: './key';
  readonly certLocation: './cert';
  readonly keyStoreLocation: './identity.jks';
  readonly keyStorePassword: string;
  readonly trustStoreLocation: './trustStore.jks';
  readonly trustStorePassword: string;
  readonly csvLocation: './data';
  readonly pfxCertPassword: string;
}

export interface BundlePasswords {
  /** identity.jks. Equal to `pfxCert`: one PKCS#12 file serves as both, as in the Java test bundle. */
  readonly keyStore: string;
  readonly trustStore: string;
  readonly pfxCert: string;
}

export interface SecureConnectBundleOptions {
  readonly ca: CertificateAuthority;
  /** `config.json` host; an IP literal on loopback (docs/astra.md §2.5). Default 127.0.0.1. */
  readonly host?: string;
  readonly metadataPort: number;
  readonly sniPort: number;
  readonly keyspace: string;
  readonly localDc: string;
  /** Defaults to a fresh certificate, CN=client, signed by `ca`. */
  readonly clientCertificate?: IssuedCertificate;
  /** The legacy per-bundle credentials of old bundles, to exercise the drivers' fallback. */
  readonly legacyCredentials?: { readonly username: string; readonly password: string };
}

export interface SecureConnectBundle {
  readonly zip: Buffer;
  readonly files: Readonly<Record<BundleFileName, Buffer>>;
  readonly passwords: BundlePasswords;
  readonly config: BundleConfig;
  readonly clientCertificate: IssuedCertificate;
}

const DEFAULT_HOST = '127.0.0.1';
const CLIENT_COMMON_NAME = 'client';
/** Astra's passwords look like `Kga1OJ83EF2oBQYR5`: 17 letters and digits. */
const PASSWORD_LENGTH = 17;
const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TRUSTSTORE_ALIAS = 'ca';

export function makeSecureConnectBundle(options: SecureConnectBundleOptions): SecureConnectBundle {
  const host = options.host ?? DEFAULT_HOST;
  const client = options.clientCertificate ?? makeClientCertificate(options.ca, CLIENT_COMMON_NAME);
  const keyStorePassword = randomPassword();
  const passwords: BundlePasswords = {
    keyStore: keyStorePassword,
    trustStore: randomPassword(),
    pfxCert: keyStorePassword,
  };
  const config: BundleConfig = {
    ...options.legacyCredentials,
    host,
    port: options.metadataPort,
    cql_port: options.sniPort,
    keyspace: options.keyspace,
    localDC: options.localDc,
    caCertLocation: './ca.crt',
    keyLocation: './key',
    certLocation: './cert',
    keyStoreLocation: './identity.jks',
    keyStorePassword: passwords.keyStore,
    trustStoreLocation: './trustStore.jks',
    trustStorePassword: passwords.trustStore,
    csvLocation: './data',
    pfxCertPassword: passwords.pfxCert,
  };
  const pkcs12 = makePkcs12({
    chainPem: [client.certPem, options.ca.certPem],
    keyPem: client.keyPem,
    password: passwords.pfxCert,
    friendlyName: CLIENT_COMMON_NAME,
  });
  const files: Record<BundleFileName, Buffer> = {
    'config.json': Buffer.from(JSON.stringify(config, null, 2), 'utf8'),
    'ca.crt': Buffer.from(options.ca.certPem, 'utf8'),
    cert: Buffer.from(client.certPem, 'utf8'),
    key: Buffer.from(client.keyPem, 'utf8'),
    'cert.pfx': pkcs12,
    'identity.jks': pkcs12,
    'trustStore.jks': writeJksTrustStore(
      [{ alias: TRUSTSTORE_ALIAS, certDer: new X509Certificate(options.ca.certPem).raw }],
      passwords.trustStore,
    ),
    cqlshrc: Buffer.from(cqlshrc(host, options.sniPort), 'utf8'),
  };
  const zip = new AdmZip();
  for (const name of BUNDLE_FILE_NAMES) zip.addFile(name, files[name]);
  return { zip: zip.toBuffer(), files, passwords, config, clientCertificate: client };
}

/** docs/astra.md §1.4: cqlsh connects straight to `host:cql_port`, i.e. the SNI proxy. */
function cqlshrc(host: string, cqlPort: number): string {
  return [
    '[connection]',
    `hostname = ${host}`,
    `port = ${cqlPort}`,
    'ssl = true',
    '',
    '[ssl]',
    'validate = true',
    'certfile = ./ca.crt',
    'userkey = ./key',
    'usercert = ./cert',
    '',
  ].join('\n');
}

function randomPassword(): string {
  let out = '';
  for (let i = 0; i < PASSWORD_LENGTH; i++) {
    out += PASSWORD_ALPHABET.charAt(randomInt(PASSWORD_ALPHABET.length));
  }
  return out;
}
