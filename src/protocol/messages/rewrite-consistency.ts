// In-place rewrite of a request's [consistency], for Astra's write-consistency guardrail
// (docs/astra.md §6.3: writes at ANY/ONE/LOCAL_ONE are refused; cql-proxy rewrites them to
// LOCAL_QUORUM). The offset comes from decodeQueryHead/decodeExecuteHead/decodeBatch, taken on the
// same body view: the frame is rewritten where it lies and forwarded without a copy.

import { malformed } from '../errors.js';
import { checkShort } from './field-checks.js';

/** Writes `level` as the [consistency] at `consistencyOffset` in `body`; returns the old level. */
export function rewriteConsistency(body: Buffer, consistencyOffset: number, level: number): number {
  if (
    !Number.isInteger(consistencyOffset) ||
    consistencyOffset < 0 ||
    consistencyOffset + 2 > body.length
  ) {
    throw malformed(`consistency offset ${consistencyOffset} outside a ${body.length}-byte body`);
  }
  checkShort(level, 'consistency');
  const previous = body.readUInt16BE(consistencyOffset);
  body.writeUInt16BE(level, consistencyOffset);
  return previous;
}
