import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import AdmZip from 'adm-zip';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { BUNDLE_FILE_NAMES, makeSecureConnectBundle } from '../../sim/bundle.js';
import { makeCertificateAuthority } from '../../sim/tls/certs.js';
import { readJks } from './jks-reader.js';

const ca = makeCertificateAuthority();
const bundle = makeSecureConnectBundle({
  ca,
  metadataPort: 30443,
  sniPort: 29042,
  keyspace: 'sim_ks',
  localDc: 'dc1',
});
const caX509 = new X509Certificate(ca.certPem);

function zipEntries(zip: Buffer): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  for (const entry of new AdmZip(zip).getEntries()) entries.set(entry.entryName, entry.getData());
  return entries;
}

// PKCS#12 bag types (RFC 7292 §4.2), spelled out: forge's `oids` table is typed as optional.
const CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';

function bagsOf(pfx: forge.pkcs12.Pkcs12Pfx, bagType: string): forge.pkcs12.Bag[] {
  return pfx.getBags({ bagType })[bagType] ?? [];
}

function openPkcs12(der: Buffer, password: string): forge.pkcs12.Pkcs12Pfx {
  return forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der.toString('binary')), password);
}

describe('makeSecureConnectBundle: zip layout', () => {
  it("holds exactly Astra's eight files at the zip root, matching `files`", () => {
    const entries = zipEntries(bundle.zip);
    expect([...entries.keys()].sort()).toEqual(
      [
        'ca.crt',
        'cert',
        'cert.pfx',
        'config.json',
        'cqlshrc',
        'identity.jks',
        'key',
        'trustStore.jks',
      ].sort(),
    );
    for (const name of BUNDLE_FILE_NAMES)
      expect(entries.get(name)?.equals(bundle.files[name])).toBe(true);
  });
});

describe('makeSecureConnectBundle: config.json', () => {
  const config = JSON.parse(bundle.files['config.json'].toString('utf8')) as Record<
    string,
    unknown
  >;

  it('has the fields of a real bundle, in order, with the simulation addresses', () => {
    expect(Object.keys(config)).toEqual([
      'host',
      'port',
      'cql_port',
      'keyspace',
      'localDC',
      'caCertLocation',
      'keyLocation',
      'certLocation',
      'keyStoreLocation',
      'keyStorePassword',
      'trustStoreLocation',
      'trustStorePassword',
      'csvLocation',
      'pfxCertPassword',
    ]);
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 30443,
      cql_port: 29042,
      keyspace: 'sim_ks',
      localDC: 'dc1',
      caCertLocation: './ca.crt',
      keyLocation: './key',
      certLocation: './cert',
      keyStoreLocation: './identity.jks',
      trustStoreLocation: './trustStore.jks',
      csvLocation: './data',
    });
  });

  it('carries random Astra-style passwords, the ones returned in `passwords`', () => {
    expect(config['keyStorePassword']).toBe(bundle.passwords.keyStore);
    expect(config['trustStorePassword']).toBe(bundle.passwords.trustStore);
    expect(config['pfxCertPassword']).toBe(bundle.passwords.pfxCert);
    for (const password of Object.values(bundle.passwords))
      expect(password).toMatch(/^[A-Za-z0-9]{17}$/);
    // identity.jks and cert.pfx are one PKCS#12 file, so they share a password.
    expect(bundle.passwords.keyStore).toBe(bundle.passwords.pfxCert);
    expect(bundle.passwords.trustStore).not.toBe(bundle.passwords.keyStore);
    const again = makeSecureConnectBundle({
      ca,
      clientCertificate: bundle.clientCertificate,
      metadataPort: 1,
      sniPort: 2,
      keyspace: 'k',
      localDc: 'd',
    });
    expect(again.passwords.trustStore).not.toBe(bundle.passwords.trustStore);
  });

  it('adds the legacy username/password only when asked', () => {
    expect(config).not.toHaveProperty('username');
    const legacy = makeSecureConnectBundle({
      ca,
      clientCertificate: bundle.clientCertificate,
      host: 'localhost',
      metadataPort: 1,
      sniPort: 2,
      keyspace: 'k',
      localDc: 'd',
      legacyCredentials: { username: 'cassandra', password: 'cassandra' },
    });
    const parsed = JSON.parse(legacy.files['config.json'].toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(parsed).toMatchObject({
      username: 'cassandra',
      password: 'cassandra',
      host: 'localhost',
    });
  });
});

