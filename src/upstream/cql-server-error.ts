// A node answered one of the proxy's own requests (a handshake step, a system table query, a
// REGISTER) with an ERROR message. Forwarded client requests never become this error: their ERROR
// frames travel back to the client as bytes.

import { ErrorCode } from '../protocol/constants.js';
import type { CqlErrorMessage } from '../protocol/messages/error.js';

const CODE_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

/** `INVALID (0x2200)`, or just the hex for a code the protocol does not define. */
function describeCode(code: number): string {
  const hex = `0x${(code >>> 0).toString(16).padStart(4, '0')}`;
  const name = CODE_NAMES.get(code);
  return name === undefined ? hex : `${name} (${hex})`;
}

const BRAND = Symbol.for('cql-proxy-ts.CqlServerError');

export class CqlServerError extends Error {
  /** The CQL error code (spec v4 §9), e.g. 0x2200 Invalid. */
  readonly code: number;
  /** The whole decoded error, with the fields its code carries. */
  readonly error: CqlErrorMessage;
  readonly [BRAND] = true;

  constructor(error: CqlErrorMessage, context?: string) {
    super(
      `${context === undefined ? '' : `${context}: `}${describeCode(error.code)}: ${error.message}`,
    );
    this.name = 'CqlServerError';
    this.code = error.code;
    this.error = error;
  }

  /** The node's own message, without the code and context this error adds. */
  get serverMessage(): string {
    return this.error.message;
  }

  static isCqlServerError(value: unknown): value is CqlServerError {
    return typeof value === 'object' && value !== null && BRAND in value;
  }
}
