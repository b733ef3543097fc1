// The one shape of the program's expected errors: an Error with a stable code (`CQLP_...`) that
// tests and callers match instead of message text, and a brand so that the check survives two
// copies of a module (instanceof does not). Two kinds extend it, one per concept:
// - ProtocolError (errors.ts here): bytes a peer sent that do not follow the protocol; the
//   connection that sent them is closed with a PROTOCOL_ERROR.
// - ProxyError (src/errors.ts): everything else the program reports (configuration, bundle,
//   cluster unreachable, login refused, port in use); shown to the user as one line.
// It lives in src/protocol because the protocol layer may import nothing from the rest.

export abstract class CodedError<Code extends string> extends Error {
  readonly code: Code;

  protected constructor(name: string, code: Code, message: string, cause: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = name;
    this.code = code;
  }
}

/** Whether `value` carries `brand` (a Symbol.for key set by a CodedError subclass). */
export function hasBrand(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && brand in value;
}
