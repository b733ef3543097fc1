// What the primary and the workers of --workers N (workers.ts) say to each other over node:cluster's
// IPC channel, and the bounded store of prepared statements and routing facts they keep to relay.

/** The environment variable that tells a forked worker its number (1..N). */
export const WORKER_ID_ENV = 'CQLPROXY_WORKER_ID';

/** Routing facts kept for relay (one small entry per prepared id). */
export const ROUTING_CAPACITY = 10_000;
/** What one kept message costs beyond its strings (objects, map slot). */
const KEPT_OVERHEAD_BYTES = 128;

/** A PREPARE request frame of a session, and the id the cluster gave it. */
export interface PreparedMessage {
  t: 'prepared';
  id: string;
  frame: string;
  sessionKey: string;
}
/** A prepared id's keyspace and partition key indexes (routing.ts). */
export interface RoutingMessage {
  t: 'routing';
  id: string;
  keyspace: string;
  pkIndexes: number[];
}
export type WorkerToPrimary =
  | { t: 'ready'; fields: Record<string, unknown> }
  | { t: 'answer'; seq: number; value: unknown }
  | PreparedMessage
  | RoutingMessage;
export type PrimaryToWorker =
  | { t: 'ask'; seq: number; what: 'metrics' | 'readiness' }
  | { t: 'shutdown' }
  | PreparedMessage
  | RoutingMessage;

/** Every IPC message of ours carries this key (node:cluster and prom-client send their own). */
export const TAG = 'cqlproxyWorkers';

export function isOurs(message: unknown): message is { [TAG]: WorkerToPrimary | PrimaryToWorker } {
  return typeof message === 'object' && message !== null && TAG in message;
}

/** Messages by key, bounded in bytes and in count, least recently set out first. */
export class KeptMessages<T> {
  private readonly map = new Map<string, { message: T; cost: number }>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly maxCount: number;

  constructor(maxBytes: number, maxCount: number) {
    this.maxBytes = maxBytes;
    this.maxCount = maxCount;
  }

  get size(): number {
    return this.map.size;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, message: T, bytes: number): void {
    const cost = bytes + KEPT_OVERHEAD_BYTES;
    if (cost > this.maxBytes) return;
    const previous = this.map.get(key);
    if (previous !== undefined) {
      this.map.delete(key);
      this.bytes -= previous.cost;
    }
    this.map.set(key, { message, cost });
    this.bytes += cost;
    for (const [oldest, entry] of this.map) {
      if (this.bytes <= this.maxBytes && this.map.size <= this.maxCount) break;
      this.map.delete(oldest);
      this.bytes -= entry.cost;
    }
  }

  *values(): IterableIterator<T> {
    for (const entry of this.map.values()) yield entry.message;
  }
}
