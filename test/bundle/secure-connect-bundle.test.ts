import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import AdmZip from 'adm-zip';
import { MiB } from '../../src/bundle/byte-limit.js';
import {
  MAX_BUNDLE_BYTES,
  MAX_BUNDLE_ENTRIES,
  MAX_BUNDLE_ENTRY_BYTES,
  readSecureConnectBundle,
  readSecureConnectBundleFile,
} from '../../src/bundle/secure-connect-bundle.js';
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

function expectInvalid(zip: Buffer, message: RegExp | string): void {
  let error: unknown;
  try {
    readSecureConnectBundle(zip, 'scb.zip');
  } catch (e) {
    error = e;
  }
  expect(ProxyError.isProxyError(error)).toBe(true);
  expect((error as ProxyError).code).toBe(ProxyErrorCode.BUNDLE_INVALID);
  expect((error as ProxyError).message).toMatch(/^invalid secure connect bundle scb\.zip: /);
  if (typeof message === 'string') expect((error as ProxyError).message).toBe(message);
  else expect((error as ProxyError).message).toMatch(message);
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

describe('size limits', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  // Made once, at run time: 50 MiB of zeros deflate to about 50 KiB.
  const BOMB_BYTES = 50 * MiB;
  const bomb = Buffer.alloc(BOMB_BYTES);

  /** Counts inflations (adm-zip inflates with zlib.inflateRawSync) while reading `zip`. */
  function inflationsWhile(read: () => void): number {
    const inflate = vi.spyOn(zlib, 'inflateRawSync');
    try {
      read();
    } catch {
      // the caller checks the error separately
    }
    return inflate.mock.calls.length;
  }

  it('has the documented caps', () => {
    expect([MAX_BUNDLE_BYTES, MAX_BUNDLE_ENTRY_BYTES, MAX_BUNDLE_ENTRIES]).toStrictEqual([
      16 * MiB,
      1 * MiB,
      64,
    ]);
  });

  it('inflates the entries of a good bundle (the spy sees adm-zip inflate)', () => {
    expect(inflationsWhile(() => readSecureConnectBundle(bundle.zip, 'scb.zip'))).toBeGreaterThan(
      0,
    );
  });

  it('refuses an entry declaring a huge uncompressed size before inflating anything', () => {
    const zip = variant({ cert: bomb });
    expect(zip.length).toBeLessThan(1 * MiB);
    const line =
      'invalid secure connect bundle scb.zip: entry cert declares 50 MiB uncompressed, ' +
      'more than the 1 MiB limit per entry';
    expectInvalid(zip, line);
    expect(inflationsWhile(() => readSecureConnectBundle(zip, 'scb.zip'))).toBe(0);
  });

  it('refuses a bomb in an entry the proxy never reads as well', () => {
    expectInvalid(
      variant({ cqlshrc: bomb }),
      'invalid secure connect bundle scb.zip: entry cqlshrc declares 50 MiB uncompressed, ' +
        'more than the 1 MiB limit per entry',
    );
  });

  it('stops inflating an entry that holds more than its directory entry declares', () => {
    const zip = variant({ cert: bomb });
    // Make both headers declare 1000 bytes (APPNOTE 4.3.12: in a central directory record the
    // uncompressed size is at 24, the name length at 28, the local header's offset at 42, the
    // name at 46; in the local header the uncompressed size is at 22).
    let patched = 0;
    for (let at = zip.indexOf('PK\x01\x02', 0, 'latin1'); at !== -1;) {
      const nameLength = zip.readUInt16LE(at + 28);
      const name = zip.toString('latin1', at + 46, at + 46 + nameLength);
      if (name === 'cert') {
        zip.writeUInt32LE(1000, at + 24);
        const localAt = zip.readUInt32LE(at + 42);
        zip.writeUInt32LE(1000, localAt + 22);
        patched++;
      }
      at = zip.indexOf('PK\x01\x02', at + 46, 'latin1');
    }
    expect(patched).toBe(1);
    const started = Date.now();
    expectInvalid(zip, /^invalid secure connect bundle scb\.zip: entry cert cannot be inflated \(/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a bundle with too many entries', () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < MAX_BUNDLE_ENTRIES; i++) many[`extra-${i}`] = 'x';
    expectInvalid(
      variant(many),
      `invalid secure connect bundle scb.zip: it holds ${MAX_BUNDLE_ENTRIES + 8} entries, more than the limit of 64 for a bundle`,
    );
  });

  it('refuses a zip over the bundle limit', () => {
    expectInvalid(
      Buffer.alloc(MAX_BUNDLE_BYTES + 1),
      'invalid secure connect bundle scb.zip: the file is 16777217 bytes, larger than the 16 MiB limit for a bundle',
    );
  });
});

describe('readSecureConnectBundleFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scb-limits-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function errorOf(path: string): Promise<ProxyError> {
    try {
      await readSecureConnectBundleFile(path);
    } catch (e) {
      if (ProxyError.isProxyError(e)) return e;
      throw e;
    }
    throw new Error('expected a ProxyError');
  }

  it('reads a bundle file', async () => {
    const path = join(dir, 'good.zip');
    writeFileSync(path, bundle.zip);
    expect((await readSecureConnectBundleFile(path)).equals(bundle.zip)).toBe(true);
  });

  it('refuses a file over the limit by its size, without reading it', async () => {
    const path = join(dir, 'big.zip');
    writeFileSync(path, '');
    truncateSync(path, 17 * MiB); // sparse: no 17 MiB written to disk
    // "is 17 MiB" comes from the file's size: reading stops at the limit without knowing it.
    const error = await errorOf(path);
    expect(error.code).toBe(ProxyErrorCode.BUNDLE_INVALID);
    expect(error.message).toBe(
      `invalid secure connect bundle ${path}: the file is 17 MiB, larger than the 16 MiB limit for a bundle`,
    );
  });

  it('stops reading a device that never ends at the limit', async () => {
    const error = await errorOf('/dev/zero');
    expect(error.message).toBe(
      'invalid secure connect bundle /dev/zero: the file is larger than the 16 MiB limit for a bundle',
    );
  });

  it('names a file it cannot read', async () => {
    const path = join(dir, 'missing.zip');
    const error = await errorOf(path);
    expect(error.code).toBe(ProxyErrorCode.BUNDLE_INVALID);
    expect(error.message).toMatch(
      new RegExp(`^cannot read secure connect bundle ${path}: ENOENT: no such file or directory`),
    );
  });
});
