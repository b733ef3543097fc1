// The hot-path request counters: every (opcode, error code, origin) comes back as it went in,
// latencies land in the right bucket (an observation equal to a bound belongs to that bound, as
// Prometheus' `le` says), and the buckets come out cumulative.

import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LATENCY_BUCKETS_SECONDS, RequestStats } from '../../src/ops/request-stats.js';
import { ErrorOrigin, NO_ERROR, UNREADABLE_ERROR } from '../../src/upstream/request-outcome.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** What RequestStats computes for a request that took `seconds` (ms in, seconds out). */
const observed = (seconds: number): number => (seconds * 1000) / 1000;

/** Records a request that took `seconds`. */
function record(stats: RequestStats, opcode: number, seconds: number, code = NO_ERROR): void {
  vi.spyOn(performance, 'now').mockReturnValue(seconds * 1000);
  stats.requestDone(opcode, code, ErrorOrigin.CLUSTER, 0);
}

describe('request counts', () => {
  it('give back every (opcode, error code, origin) with its count', () => {
    const origins = Object.values(ErrorOrigin);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            opcode: fc.integer({ min: 0, max: 255 }),
            errorCode: fc.oneof(
              fc.constantFrom(NO_ERROR, UNREADABLE_ERROR, 0x0000, 0x1100, 0x2500),
              fc.integer({ min: 0, max: 0xfffd }),
            ),
            origin: fc.constantFrom(...origins),
          }),
          { maxLength: 50 },
        ),
        (requests) => {
          const stats = new RequestStats();
          const expected = new Map<string, number>();
          for (const r of requests) {
            stats.requestDone(r.opcode, r.errorCode, r.origin, performance.now());
            const key = `${r.opcode}/${r.errorCode}/${r.origin}`;
            expected.set(key, (expected.get(key) ?? 0) + 1);
          }
          const got = new Map(
            stats
              .requestCounts()
              .map((c) => [`${c.opcode}/${c.errorCode}/${c.origin}`, c.count] as const),
          );
          expect(got).toStrictEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('file an error code outside what a [short]-sized code can be as unreadable', () => {
    const stats = new RequestStats();
    for (const code of [0x10000, 0x7fffffff, -3, -1000]) {
      stats.requestDone(0x07, code, ErrorOrigin.CLUSTER, performance.now());
    }
    expect(stats.requestCounts()).toStrictEqual([
      { opcode: 0x07, errorCode: UNREADABLE_ERROR, origin: ErrorOrigin.CLUSTER, count: 4 },
    ]);
  });
});

describe('latency histogram', () => {
  it('puts a value equal to a bound in that bound, above it in the next', () => {
    const stats = new RequestStats();
    record(stats, 0x0a, 0.001);
    record(stats, 0x0a, 0.0010001);
    record(stats, 0x0a, 0);
    record(stats, 0x0a, 11);
    const [h] = stats.latencies();
    const at = (bound: number): number => h!.cumulative[LATENCY_BUCKETS_SECONDS.indexOf(bound)]!;
    expect(at(0.0005)).toBe(1);
    expect(at(0.001)).toBe(2);
    expect(at(0.0025)).toBe(3);
    expect(at(10)).toBe(3);
    expect(h!.count).toBe(4);
    expect(h!.sumSeconds).toBeCloseTo(11.0020001, 9);
  });

  it('keeps one histogram per opcode, cumulative and ending at most at the count', () => {
    const stats = new RequestStats();
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom(0x07, 0x09, 0x0a, 0x0d),
            fc.double({ min: 0, max: 20, noNaN: true }),
          ),
          {
            maxLength: 40,
          },
        ),
        (observations) => {
          const fresh = new RequestStats();
          for (const [opcode, seconds] of observations) record(fresh, opcode, seconds);
          for (const h of fresh.latencies()) {
            const mine = observations.filter(([op]) => op === h.opcode).map(([, s]) => observed(s));
            expect(h.count).toBe(mine.length);
            LATENCY_BUCKETS_SECONDS.forEach((bound, i) => {
              expect(h.cumulative[i]).toBe(mine.filter((s) => s <= bound).length);
            });
          }
          expect(fresh.latencies().map((h) => h.opcode)).toStrictEqual(
            [...new Set(observations.map(([op]) => op))].sort((a, b) => a - b),
          );
        },
      ),
      { numRuns: 200 },
    );
    expect(stats.latencies()).toStrictEqual([]);
  });
});
