// The prepared statements one node knows. The engine is shared by the whole cluster, but a real
// Cassandra node caches prepared statements on its own: an EXECUTE of an id prepared only on
// another node gets UNPREPARED there, and the driver re-prepares on that node and retries. Drivers
// also prepare on every host up front (Node's prepareOnAllHosts, Python's prepare_on_all_hosts),
// so the normal flow never meets it; forget() makes it happen on purpose.

export class PreparedCache {
  /** Query text by prepared id (hex): the text is what fault rules match for EXECUTE. */
  private readonly queries = new Map<string, string>();

  remember(id: Uint8Array, query: string): void {
    this.queries.set(Buffer.from(id).toString('hex'), query);
  }

  /** The prepared query text, or undefined when this node has not prepared `id`. */
  query(id: Uint8Array): string | undefined {
    return this.queries.get(Buffer.from(id).toString('hex'));
  }

  /** The node "restarted with an empty cache": every id must be prepared again. */
  forget(): void {
    this.queries.clear();
  }

  get size(): number {
    return this.queries.size;
  }
}
