// The configuration read from files that hold secrets or users: --astra-token-file,
// --client-password-file and --client-users-file, and the client authentication they make up.

import type { Config } from './config.js';
import { CLIENT_AUTH_MODES } from '../client/auth/client-auth.js';
import type { ClientUserSource } from '../client/auth/client-users.js';
import { type UsersFileEntry, parseUsersFile } from '../client/auth/users-file.js';
import { ValueError } from './schema.js';
import { errorMessage } from '../errors.js';
import { type Reader, type Sources, fail } from './sources.js';

/**
 * --client-auth and the users it needs. Giving users turns on `users`; `users` without any, or
 * users with another mode, is an error: a proxy must never run more open than the operator meant.
 */
export function readClientAuth(r: Reader, sources: Sources): Config['clientAuth'] {
  const explicit = r.isSet('client-auth');
  const mode = r.parsed('client-auth', (t) => {
    const m = CLIENT_AUTH_MODES.find((x) => x === t.trim().toLowerCase());
    if (m === undefined) throw new ValueError(`expected one of ${CLIENT_AUTH_MODES.join(', ')}`);
    return m;
  });
  const users: (ClientUserSource | UsersFileEntry)[] = [];
  const username = r.text('client-username');
  let password = r.text('client-password');
  const passwordFile = r.text('client-password-file');
  if (passwordFile !== undefined) {
    if (password !== undefined) {
      fail(
        `${r.where('client-password')} and ${r.where('client-password-file')} cannot be used together`,
      );
    }
    password = readSecretFile(sources, passwordFile, r.where('client-password-file'), 'password');
  }
  if (username !== undefined) {
    if (password === undefined || password === '') {
      fail(`${r.where('client-username')} needs --client-password or --client-password-file`);
    }
    users.push({ username, password });
  } else if (password !== undefined) {
    fail('--client-password needs --client-username');
  }
  const usersFile = r.text('client-users-file');
  if (usersFile !== undefined) {
    let text: string;
    try {
      text = sources.readFile(usersFile);
    } catch (err) {
      fail(
        `cannot read the users file '${usersFile}' (${r.where('client-users-file')}): ${errorMessage(err)}`,
      );
    }
    let entries: UsersFileEntry[];
    try {
      entries = parseUsersFile(text);
    } catch (err) {
      fail(
        `invalid users file '${usersFile}' (${r.where('client-users-file')}): ${errorMessage(err)}`,
      );
    }
    for (const entry of entries) {
      if (entry.username === username) {
        fail(
          `user '${entry.username}' is both ${r.where('client-username')} and in '${usersFile}'`,
        );
      }
      users.push(entry);
    }
  }
  const resolved = mode ?? (users.length > 0 ? 'users' : 'none');
  if (resolved === 'users') {
    if (users.length === 0) {
      fail(`${r.where('client-auth')} users needs --client-username or --client-users-file`);
    }
    return { mode: 'users', users, explicit };
  }
  if (users.length > 0) {
    fail(
      `--client-username and --client-users-file need --client-auth users, not ${resolved} (${r.where('client-auth')})`,
    );
  }
  return { mode: resolved, explicit };
}

export function readSecretFile(
  sources: Sources,
  path: string,
  where: string,
  what: string,
): string {
  let text: string;
  try {
    text = sources.readFile(path);
  } catch (err) {
    fail(`cannot read the ${what} file '${path}' (${where}): ${errorMessage(err)}`);
  }
  const secret = text.trim();
  if (secret === '') fail(`the ${what} file '${path}' (${where}) is empty`);
  return secret;
}

export function readTokenFile(sources: Sources, path: string, where: string): string {
  let text: string;
  try {
    text = sources.readFile(path);
  } catch (err) {
    fail(`cannot read the token file '${path}' (${where}): ${errorMessage(err)}`);
  }
  const token = text.trim();
  if (token === '') fail(`the token file '${path}' (${where}) is empty`);
  return token;
}
