// The serialized partition key, which the token is computed from and partitions are keyed by:
// the value itself for a single-column key, Cassandra's CompositeType encoding otherwise
// (<length: u16><value><end-of-component: 0x00> per column) — the same bytes drivers build as
// the routing key (spec v4 §4.2.5.4 "pk_index").

import { invalid } from './errors.js';

const MAX_KEY_LENGTH = 0xffff;

export function serializePartitionKey(values: readonly Buffer[]): Buffer {
  for (const v of values) {
    if (v.length > MAX_KEY_LENGTH) {
      throw invalid(`Key length of ${v.length} is longer than maximum of ${MAX_KEY_LENGTH}`);
    }
  }
  if (values.length === 1) {
    const only = values[0] ?? Buffer.alloc(0);
    if (only.length === 0) throw invalid('Key may not be empty');
    return only;
  }
  const parts: Buffer[] = [];
  for (const v of values) {
    const head = Buffer.alloc(2);
    head.writeUInt16BE(v.length, 0);
    parts.push(head, v, Buffer.from([0]));
  }
  return Buffer.concat(parts);
}
