// The routing key of a request, read straight from its frame: the bound values at the partition
// key indexes a PREPARED result gave (spec v4 §4.2.5.4 <pk_index_i>), a single value as is, a
// composite key in Cassandra's CompositeType encoding (<length: u16><value><0x00> per component),
// and its Murmur3 token. Nothing is decoded that routing does not need and nothing is allocated
// per request: a single-column key is hashed where it lies in the frame, a composite one is
// assembled in a scratch buffer reused by every call.
//
// EXECUTE (spec v4 §4.1.6, v5 §4.1.6):
//   <id: [short bytes]>[<result_metadata_id: [short bytes]>]<consistency: [short]><flags>
//   [<n: [short]><value_1>...<value_n>]...
// BATCH (spec v4 §4.1.7):
//   <type: [byte]><n: [short]><query_1>...<query_n><consistency>... where each query is
//   <kind: [byte]><string_or_id><n: [short]><value_1>...<value_n>
// Values are [value] ([int] length, -1 null, -2 not set) from v4, [bytes] in v3: a negative length
// means no value either way, which has no routing key.

import {
  HEADER_LENGTH,
  HeaderFlag,
  QueryFlag,
  hasResultMetadataId,
  usesIntQueryFlags,
} from './constants.js';
import { murmur3TokenInto } from './murmur3.js';

/** Where the prepared id of an EXECUTE lies in its frame (see executeId). */
export interface FrameSlice {
  start: number;
  end: number;
}

/** Partition key indexes among the bind markers, each below 65536. */
export type PkIndexes = readonly number[];

/** Growing scratch for composite keys; a key is at most a few components of 64 KiB. */
let composite = Buffer.allocUnsafe(256);

/**
 * The frame flags routing cannot look past: a compressed body, and a custom payload before the
 * message (tracing on a request adds nothing to the body).
 */
const OPAQUE_FLAGS = HeaderFlag.COMPRESSION | HeaderFlag.CUSTOM_PAYLOAD;

/**
 * Where the prepared id of an EXECUTE frame lies, into `out`; false when the frame cannot be read
 * for routing (compressed, custom payload, truncated).
 */
export function executeId(frame: Buffer, out: FrameSlice): boolean {
  if ((frame[1]! & OPAQUE_FLAGS) !== 0 || frame.length < HEADER_LENGTH + 2) return false;
  const length = frame.readUInt16BE(HEADER_LENGTH);
  const start = HEADER_LENGTH + 2;
  if (start + length > frame.length) return false;
  out.start = start;
  out.end = start + length;
  return true;
}

/**
 * The token of the partition an EXECUTE frame names through its bound values at `pkIndexes`, into
 * `token` (high, low halves); `idEnd` is where its id ends (executeId). False when unknown: named
 * values, a missing, null or unset key value, a truncated body.
 */
export function executeToken(
  frame: Buffer,
  version: number,
  idEnd: number,
  pkIndexes: PkIndexes,
  token: Int32Array,
): boolean {
  let pos = idEnd;
  if (hasResultMetadataId(version)) {
    if (pos + 2 > frame.length) return false;
    pos += 2 + frame.readUInt16BE(pos);
  }
  pos += 2; // consistency
  let flags: number;
  if (usesIntQueryFlags(version)) {
    if (pos + 4 > frame.length) return false;
    flags = frame.readInt32BE(pos);
    pos += 4;
  } else {
    if (pos + 1 > frame.length) return false;
    flags = frame[pos]!;
    pos += 1;
  }
  if ((flags & QueryFlag.VALUES) === 0 || (flags & QueryFlag.WITH_NAMES_FOR_VALUES) !== 0)
    return false;
  return valuesToken(frame, pos, pkIndexes, token) >= 0;
}

/**
 * Reads `<n: [short]><value_1>...<value_n>` at `pos` and hashes the values at `pkIndexes` into
 * `token`. Returns the position after the values, or -1 when the key is unknown (a missing, null
 * or unset component) or the bytes are truncated.
 */
