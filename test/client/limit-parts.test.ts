// The small parts the client limits are built of: the in-flight stream id set, the memory budget
// with its hysteresis, the descriptor limit reader, and the burst log.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BurstLog } from '../../src/client/burst-log.js';
import {
  clientConnectionsForDescriptors,
  descriptorLimit,
  reservedDescriptors,
} from '../../src/client/descriptors.js';
import { MemoryBudget, defaultMemoryBudget } from '../../src/client/memory-budget.js';
import { StreamSet } from '../../src/client/stream-set.js';

describe('StreamSet', () => {
  it('behaves as a set of 16-bit stream ids (property, against a Set)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: -32768, max: 32767 })), {
          maxLength: 300,
        }),
        (operations) => {
          const set = new StreamSet();
          const model = new Set<number>();
          for (const [add, id] of operations) {
            if (add) {
              set.add(id);
              model.add(id);
            } else {
              set.delete(id);
              model.delete(id);
            }
            expect(set.has(id)).toBe(model.has(id));
          }
          for (const id of model) expect(set.has(id)).toBe(true);
        },
      ),
    );
  });

  it('tells -1 from 32767 and 0 from 32768-wrapped ids', () => {
    const set = new StreamSet();
    set.add(-1);
    expect(set.has(32767)).toBe(false);
    expect(set.has(-1)).toBe(true);
    set.add(0);
    expect(set.has(-32768)).toBe(false);
  });
});

describe('MemoryBudget', () => {
  it('is exhausted past its limit and available again only below three quarters of it', async () => {
    const events: string[] = [];
    const budget = new MemoryBudget(1000, {
      onExhausted: (used) => events.push(`exhausted ${used}`),
      onRecovered: (used) => events.push(`recovered ${used}`),
    });
    budget.add(1000);
    expect(budget.exhausted).toBe(false);
    budget.add(1);
    expect(budget.exhausted).toBe(true);
    const resumed: string[] = [];
    budget.whenAvailable(() => resumed.push('a'));
    budget.add(-200); // 801: still above 750
    expect(budget.exhausted).toBe(true);
    budget.add(-51); // 750
    expect(budget.exhausted).toBe(false);
    expect(events).toEqual(['exhausted 1001', 'recovered 750']);
    // Waiters run on a later turn, never inside add().
    expect(resumed).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(resumed).toEqual(['a']);
    expect(budget.exhaustions).toBe(1);
  });

  it('keeps waiters that would find it exhausted again, and forgets cancelled ones', async () => {
    const budget = new MemoryBudget(100);
    budget.add(101);
    const calls: string[] = [];
    const first = (): void => {
      calls.push('first');
      budget.add(200); // exhausts it again
    };
    const second = (): void => {
      calls.push('second');
    };
    const cancelled = (): void => {
      calls.push('cancelled');
    };
    budget.whenAvailable(first);
    budget.whenAvailable(second);
    budget.whenAvailable(cancelled);
    budget.cancel(cancelled);
    budget.add(-101);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['first']);
    budget.add(-200);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['first', 'second']);
  });

  it('defaults to a quarter of the heap limit, and refuses a nonsense limit', () => {
    expect(defaultMemoryBudget()).toBeGreaterThan(16 * 1024 * 1024);
    expect(() => new MemoryBudget(0)).toThrow(RangeError);
    expect(() => new MemoryBudget(1.5)).toThrow(RangeError);
  });
});

describe('descriptors', () => {
  const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes`;

  it('reads the soft open-files limit from /proc/self/limits text', () => {
    expect(descriptorLimit(LIMITS)).toBe(1024);
    expect(descriptorLimit(LIMITS.replace('1024  ', 'unlimited'))).toBeUndefined();
    expect(descriptorLimit('nothing here')).toBeUndefined();
  });

  it('reads this process’s own limit on Linux', () => {
    const limit = descriptorLimit();
    if (process.platform === 'linux') expect(limit).toBeGreaterThan(0);
  });

  it('keeps an eighth, at least 128, back from clients; at least one client fits', () => {
    expect(reservedDescriptors(256)).toBe(128);
    expect(reservedDescriptors(1_048_576)).toBe(131_072);
    expect(clientConnectionsForDescriptors(1024)).toBe(896);
    expect(clientConnectionsForDescriptors(100)).toBe(1);
    expect(clientConnectionsForDescriptors(undefined)).toBeUndefined();
  });
});

describe('BurstLog', () => {
  it('logs the first occurrence at once, then one line per interval with the count', () => {
    const lines: [object, string][] = [];
    const log = {
      debug: () => undefined,
      info: () => undefined,
      warn: (fields: object, message: string) => lines.push([fields, message]),
    };
    const burst = new BurstLog(log, 'warn', 'storm', 50);
    for (let i = 0; i < 100; i++) burst.note({ i });
    expect(lines).toEqual([[{ i: 0, count: 1 }, 'storm']]);
    const until = Date.now() + 60;
    while (Date.now() < until) {
      // busy-wait past the interval (60 ms): no timer, so the test stays deterministic
    }
    burst.note({ i: 100 });
    expect(lines).toEqual([
      [{ i: 0, count: 1 }, 'storm'],
      [{ i: 100, count: 100 }, 'storm'],
    ]);
  });
});
