// Who may log in with --client-auth users, and the check of one login. Every comparison takes the
// same time whether the user exists or not and wherever the password differs:
// - a user given on the command line (--client-username/--client-password) is compared as keyed
//   hashes of equal length with timingSafeEqual, name and password both, always both;
// - users from the file are checked with scrypt; an unknown name is checked against a dummy hash,
//   so the time does not say which names exist.
// scrypt costs tens of milliseconds in the thread pool, and a driver opens many connections with
// the same credentials, so a successful check is remembered (a keyed hash of name and password,
// never the password) for a while.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DEFAULT_SCRYPT, type PasswordHash, verifyPassword } from './password-hash.js';
import type { UsersFileEntry } from './users-file.js';

export type ClientUserSource =
  { username: string; password: string } | { username: string; hash: PasswordHash };

/** Successful logins remembered, at most, and for how long. */
const REMEMBERED_LOGINS = 1024;
const REMEMBER_MS = 10 * 60_000;

export class ClientUsers {
  private readonly key = randomBytes(32);
  private readonly plain = new Map<string, Buffer>();
  private readonly hashed = new Map<string, PasswordHash>();
  private readonly dummy: PasswordHash;
  /** Keyed hash of `name NUL password` → when it stops being trusted. */
  private readonly remembered = new Map<string, number>();

  constructor(users: readonly (ClientUserSource | UsersFileEntry)[]) {
    for (const user of users) {
      if ('password' in user) this.plain.set(user.username, this.mac(user.password));
      else this.hashed.set(user.username, user.hash);
    }
    const first = this.hashed.values().next().value;
    this.dummy = {
      ...(first ?? DEFAULT_SCRYPT),
      salt: randomBytes(16),
      key: randomBytes(first?.key.length ?? 32),
    };
  }

  get size(): number {
    return this.plain.size + this.hashed.size;
  }

  /** Whether these credentials belong to a user; never rejects. */
  async verify(username: string, password: string): Promise<boolean> {
    const plain = this.plain.get(username);
    if (plain !== undefined || this.hashed.size === 0) {
      // Compared in full whatever happens, with a stand-in when the name is unknown.
      const expected = plain ?? this.mac(randomBytes(16).toString('hex'));
      return timingSafeEqual(this.mac(password), expected) && plain !== undefined;
    }
    const memo = this.mac(`${username}\0${password}`).toString('base64');
    const until = this.remembered.get(memo);
    if (until !== undefined && until > Date.now()) return true;
    const hash = this.hashed.get(username);
    let ok: boolean;
    try {
      ok = (await verifyPassword(password, hash ?? this.dummy)) && hash !== undefined;
    } catch {
      ok = false;
    }
    if (ok) this.remember(memo);
    return ok;
  }

  private remember(memo: string): void {
    this.remembered.delete(memo);
    this.remembered.set(memo, Date.now() + REMEMBER_MS);
    if (this.remembered.size > REMEMBERED_LOGINS) {
      const oldest = this.remembered.keys().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
  }

  private mac(text: string): Buffer {
    return createHmac('sha256', this.key).update(text, 'utf8').digest();
  }
}
