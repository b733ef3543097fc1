// File descriptors: how many this process may open (the soft RLIMIT_NOFILE), so that client
// connections can be refused before the limit is reached and the last descriptors stay for what
// keeps the proxy alive and observable: upstream connections, the health and metrics server,
// DNS, files. Without this, a flood of clients takes every descriptor, new upstream connections
// and /readiness fail with EMFILE, and nothing says why.

import { readFileSync } from 'node:fs';

/** The soft limit on open files, from /proc/self/limits (Linux); undefined elsewhere or unlimited. */
export function descriptorLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (line === null) return undefined;
  const soft = Number(line[1]);
  return Number.isSafeInteger(soft) && soft > 0 ? soft : undefined;
}

/** Descriptors kept back from clients: an eighth of the limit, at least 128. */
export function reservedDescriptors(limit: number): number {
  return Math.max(128, Math.floor(limit / 8));
}

/**
 * The most client connections that fit under the descriptor limit with the reserve kept back;
 * undefined when the limit is unknown. At least 1, so a tiny limit still serves someone.
 */
export function clientConnectionsForDescriptors(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  return Math.max(1, limit - reservedDescriptors(limit));
}
