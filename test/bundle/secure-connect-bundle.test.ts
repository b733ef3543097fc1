import { describe, expect, it } from 'vitest';
import { createPrivateKey } from 'node:crypto';
import AdmZip from 'adm-zip';
import { readSecureConnectBundle } from '../../src/bundle/secure-connect-bundle.js';
import { ProxyError, ProxyErrorCode } from '../../src/errors.js';
import { makeSecureConnectBundle } from '../../sim/bundle.js';
import { makeCertificateAuthority } from '../../sim/tls/certs.js';

const ca = makeCertificateAuthority();
const bundle = makeSecureConnectBundle({
  ca,
  metadataPort: 30443,
  sniPort: 29042,
  keyspace: 'ks1',
  localDc: 'us-east1',
});

/** The bundle's zip with entries replaced (Buffer/string) or removed (null). */
function variant(changes: Record<string, Buffer | string | null>): Buffer {
  const zip = new AdmZip();
  for (const [name, data] of Object.entries(bundle.files)) {
    const change = changes[name];
    if (change === null) continue;
    zip.addFile(name, change === undefined ? data : Buffer.from(change));
  }
  for (const [name, data] of Object.entries(changes)) {
    if (data !== null && !(name in bundle.files)) zip.addFile(name, Buffer.from(data));
  }
  return zip.toBuffer();
}

function expectInvalid(zip: Buffer, message: RegExp): void {
  let error: unknown;
  try {
    readSecureConnectBundle(zip, 'scb.zip');
  } catch (e) {
    error = e;
  }
  expect(ProxyError.isProxyError(error)).toBe(true);
  expect((error as ProxyError).code).toBe(ProxyErrorCode.BUNDLE_INVALID);
  expect((error as ProxyError).message).toMatch(/^invalid secure connect bundle scb\.zip: /);
  expect((error as ProxyError).message).toMatch(message);
}

describe('readSecureConnectBundle', () => {
  it('reads host, port, CA and the client identity', () => {
    const scb = readSecureConnectBundle(bundle.zip, 'scb.zip');
    expect(scb.host).toBe('127.0.0.1');
    expect(scb.port).toBe(30443);
    expect(scb.ca).toBe(ca.certPem);
    expect(scb.cert).toBe(bundle.clientCertificate.certPem);
    expect(scb.key).toBe(bundle.clientCertificate.keyPem);
    expect(scb.keyspace).toBe('ks1');
    expect(scb.localDc).toBe('us-east1');
  });

  it('falls back on cert.pfx when cert and key are missing', () => {
    const scb = readSecureConnectBundle(variant({ cert: null, key: null }), 'scb.zip');
    expect(scb.cert.replace(/\r/g, '')).toBe(bundle.clientCertificate.certPem.replace(/\r/g, ''));
    // The key comes back in another PEM form; what matters is that it is the same key.
    expect(createPrivateKey(scb.key).export({ format: 'der', type: 'pkcs8' })).toEqual(
      createPrivateKey(bundle.clientCertificate.keyPem).export({ format: 'der', type: 'pkcs8' }),
    );
  });

  it('names each problem with its file and entry', () => {
    expectInvalid(Buffer.from('not a zip at all'), /not a zip file/);
    expectInvalid(variant({ 'config.json': null }), /missing entry config\.json/);
    expectInvalid(variant({ 'config.json': '{"host": ' }), /config\.json is not valid JSON/);
    expectInvalid(variant({ 'config.json': '[1]' }), /config\.json has no "host"/);
    expectInvalid(variant({ 'config.json': '{"port": 1}' }), /config\.json has no "host"/);
    expectInvalid(variant({ 'config.json': '{"host": "h", "port": 70000}' }), /no valid "port"/);
    expectInvalid(variant({ 'ca.crt': null }), /missing entry ca\.crt/);
    expectInvalid(variant({ 'ca.crt': 'garbage' }), /entry ca\.crt is not a PEM certificate/);
    expectInvalid(
      variant({ cert: null, 'cert.pfx': null }),
      /missing entry cert \(and no cert\.pfx/,
    );
    expectInvalid(variant({ key: 'nope' }), /entry key is not a PEM private key/);
    expectInvalid(
      variant({
        cert: null,
        'config.json': JSON.stringify({ ...bundle.config, pfxCertPassword: 'wrong' }),
      }),
      /entry cert\.pfx cannot be read/,
    );
  });
});