describe('makeSecureConnectBundle: PEM files', () => {
  it('ships the CA as ca.crt and a client cert/key signed by it', () => {
    expect(bundle.files['ca.crt'].toString('utf8')).toBe(ca.certPem);
    const cert = new X509Certificate(bundle.files.cert);
    expect(cert.subject.split('\n')).toContain('CN=client');
    expect(cert.checkIssued(caX509)).toBe(true);
    expect(cert.verify(caX509.publicKey)).toBe(true);
    const keyPem = bundle.files.key.toString('utf8');
    expect(keyPem.startsWith('-----BEGIN RSA PRIVATE KEY-----')).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
  });

  it('writes cqlshrc pointing cqlsh at host:cql_port over TLS', () => {
    expect(bundle.files.cqlshrc.toString('utf8')).toBe(
      [
        '[connection]',
        'hostname = 127.0.0.1',
        'port = 29042',
        'ssl = true',
        '',
        '[ssl]',
        'validate = true',
        'certfile = ./ca.crt',
        'userkey = ./key',
        'usercert = ./cert',
        '',
      ].join('\n'),
    );
  });
});

describe('makeSecureConnectBundle: cert.pfx and identity.jks (PKCS#12)', () => {
  it('opens with pfxCertPassword and holds the client cert, its key and the CA', () => {
    const pfx = openPkcs12(bundle.files['cert.pfx'], bundle.passwords.pfxCert);
    const certs = bagsOf(pfx, CERT_BAG).map((bag) =>
      bag.cert === undefined
        ? ''
        : new X509Certificate(forge.pki.certificateToPem(bag.cert)).fingerprint256,
    );
    expect(certs).toEqual([
      new X509Certificate(bundle.files.cert).fingerprint256,
      caX509.fingerprint256,
    ]);
    const keyBags = bagsOf(pfx, SHROUDED_KEY_BAG);
    expect(keyBags).toHaveLength(1);
    const key = keyBags[0]?.key;
    expect(key).toBeDefined();
    if (key === undefined) return;
    const keyPem = forge.pki.privateKeyToPem(key);
    expect(new X509Certificate(bundle.files.cert).checkPrivateKey(createPrivateKey(keyPem))).toBe(
      true,
    );
    // The alias Java shows for the key entry.
    expect(pfx.getBagsByFriendlyName('client', CERT_BAG)).toHaveLength(1);
  });

  it('is refused with a wrong password', () => {
    expect(() => openPkcs12(bundle.files['cert.pfx'], 'wrong')).toThrow();
  });

  it('loads into an OpenSSL secure context, as a TLS client identity would', () => {
    expect(() =>
      createSecureContext({ pfx: bundle.files['cert.pfx'], passphrase: bundle.passwords.pfxCert }),
    ).not.toThrow();
    expect(() =>
      createSecureContext({ pfx: bundle.files['cert.pfx'], passphrase: 'wrong' }),
    ).toThrow();
  });

  it('uses the same PKCS#12 bytes for identity.jks, under keyStorePassword', () => {
    expect(bundle.files['identity.jks'].equals(bundle.files['cert.pfx'])).toBe(true);
    expect(() => openPkcs12(bundle.files['identity.jks'], bundle.passwords.keyStore)).not.toThrow();
  });
});

describe('makeSecureConnectBundle: trustStore.jks', () => {
  it('is a JKS v2 file with the CA as its one trusted certificate and a valid digest', () => {
    const file = readJks(bundle.files['trustStore.jks'], bundle.passwords.trustStore);
    expect(file.magic).toBe(0xfeedfeed);
    expect(file.version).toBe(2);
    expect(file.entries).toHaveLength(1);
    const entry = file.entries[0];
    expect(entry?.tag).toBe(2);
    expect(entry?.alias).toBe('ca');
    expect(entry?.certType).toBe('X.509');
    expect(entry?.certDer.equals(caX509.raw)).toBe(true);
    const age = Date.now() - Number(entry?.timestampMs ?? 0n);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(600_000);
    expect(file.digestMatches).toBe(true);
    expect(file.trailingBytes).toBe(0);
  });

  it('fails the digest check under any other password', () => {
    expect(readJks(bundle.files['trustStore.jks'], bundle.passwords.keyStore).digestMatches).toBe(
      false,
    );
  });
});
