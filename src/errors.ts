// Errors of the program outside the protocol layer, each with a stable code. Expected failures
// (a bad bundle, a rejected token, a port in use) are shown to the user as one line, without a
// stack trace; the code lets tests and callers tell them apart without matching message text.
// Its sibling ProtocolError (src/protocol/errors.ts) is for bytes a peer sent that break the
// protocol; both are CodedErrors (src/protocol/coded-error.ts), with codes from one `CQLP_`
// namespace.

import { CodedError, hasBrand } from './protocol/coded-error.js';

export const ProxyErrorCode = {
  CONFIG_INVALID: 'CQLP_CONFIG_INVALID',
  BUNDLE_INVALID: 'CQLP_BUNDLE_INVALID',
  METADATA_UNAVAILABLE: 'CQLP_METADATA_UNAVAILABLE',
  TOKEN_REJECTED: 'CQLP_TOKEN_REJECTED',
  BUNDLE_DOWNLOAD_FAILED: 'CQLP_BUNDLE_DOWNLOAD_FAILED',
  CLUSTER_UNAVAILABLE: 'CQLP_CLUSTER_UNAVAILABLE',
  AUTHENTICATION_FAILED: 'CQLP_AUTHENTICATION_FAILED',
  LISTEN_FAILED: 'CQLP_LISTEN_FAILED',
  /** Opening a connection to a node failed: TCP, TLS, handshake or connect timeout. */
  CONNECTION_FAILED: 'CQLP_CONNECTION_FAILED',
  /** An established connection to a node was lost or closed; its requests did not complete. */
  CONNECTION_CLOSED: 'CQLP_CONNECTION_CLOSED',
  /** The node refused the protocol version (or every version negotiation tried). */
  PROTOCOL_VERSION_REFUSED: 'CQLP_PROTOCOL_VERSION_REFUSED',
  /** Every stream id of a connection is in flight. */
  STREAMS_EXHAUSTED: 'CQLP_STREAMS_EXHAUSTED',
} as const;
export type ProxyErrorCode = (typeof ProxyErrorCode)[keyof typeof ProxyErrorCode];

const BRAND = Symbol.for('cql-proxy-ts.ProxyError');

export class ProxyError extends CodedError<ProxyErrorCode> {
  readonly [BRAND] = true;

  constructor(code: ProxyErrorCode, message: string, options?: { cause?: unknown }) {
    super('ProxyError', code, message, options?.cause);
  }

  static isProxyError(value: unknown): value is ProxyError {
    return hasBrand(value, BRAND);
  }
}

/** The message of any thrown value, for one-line reports. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
