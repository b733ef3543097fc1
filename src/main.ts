#!/usr/bin/env node
// The command line: configuration in, a running proxy out. The only module that reads
// process.argv/process.env or calls process.exit. Expected failures (a bad flag, a bad bundle, a
// rejected token, a port in use) print one line and exit non-zero, without a stack trace.

import { readFileSync } from 'node:fs';
import { HASH_PASSWORD_COMMAND, hashPasswordCommand } from './client/auth/hash-password-command.js';
import { parseConfig } from './config/parse.js';
import { ProxyError, errorMessage } from './errors.js';
import { createLogger } from './ops/logger.js';
import { handleShutdownSignals } from './ops/shutdown.js';
import type { WorkerHandle } from './ops/worker-process.js';
import { startProxy, type ProxyTuning, type RunningProxy } from './proxy.js';
import { handleReloadSignal } from './tls/reload-signal.js';

const PROGRAM = 'cql-proxy-ts';

async function main(): Promise<void> {
  if (process.argv[2] === HASH_PASSWORD_COMMAND) {
    const result = await hashPasswordCommand(process.argv.slice(3), readFileSync(0, 'utf8'));
    if ('error' in result) {
      process.stderr.write(`${PROGRAM}: ${result.error}\n`);
      process.exitCode = 2;
    } else {
      process.stdout.write(`${result.output}\n`);
    }
    return;
  }
  const parsed = parseConfig(process.argv.slice(2), process.env, (path) =>
    readFileSync(path, 'utf8'),
  );
  if ('help' in parsed) {
    process.stdout.write(`${parsed.help}\n`);
    return;
  }
  if ('error' in parsed) {
    process.stderr.write(`${PROGRAM}: ${parsed.error}\n`);
    process.exitCode = parsed.exitCode;
    return;
  }
  let config = parsed.config;
  let logger = createLogger({ level: config.logLevel });
  const tuning: ProxyTuning = {};
  let worker: WorkerHandle | undefined;
  if (config.workers > 1) {
    // --workers N > 1: this process forks N workers and serves no CQL (src/ops/workers.ts); each
    // worker runs the code below with its share of the limits. Loaded only here: with one
    // worker, nothing of node:cluster is even imported.
    const workers = await import('./ops/workers.js');
    if (!workers.isWorkerProcess()) {
      const { runPrimary } = await import('./ops/workers-primary.js');
      try {
        await runPrimary(config, logger, { exit: (code) => process.exit(code) });
      } catch (err) {
        if (!ProxyError.isProxyError(err)) throw err;
        logger.flush();
        process.stderr.write(`${PROGRAM}: ${err.message}\n`);
        process.exit(1);
      }
      return;
    }
    const { workerHandle } = await import('./ops/worker-process.js');
    worker = workerHandle(logger);
    config = workers.workerConfig(config);
    logger = logger.child({ worker: worker.id });
    tuning.worker = worker.tuning;
  }

  let proxy: RunningProxy;
  try {
    proxy = await startProxy(config, logger, tuning);
  } catch (err) {
    if (ProxyError.isProxyError(err)) {
      logger.flush();
      process.stderr.write(`${PROGRAM}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  worker?.started(proxy);

  // SIGTERM/SIGINT drain, then exit 0; a second signal exits at once with 128 + its number
  // (src/ops/shutdown.ts says why).
  handleShutdownSignals((drainTimeoutMs) => proxy.close({ drainTimeoutMs }), {
    drainTimeoutMs: config.drainTimeoutMs,
    logger,
    exit: (code) => process.exit(code),
    reportError: (err) =>
      process.stderr.write(`${PROGRAM}: error while shutting down: ${errorMessage(err)}\n`),
    ...(worker === undefined ? {} : { source: worker.signals }),
  });
  // SIGHUP re-reads the client TLS files (src/tls/reload-signal.ts); without client TLS it keeps
  // its default, ending the process.
  if (config.proxyCertFile !== undefined) {
    handleReloadSignal(() => proxy.reloadTls(), { logger, source: process });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${PROGRAM}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
