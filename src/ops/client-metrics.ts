// The client side's metrics: connections, bytes, pending requests, and what the client-side
// limits (README "Reliability") are doing, read from ClientSide when /metrics is scraped.

import { Counter, type Registry } from 'prom-client';
import type { ClientLimitsReport } from '../client/client-side.js';
import { METRIC_PREFIX, counter, gauge, labelled } from './metric-kinds.js';

/** What the client side reports (ClientSide satisfies it). */
export interface ClientMetricsSource {
  readonly connections: number;
  readonly accepted: number;
  readonly refused: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly pendingRequests: number;
  /** What the client-side limits are doing (computed at scrape time). */
  limitsReport?(): ClientLimitsReport;
}

/** Registers the client side's metrics; they read zero while `client()` is undefined. */
export function registerClientMetrics(
  registry: Registry,
  client: () => ClientMetricsSource | undefined,
): void {
  const registers = [registry];
  const p = METRIC_PREFIX;
  const value = (read: (c: ClientMetricsSource) => number) => (): number => {
    const c = client();
    return c === undefined ? 0 : read(c);
  };
  gauge(
    registers,
    `${p}client_connections`,
    'Client connections open',
    value((c) => c.connections),
  );
  counter(
    registers,
    `${p}client_connections_total`,
    'Client connections accepted',
    value((c) => c.accepted),
  );
  counter(
    registers,
    `${p}client_connections_rejected_total`,
    'Client connections closed on arrival because --max-client-connections were open',
    value((c) => c.refused),
  );
  counter(
    registers,
    `${p}client_received_bytes_total`,
    'Bytes read from client connections',
    value((c) => c.bytesIn),
  );
  counter(
    registers,
    `${p}client_sent_bytes_total`,
    'Bytes written to client connections',
    value((c) => c.bytesOut),
  );
  gauge(
    registers,
    `${p}client_requests_pending`,
    'Requests read from clients and not answered yet',
    value((c) => c.pendingRequests),
  );
  registerClientLimitMetrics(registry, client);
}

/** What the client-side limits did, read once per scrape. */
function registerClientLimitMetrics(
  registry: Registry,
  client: () => ClientMetricsSource | undefined,
): void {
  const registers = [registry];
  const p = METRIC_PREFIX;
  // Each metric asks for the report: a pass over the open connections, cheap even at the
  // connection limit, and always current.
  const report = (): ClientLimitsReport | undefined => client()?.limitsReport?.();
  const value = (read: (r: ClientLimitsReport) => number) => (): number => {
    const r = report();
    return r === undefined ? 0 : read(r);
  };
  labelled(
    'counter',
    registers,
    `${p}client_connections_closed_total`,
    'Client connections the proxy closed on its own, by reason (handshake_timeout, idle_timeout, write_timeout, output_overflow, frame_too_large, protocol_error)',
    'reason',
    () => report()?.closed,
  );
  labelled(
    'counter',
    registers,
    `${p}client_connections_refused_total`,
    'Client connections closed on arrival, by reason (max_connections, descriptors)',
    'reason',
    () => report()?.refused,
  );
  gauge(
    registers,
    `${p}client_connections_max`,
    'The client connection limit in force (--max-client-connections, or lower for file descriptors)',
    value((r) => r.maxConnections ?? 0),
  );
  labelled(
    'gauge',
    registers,
    `${p}client_connections_paused`,
    'Client connections not being read right now, by reason (requests, request_bytes, output, memory)',
    'reason',
    () => report()?.pausedNow,
  );
  labelled(
    'counter',
    registers,
    `${p}client_pauses_total`,
    'Times a client connection stopped being read, by reason',
    'reason',
    () => report()?.pauses,
  );
  counter(
    registers,
    `${p}client_tls_handshake_failures_total`,
    'Client TLS handshakes that failed: no or untrusted client certificate, refused version, timeout',
    value((r) => r.tlsFailures),
  );
  counter(
    registers,
    `${p}client_duplicate_stream_ids_total`,
    'Requests refused because their stream id was still in flight on the connection',
    value((r) => r.duplicateStreamIds),
  );
  gauge(
    registers,
    `${p}client_requests_in_flight`,
    'Requests forwarded for clients and not answered yet',
    value((r) => r.requestsInFlight),
  );
  gauge(
    registers,
    `${p}client_request_bytes_in_flight`,
    'Bytes of those requests',
    value((r) => r.requestBytesInFlight),
  );
  gauge(
    registers,
    `${p}client_output_queued_bytes`,
    'Bytes of answers queued for clients and not yet taken by the kernel',
    value((r) => r.queuedOutputBytes),
  );
  gauge(
    registers,
    `${p}memory_in_flight_bytes`,
    'Bytes held for all clients (requests in flight and answers queued), counted against --memory-budget',
    value((r) => r.memory.used),
  );
  gauge(
    registers,
    `${p}memory_budget_bytes`,
    'The --memory-budget in force',
    value((r) => r.memory.limit),
  );
  gauge(
    registers,
    `${p}memory_budget_exhausted`,
    '1 while the memory budget is spent and no client is read',
    value((r) => (r.memory.exhausted ? 1 : 0)),
    'max',
  );
  new Counter({
    name: `${p}client_auth_total`,
    help: 'Client logins by mode (users, passthrough) and outcome (success, failure)',
    labelNames: ['mode', 'outcome'] as const,
    registers,
    collect() {
      this.reset();
      const auth = report()?.auth;
      if (auth === undefined || auth.mode === 'none') return;
      this.inc({ mode: auth.mode, outcome: 'success' }, auth.successes);
      this.inc({ mode: auth.mode, outcome: 'failure' }, auth.failures);
    },
  });
  counter(
    registers,
    `${p}memory_budget_exhaustions_total`,
    'Times the memory budget was spent',
    value((r) => r.memory.exhaustions),
  );
}
