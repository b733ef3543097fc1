// The little the client side logs, behind an interface a pino logger satisfies: the wiring passes
// its child logger, tests pass nothing.

export interface ClientLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

const ignore = (): void => undefined;

export const SILENT_LOG: ClientLog = { debug: ignore, info: ignore, warn: ignore };
