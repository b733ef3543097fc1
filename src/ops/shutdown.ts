// Graceful shutdown. cql-proxy handles only SIGINT and closes every client at once (SIGTERM, what
// `docker stop` and Kubernetes send, kills it mid-request); ZDM proxy handles both. Here:
//
// 1. SIGTERM or SIGINT: readiness fails, the listener stops accepting, no more requests are read
//    from the open connections, and the requests already read run to their answer, for at most
//    the drain timeout. A request the proxy took is answered; one it did not read yet is never
//    started, so the driver sees the connection close and knows it was not applied.
// 2. Each client connection is closed after its last answer is written, then the cluster
//    connections and the HTTP server; the process exits 0.
// 3. A second signal during this exits at once with 128 + the signal's number (130 for SIGINT,
//    143 for SIGTERM), the code a shell reports for a process killed by that signal: it did not
//    finish its shutdown, and whatever watches it should know.
//
// --drain-timeout defaults to 15 s: above the default --request-timeout (12 s), so that every
// request read gets an answer, its own or the proxy's timeout error, and below Kubernetes' 30 s
// terminationGracePeriodSeconds, after which it sends SIGKILL.

import { constants } from 'node:os';
import type { Logger } from './logger.js';

/** How long past the drain timeout the closing of connections may take before the watchdog. */
const WATCHDOG_GRACE_MS = 5_000;

/** Exit code when a second signal cuts the shutdown short: 128 + signal number. */
export function interruptedExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** What the graceful close takes apart (RunningProxy's pieces). */
export interface DrainableParts {
  operations: { draining(): void; close(): Promise<void> };
  clientSide: {
    drain(timeoutMs: number): Promise<{ pending: number; unanswered: number }>;
    close(): Promise<void>;
  };
  cluster: { close(): void };
}

/**
 * Drains then closes: with `drainTimeoutMs` 0, every client connection is closed at once (what
 * cql-proxy does on SIGINT).
 */
export async function closeGracefully(
  parts: DrainableParts,
  drainTimeoutMs: number,
  logger: Logger,
): Promise<void> {
  const started = Date.now();
  parts.operations.draining();
  if (drainTimeoutMs > 0) {
    const { pending, unanswered } = await parts.clientSide.drain(drainTimeoutMs);
    if (unanswered > 0) {
      logger.warn(
        { pending, unanswered, drainTimeoutMs },
        'drain timeout: closing client connections with requests unanswered',
      );
    } else {
      logger.info(
        { answered: pending, ms: Date.now() - started },
        'drained: every request read was answered',
      );
    }
  } else {
    await parts.clientSide.close();
  }
  parts.cluster.close();
  await parts.operations.close();
}

export interface SignalOptions {
  drainTimeoutMs: number;
  logger: Logger;
  /** Ends the process (main.ts passes process.exit: it alone exits). */
  exit: (code: number) => void;
  /** For a shutdown that failed: one line for the user. */
  reportError: (err: unknown) => void;
  /** Where signals come from; default `process`. */
  source?: { on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown };
  signals?: readonly NodeJS.Signals[];
}

/**
 * Installs the SIGTERM/SIGINT handling above around `close`. A watchdog exits with 1 if the
 * close itself hangs well past the drain timeout (a bug, but the process must not linger).
 */
export function handleShutdownSignals(
  close: (drainTimeoutMs: number) => Promise<void>,
  options: SignalOptions,
): void {
  const { logger, exit, drainTimeoutMs } = options;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      logger.flush();
      exit(interruptedExitCode(signal));
      return;
    }
    stopping = true;
    logger.info({ signal, drainTimeoutMs }, 'shutting down: draining client connections');
    const watchdog = setTimeout(() => {
      logger.error({ drainTimeoutMs }, 'shutdown did not finish in time; exiting');
      logger.flush();
      exit(1);
    }, drainTimeoutMs + WATCHDOG_GRACE_MS);
    watchdog.unref();
    close(drainTimeoutMs).then(
      () => {
        clearTimeout(watchdog);
        logger.info('stopped');
        logger.flush();
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(watchdog);
        logger.flush();
        options.reportError(err);
        exit(1);
      },
    );
  };
  const source = options.source ?? process;
  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) source.on(signal, onSignal);
}
