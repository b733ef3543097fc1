// An independent JKS reader for the tests, written from the format description (Java's
// JavaKeyStore.engineLoad), not from sim/tls/jks.ts: it decodes modified UTF and the password's
// UTF-16BE form its own way, so a shared mistake in the writer would not go unnoticed.

import { createHash } from 'node:crypto';

export interface JksTrustedCertificate {
  readonly tag: number;
  readonly alias: string;
  readonly timestampMs: bigint;
  readonly certType: string;
  readonly certDer: Buffer;
}

export interface JksFile {
  readonly magic: number;
  readonly version: number;
  readonly entries: readonly JksTrustedCertificate[];
  readonly storedDigest: Buffer;
  /** SHA-1(password as UTF-16BE, "Mighty Aphrodite", body) equals the stored digest. */
  readonly digestMatches: boolean;
  /** Bytes after the digest (must be 0). */
  readonly trailingBytes: number;
}

const SHA1_LENGTH = 20;

export function readJks(bytes: Buffer, password: string): JksFile {
  let offset = 0;
  const u16 = (): number => {
    const value = bytes.readUInt16BE(offset);
    offset += 2;
    return value;
  };
  const u32 = (): number => {
    const value = bytes.readUInt32BE(offset);
    offset += 4;
    return value;
  };
  const take = (length: number): Buffer => {
    if (offset + length > bytes.length) throw new Error('JKS truncated');
    const out = bytes.subarray(offset, offset + length);
    offset += length;
    return out;
  };
  const utf = (): string => decodeModifiedUtf(take(u16()));

  const magic = u32();
  const version = u32();
  const count = u32();
  const entries: JksTrustedCertificate[] = [];
  for (let i = 0; i < count; i++) {
    const tag = u32();
    if (tag !== 2) throw new Error(`unexpected entry tag ${tag}`);
    const alias = utf();
    const timestampMs = bytes.readBigInt64BE(offset);
    offset += 8;
    const certType = utf();
    const certDer = take(u32());
    entries.push({ tag, alias, timestampMs, certType, certDer });
  }
  const body = bytes.subarray(0, offset);
  const storedDigest = take(SHA1_LENGTH);
  const passwordBytes: number[] = [];
  for (let i = 0; i < password.length; i++) {
    const unit = password.charCodeAt(i);
    passwordBytes.push(unit >> 8, unit & 0xff);
  }
  const expected = createHash('sha1')
    .update(Buffer.from(passwordBytes))
    .update(Buffer.from('Mighty Aphrodite', 'ascii'))
    .update(body)
    .digest();
  return {
    magic,
    version,
    entries,
    storedDigest,
    digestMatches: expected.equals(storedDigest),
    trailingBytes: bytes.length - offset,
  };
}

/** DataInput.readUTF: one to three bytes per UTF-16 code unit. */
export function decodeModifiedUtf(bytes: Buffer): string {
  let out = '';
  let i = 0;
  const next = (): number => {
    const b = bytes.readUInt8(i++);
    if ((b & 0xc0) !== 0x80) throw new Error('bad continuation byte');
    return b & 0x3f;
  };
  while (i < bytes.length) {
    const b = bytes.readUInt8(i++);
    if (b < 0x80) out += String.fromCharCode(b);
    else if ((b & 0xe0) === 0xc0) out += String.fromCharCode(((b & 0x1f) << 6) | next());
    else if ((b & 0xf0) === 0xe0) {
      const high = next();
      out += String.fromCharCode(((b & 0x0f) << 12) | (high << 6) | next());
    } else throw new Error(`bad lead byte ${b}`);
  }
  return out;
}
