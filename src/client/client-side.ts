// The client-facing half of the proxy, wired: the listener, one ClientSession per connection, and
// what the sessions share (the proxy's topology, the registry of prepared ids). The upstream half
// comes in as a Backend.

import type { Backend } from '../upstream/contract.js';
import { ClientAuth, type ClientAuthCounts, type ClientAuthMode } from './auth/client-auth.js';
import { BurstLog } from './burst-log.js';
import { type ClientSideConfig, validateClientSideConfig } from './config.js';
import { ClientSession, type ClientGuards } from './client-session.js';
import { sweep as sweepConnection } from './session-limits.js';
import {
  CLOSE_REASONS,
  ClientLimitStats,
  PAUSE_REASONS,
  type CloseReason,
  type PauseReason,
} from './limit-stats.js';
import { type ClientListenerOptions, type RefusalReason, startClientListener } from './listener.js';
import { type ClientLog, SILENT_LOG } from './log.js';
import { MemoryBudget } from './memory-budget.js';
import { PreparedRegistry } from './prepared-registry.js';
import { buildTopology } from './topology.js';

/** What the limits are doing now and have done, for the metrics. */
export interface ClientLimitsReport {
  closed: Readonly<Record<CloseReason, number>>;
  pauses: Readonly<Record<PauseReason, number>>;
  /** Connections not being read right now, by reason (one connection may have several). */
  pausedNow: Record<PauseReason, number>;
  duplicateStreamIds: number;
  refused: Readonly<Record<RefusalReason, number>>;
  /** The connection limit in force: the flag's, or lower when file descriptors are fewer. */
  maxConnections: number | undefined;
  /** Client TLS handshakes that failed (no or untrusted certificate, old version, timeout). */
  tlsFailures: number;
  requestsInFlight: number;
  requestBytesInFlight: number;
  queuedOutputBytes: number;
  memory: { used: number; limit: number; exhausted: boolean; exhaustions: number };
  /** Logins by outcome, and the mode they were made in. */
  auth: { mode: ClientAuthMode } & Readonly<ClientAuthCounts>;
}

const CLOSE_MESSAGES: Readonly<Record<CloseReason, [level: 'info' | 'warn', message: string]>> = {
  handshake_timeout: [
    'info',
    'client connection closed: no STARTUP or login within the handshake timeout',
  ],
  idle_timeout: ['info', 'client connection closed: idle for the client idle timeout'],
  write_timeout: [
    'warn',
    'client connection closed: it took none of its answers for the write timeout',
  ],
  output_overflow: [
    'warn',
    'client connection closed: too many answers queued that it does not read',
  ],
  frame_too_large: ['warn', 'client connection closed: frame too large'],
  protocol_error: ['info', 'client connection closed: protocol error'],
};

export interface ClientSideOptions {
  log?: ClientLog;
  /** The soft RLIMIT_NOFILE; read from the system when absent (tests pass one). */
  descriptorLimit?: number;
}

export interface ClientSide {
  /** The address actually bound (port 0 in the config picks one). */
  readonly host: string;
  readonly port: number;
  /** Client connections currently open. */
  readonly connections: number;
  /** Connections refused because of maxClientConnections. */
  readonly refused: number;
  /** Connections accepted since start. */
  readonly accepted: number;
  /** Bytes read from and written to clients since start. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Requests read from clients and not answered yet. */
  readonly pendingRequests: number;
  /** What the limits are doing (computed when asked: for metrics and tests). */
  limitsReport(): ClientLimitsReport;
  /**
   * Graceful shutdown: stops accepting and reading requests, waits up to `timeoutMs` for those
   * already read to be answered, then closes each connection after its last answer is written.
   * Resolves with the requests pending when it began, and those still unanswered when the time
   * ran out (0 normally).
   */
  drain(timeoutMs: number): Promise<{ pending: number; unanswered: number }>;
  /** Stops accepting and closes every client connection. */
  close(): Promise<void>;
}

