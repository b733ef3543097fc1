// The client side of SASL PLAIN on a connection to a node (docs/astra.md §4,
// docs/cql-proxy-compat.md §2.5). The node names its authenticator class in AUTHENTICATE:
//
// - DseAuthenticator negotiates a mechanism first: the client sends `PLAIN`, the node answers the
//   challenge `PLAIN-START`, then the client sends the credentials (what Node's
//   DsePlainTextAuthProvider, Python's PlainTextAuthenticator and cql-proxy do).
// - PasswordAuthenticator, AstraAuthenticator and any other class take the credentials as the
//   first response. An unknown class is worth a log line (Astra has changed class names before,
//   cql-proxy issue #118), not a failure: cql-proxy treats it as SASL PLAIN too.
//
// The token is `authzid NUL username NUL password` (RFC 4616) with an empty authzid. No message
// built here ever contains the password.

import { encodeSaslPlain } from '../protocol/messages/auth-response.js';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';

export const DSE_AUTHENTICATOR = 'com.datastax.bdp.cassandra.auth.DseAuthenticator';
export const PASSWORD_AUTHENTICATOR = 'org.apache.cassandra.auth.PasswordAuthenticator';
export const ASTRA_AUTHENTICATOR = 'org.apache.cassandra.auth.AstraAuthenticator';

const KNOWN_AUTHENTICATORS: ReadonlySet<string> = new Set([
  DSE_AUTHENTICATOR,
  PASSWORD_AUTHENTICATOR,
  ASTRA_AUTHENTICATOR,
]);

const PLAIN_MECHANISM = Buffer.from('PLAIN', 'utf8');
const PLAIN_START = 'PLAIN-START';
/** How much of an unexpected challenge an error message quotes. */
const MAX_QUOTED_CHALLENGE = 64;

export interface Credentials {
  username: string;
  password: string;
}

export class PlainTextAuthenticator {
  readonly authenticatorClass: string;
  /** False for a class this proxy does not know (handled as SASL PLAIN anyway). */
  readonly known: boolean;
  private readonly token: Buffer;
  private readonly endpointKey: string;
  private awaitingPlainStart: boolean;

  constructor(authenticatorClass: string, credentials: Credentials, endpointKey: string) {
    this.authenticatorClass = authenticatorClass;
    this.known = KNOWN_AUTHENTICATORS.has(authenticatorClass);
    this.endpointKey = endpointKey;
    this.awaitingPlainStart = authenticatorClass === DSE_AUTHENTICATOR;
    try {
      this.token = encodeSaslPlain(credentials.username, credentials.password);
    } catch (err) {
      // The protocol layer names the field (username/password must not be empty or hold NUL),
      // never its value.
      throw new ProxyError(
        ProxyErrorCode.CONFIG_INVALID,
        `credentials for ${endpointKey} cannot be sent: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  /** The first AUTH_RESPONSE token. */
  initialResponse(): Buffer {
    return this.awaitingPlainStart ? PLAIN_MECHANISM : this.token;
  }

  /** The answer to an AUTH_CHALLENGE. */
  evaluateChallenge(challenge: Buffer | null): Buffer {
    if (this.awaitingPlainStart) {
      if (challenge === null || challenge.toString('utf8') !== PLAIN_START) {
        const text =
          challenge === null
            ? 'null'
            : JSON.stringify(challenge.toString('utf8', 0, MAX_QUOTED_CHALLENGE));
        throw new ProxyError(
          ProxyErrorCode.AUTHENTICATION_FAILED,
          `authentication to ${this.endpointKey} failed: incorrect SASL challenge from the server, expected "${PLAIN_START}", got ${text}`,
        );
      }
      this.awaitingPlainStart = false;
    }
    return this.token;
  }
}
