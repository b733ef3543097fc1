// PreparedRegistry remembers which prepared ids are schema changes or TRUNCATE, so their EXECUTE
// gets --schema-timeout; the check reads the id in place in the EXECUTE body.

import { describe, expect, it } from 'vitest';
import { LONG_RUNNING_CAPACITY, PreparedRegistry } from '../../src/client/prepared-registry.js';

/** An EXECUTE body's start: [short bytes] id, then whatever follows. */
function executeBody(id: Buffer, prefix = 0): Buffer {
  const body = Buffer.alloc(prefix + 2 + id.length + 4, 0xee);
  body.writeUInt16BE(id.length, prefix);
  id.copy(body, prefix + 2);
  return body;
}

const id = (n: number): Buffer => Buffer.alloc(16, n);

describe('PreparedRegistry long-running ids', () => {
  it('knows none until a schema change or TRUNCATE is prepared', () => {
    const r = new PreparedRegistry();
    r.remember(id(1), { idempotent: true, select: true });
    r.remember(id(2), { idempotent: false, select: false, longRunning: false });
    expect(r.hasLongRunning).toBe(false);
    expect(r.isLongRunningAt(executeBody(id(1)), 0)).toBe(false);
  });

  it('finds a long-running id in an EXECUTE body, at any offset, and no other', () => {
    const r = new PreparedRegistry();
    r.remember(id(3), { idempotent: false, select: false, longRunning: true });
    r.remember(id(3), { idempotent: false, select: false, longRunning: true });
    expect(r.hasLongRunning).toBe(true);
    expect(r.lookup(id(3))?.longRunning).toBe(true);
    expect(r.isLongRunningAt(executeBody(id(3)), 0)).toBe(true);
    expect(r.isLongRunningAt(executeBody(id(3), 7), 7)).toBe(true);
    expect(r.isLongRunningAt(executeBody(id(4)), 0)).toBe(false);
    // A shorter id that is a prefix of it is another id.
    expect(r.isLongRunningAt(executeBody(id(3).subarray(0, 8)), 0)).toBe(false);
  });

  it('never throws on a body too short for its id', () => {
    const r = new PreparedRegistry();
    r.remember(id(5), { idempotent: false, select: false, longRunning: true });
    expect(r.isLongRunningAt(Buffer.alloc(1), 0)).toBe(false);
    expect(r.isLongRunningAt(executeBody(id(5)).subarray(0, 10), 0)).toBe(false);
    expect(r.isLongRunningAt(executeBody(id(5)), 100)).toBe(false);
  });

  it('keeps the most recent LONG_RUNNING_CAPACITY ids', () => {
    const r = new PreparedRegistry();
    const ids = Array.from({ length: LONG_RUNNING_CAPACITY + 1 }, (_, i) => {
      const b = Buffer.alloc(16);
      b.writeUInt32BE(i, 0);
      return b;
    });
    for (const b of ids) r.remember(b, { idempotent: false, select: false, longRunning: true });
    expect(r.isLongRunningAt(executeBody(ids[0] ?? id(0)), 0)).toBe(false);
    expect(r.isLongRunningAt(executeBody(ids[1] ?? id(0)), 0)).toBe(true);
    expect(r.isLongRunningAt(executeBody(ids.at(-1) ?? id(0)), 0)).toBe(true);
  });
});
