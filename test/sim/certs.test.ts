import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  makeCertificateAuthority,
  makeClientCertificate,
  makeServerCertificate,
  SIM_CA_COMMON_NAME,
} from '../../sim/tls/certs.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ASTRA_SUBJECT = ['C=US', 'ST=CA', 'L=Santa Clara', 'O=DataStax', 'OU=Cloud'];
const DAY_MS = 86_400_000;

const ca = makeCertificateAuthority();
const server = makeServerCertificate(ca, {
  commonName: '127.0.0.1',
  dnsNames: ['127.0.0.1', 'localhost'],
  ipAddresses: ['127.0.0.1'],
});
const client = makeClientCertificate(ca, 'client');
const otherCa = makeCertificateAuthority('ca.other.test');

const caX509 = new X509Certificate(ca.certPem);
const serverX509 = new X509Certificate(server.certPem);
const clientX509 = new X509Certificate(client.certPem);

function subjectLines(cert: X509Certificate): string[] {
  return cert.subject.split('\n');
}

describe('makeCertificateAuthority', () => {
  it("is a self-signed CA with Astra's subject", () => {
    expect(caX509.ca).toBe(true);
    expect(subjectLines(caX509)).toEqual([...ASTRA_SUBJECT, `CN=${SIM_CA_COMMON_NAME}`]);
    expect(caX509.issuer).toBe(caX509.subject);
    expect(caX509.verify(caX509.publicKey)).toBe(true);
    expect(caX509.checkIssued(caX509)).toBe(true);
  });

  it('has a PKCS#1 RSA 2048 key matching the certificate', () => {
    expect(ca.keyPem.startsWith('-----BEGIN RSA PRIVATE KEY-----\n')).toBe(true);
    const key = createPrivateKey(ca.keyPem);
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(caX509.checkPrivateKey(key)).toBe(true);
  });

  it('is valid from yesterday for two years', () => {
    const now = Date.now();
    const from = Date.parse(caX509.validFrom);
    const to = Date.parse(caX509.validTo);
    expect(now - from).toBeGreaterThan(DAY_MS - 60_000);
    expect(now - from).toBeLessThan(DAY_MS + 60_000);
    expect((to - now) / DAY_MS).toBeGreaterThan(729);
    expect((to - now) / DAY_MS).toBeLessThan(732);
  });

  it('gives each certificate a random positive serial', () => {
    const serials = [caX509, serverX509, clientX509, new X509Certificate(otherCa.certPem)].map(
      (c) => c.serialNumber,
    );
    expect(new Set(serials).size).toBe(4);
    for (const serial of serials) {
      expect(serial).toMatch(/^[0-9A-F]{32}$/);
      expect(Number.parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
    }
  });
});

describe('makeServerCertificate', () => {
  it('chains to the CA and is not a CA itself', () => {
    expect(serverX509.ca).toBe(false);
    expect(serverX509.issuer).toBe(caX509.subject);
    expect(serverX509.checkIssued(caX509)).toBe(true);
    expect(serverX509.verify(caX509.publicKey)).toBe(true);
    expect(serverX509.verify(new X509Certificate(otherCa.certPem).publicKey)).toBe(false);
    expect(serverX509.checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true);
  });

  it('names 127.0.0.1 in the CN, as a DNS SAN and as an IP SAN, plus localhost', () => {
    expect(subjectLines(serverX509)).toEqual([...ASTRA_SUBJECT, 'CN=127.0.0.1']);
    expect(serverX509.subjectAltName).toBe('DNS:127.0.0.1, DNS:localhost, IP Address:127.0.0.1');
    expect(serverX509.checkHost('127.0.0.1')).toBe('127.0.0.1');
    expect(serverX509.checkHost('localhost')).toBe('localhost');
    expect(serverX509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(serverX509.checkIP('127.0.0.2')).toBeUndefined();
    expect(serverX509.checkHost('db.astra.datastax.com')).toBeUndefined();
  });

  it('may serve TLS and authenticate as a client (EKU serverAuth + clientAuth)', () => {
    expect([...serverX509.keyUsage].sort()).toEqual([SERVER_AUTH, CLIENT_AUTH].sort());
  });
});

describe('makeClientCertificate', () => {
  it('is CN=client under the same CA, clientAuth only, without SANs', () => {
    expect(subjectLines(clientX509)).toEqual([...ASTRA_SUBJECT, 'CN=client']);
    expect(clientX509.ca).toBe(false);
    expect(clientX509.checkIssued(caX509)).toBe(true);
    expect(clientX509.verify(caX509.publicKey)).toBe(true);
    expect(clientX509.keyUsage).toEqual([CLIENT_AUTH]);
    expect(clientX509.subjectAltName).toBeUndefined();
    expect(client.keyPem.startsWith('-----BEGIN RSA PRIVATE KEY-----\n')).toBe(true);
    expect(clientX509.checkPrivateKey(createPrivateKey(client.keyPem))).toBe(true);
  });

  it('does not verify against another CA', () => {
    const other = new X509Certificate(otherCa.certPem);
    expect(clientX509.checkIssued(other)).toBe(false);
    expect(clientX509.verify(other.publicKey)).toBe(false);
  });
});
