// One client login: the AUTH_RESPONSE token in, the answer out. SASL PLAIN (RFC 4616) as every
// driver's plain-text auth provider sends it; the users mode checks the proxy's users, the
// passthrough mode opens the client's own cluster session with the credentials, so the cluster
// decides. A failure is answered after a delay that grows with the failures from the client's
// address (login-throttle.ts), and its message never says more than Cassandra's would: nothing of
// the proxy's inside reaches a client that has not logged in.

import { ErrorCode } from '../../protocol/constants.js';
import { decodeSaslPlain } from '../../protocol/messages/auth-response.js';
import {
  CqlSessionError,
  type BackendSession,
  type SessionCredentials,
} from '../../upstream/contract.js';
import type { ClientLog } from '../log.js';
import { type ClientAuth, incorrectCredentials } from './client-auth.js';

export type LoginResult =
  | {
      ok: true;
      /** Passthrough: the client's credentials, for every session it opens from now on. */
      credentials: SessionCredentials | undefined;
      /** Passthrough: the session opened to check them. */
      session: BackendSession | undefined;
    }
  | { ok: false; code: number; message: string; delayMs: number };

export async function login(
  auth: ClientAuth,
  token: Buffer | null,
  remote: string,
  openSession: (credentials: SessionCredentials) => Promise<BackendSession>,
  log: ClientLog,
): Promise<LoginResult> {
  let username: string;
  let password: string;
  try {
    if (token === null) throw new Error('no token');
    ({ username, password } = decodeSaslPlain(token));
  } catch {
    // Cassandra's PlainTextSaslAuthenticator text for a token it cannot split.
    return refuse(auth, remote, undefined, log, 'Authentication ID must not be null');
  }
  if (auth.mode === 'users') {
    const ok = auth.users !== undefined && (await auth.users.verify(username, password));
    if (!ok) return refuse(auth, remote, username, log, incorrectCredentials(username));
    return accept(auth, remote, username, log, undefined, undefined);
  }
  const credentials = { username, password };
  try {
    const session = await openSession(credentials);
    return accept(auth, remote, username, log, credentials, session);
  } catch (err) {
    if (CqlSessionError.isCqlSessionError(err) && err.code === ErrorCode.AUTHENTICATION_ERROR) {
      // The cluster's own refusal, as it sent it (the password scrubbed by the upstream side).
      return refuse(auth, remote, username, log, err.message);
    }
    auth.counts.failures++;
    log.warn(
      { remote, user: username, err: err instanceof Error ? err.message : String(err) },
      'client authentication could not be checked: the cluster is unreachable',
    );
    return {
      ok: false,
      code: ErrorCode.SERVER_ERROR,
      message: 'Proxy unable to reach the cluster to check the credentials',
      delayMs: 0,
    };
  }
}

function accept(
  auth: ClientAuth,
  remote: string,
  username: string,
  log: ClientLog,
  credentials: SessionCredentials | undefined,
  session: BackendSession | undefined,
): LoginResult {
  auth.counts.successes++;
  auth.throttle.succeeded(hostOf(remote));
  log.debug({ remote, user: username, mode: auth.mode }, 'client authenticated');
  return { ok: true, credentials, session };
}

function refuse(
  auth: ClientAuth,
  remote: string,
  username: string | undefined,
  log: ClientLog,
  message: string,
): LoginResult {
  auth.counts.failures++;
  const delayMs = auth.throttle.failed(hostOf(remote));
  log.info({ remote, user: username, mode: auth.mode, delayMs }, 'client authentication failed');
  return { ok: false, code: ErrorCode.AUTHENTICATION_ERROR, message, delayMs };
}

/** The address without the port: failures are counted per client host. */
function hostOf(remote: string): string {
  const colon = remote.lastIndexOf(':');
  return colon < 0 ? remote : remote.slice(0, colon);
}
