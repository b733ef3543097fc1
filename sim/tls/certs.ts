// Test PKI for the Astra simulation, made at run time so no key material is ever committed: a CA,
// the server certificate shared by the metadata service and the SNI proxy (as in Astra, one cert
// for every listener), and the per-bundle client certificate.
//
// RSA keys come from node:crypto (native, milliseconds); node-forge only assembles and signs the
// X.509 structures. Forge's typings are loose (extensions are `any[]`), so every forge call sits
// behind the small typed functions below.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** A certificate and its private key, both PEM; the key is PKCS#1 like the `key` file of a bundle. */
export interface PemPair {
  readonly certPem: string;
  /** `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1), RSA 2048. */
  readonly keyPem: string;
}

export type CertificateAuthority = PemPair;
export type IssuedCertificate = PemPair;

export interface ServerCertificateOptions {
  readonly commonName: string;
  /** DNS SANs. Node's SNI identity check looks only at CN and DNS SANs, hence `127.0.0.1` here too. */
  readonly dnsNames: readonly string[];
  /** IP SANs: what Node's default check, Java's HTTPS verifier and Go use for an IP literal host. */
  readonly ipAddresses: readonly string[];
}

export const SIM_CA_COMMON_NAME = 'ca.db.astra-sim.test';

/**
 * Astra's subject prefix (docs/astra.md §1.1/§1.5:
 * `C=US, ST=CA, L=Santa Clara, O=DataStax, OU=Cloud`).
 */
const ASTRA_NAME_PREFIX: readonly forge.pki.CertificateField[] = [
  { shortName: 'C', value: 'US' },
  { shortName: 'ST', value: 'CA' },
  { shortName: 'L', value: 'Santa Clara' },
  { shortName: 'O', value: 'DataStax' },
  { shortName: 'OU', value: 'Cloud' },
];

const RSA_BITS = 2048;
const SERIAL_BYTES = 16;
const DAY_MS = 86_400_000;
const VALID_YEARS = 2;

// GeneralName tags (RFC 5280 §4.2.1.6): dNSName [2], iPAddress [7].
const SAN_DNS = 2;
const SAN_IP = 7;

type AltName =
  | { readonly type: typeof SAN_DNS; readonly value: string }
  | { readonly type: typeof SAN_IP; readonly ip: string };

/** The extension shapes forge's `setExtensions` understands, typed instead of `any`. */
type Extension =
  | { readonly name: 'basicConstraints'; readonly critical: true; readonly cA: boolean }
  | {
      readonly name: 'keyUsage';
      readonly critical: true;
      readonly digitalSignature: boolean;
      readonly keyEncipherment: boolean;
      readonly keyCertSign: boolean;
      readonly cRLSign: boolean;
    }
  | { readonly name: 'extKeyUsage'; readonly serverAuth: boolean; readonly clientAuth: boolean }
  | { readonly name: 'subjectAltName'; readonly altNames: readonly AltName[] }
  | { readonly name: 'subjectKeyIdentifier' }
  | { readonly name: 'authorityKeyIdentifier'; readonly keyIdentifier: string };

interface RsaKeyPair {
  readonly keyPem: string;
  readonly publicKey: forge.pki.rsa.PublicKey;
}

interface Signer {
  readonly certificate: forge.pki.Certificate;
  readonly privateKey: forge.pki.rsa.PrivateKey;
}

