// A worker of --workers N (workers.ts): a whole proxy in its own process. It answers the
// primary's questions (readiness, metrics), drains when the primary says so (or when the primary
// is gone), and shares what its clients prepare with the other workers through the primary.

import type { RunningProxy } from '../proxy.js';
import { errorMessage } from '../errors.js';
import type { Logger } from './logger.js';
import {
  KeptMessages,
  ROUTING_CAPACITY,
  TAG,
  WORKER_ID_ENV,
  isOurs,
  type PreparedMessage,
  type PrimaryToWorker,
  type RoutingMessage,
  type WorkerToPrimary,
} from './worker-ipc.js';

export interface WorkerHandle {
  readonly id: number;
  /** Give to startProxy as ProxyTuning.worker. */
  readonly tuning: { ready(fields: Record<string, unknown>): void };
  /** Once the proxy runs: share prepares, answer the primary, tell it we are ready. */
  started(proxy: RunningProxy): void;
  /**
   * A signal source for handleShutdownSignals: process signals, plus the primary's shutdown
   * request as a SIGTERM unless a signal came first (Ctrl-C reaches every process of the group).
   */
  readonly signals: { on(signal: NodeJS.Signals, listener: (s: NodeJS.Signals) => void): unknown };
}

function send(message: WorkerToPrimary): void {
  if (process.connected) process.send?.({ [TAG]: message });
}

export function workerHandle(parent: Logger): WorkerHandle {
  const id = Number(process.env[WORKER_ID_ENV]);
  const logger = parent.child({ worker: id });
  let readyFields: Record<string, unknown> = {};
  const listeners = new Map<NodeJS.Signals, ((s: NodeJS.Signals) => void)[]>();
  let signalled = false;
  const emit = (signal: NodeJS.Signals): void => {
    for (const l of listeners.get(signal) ?? []) l(signal);
  };
  const signals = {
    on(signal: NodeJS.Signals, listener: (s: NodeJS.Signals) => void) {
      const list = listeners.get(signal) ?? [];
      if (list.length === 0) {
        process.on(signal, (s: NodeJS.Signals) => {
          signalled = true;
          emit(s);
        });
      }
      list.push(listener);
      listeners.set(signal, list);
      return signals;
    },
  };
  let proxy: RunningProxy | undefined;
  const answer = async (what: 'metrics' | 'readiness'): Promise<unknown> => {
    if (proxy === undefined) return undefined;
    if (what === 'readiness') return proxy.operations.readinessBody();
    return (await proxy.operations.metrics?.registry.getMetricsAsJSON()) ?? [];
  };
  let shares: PrepareSharing | undefined;
  process.on('message', (raw: unknown) => {
    if (!isOurs(raw)) return;
    const m = raw[TAG] as PrimaryToWorker;
    switch (m.t) {
      case 'ask':
        answer(m.what).then(
          (value) => send({ t: 'answer', seq: m.seq, value }),
          (err: unknown) => {
            logger.warn({ err: errorMessage(err) }, 'cannot answer the primary');
            send({ t: 'answer', seq: m.seq, value: undefined });
          },
        );
        return;
      case 'shutdown':
        if (!signalled) {
          signalled = true;
          emit('SIGTERM');
        }
        return;
      case 'prepared':
      case 'routing':
        shares?.learn(m);
        return;
    }
  });
  // A primary that is gone cannot restart or drain us: stop serving.
  process.on('disconnect', () => {
    if (!signalled) {
      logger.warn('the primary process is gone: shutting down');
      signalled = true;
      emit('SIGTERM');
    }
  });
  return {
    id,
    tuning: {
      ready(fields) {
        readyFields = fields;
        logger.info({ ...fields, pid: process.pid }, 'worker is ready');
      },
    },
    started(running) {
      proxy = running;
      shares = sharePrepares(running);
      send({ t: 'ready', fields: readyFields });
    },
    signals,
  };
}

interface PrepareSharing {
  learn(message: PreparedMessage | RoutingMessage): void;
}

/**
 * Hooks the cluster's prepared statement cache and router: what this worker learns from a client
 * goes to the primary; what the primary relays is added without being sent back.
 */
function sharePrepares(proxy: RunningProxy): PrepareSharing {
  // The cache is the cluster's own (one per process, shared by its sessions): sharing must see
  // exactly the entries Session.rememberPrepared adds.
  const cache = proxy.cluster.preparedCache;
  const set = cache.set.bind(cache);
  cache.set = (id, frame, sessionKey) => {
    const known = cache.get(id, sessionKey) !== undefined;
    set(id, frame, sessionKey);
    if (known || !shareable(sessionKey)) return;
    send({
      t: 'prepared',
      id: Buffer.from(id).toString('base64'),
      frame: frame.toString('base64'),
      sessionKey,
    });
  };
  const router = proxy.cluster.router;
  const notePrepared = router.notePrepared.bind(router);
  // A client preparing the same statement again tells the router again: relay it once.
  const relayed = new KeptMessages<true>(Infinity, ROUTING_CAPACITY);
  router.notePrepared = (id, keyspace, pkIndexes) => {
    notePrepared(id, keyspace, pkIndexes);
    if (pkIndexes.length === 0) return;
    const key = Buffer.from(id).toString('base64');
    if (relayed.has(key)) return;
    relayed.set(key, true, 0);
    send({ t: 'routing', id: key, keyspace, pkIndexes: [...pkIndexes] });
  };
  return {
    learn(m) {
      const id = Buffer.from(m.id, 'base64');
      if (m.t === 'prepared') set(id, Buffer.from(m.frame, 'base64'), m.sessionKey);
      else notePrepared(id, m.keyspace, m.pkIndexes);
    },
  };
}

/** version/keyspace/compression; a fourth part names per-process credentials (passthrough). */
function shareable(sessionKey: string): boolean {
  return sessionKey.split('/').length === 3;
}
