// Reads an Astra Secure Connect Bundle in memory (never extracted to disk): config.json gives the
// metadata service address, ca.crt/cert/key the mutual TLS identity. Bundles that lack the PEM
// files carry the client identity in cert.pfx (PKCS#12, password pfxCertPassword), as the C#
// driver reads it. Layout: docs/astra.md §1.
//
// The zip is size-checked at each step (file, entry count, each entry's declared and inflated
// size), because a bundle path or download URL pointing at the wrong thing, or a zip bomb, must
// end in one error line rather than in an out-of-memory crash.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import AdmZip from 'adm-zip';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';
import { readPkcs12 } from '../tls/pkcs12.js';
import { MiB, formatBytes } from './byte-limit.js';

/**
 * Largest bundle accepted, as a file or as a download. Real bundles are a few KiB (eight small
 * entries); 16 MiB leaves room for any future content while keeping a wrong path (a disk image,
 * /dev/zero) from being read whole into memory.
 */
export const MAX_BUNDLE_BYTES = 16 * MiB;
/**
 * Largest entry, uncompressed: checked against the size the zip's central directory declares,
 * before inflating, and against what inflating gave. The largest real entry (a Java key store)
 * is a few KiB, while a 16 MiB zip of zeros can declare gigabytes.
 */
export const MAX_BUNDLE_ENTRY_BYTES = 1 * MiB;
/** Most entries in a bundle: Astra writes eight, and each costs memory when the zip is opened. */
export const MAX_BUNDLE_ENTRIES = 64;

/** The entries the proxy reads; the others (Java key stores, cqlshrc) are never inflated. */
const USED_ENTRIES = ['config.json', 'ca.crt', 'cert', 'key', 'cert.pfx'];

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

function tooLarge(source: string, size: number | undefined): ProxyError {
  const is = size === undefined ? 'is larger than' : `is ${formatBytes(size)}, larger than`;
  return invalid(source, `the file ${is} the ${formatBytes(MAX_BUNDLE_BYTES)} limit for a bundle`);
}

/**
 * The bundle file's bytes, at most MAX_BUNDLE_BYTES: a regular file is refused on its size
 * before anything is read, and anything else (a device, a pipe) is read no further than the cap.
 */
export async function readSecureConnectBundleFile(path: string): Promise<Buffer> {
  const cannotRead = (err: unknown): ProxyError =>
    new ProxyError(
      ProxyErrorCode.BUNDLE_INVALID,
      `cannot read secure connect bundle ${path}: ${errorMessage(err)}`,
      { cause: err },
    );
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (err) {
    throw cannotRead(err);
  }
  try {
    const stat = await file.stat();
    if (stat.isFile() && stat.size > MAX_BUNDLE_BYTES) throw tooLarge(path, stat.size);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // One byte over the cap is enough to know the file is too large.
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, MAX_BUNDLE_BYTES + 1 - total));
      const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_BUNDLE_BYTES) throw tooLarge(path, undefined);
    }
    return Buffer.concat(chunks, total);
  } catch (err) {
    throw ProxyError.isProxyError(err) ? err : cannotRead(err);
  } finally {
    await file.close().catch(() => undefined);
  }
}

/** @param source how to name the bundle in errors (its path or URL). */
export function readSecureConnectBundle(zip: Buffer, source: string): SecureConnectBundle {
  if (zip.length > MAX_BUNDLE_BYTES) throw tooLarge(source, zip.length);
  let entries: Map<string, Buffer>;
  try {
    entries = readEntries(source, new AdmZip(zip));
  } catch (err) {
    if (ProxyError.isProxyError(err)) throw err;
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
    ({ cert, key } = readBundlePkcs12(source, pfx, password));
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

/**
 * The used entries, inflated. Every entry's declared size is checked first, so nothing is
 * inflated from a bundle that holds a bomb, and each inflated size is checked again (adm-zip also
 * stops inflating at the declared size, but the proxy should not depend on that).
 */
function readEntries(source: string, archive: AdmZip): Map<string, Buffer> {
  const all = archive.getEntries();
  if (all.length > MAX_BUNDLE_ENTRIES) {
    throw invalid(
      source,
      `it holds ${all.length} entries, more than the limit of ${MAX_BUNDLE_ENTRIES} for a bundle`,
    );
  }
  for (const e of all) {
    if (e.header.size > MAX_BUNDLE_ENTRY_BYTES) {
      throw invalid(
        source,
        `entry ${e.entryName} declares ${formatBytes(e.header.size)} uncompressed, more than the ` +
          `${formatBytes(MAX_BUNDLE_ENTRY_BYTES)} limit per entry`,
      );
    }
  }
  const entries = new Map<string, Buffer>();
  for (const e of all) {
    if (e.isDirectory || !USED_ENTRIES.includes(e.entryName)) continue;
    let data: Buffer;
    try {
      data = e.getData();
    } catch (err) {
      throw invalid(source, `entry ${e.entryName} cannot be inflated (${errorMessage(err)})`, err);
    }
    if (data.length > MAX_BUNDLE_ENTRY_BYTES) {
      throw invalid(
        source,
        `entry ${e.entryName} inflates to more than the ${formatBytes(MAX_BUNDLE_ENTRY_BYTES)} limit per entry`,
      );
    }
    entries.set(e.entryName, data);
  }
  return entries;
}

function checkCertificate(source: string, entry: string, pem: string): void {
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw invalid(source, `entry ${entry} is not a PEM certificate (${errorMessage(err)})`, err);
  }
}

/** cert.pfx unpacked (src/tls/pkcs12.ts), its failure named as a bundle error. */
function readBundlePkcs12(
  source: string,
  pfx: Buffer,
  password: string,
): { cert: string; key: string } {
  try {
    return readPkcs12(pfx, password);
  } catch (err) {
    throw invalid(source, `entry cert.pfx cannot be read (${errorMessage(err)})`, err);
  }
}
