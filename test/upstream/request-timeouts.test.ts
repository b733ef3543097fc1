// The two timeout lists (request-timeouts.ts): ordinary requests expire at --request-timeout,
// schema changes and TRUNCATE at --schema-timeout, each list in start order, so a long request
// started first never holds back the expiry of a short one started after it.

import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/constants.js';
import { RequestTimeouts, type TimedRequest } from '../../src/upstream/request-timeouts.js';

const made: RequestTimeouts[] = [];
afterEach(() => {
  for (const t of made.splice(0)) t.close();
});

function timeouts(shortMs: number, longMs?: number, onTimeout?: () => void): RequestTimeouts {
  const t = new RequestTimeouts(shortMs, onTimeout, longMs);
  made.push(t);
  return t;
}

interface FakeRequest extends TimedRequest {
  name: string;
  failed: string | undefined;
}

function request(
  t: RequestTimeouts,
  name: string,
  startedAt: number,
  longRunning = false,
): FakeRequest {
  const r: FakeRequest = {
    name,
    deadline: startedAt + t.timeoutFor(longRunning),
    longRunning,
    timeoutPrev: undefined,
    timeoutNext: undefined,
    timeoutLinked: false,
    failed: undefined,
    failWith(code, message) {
      expect(code).toBe(ErrorCode.SERVER_ERROR);
      this.failed = message;
    },
  };
  t.add(r);
  return r;
}

describe('RequestTimeouts', () => {
  it('gives each kind its own timeout; the long one defaults to the short one', () => {
    const t = timeouts(100, 2_000);
    expect(t.timeoutFor(false)).toBe(100);
    expect(t.timeoutFor(true)).toBe(2_000);
    expect(timeouts(500).timeoutFor(true)).toBe(500);
  });

  it('expires short requests behind a long one started earlier, and the long one at its own deadline', () => {
    let fired = 0;
    const t = timeouts(100, 2_000, () => fired++);
    const truncate = request(t, 'truncate', 0, true);
    const a = request(t, 'a', 10);
    const b = request(t, 'b', 20);
    const create = request(t, 'create', 30, true);
    expect(t.size).toBe(4);

    t.sweep(115);
    expect(a.failed).toBe('Proxy timed out after 100 ms waiting for the cluster to answer');
    expect(b.failed).toBeUndefined();
    expect(truncate.failed).toBeUndefined();
    t.sweep(500);
    expect(b.failed).toBeDefined();
    expect(truncate.failed).toBeUndefined();
    expect(t.size).toBe(2);
    expect(fired).toBe(2);

    t.sweep(2_000);
    expect(truncate.failed).toBe('Proxy timed out after 2000 ms waiting for the cluster to answer');
    expect(create.failed).toBeUndefined();
    t.sweep(2_030);
    expect(create.failed).toBeDefined();
    expect(t.size).toBe(0);
    expect(fired).toBe(4);
  });

  it('unlinks answered requests from whichever list holds them', () => {
    const t = timeouts(100, 1_000);
    const l1 = request(t, 'l1', 0, true);
    const s1 = request(t, 's1', 0);
    const l2 = request(t, 'l2', 1, true);
    const s2 = request(t, 's2', 1);
    t.remove(l1);
    t.remove(s2);
    t.remove(s2); // twice: nothing happens
    expect(t.size).toBe(2);
    expect(l1.timeoutLinked).toBe(false);
    t.sweep(5_000);
    expect(s1.failed).toBeDefined();
    expect(l2.failed).toBeDefined();
    expect(l1.failed).toBeUndefined();
    expect(s2.failed).toBeUndefined();
    expect(t.size).toBe(0);
    // The lists still work after being emptied from both ends.
    const again = request(t, 'again', 6_000, true);
    t.sweep(6_999);
    expect(again.failed).toBeUndefined();
    t.sweep(7_000);
    expect(again.failed).toBeDefined();
  });
});
