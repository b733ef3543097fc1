// The server side of a connection's SASL exchange (spec v4 §4.2.3, §4.2.7, §4.2.8), as Astra runs
// it: SASL PLAIN with the literal username `token` and the database's AstraCS token as password
// (docs/astra.md §4), or one of the simulator's extra users (users.ts). The class name in
// AUTHENTICATE is configurable because Astra has sent several, and DseAuthenticator adds a
// mechanism negotiation (PLAIN → PLAIN-START) first.

export const PASSWORD_AUTHENTICATOR = 'org.apache.cassandra.auth.PasswordAuthenticator';
export const DSE_AUTHENTICATOR = 'com.datastax.bdp.cassandra.auth.DseAuthenticator';
export const ASTRA_AUTHENTICATOR = 'org.apache.cassandra.auth.AstraAuthenticator';

/** Astra's username for token authentication. */
export const TOKEN_USERNAME = 'token';

const PLAIN_MECHANISM = 'PLAIN';
const PLAIN_START = Buffer.from('PLAIN-START', 'utf8');
const NUL = 0;

/** The accounts an exchange checks credentials against (users.ts UserDirectory). */
export interface Credentials {
  authenticate(username: string, password: string): boolean;
}

export type SaslStep =
  | { kind: 'challenge'; token: Buffer }
  /** `username` is who the connection runs its statements as from now on. */
  | { kind: 'success'; username: string }
  | { kind: 'failure'; message: string };

/** One connection's exchange: feed each AUTH_RESPONSE token, send what comes back. */
export class SaslExchange {
  private readonly dse: boolean;
  private readonly credentials: Credentials;
  private mechanismChosen = false;

  constructor(authenticatorClass: string, credentials: Credentials) {
    this.dse = authenticatorClass === DSE_AUTHENTICATOR;
    this.credentials = credentials;
  }

  evaluate(token: Buffer | null): SaslStep {
    const bytes = token ?? Buffer.alloc(0);
    // DseAuthenticator: the client names its mechanism first and is told to start (Node's
    // DsePlainTextAuthProvider, Python's PlainTextAuthenticator). Clients that send the
    // credentials straight away (Node's PlainTextAuthProvider ignores the class) are served too,
    // as DSE serves legacy clients.
    if (this.dse && !this.mechanismChosen && bytes.toString('utf8') === PLAIN_MECHANISM) {
      this.mechanismChosen = true;
      return { kind: 'challenge', token: PLAIN_START };
    }
    const credentials = decodeCredentials(bytes);
    if (typeof credentials === 'string') return { kind: 'failure', message: credentials };
    const { username, password } = credentials;
    // One text for an unknown user and a wrong password (PasswordAuthenticator's), so the error
    // does not tell which users exist.
    if (!this.credentials.authenticate(username, password)) {
      return {
        kind: 'failure',
        message: `Provided username ${username} and/or password are incorrect`,
      };
    }
    return { kind: 'success', username };
  }
}

/**
 * RFC 4616 `[authzid] NUL authcid NUL passwd`, split as Cassandra's PlainTextSaslAuthenticator
 * does (from the end, so the authzid may be absent) and with its error texts. Returns the
 * credentials or the error message.
 */
function decodeCredentials(bytes: Buffer): { username: string; password: string } | string {
  let password: Buffer | undefined;
  let username: Buffer | undefined;
  let end = bytes.length;
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] !== NUL) continue;
    if (password === undefined) password = bytes.subarray(i + 1, end);
    else if (username === undefined) username = bytes.subarray(i + 1, end);
    else
      return 'Credential format error: username or password is empty or contains NUL(\\0) character';
    end = i;
  }
  if (password === undefined || password.length === 0) return 'Password must not be null';
  if (username === undefined || username.length === 0) return 'Authentication ID must not be null';
  return { username: username.toString('utf8'), password: password.toString('utf8') };
}
