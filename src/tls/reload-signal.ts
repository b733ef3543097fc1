// SIGHUP re-reads the client TLS certificates, the Unix convention for "reload your files"
// (nginx, HAProxy, Envoy's hot restart aside). It complements the file watch of client-tls.ts
// where events do not arrive: some network file systems, a file replaced through a symlink in
// another directory. Installed only when client TLS is on: without it there is nothing to
// reload, and SIGHUP keeps Node's default of ending the process ("Signal events" in Node's
// process documentation: installing a listener removes that default).

import type { Logger } from '../ops/logger.js';

export interface ReloadSignalOptions {
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Where signals come from (main.ts passes `process`: it alone touches it). */
  source: { on(signal: 'SIGHUP', listener: () => void): unknown };
}

/** Calls `reload` on every SIGHUP; reload logs its own outcome. */
export function handleReloadSignal(
  reload: () => Promise<unknown>,
  options: ReloadSignalOptions,
): void {
  const { logger } = options;
  options.source.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'reloading the client TLS certificates');
    reload().catch((err: unknown) => {
      // RunningProxy.reloadTls never rejects; this is only so a bug cannot crash the process.
      logger.warn(
        { signal: 'SIGHUP', err: err instanceof Error ? err.message : String(err) },
        'client TLS reload failed',
      );
    });
  });
}
