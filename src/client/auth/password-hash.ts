// Password hashes for the users file (--client-users-file), made with Node's built-in scrypt
// (RFC 7914): a memory-hard function, so a stolen users file is slow to attack, and nothing to
// install. One line of text per hash:
//
//   scrypt$<N>$<r>$<p>$<salt, base64>$<derived key, base64>
//
// The parameters travel with the hash, so stronger ones can be used later without breaking the
// files already written. `cql-proxy-ts hash-password` prints one (src/main.ts).

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface PasswordHash {
  /** CPU/memory cost (a power of two), block size, parallelism. */
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

/** Node's own defaults (N = 2^14, r = 8, p = 1): about 16 MiB and a few tens of ms per check. */
export const DEFAULT_SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Parameters beyond these would let a users file make every login cost seconds or gigabytes. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
const PREFIX = 'scrypt';

/** scrypt needs 128 * N * r bytes; Node refuses more than maxmem, so it is set to fit. */
function maxmem(h: { N: number; r: number }): number {
  return 128 * h.N * h.r + 1024 * 1024;
}

function derive(password: string, h: Omit<PasswordHash, 'key'>, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      h.salt,
      length,
      { N: h.N, r: h.r, p: h.p, maxmem: maxmem(h) },
      (err, key) => (err === null ? resolve(key) : reject(err)),
    );
  });
}

export async function hashPassword(
  password: string,
  params: { N: number; r: number; p: number } = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, { ...params, salt }, KEY_LENGTH);
  return formatPasswordHash({ ...params, salt, key });
}

export function formatPasswordHash(h: PasswordHash): string {
  return [PREFIX, h.N, h.r, h.p, h.salt.toString('base64'), h.key.toString('base64')].join('$');
}

/** Reads a hash line; throws an Error whose message says what is wrong (never the hash). */
export function parsePasswordHash(text: string): PasswordHash {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) {
    throw new Error(`not a password hash: expected ${PREFIX}$N$r$p$salt$key`);
  }
  const [N, r, p] = parts.slice(1, 4).map((n) => (/^\d{1,8}$/.test(n ?? '') ? Number(n) : NaN));
  if (N === undefined || r === undefined || p === undefined) throw new Error('bad parameters');
  if (!(N >= 2 && N <= MAX_N && (N & (N - 1)) === 0)) {
    throw new Error(`scrypt N must be a power of two from 2 to ${MAX_N}`);
  }
  if (!(r >= 1 && r <= MAX_R)) throw new Error(`scrypt r must be from 1 to ${MAX_R}`);
  if (!(p >= 1 && p <= MAX_P)) throw new Error(`scrypt p must be from 1 to ${MAX_P}`);
  const salt = base64(parts[4] ?? '', 'salt');
  const key = base64(parts[5] ?? '', 'key');
  if (salt.length < 8) throw new Error('salt is shorter than 8 bytes');
  if (key.length < 16) throw new Error('key is shorter than 16 bytes');
  return { N, r, p, salt, key };
}

function base64(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new Error(`${what} is not base64`);
  return Buffer.from(text, 'base64');
}

/** Whether `password` matches; the comparison takes the same time whatever it finds. */
export async function verifyPassword(password: string, h: PasswordHash): Promise<boolean> {
  const key = await derive(password, h, h.key.length);
  return timingSafeEqual(key, h.key);
}
