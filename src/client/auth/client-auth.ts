// Who may use the proxy (--client-auth): the three modes, and what every client connection
// shares to carry them out (the users, the login throttle, the counters).
//
// - none: no AUTHENTICATE; anyone who reaches the port uses the proxy's own credentials.
// - users: clients log in with Cassandra's PasswordAuthenticator flow (STARTUP → AUTHENTICATE →
//   AUTH_RESPONSE with SASL PLAIN → AUTH_SUCCESS) as users the proxy knows.
// - passthrough: the same flow, but the proxy checks nothing itself: the client's credentials
//   open its own upstream sessions, so the cluster decides and its error reaches the client.

import type { ClientUserSource } from './client-users.js';
import { ClientUsers } from './client-users.js';
import { LoginThrottle } from './login-throttle.js';
import type { UsersFileEntry } from './users-file.js';

export const CLIENT_AUTH_MODES = ['none', 'users', 'passthrough'] as const;
export type ClientAuthMode = (typeof CLIENT_AUTH_MODES)[number];

/** The authenticator class named in AUTHENTICATE: every driver's plain-text provider answers it. */
export const PASSWORD_AUTHENTICATOR = 'org.apache.cassandra.auth.PasswordAuthenticator';

export type ClientAuthConfig =
  | { mode: 'none' }
  | { mode: 'users'; users: readonly (ClientUserSource | UsersFileEntry)[] }
  | { mode: 'passthrough' };

export interface ClientAuthCounts {
  successes: number;
  failures: number;
}

/** Shared by every client connection of one proxy. */
export class ClientAuth {
  readonly mode: ClientAuthMode;
  readonly users: ClientUsers | undefined;
  readonly throttle = new LoginThrottle();
  readonly counts: ClientAuthCounts = { successes: 0, failures: 0 };

  constructor(config: ClientAuthConfig) {
    this.mode = config.mode;
    this.users = config.mode === 'users' ? new ClientUsers(config.users) : undefined;
  }

  get required(): boolean {
    return this.mode !== 'none';
  }
}

/** Cassandra's own text for a refused login (PasswordAuthenticator), which drivers show as is. */
export function incorrectCredentials(username: string): string {
  return `Provided username ${username} and/or password are incorrect`;
}