/** A self-signed CA (`CA:TRUE`, keyCertSign), like Astra's `ca.crt`. */
export function makeCertificateAuthority(commonName = SIM_CA_COMMON_NAME): CertificateAuthority {
  const keys = newRsaKeyPair();
  const privateKey = forge.pki.privateKeyFromPem(keys.keyPem);
  const certificate = buildCertificate(commonName, keys.publicKey, undefined, privateKey, [
    { name: 'basicConstraints', critical: true, cA: true },
    {
      name: 'keyUsage',
      critical: true,
      digitalSignature: true,
      keyEncipherment: false,
      keyCertSign: true,
      cRLSign: true,
    },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { certPem: forge.pki.certificateToPem(certificate), keyPem: keys.keyPem };
}

/** The certificate both front-end listeners present; see docs/astra.md §2.5 for the names. */
export function makeServerCertificate(
  ca: CertificateAuthority,
  options: ServerCertificateOptions,
): IssuedCertificate {
  const altNames: AltName[] = [
    ...options.dnsNames.map((value): AltName => ({ type: SAN_DNS, value })),
    ...options.ipAddresses.map((ip): AltName => ({ type: SAN_IP, ip })),
  ];
  return issueLeaf(ca, options.commonName, true, altNames);
}

/** The bundle's client certificate (`cert`/`key`), e.g. CN=client as in the Java test bundle. */
export function makeClientCertificate(
  ca: CertificateAuthority,
  commonName: string,
): IssuedCertificate {
  return issueLeaf(ca, commonName, false, []);
}

function issueLeaf(
  ca: CertificateAuthority,
  commonName: string,
  serverAuth: boolean,
  altNames: readonly AltName[],
): IssuedCertificate {
  const signer = loadSigner(ca);
  const keys = newRsaKeyPair();
  const extensions: Extension[] = [
    { name: 'basicConstraints', critical: true, cA: false },
    {
      name: 'keyUsage',
      critical: true,
      digitalSignature: true,
      // RSA key transport (TLS 1.2 non-ECDHE suites) needs keyEncipherment; harmless otherwise.
      keyEncipherment: true,
      keyCertSign: false,
      cRLSign: false,
    },
    // Astra's server cert carries both; the client cert only needs clientAuth.
    { name: 'extKeyUsage', serverAuth, clientAuth: true },
    { name: 'subjectKeyIdentifier' },
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: signer.certificate.generateSubjectKeyIdentifier().getBytes(),
    },
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  const certificate = buildCertificate(
    commonName,
    keys.publicKey,
    signer.certificate,
    signer.privateKey,
    extensions,
  );
  return { certPem: forge.pki.certificateToPem(certificate), keyPem: keys.keyPem };
}

function loadSigner(ca: CertificateAuthority): Signer {
  return {
    certificate: forge.pki.certificateFromPem(ca.certPem),
    privateKey: forge.pki.privateKeyFromPem(ca.keyPem),
  };
}

function newRsaKeyPair(): RsaKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: RSA_BITS,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { keyPem: privateKey, publicKey: forge.pki.publicKeyFromPem(publicKey) };
}

/** `issuer` undefined means self-signed. */
function buildCertificate(
  commonName: string,
  publicKey: forge.pki.rsa.PublicKey,
  issuer: forge.pki.Certificate | undefined,
  signingKey: forge.pki.rsa.PrivateKey,
  extensions: readonly Extension[],
): forge.pki.Certificate {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = publicKey;
  certificate.serialNumber = randomSerialHex();
  const now = new Date();
  // Back-dated a day so a clock a little behind on the verifying side still accepts it.
  certificate.validity.notBefore = new Date(now.getTime() - DAY_MS);
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALID_YEARS);
  certificate.validity.notAfter = notAfter;
  const subject = astraName(commonName);
  certificate.setSubject(subject);
  certificate.setIssuer(issuer === undefined ? subject : issuer.subject.attributes);
  // forge fills subjectKeyIdentifier from this certificate's own public key (SHA-1, RFC 5280 method 1).
  certificate.setExtensions(extensions.map((extension) => ({ ...extension })));
  certificate.sign(signingKey, forge.md.sha256.create());
  return certificate;
}

function astraName(commonName: string): forge.pki.CertificateField[] {
  return [
    ...ASTRA_NAME_PREFIX.map((field) => ({ ...field })),
    { shortName: 'CN', value: commonName },
  ];
}

/**
 * A positive, 16-byte serial (RFC 5280 §4.1.2.2 allows up to 20 octets). The top bit is cleared so
 * the DER INTEGER is not negative, and the next one set so it never loses a leading zero octet.
 */
function randomSerialHex(): string {
  const bytes = randomBytes(SERIAL_BYTES);
  bytes.writeUInt8((bytes.readUInt8(0) & 0x3f) | 0x40, 0);
  return bytes.toString('hex');
}
