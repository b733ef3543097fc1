// The accounts the simulated cluster accepts, shared by every node (Cassandra keeps roles in the
// replicated system_auth): Astra's `token` user, whose password is the database token and which
// may use every keyspace, and extra users for tests of credentials passed through a proxy, each
// either a superuser-like role (every keyspace) or limited to a list of keyspaces.
//
// Connections keep the name they logged in with and look the role up here on every request, so a
// user replaced or deleted through the admin API is checked anew, as Cassandra re-reads
// permissions once its cache expires. A deleted user keeps its open connections but has no
// keyspace left (only the system ones stay readable), as a dropped role has no permissions.

import type { Role } from '../engine/contract.js';
import { TOKEN_USERNAME } from './authenticator.js';

/** An extra user (SimulatorOptions.users, `--user`, `POST /users`). */
export interface SimulatorUser {
  readonly username: string;
  readonly password: string;
  /**
   * The keyspaces the user may read and write (they need not exist yet, so users can be given
   * before the schema); absent: every keyspace (a superuser-like role).
   */
  readonly keyspaces?: readonly string[];
}

/** A user as listed (never with the password). */
export interface UserListing {
  readonly username: string;
  /** null: every keyspace. */
  readonly keyspaces: readonly string[] | null;
}

/** A user definition the simulator refuses; the message says why. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Keyspace names as CREATE KEYSPACE accepts them (ddl.ts), matched as stored: case counts. */
const KEYSPACE_NAME = /^\w{1,48}$/;

interface Account {
  readonly password: string;
  readonly role: Role;
}

export class UserDirectory {
  private readonly accounts = new Map<string, Account>();

  /** `token` with the database token as its password, and `users`; throws UserError. */
  constructor(token: string, users: readonly SimulatorUser[] = []) {
    this.accounts.set(TOKEN_USERNAME, {
      password: token,
      role: { name: TOKEN_USERNAME, keyspaces: undefined },
    });
    const seen = new Set<string>();
    for (const user of users) {
      if (seen.has(user.username)) throw new UserError(`user ${user.username} is given twice`);
      seen.add(user.username);
      this.set(user);
    }
  }

  /** Adds a user or replaces the one of that name; returns whether one was replaced. */
  set(user: SimulatorUser): boolean {
    const checked = checkUser(user);
    const replaced = this.accounts.has(checked.username);
    const keyspaces = checked.keyspaces === undefined ? undefined : new Set(checked.keyspaces);
    this.accounts.set(checked.username, {
      password: checked.password,
      role: { name: checked.username, keyspaces },
    });
    return replaced;
  }

  /** Removes a user; returns whether there was one. */
  delete(username: string): boolean {
    if (username === TOKEN_USERNAME) {
      throw new UserError(`${TOKEN_USERNAME} is the database token's user and stays`);
    }
    return this.accounts.delete(username);
  }

  /** Whether SASL PLAIN with these credentials logs in. */
  authenticate(username: string, password: string): boolean {
    return this.accounts.get(username)?.password === password;
  }

  /** The role a connection logged in as `username` runs its statements as now. */
  role(username: string): Role {
    return this.accounts.get(username)?.role ?? { name: username, keyspaces: new Set() };
  }

  list(): UserListing[] {
    return [...this.accounts.entries()].map(([username, { role }]) => ({
      username,
      keyspaces: role.keyspaces === undefined ? null : [...role.keyspaces],
    }));
  }
}

/** Validates a user definition; throws UserError. */
function checkUser(user: SimulatorUser): SimulatorUser {
  const { username, password, keyspaces } = user;
  if (username === TOKEN_USERNAME) {
    throw new UserError(
      `${TOKEN_USERNAME} is the database token's user: its password is the token (--token)`,
    );
  }
  // SASL PLAIN separates the fields with NUL, and Cassandra refuses empty ones.
  if (username.length === 0 || username.includes('\0')) {
    throw new UserError('a username must be non-empty and without NUL characters');
  }
  if (password.length === 0 || password.includes('\0')) {
    throw new UserError(`user ${username}: the password must be non-empty and without NUL`);
  }
  if (keyspaces !== undefined) {
    for (const keyspace of keyspaces) {
      if (!KEYSPACE_NAME.test(keyspace)) {
        throw new UserError(
          `user ${username}: ${JSON.stringify(keyspace)} is not a keyspace name (1 to 48 letters, digits, underscores)`,
        );
      }
    }
  }
  return user;
}

/** A user from JSON (the admin API's `POST /users` body); throws UserError. */
export function parseUser(body: unknown): SimulatorUser {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new UserError('a user is a JSON object {"username", "password", "keyspaces"?}');
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (key !== 'username' && key !== 'password' && key !== 'keyspaces') {
      throw new UserError(`unknown field ${JSON.stringify(key)}`);
    }
  }
  const { username, password, keyspaces } = fields;
  if (typeof username !== 'string') throw new UserError('"username" must be a string');
  if (typeof password !== 'string') throw new UserError('"password" must be a string');
  if (keyspaces === undefined || keyspaces === null) {
    return checkUser({ username, password });
  }
  if (!Array.isArray(keyspaces) || !keyspaces.every((k) => typeof k === 'string')) {
    throw new UserError('"keyspaces" must be an array of keyspace names, or absent for all');
  }
  return checkUser({ username, password, keyspaces });
}

/**
 * `name:password[:ks1,ks2]` (the CLI's `--user`): without the third field the user may use every
 * keyspace; with it, only those (`name:password:` for none but the system ones). The password
 * cannot hold ':' here (the admin API takes any). Throws UserError.
 */
export function parseUserFlag(text: string): SimulatorUser {
  const fields = text.split(':');
  if (fields.length < 2 || fields.length > 3) {
    throw new UserError(
      `--user must be name:password[:ks1,ks2] (no ':' in the password), got ${JSON.stringify(text)}`,
    );
  }
  const [username = '', password = '', list] = fields;
  if (list === undefined) return checkUser({ username, password });
  const keyspaces = list === '' ? [] : list.split(',').map((k) => k.trim());
  return checkUser({ username, password, keyspaces });
}
