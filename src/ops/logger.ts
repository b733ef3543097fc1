// The program's logger: pino, JSON lines. Secrets never reach a log line: the usual places a
// token or password could sit are redacted, and the code never logs credentials on purpose.

import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Where lines go; default stdout. */
  destination?: NodeJS.WritableStream;
}

export const REDACTED_PATHS = [
  'password',
  'token',
  'astraToken',
  'credentials',
  'key',
  '*.password',
  '*.token',
  '*.astraToken',
  '*.credentials',
  '*.key',
];

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: null,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    options.destination ?? process.stdout,
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
