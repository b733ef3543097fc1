// `cql-proxy-ts hash-password [name]`: reads a password from standard input (never from the
// command line, where ps and shell history would keep it) and prints the hash for the users file,
// or the whole `name:hash` line when a name is given:
//
//   printf '%s' "$PASSWORD" | cql-proxy-ts hash-password alice >> users.txt

import { hashPassword } from './password-hash.js';

export const HASH_PASSWORD_COMMAND = 'hash-password';

export const HASH_PASSWORD_USAGE =
  `usage: ${HASH_PASSWORD_COMMAND} [name] < password\n` +
  '  Reads a password from standard input and prints its scrypt hash for --client-users-file\n' +
  '  (the line `name:hash` when a name is given). One trailing newline is removed.';

export type HashPasswordResult = { output: string } | { error: string };

export async function hashPasswordCommand(
  args: readonly string[],
  stdin: string,
): Promise<HashPasswordResult> {
  if (args.includes('--help') || args.includes('-h')) return { output: HASH_PASSWORD_USAGE };
  if (args.length > 1) return { error: `${HASH_PASSWORD_COMMAND} takes at most one name` };
  const name = args[0];
  if (name !== undefined && (name === '' || name.includes(':') || /\s/.test(name))) {
    return { error: 'a user name for the users file cannot be empty or hold ":" or spaces' };
  }
  const password = stdin.replace(/\r?\n$/, '');
  if (password === '') return { error: 'no password on standard input' };
  const hash = await hashPassword(password);
  return { output: name === undefined ? hash : `${name}:${hash}` };
}
