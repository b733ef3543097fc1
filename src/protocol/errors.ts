// The protocol layer's one error type. Every malformed input ends here, never in a RangeError or
// an out-of-bounds read: callers close that one connection with a PROTOCOL_ERROR and move on.
// Its sibling ProxyError (src/errors.ts) is for every other failure; both are CodedErrors
// (coded-error.ts), with codes from one `CQLP_` namespace.

import { CodedError, hasBrand } from './coded-error.js';

export const ProtocolErrorCode = {
  /** Bytes that do not form a valid frame, segment or message. */
  MALFORMED: 'CQLP_MALFORMED',
  /** A declared length beyond the configured limit, refused before buffering. */
  FRAME_TOO_LARGE: 'CQLP_FRAME_TOO_LARGE',
  /** A protocol version this codec does not serve. */
  UNSUPPORTED_VERSION: 'CQLP_UNSUPPORTED_VERSION',
  /** A CRC24 or CRC32 mismatch in v5 segment framing. */
  CRC_MISMATCH: 'CQLP_CRC_MISMATCH',
  /** A compressed body or segment that does not decompress. */
  COMPRESSION: 'CQLP_COMPRESSION',
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

const BRAND = Symbol.for('cql-proxy-ts.ProtocolError');

export class ProtocolError extends CodedError<ProtocolErrorCode> {
  /** For UNSUPPORTED_VERSION: the version the peer sent, so the reply can name it. */
  readonly version: number | undefined;
  readonly [BRAND] = true;

  constructor(
    code: ProtocolErrorCode,
    message: string,
    options?: { cause?: unknown; version?: number },
  ) {
    super('ProtocolError', code, message, options?.cause);
    this.version = options?.version;
  }

  static isProtocolError(value: unknown): value is ProtocolError {
    return hasBrand(value, BRAND);
  }
}

export function malformed(message: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.MALFORMED, message);
}
