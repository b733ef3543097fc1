// What each simulated node has seen of the schema. The nodes share one catalog and store, but a
// schema change made on one node reaches the others only after a delay (`schemaDelayMs`), as
// Cassandra's schema pull over gossip: until then each node reports its own schema_version (in
// its system.local and in the other nodes' system.peers rows about it), and a statement naming a
// table or keyspace the node has not seen yet gets Cassandra's "unconfigured table <name>" /
// "Keyspace '<name>' does not exist". With no delay (the default) nothing is ever pending, and
// the checks cost one length test.

import { createHash } from 'node:crypto';
import { formatUuid } from '../../src/protocol/reader.js';
import type { SchemaChange } from '../../src/protocol/messages/schema-change.js';
import { keyspaceDoesNotExist, unconfiguredTable } from './errors.js';
import type { Catalog, TableDef } from './schema.js';

interface PendingChange {
  readonly seq: number;
  /** The node that ran the DDL: it sees the change at once. */
  readonly origin: string | undefined;
  /** When the other nodes see it (ms, the engine's clock). */
  readonly visibleAt: number;
  /** A table or keyspace it created, which the other nodes do not know until then. */
  readonly table: TableDef | undefined;
  readonly keyspace: string | undefined;
}

export class SchemaViews {
  private delay = 0;
  private pending: PendingChange[] = [];
  /** Stopped nodes, since when: a change due to reach one after that waits until it is back. */
  private readonly downSince = new Map<string, number>();
  private seq = 0;
  private readonly now: () => number;
  private readonly catalog: Catalog;

  constructor(catalog: Catalog, now: () => number) {
    this.catalog = catalog;
    this.now = now;
  }

  get delayMs(): number {
    return this.delay;
  }

  /** Changes made from now on take this long to reach the other nodes; 0: at once. */
  set delayMs(ms: number) {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`schema delay must be >= 0, got ${ms}`);
    this.delay = ms;
  }

  /**
   * A node stopped or started. While it is down, the changes that were to reach it do not (its
   * schema_version in the others' system.peers stays behind); back up, it has them all at once.
   * Only with a delay: at 0 every node sees every change at once, stopped or not.
   */
  setUp(hostId: string, up: boolean): void {
    if (up) this.downSince.delete(hostId);
    else if (!this.downSince.has(hostId)) this.downSince.set(hostId, this.now());
    this.prune();
  }

  /** A DDL ran on `origin` (after the catalog changed). */
  record(origin: string | undefined, change: SchemaChange): void {
    this.prune();
    if (this.delay <= 0) return;
    let table: TableDef | undefined;
    let keyspace: string | undefined;
    if (change.changeType === 'CREATED') {
      if (change.target === 'TABLE') {
        table = this.catalog.keyspaces.get(change.keyspace)?.tables.get(change.name);
      } else if (change.target === 'KEYSPACE') {
        keyspace = change.keyspace;
      }
    }
    this.pending.push({
      seq: ++this.seq,
      origin,
      visibleAt: this.now() + this.delay,
      table,
      keyspace,
    });
  }

  /** The schema_version node `hostId` reports: the catalog's once it has seen every change. */
  versionOf(hostId: string): string {
    const unseen = this.unseen(hostId);
    if (unseen.length === 0) return this.catalog.schemaVersion;
    const h = createHash('md5');
    h.update(this.catalog.schemaVersion);
    for (const c of unseen) h.update(`:${c.seq}`);
    const b = h.digest();
    b[6] = ((b[6] ?? 0) & 0x0f) | 0x30;
    b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
    return formatUuid(b);
  }

  /** Throws Cassandra's error when node `hostId` has not seen one of these tables yet. */
  checkTables(hostId: string, tables: readonly TableDef[]): void {
    if (this.pending.length === 0) return;
    for (const c of this.unseen(hostId)) {
      for (const t of tables) {
        if (t.keyspace === c.keyspace) throw keyspaceDoesNotExist(t.keyspace);
        if (t === c.table) throw unconfiguredTable(t.name);
      }
    }
  }

  /** Throws "Keyspace ... does not exist" when node `hostId` has not seen that keyspace yet. */
  checkKeyspace(hostId: string, keyspace: string | undefined): void {
    if (this.pending.length === 0 || keyspace === undefined) return;
    for (const c of this.unseen(hostId)) {
      if (c.keyspace === keyspace) throw keyspaceDoesNotExist(keyspace);
    }
  }

  private unseen(hostId: string): PendingChange[] {
    this.prune();
    if (this.pending.length === 0) return [];
    const now = this.now();
    const since = this.downSince.get(hostId);
    return this.pending.filter(
      (c) =>
        c.origin !== hostId && (c.visibleAt > now || (since !== undefined && c.visibleAt > since)),
    );
  }

  /** Changes every node has seen are forgotten. */
  private prune(): void {
    if (this.pending.length === 0) return;
    let keepAfter = this.now();
    for (const since of this.downSince.values()) keepAfter = Math.min(keepAfter, since);
    this.pending = this.pending.filter((c) => c.visibleAt > keepAfter);
  }
}
