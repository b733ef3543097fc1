// The parts of client authentication: scrypt hashes, the users file, the user check, the login
// throttle and the hash-password command.

import { describe, expect, it } from 'vitest';
import { ClientUsers } from '../../src/client/auth/client-users.js';
import { hashPasswordCommand } from '../../src/client/auth/hash-password-command.js';
import { LoginThrottle } from '../../src/client/auth/login-throttle.js';
import {
  formatPasswordHash,
  hashPassword,
  parsePasswordHash,
  verifyPassword,
} from '../../src/client/auth/password-hash.js';
import { parseUsersFile } from '../../src/client/auth/users-file.js';

/** Cheap parameters: the tests check behaviour, not strength. */
const FAST = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  it('verify the password they were made from, and nothing else', async () => {
    const text = await hashPassword('correct horse', FAST);
    expect(text).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    const hash = parsePasswordHash(text);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
    expect(formatPasswordHash(hash)).toBe(text);
  });

  it('are salted: the same password hashes differently twice', async () => {
    expect(await hashPassword('same', FAST)).not.toBe(await hashPassword('same', FAST));
  });

  it('treat a password the same in any Unicode normal form', async () => {
    const hash = parsePasswordHash(await hashPassword('caf\u00e9', FAST));
    expect(await verifyPassword('cafe\u0301', hash)).toBe(true);
  });

  it('refuse malformed or dangerous parameters with a reason', () => {
    const salt = Buffer.alloc(16, 1).toString('base64');
    const key = Buffer.alloc(32, 2).toString('base64');
    expect(() => parsePasswordHash('bcrypt$2b$10$x')).toThrow('not a password hash');
    expect(() => parsePasswordHash(`scrypt$1000$8$1$${salt}$${key}`)).toThrow('power of two');
    expect(() => parsePasswordHash(`scrypt$${2 ** 21}$8$1$${salt}$${key}`)).toThrow('power of two');
    expect(() => parsePasswordHash(`scrypt$1024$99$1$${salt}$${key}`)).toThrow('scrypt r');
    expect(() => parsePasswordHash(`scrypt$1024$8$1$!!$${key}`)).toThrow('salt is not base64');
    expect(() => parsePasswordHash(`scrypt$1024$8$1$${salt}$AAAA`)).toThrow('key is shorter');
  });
});

describe('the users file', () => {
  it('reads name:hash lines, skipping blanks and comments', async () => {
    const hash = await hashPassword('pw', FAST);
    const entries = parseUsersFile(`# team\n\nalice:${hash}\r\n  bob:${hash}  \n`);
    expect(entries.map((e) => e.username)).toEqual(['alice', 'bob']);
  });

  it('names the first bad line', async () => {
    const hash = await hashPassword('pw', FAST);
    expect(() => parseUsersFile(`alice:${hash}\nnohash\n`)).toThrow('line 2: expected name:hash');
    expect(() => parseUsersFile(`alice:${hash}\nalice:${hash}\n`)).toThrow(
      "line 2: user 'alice' is listed twice",
    );
    expect(() => parseUsersFile('# nobody\n')).toThrow('no users in it');
  });
});

describe('ClientUsers', () => {
  it('checks a command-line user and file users, and refuses unknown names', async () => {
    const users = new ClientUsers([
      { username: 'app', password: 'app-pw' },
      { username: 'alice', hash: parsePasswordHash(await hashPassword('alice-pw', FAST)) },
    ]);
    expect(users.size).toBe(2);
    expect(await users.verify('app', 'app-pw')).toBe(true);
    expect(await users.verify('app', 'wrong')).toBe(false);
    expect(await users.verify('alice', 'alice-pw')).toBe(true);
    expect(await users.verify('alice', 'app-pw')).toBe(false);
    expect(await users.verify('mallory', 'alice-pw')).toBe(false);
    expect(await users.verify('mallory', 'app-pw')).toBe(false);
    // Remembered after a success, and still only for the right password.
    expect(await users.verify('alice', 'alice-pw')).toBe(true);
    expect(await users.verify('alice', 'alice-pw ')).toBe(false);
  });

  it('checks a single command-line user without any file', async () => {
    const users = new ClientUsers([{ username: 'only', password: 'pw' }]);
    expect(await users.verify('only', 'pw')).toBe(true);
    expect(await users.verify('other', 'pw')).toBe(false);
  });
});

describe('LoginThrottle', () => {
  it('doubles the delay per failure from one address, up to 5 s, and forgets on success', () => {
    const throttle = new LoginThrottle();
    const t0 = 1_000_000;
    const delays = Array.from({ length: 8 }, (_, i) => throttle.failed('10.0.0.1', t0 + i));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    expect(throttle.failed('10.0.0.2', t0)).toBe(100);
    throttle.succeeded('10.0.0.1');
    expect(throttle.failed('10.0.0.1', t0 + 10)).toBe(100);
    // A minute without failures starts over.
    expect(throttle.failed('10.0.0.2', t0 + 61_000)).toBe(100);
  });

  it('stays bounded whatever the number of addresses', () => {
    const throttle = new LoginThrottle();
    for (let i = 0; i < 12_000; i++) throttle.failed(`addr-${i}`);
    expect(throttle.addresses).toBe(10_000);
  });
});

describe('hash-password', () => {
  it('prints name:hash for a password on standard input, and refuses what it cannot use', async () => {
    const result = await hashPasswordCommand(['alice'], 'pw\n');
    if (!('output' in result)) throw new Error(result.error);
    const [name, hash] = [result.output.slice(0, 5), result.output.slice(6)];
    expect(name).toBe('alice');
    expect(await verifyPassword('pw', parsePasswordHash(hash))).toBe(true);
    expect(await hashPasswordCommand([], '')).toEqual({ error: 'no password on standard input' });
    expect(await hashPasswordCommand(['a:b'], 'x')).toEqual({
      error: 'a user name for the users file cannot be empty or hold ":" or spaces',
    });
    expect(await hashPasswordCommand(['a', 'b'], 'x')).toEqual({
      error: 'hash-password takes at most one name',
    });
  });
});
