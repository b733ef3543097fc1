import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/constants.js';
import { Backoff } from '../../src/upstream/backoff.js';
import { PREPARED_ENTRY_OVERHEAD_BYTES, PreparedCache } from '../../src/upstream/prepared-cache.js';
import {
  decideOnConnectionClosed,
  decideOnError,
  type RetryState,
} from '../../src/upstream/retry-policy.js';

const state = (idempotent: boolean, over: Partial<RetryState> = {}): RetryState => ({
  sameNodeRetries: 0,
  unavailableRetried: false,
  idempotent: () => idempotent,
  ...over,
});

// docs/cql-proxy-compat.md §4.8, row by row.
describe('retry policy', () => {
  it('read timeout: same node once, only when enough replicas answered without data', () => {
    const t = {
      code: ErrorCode.READ_TIMEOUT,
      message: '',
      consistency: 1,
      received: 2,
      blockFor: 2,
      dataPresent: false,
    } as const;
    expect(decideOnError(t, state(false))).toBe('same-node');
    expect(decideOnError(t, state(false, { sameNodeRetries: 1 }))).toBe('give-up');
    expect(decideOnError({ ...t, received: 1 }, state(true))).toBe('give-up');
    expect(decideOnError({ ...t, dataPresent: true }, state(true))).toBe('give-up');
  });

  it('write timeout: same node once, for idempotent BATCH_LOG writes only', () => {
    const t = {
      code: ErrorCode.WRITE_TIMEOUT,
      message: '',
      consistency: 1,
      received: 0,
      blockFor: 1,
      writeType: 'BATCH_LOG',
    } as const;
    expect(decideOnError(t, state(true))).toBe('same-node');
    expect(decideOnError(t, state(false))).toBe('give-up');
    expect(decideOnError({ ...t, writeType: 'SIMPLE' }, state(true))).toBe('give-up');
  });

  it('unavailable: next node once', () => {
    const u = {
      code: ErrorCode.UNAVAILABLE,
      message: '',
      consistency: 1,
      required: 2,
      alive: 1,
    } as const;
    expect(decideOnError(u, state(false))).toBe('next-node');
    expect(decideOnError(u, state(false, { unavailableRetried: true }))).toBe('give-up');
  });

  it('bootstrapping: next node, always', () => {
    expect(decideOnError({ code: ErrorCode.IS_BOOTSTRAPPING, message: '' }, state(false))).toBe(
      'next-node',
    );
  });

  it('server error, overloaded, truncate error: next node when idempotent', () => {
    for (const code of [
      ErrorCode.SERVER_ERROR,
      ErrorCode.OVERLOADED,
      ErrorCode.TRUNCATE_ERROR,
    ] as const) {
      expect(decideOnError({ code, message: '' }, state(true))).toBe('next-node');
      expect(decideOnError({ code, message: '' }, state(false))).toBe('give-up');
    }
  });

  it('everything else is returned to the client', () => {
    for (const code of [
      ErrorCode.INVALID,
      ErrorCode.SYNTAX_ERROR,
      ErrorCode.UNAUTHORIZED,
      ErrorCode.PROTOCOL_ERROR,
    ] as const) {
      expect(decideOnError({ code, message: '' }, state(true))).toBe('give-up');
    }
  });

  it('connection closed: next node when idempotent', () => {
    expect(decideOnConnectionClosed(state(true))).toBe('next-node');
    expect(decideOnConnectionClosed(state(false))).toBe('give-up');
  });
});

describe('Backoff', () => {
  it('grows exponentially within [base/2, min(max, base*2^n)] and resets', () => {
    const top = new Backoff(100, 1000, () => 1);
    expect([top.next(), top.next(), top.next(), top.next(), top.next()]).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    top.reset();
    expect(top.next()).toBe(100);
    const bottom = new Backoff(100, 1000, () => 0);
    expect([bottom.next(), bottom.next(), bottom.next()]).toEqual([50, 50, 50]);
  });
});

describe('PreparedCache', () => {
  it('evicts the least recently used entry and copies frames', () => {
    // Room for two entries of this size, not three.
    const cost = 5 + PREPARED_ENTRY_OVERHEAD_BYTES + 1 + 1;
    const cache = new PreparedCache(2 * cost + cost - 1);
    const frame = Buffer.from('frame');
    cache.set(Buffer.from([1]), frame, 's');
    cache.set(Buffer.from([2]), frame, 's');
    cache.get(Buffer.from([1]));
    cache.set(Buffer.from([3]), frame, 's');
    expect(cache.get(Buffer.from([2]))).toBeUndefined();
    expect(cache.get(Buffer.from([1]))?.frame).toEqual(frame);
    frame.write('XXXXX');
    expect(cache.get(Buffer.from([1]))?.frame.toString()).toBe('frame');
    expect(cache.forSession('s')).toHaveLength(2);
    expect(cache.size).toBe(2);
  });
});
