// The few native CQL functions a value may call: now(), currentTimeUUID(), uuid(),
// currentTimestamp(), currentDate(), currentTime(), and the conversions applications wrap around
// now(): toTimestamp(now()), toDate(now()), toUnixTimestamp(now()).

import { randomBytes, randomUUID } from 'node:crypto';
import { parseUuid } from '../../src/protocol/writer.js';
import type { Term } from './ast.js';
import { invalid } from './errors.js';
import { type NativeName } from './types.js';

/** 100 ns intervals between 1582-10-15 (the uuid epoch) and 1970-01-01. */
const UUID_EPOCH_OFFSET = 0x01b21dd213814000n;
const NODE = randomBytes(8);
let lastTicks = 0n;

/** A version 1 uuid for `nowMs`, unique and increasing within this process. */
function makeTimeuuid(nowMs: number): Buffer {
  let ticks = BigInt(nowMs) * 10_000n + UUID_EPOCH_OFFSET;
  if (ticks <= lastTicks) ticks = lastTicks + 1n;
  lastTicks = ticks;
  const out = Buffer.alloc(16);
  out.writeUInt32BE(Number(ticks & 0xffffffffn), 0);
  out.writeUInt16BE(Number((ticks >> 32n) & 0xffffn), 4);
  out.writeUInt16BE(Number((ticks >> 48n) & 0x0fffn) | 0x1000, 6);
  NODE.copy(out, 8, 0, 8);
  out[8] = ((out[8] ?? 0) & 0x3f) | 0x80;
  return out;
}

export interface FunctionValue {
  returns: NativeName;
  value: Buffer;
}

function long(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v, 0);
  return b;
}

function dateOf(ms: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(Math.floor(ms / 86_400_000) + 2 ** 31, 0);
  return b;
}

function timeOf(ms: number): Buffer {
  const dayMs = ((ms % 86_400_000) + 86_400_000) % 86_400_000;
  return long(BigInt(dayMs) * 1_000_000n);
}

function argIsNow(args: readonly Term[]): boolean {
  const [a] = args;
  return (
    args.length === 1 &&
    a?.kind === 'function' &&
    (a.name === 'now' || a.name === 'currenttimeuuid') &&
    a.args.length === 0
  );
}

/**
 * Evaluates a function call at `nowMs`. Arguments are limited to now() (what applications
 * write); anything else is an unknown function for this simulator.
 */
export function callFunction(term: Term & { kind: 'function' }, nowMs: number): FunctionValue {
  const { name, args } = term;
  const noArgs = args.length === 0;
  switch (name) {
    case 'now':
    case 'currenttimeuuid':
      if (noArgs) return { returns: 'timeuuid', value: makeTimeuuid(nowMs) };
      break;
    case 'uuid':
      if (noArgs) return { returns: 'uuid', value: parseUuid(randomUUID()) };
      break;
    case 'currenttimestamp':
      if (noArgs) return { returns: 'timestamp', value: long(BigInt(nowMs)) };
      break;
    case 'currentdate':
      if (noArgs) return { returns: 'date', value: dateOf(nowMs) };
      break;
    case 'currenttime':
      if (noArgs) return { returns: 'time', value: timeOf(nowMs) };
      break;
    case 'totimestamp':
      if (argIsNow(args)) return { returns: 'timestamp', value: long(BigInt(nowMs)) };
      break;
    case 'todate':
      if (argIsNow(args)) return { returns: 'date', value: dateOf(nowMs) };
      break;
    case 'tounixtimestamp':
      if (argIsNow(args)) return { returns: 'bigint', value: long(BigInt(nowMs)) };
      break;
    default:
      throw invalid(`Unknown function '${name}'`);
  }
  throw invalid(`Invalid number of arguments in call to function system.${name}`);
}
