// A real JKS truststore writer, for the bundle's `trustStore.jks`. The Java driver opens it with
// KeyStore.getInstance("JKS"); a PKCS#12 truststore would need Java's private trusted-cert bag
// attribute, so the classic format is the safe choice (docs/astra.md §1.1).
//
// Layout (sun.security.provider.JavaKeyStore, engineStore), all integers big-endian:
//
//   u32 magic 0xFEEDFEED | u32 version 2 | u32 entry count
//   per trusted-certificate entry:
//     u32 tag 2 | alias (Java modified UTF: u16 byte length + bytes) | u64 creation time (ms)
//     cert type (modified UTF, "X.509") | u32 DER length | DER bytes
//   SHA-1( UTF-16BE(password) + UTF-8 "Mighty Aphrodite" + every byte above )

import { createHash } from 'node:crypto';

export const JKS_MAGIC = 0xfeedfeed;
export const JKS_VERSION = 2;
export const JKS_TRUSTED_CERT_TAG = 2;
/** The fixed salt Java mixes into the integrity digest. */
export const JKS_DIGEST_WHITENER = 'Mighty Aphrodite';
const CERT_TYPE = 'X.509';
/** DataOutputStream.writeUTF refuses more than 65535 encoded bytes. */
const MAX_UTF_BYTES = 0xffff;

export interface TrustedCertificateEntry {
  /** Stored lower-cased: JavaKeyStore lower-cases aliases on lookup, so a mixed-case one is unreachable. */
  readonly alias: string;
  readonly certDer: Uint8Array;
  readonly createdAt?: Date;
}

export function writeJksTrustStore(
  entries: readonly TrustedCertificateEntry[],
  password: string,
): Buffer {
  const parts: Buffer[] = [u32(JKS_MAGIC), u32(JKS_VERSION), u32(entries.length)];
  const seen = new Set<string>();
  for (const entry of entries) {
    const alias = entry.alias.toLowerCase();
    if (seen.has(alias)) throw new Error(`duplicate JKS alias "${alias}"`);
    seen.add(alias);
    parts.push(
      u32(JKS_TRUSTED_CERT_TAG),
      modifiedUtf(alias),
      u64((entry.createdAt ?? new Date()).getTime()),
      modifiedUtf(CERT_TYPE),
      u32(entry.certDer.length),
      Buffer.from(entry.certDer),
    );
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, jksDigest(password, body)]);
}

/** The integrity digest that ends a JKS file; exported so tests can check a file independently. */
export function jksDigest(password: string, body: Uint8Array): Buffer {
  return createHash('sha1')
    .update(utf16be(password))
    .update(JKS_DIGEST_WHITENER, 'utf8')
    .update(body)
    .digest();
}

/** Java's char[] password as bytes: each UTF-16 code unit high byte first. */
function utf16be(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

/**
 * DataOutput.writeUTF: U+0001..U+007F in one byte, U+0000 and up to U+07FF in two, other UTF-16
 * code units (surrogate halves included, one by one) in three; preceded by the u16 byte count.
 */
function modifiedUtf(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x01 && c <= 0x7f) {
      bytes.push(c);
    } else if (c <= 0x7ff) {
      bytes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    } else {
      bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
  }
  if (bytes.length > MAX_UTF_BYTES) throw new Error(`JKS string too long (${bytes.length} bytes)`);
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  Buffer.from(bytes).copy(out, 2);
  return out;
}

function u32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value, 0);
  return out;
}

function u64(value: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeBigInt64BE(BigInt(value), 0);
  return out;
}
