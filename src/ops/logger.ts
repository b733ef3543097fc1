// The program's logger: pino, JSON lines. Secrets never reach a log line: the usual places a
// token or password could sit are redacted, and the code never logs credentials on purpose
// (test/ops/log-secrets.test.ts runs whole proxies at debug level and scans every line).
//
// Format: JSON lines by default, which is what log collectors want. When stdout is a terminal
// and the optional pino-pretty package is installed (`npm i -D pino-pretty`; it is not a
// dependency), lines are printed for humans instead; without pino-pretty a terminal gets JSON too.

import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Where lines go; default stdout. */
  destination?: NodeJS.WritableStream;
  /** 'auto' (default): pretty on a terminal when pino-pretty is installed, else JSON. */
  format?: LogFormat | 'auto';
}

/**
 * Field names (at the top of a line's object or one level down) whose values are replaced by
 * `[redacted]`: credentials, the token, TLS keys, the bundle's keystore passwords.
 */
const SECRET_FIELDS = [
  'password',
  'token',
  'astraToken',
  'credentials',
  'key',
  'keyPem',
  'privateKey',
  'passphrase',
  'pfx',
  'authorization',
  'keyStorePassword',
  'trustStorePassword',
  'pfxCertPassword',
];

export const REDACTED_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  'headers.authorization',
  'headers.Authorization',
  // The client users' passwords, deeper in a Config (--client-password), logged as it is or under
  // a key such as `config`.
  'clientAuth.users[*].password',
  '*.clientAuth.users[*].password',
];

const PRETTY_TRANSPORT = 'pino-pretty';

/** Whether an optional package can be loaded from here. */
function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** The format 'auto' comes to: pretty only for a terminal, and only if pino-pretty is there. */
export function chooseLogFormat(
  requested: LogFormat | 'auto',
  toTerminal: boolean,
  prettyInstalled: boolean,
): LogFormat {
  if (requested === 'json') return 'json';
  if (!prettyInstalled) return 'json';
  return requested === 'pretty' || toTerminal ? 'pretty' : 'json';
}

export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    base: null,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  const toTerminal = options.destination === undefined && process.stdout.isTTY;
  const format = chooseLogFormat(
    options.format ?? 'auto',
    toTerminal,
    options.format === 'json' ? false : installed(PRETTY_TRANSPORT),
  );
  if (format === 'pretty' && options.destination === undefined) {
    return pino(
      settings,
      pino.transport({ target: PRETTY_TRANSPORT, options: { destination: 1 } }),
    );
  }
  return pino(settings, options.destination ?? process.stdout);
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
