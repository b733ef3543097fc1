// The paging state the engine hands out with a page and gets back for the next one (spec v4
// §8 "the paging_state is opaque"). It says where the last page stopped, so the next page
// starts right after it even if rows were written or deleted in between:
//   <version: byte = 1><partition key: [bytes]><position: byte>
//   <n: short><clustering value: [bytes]> x n   (position 1 only)
//   <remaining: int>        rows the LIMIT still allows, -1 without LIMIT
//   <in partition: int>     rows already returned from that partition (PER PARTITION LIMIT)
// position 0: the whole partition was returned (DISTINCT, static-only row); 1: resume after the
// clustering values.

import { CqlReader } from '../../src/protocol/reader.js';
import { CqlWriter } from '../../src/protocol/writer.js';
import { protocolError } from './errors.js';

const VERSION = 1;

export interface PagingState {
  partitionKey: Buffer;
  /** undefined: resume with the next partition. */
  clustering: Buffer[] | undefined;
  /** Rows the LIMIT still allows; undefined without LIMIT. */
  remaining: number | undefined;
  inPartition: number;
}

export function encodePagingState(state: PagingState): Buffer {
  const w = new CqlWriter(64);
  w.writeByte(VERSION);
  w.writeBytes(state.partitionKey);
  if (state.clustering === undefined) {
    w.writeByte(0);
  } else {
    w.writeByte(1);
    w.writeShort(state.clustering.length);
    for (const v of state.clustering) w.writeBytes(v);
  }
  w.writeInt(state.remaining ?? -1);
  w.writeInt(state.inPartition);
  return Buffer.from(w.finish());
}

/** Reads a paging state; anything the engine did not write is a protocol error, as in Cassandra. */
export function decodePagingState(bytes: Buffer): PagingState {
  try {
    const r = new CqlReader(bytes);
    if (r.readByte() !== VERSION) throw new Error('version');
    const partitionKey = r.readBytes();
    if (partitionKey === null) throw new Error('key');
    let clustering: Buffer[] | undefined;
    const position = r.readByte();
    if (position === 1) {
      const n = r.readShort();
      clustering = [];
      for (let i = 0; i < n; i++) {
        const v = r.readBytes();
        if (v === null) throw new Error('clustering');
        clustering.push(Buffer.from(v));
      }
    } else if (position !== 0) {
      throw new Error('position');
    }
    const remaining = r.readInt();
    const inPartition = r.readInt();
    r.expectEnd('paging state');
    return {
      partitionKey: Buffer.from(partitionKey),
      clustering,
      remaining: remaining < 0 ? undefined : remaining,
      inPartition,
    };
  } catch {
    throw protocolError('Invalid value for the paging state');
  }
}