function valuesToken(frame: Buffer, pos: number, pkIndexes: PkIndexes, token: Int32Array): number {
  if (pos + 2 > frame.length) return -1;
  const n = (frame[pos]! << 8) | frame[pos + 1]!;
  pos += 2;
  const first = pos;
  const parts = pkIndexes.length;
  if (parts === 0) return -1;
  let found = 0;
  let keyStart = -1;
  let keyEnd = -1;
  for (let i = 0; i < n; i++) {
    if (pos + 4 > frame.length) return -1;
    const length = int32At(frame, pos);
    pos += 4;
    const end = length > 0 ? pos + length : pos;
    if (end > frame.length) return -1;
    for (let c = 0; c < parts; c++) {
      if (pkIndexes[c] !== i) continue;
      if (length < 0) return -1;
      found++;
      keyStart = pos;
      keyEnd = end;
    }
    pos = end;
  }
  if (found !== parts) return -1;
  if (parts === 1) {
    murmur3TokenInto(frame, keyStart, keyEnd, token);
    return pos;
  }
  // Composite: the components in pk order, each found again from the first value (keys have a
  // handful of columns and the values are already known to be in bounds).
  let compositeLength = 0;
  for (let c = 0; c < parts; c++) {
    const target = pkIndexes[c]!;
    let p = first;
    for (let i = 0; i < target; i++) {
      const length = int32At(frame, p);
      p += 4 + (length > 0 ? length : 0);
    }
    const length = int32At(frame, p);
    p += 4;
    if (length > 0xffff) return -1;
    const need = compositeLength + length + 3;
    if (need > composite.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, composite.length * 2));
      composite.copy(bigger, 0, 0, compositeLength);
      composite = bigger;
    }
    composite[compositeLength] = length >>> 8;
    composite[compositeLength + 1] = length & 0xff;
    // A byte loop: Buffer.copy costs more than a key component's few bytes.
    const at = compositeLength + 2;
    for (let b = 0; b < length; b++) composite[at + b] = frame[p + b]!;
    composite[compositeLength + 2 + length] = 0;
    compositeLength += length + 3;
  }
  murmur3TokenInto(composite, 0, compositeLength, token);
  return pos;
}

/** A big-endian [int] at `p`, known to be in bounds (no Buffer method call, no bounds check). */
function int32At(b: Buffer, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

/** One BATCH child's prepared id (its slice in the frame) for the caller to look up. */
export type BatchIdLookup = (frame: Buffer, start: number, end: number) => PkIndexes | undefined;

/**
 * The token shared by every statement of a BATCH frame, into `token`, when each is a prepared
 * statement whose pk indexes `lookup` knows and all name one token. `lookup` may also check that
 * they share a keyspace. False otherwise.
 */
export function batchToken(
  frame: Buffer,
  lookup: BatchIdLookup,
  token: Int32Array,
  scratch: Int32Array,
): boolean {
  if ((frame[1]! & OPAQUE_FLAGS) !== 0) return false;
  let pos = HEADER_LENGTH + 1;
  if (pos + 2 > frame.length) return false;
  const n = frame.readUInt16BE(pos);
  pos += 2;
  if (n === 0) return false;
  for (let s = 0; s < n; s++) {
    if (pos + 3 > frame.length || frame[pos] !== 1) return false;
    const idLength = frame.readUInt16BE(pos + 1);
    const idStart = pos + 3;
    const idEnd = idStart + idLength;
    if (idEnd > frame.length) return false;
    const pkIndexes = lookup(frame, idStart, idEnd);
    if (pkIndexes === undefined) return false;
    const out = s === 0 ? token : scratch;
    const after = valuesToken(frame, idEnd, pkIndexes, out);
    if (after < 0) return false;
    if (s > 0 && (scratch[0] !== token[0] || scratch[1] !== token[1])) return false;
    pos = after;
  }
  return true;
}
