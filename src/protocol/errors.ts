// The protocol layer's one error type. Every malformed input ends here, never in a RangeError or
// an out-of-bounds read: callers close that one connection with a PROTOCOL_ERROR and move on.

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

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  /** For UNSUPPORTED_VERSION: the version the peer sent, so the reply can name it. */
  readonly version: number | undefined;
  readonly [BRAND] = true;

  constructor(
    code: ProtocolErrorCode,
    message: string,
    options?: { cause?: unknown; version?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProtocolError';
    this.code = code;
    this.version = options?.version;
  }

  static isProtocolError(value: unknown): value is ProtocolError {
    return typeof value === 'object' && value !== null && BRAND in value;
  }
}

export function malformed(message: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.MALFORMED, message);
}