/** How often drain() looks at the requests still pending. */
const DRAIN_POLL_MS = 10;
/** Time given to connections to take their last answers and hang up, even at the deadline. */
const MIN_HANGUP_MS = 250;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Validates the config, listens, and serves every client connection against `backend`. */
export async function startClientSide(
  config: ClientSideConfig,
  backend: Backend,
  options: ClientSideOptions = {},
): Promise<ClientSide> {
  validateClientSideConfig(config);
  const topology = buildTopology(config);
  const prepared = new PreparedRegistry(config.maxPreparedIds);
  const log = options.log ?? SILENT_LOG;
  const limits = config.limits;
  // Under sustained pressure the budget can run out and recover many times a second: one line
  // per interval each way (with the count), the exact figures being in the metrics.
  const exhaustedLog = new BurstLog(
    log,
    'warn',
    'memory budget exhausted: reading paused on every client until it drains',
  );
  const recoveredLog = new BurstLog(log, 'info', 'memory budget available again: reading resumed');
  const budget = new MemoryBudget(config.memoryBudget, {
    onExhausted: (used, limit) => exhaustedLog.note({ usedBytes: used, budgetBytes: limit }),
    onRecovered: (used, limit, pausedMs) =>
      recoveredLog.note({ usedBytes: used, budgetBytes: limit, pausedMs }),
  });
  const guards: ClientGuards = {
    limits,
    budget,
    stats: new ClientLimitStats(),
    auth: new ClientAuth(config.auth),
    closeLogs: Object.fromEntries(
      CLOSE_REASONS.map((reason) => {
        const [level, message] = CLOSE_MESSAGES[reason];
        return [reason, new BurstLog(log, level, message)];
      }),
    ) as Record<CloseReason, BurstLog>,
  };
  const listenerOptions: ClientListenerOptions = {
    host: config.bind.host,
    port: config.bind.port,
    handshakeTimeoutMs: limits.handshakeTimeoutMs,
    keepAliveMs: limits.keepAliveMs,
    log,
    ...(options.descriptorLimit === undefined ? {} : { descriptorLimit: options.descriptorLimit }),
  };
  if (config.tls !== undefined) listenerOptions.tls = config.tls;
  if (config.maxClientConnections !== undefined) {
    listenerOptions.maxClientConnections = config.maxClientConnections;
  }
  const sessions = new Set<ClientSession>();
  const listener = await startClientListener(listenerOptions, (socket) => {
    const session: ClientSession = new ClientSession({
      socket,
      backend,
      config,
      topology,
      prepared,
      guards,
      log,
      onClose: () => sessions.delete(session),
    });
    sessions.add(session);
  });
  // One sweep for every connection's timeouts, a few times per shortest timeout (no timer per
  // connection): 10k connections cost one pass over a Set.
  const sweepMs = sweepInterval(limits);
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const s of sessions) sweepConnection(s, now);
  }, sweepMs);
  sweep.unref();
  const limitsReport = (): ClientLimitsReport => {
    const pausedNow = Object.fromEntries(PAUSE_REASONS.map((r) => [r, 0])) as Record<
      PauseReason,
      number
    >;
    let requestsInFlight = 0;
    let requestBytesInFlight = 0;
    let queuedOutputBytes = 0;
    for (const s of sessions) {
      for (const r of s.pauseReasons) pausedNow[r]++;
      requestsInFlight += s.requestsInFlight;
      requestBytesInFlight += s.requestBytesInFlight;
      queuedOutputBytes += s.queuedOutputBytes;
    }
    return {
      closed: guards.stats.closed,
      pauses: guards.stats.pauses,
      pausedNow,
      duplicateStreamIds: guards.stats.duplicateStreamIds,
      refused: listener.refusedBy,
      maxConnections: listener.maxConnections,
      tlsFailures: listener.tlsFailures,
      requestsInFlight,
      requestBytesInFlight,
      queuedOutputBytes,
      memory: {
        used: budget.used,
        limit: budget.limit,
        exhausted: budget.exhausted,
        exhaustions: budget.exhaustions,
      },
      auth: { mode: guards.auth.mode, ...guards.auth.counts },
    };
  };
  const pendingRequests = (): number => {
    let n = 0;
    for (const s of sessions) n += s.pendingRequests;
    return n;
  };
  log.info({ host: listener.host, port: listener.port }, 'proxy is listening for clients');
  return {
    host: listener.host,
    port: listener.port,
    get connections() {
      return listener.connections;
    },
    get refused() {
      return listener.refused;
    },
    get accepted() {
      return listener.accepted;
    },
    get bytesIn() {
      return listener.bytesRead;
    },
    get bytesOut() {
      return listener.bytesWritten;
    },
    get pendingRequests() {
      return pendingRequests();
    },
    limitsReport,
    drain: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      listener.stopAccepting();
      for (const s of sessions) s.stopReading();
      const pending = pendingRequests();
      while (pendingRequests() > 0 && Date.now() < deadline) await sleep(DRAIN_POLL_MS);
      const unanswered = pendingRequests();
      for (const s of sessions) s.shutdown();
      const hangUpBy = Math.max(deadline, Date.now() + MIN_HANGUP_MS);
      while (listener.connections > 0 && Date.now() < hangUpBy) await sleep(DRAIN_POLL_MS);
      await listener.close();
      clearInterval(sweep);
      return { pending, unanswered };
    },
    close: () => {
      clearInterval(sweep);
      return listener.close();
    },
  };
}

/** A tenth of the shortest timeout in force, between 50 ms and 1 s. */
function sweepInterval(limits: ClientSideConfig['limits']): number {
  const timeouts = [limits.handshakeTimeoutMs, limits.idleTimeoutMs, limits.writeTimeoutMs].filter(
    (t) => t > 0,
  );
  const shortest = timeouts.length === 0 ? 10_000 : Math.min(...timeouts);
  return Math.min(1000, Math.max(50, Math.floor(shortest / 10)));
}
