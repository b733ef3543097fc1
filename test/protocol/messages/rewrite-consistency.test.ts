import { describe, it, expect } from 'vitest';
import { rewriteConsistency } from '../../../src/protocol/messages/rewrite-consistency.js';
import { hex } from '../../helpers/chunking.js';
import { expectProtocolError } from './request-test-helpers.js';

describe('rewriteConsistency', () => {
  it('writes the [consistency] short at the offset and returns the old one', () => {
    const body = hex('aa  00 01  bb');
    expect(rewriteConsistency(body, 1, 0x0006)).toBe(0x0001);
    expect(body).toEqual(hex('aa  00 06  bb'));
  });

  it('writes into the buffer behind a view, within the view', () => {
    const big = hex('11 22 33 44 55 66');
    const view = big.subarray(2, 5);
    rewriteConsistency(view, 1, 0xabcd);
    expect(big).toEqual(hex('11 22 33 ab cd 66'));
  });

  it('refuses offsets outside the body, also at the edge of a view', () => {
    const big = hex('00 00 00 00 00 00');
    const view = big.subarray(0, 3);
    for (const offset of [-1, 2, 3, 1.5, Number.NaN]) {
      expectProtocolError(() => rewriteConsistency(view, offset, 1));
    }
    expect(big).toEqual(hex('00 00 00 00 00 00'));
  });

  it('refuses levels that are not a [short]', () => {
    for (const level of [-1, 0x10000, 2.5]) {
      expectProtocolError(() => rewriteConsistency(hex('00 00'), 0, level));
    }
  });
});
