// The users file of --client-users-file: one `name:hash` a line (hash from password-hash.ts,
// made by `cql-proxy-ts hash-password`), blank lines and lines starting with # ignored. Read once
// at start-up; a bad line stops start-up with one line naming the file and the line number.

import { type PasswordHash, parsePasswordHash } from './password-hash.js';

export interface UsersFileEntry {
  username: string;
  hash: PasswordHash;
}

/** Parses the file's text; throws an Error naming the first bad line (never quoting a hash). */
export function parseUsersFile(text: string): UsersFileEntry[] {
  const entries: UsersFileEntry[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `line ${i + 1}`;
    const colon = line.lastIndexOf(':');
    if (colon <= 0) throw new Error(`${where}: expected name:hash`);
    const username = line.slice(0, colon);
    if (seen.has(username)) throw new Error(`${where}: user '${username}' is listed twice`);
    let hash: PasswordHash;
    try {
      hash = parsePasswordHash(line.slice(colon + 1));
    } catch (err) {
      throw new Error(`${where} (user '${username}'): ${(err as Error).message}`);
    }
    seen.add(username);
    entries.push({ username, hash });
  }
  if (entries.length === 0) throw new Error('no users in it');
  return entries;
}
