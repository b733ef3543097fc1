import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/protocol/constants.js';
import {
  decodeVarint,
  encodeDecimal,
  encodeSignedVint,
  encodeVarint,
  readSignedVint,
} from '../../../sim/engine/numbers.js';
import { decodePagingState, encodePagingState } from '../../../sim/engine/paging-state.js';
import {
  parseDate,
  parseDuration,
  parseTime,
  parseTimestamp,
} from '../../../sim/engine/temporal.js';
import { errorOf } from './engine-helpers.js';

describe('paging state', () => {
  const state = {
    partitionKey: Buffer.from('00000001', 'hex'),
    clustering: [Buffer.from('61', 'hex'), Buffer.alloc(0)],
    remaining: 10,
    inPartition: 3,
  };

  it('golden bytes', () => {
    expect(encodePagingState(state).toString('hex')).toBe(
      [
        '01', // version
        '00000004',
        '00000001', // partition key [bytes]
        '01', // resume after clustering
        '0002',
        '00000001',
        '61',
        '00000000', // clustering values
        '0000000a', // remaining
        '00000003', // in partition
      ].join(''),
    );
    expect(
      encodePagingState({ ...state, clustering: undefined, remaining: undefined }).toString('hex'),
    ).toBe('01' + '0000000400000001' + '00' + 'ffffffff' + '00000003');
  });

  it('round trips', () => {
    expect(decodePagingState(encodePagingState(state))).toEqual(state);
  });

  it('every truncation and any trailing byte is a protocol error', () => {
    const bytes = encodePagingState(state);
    for (let n = 0; n < bytes.length; n++) {
      expect(errorOf(() => decodePagingState(bytes.subarray(0, n))).error.code).toBe(
        ErrorCode.PROTOCOL_ERROR,
      );
    }
    expect(
      errorOf(() => decodePagingState(Buffer.concat([bytes, Buffer.alloc(1)]))).error.code,
    ).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(errorOf(() => decodePagingState(Buffer.from('02', 'hex'))).message).toBe(
      'Invalid value for the paging state',
    );
  });
});

describe('numbers', () => {
  it('varint round trips and is minimal', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 200n), max: 1n << 200n }), (v) => {
        const bytes = encodeVarint(v);
        expect(decodeVarint(bytes)).toBe(v);
        if (bytes.length > 1) {
          const redundant =
            (bytes[0] === 0 && ((bytes[1] ?? 0) & 0x80) === 0) ||
            (bytes[0] === 0xff && ((bytes[1] ?? 0) & 0x80) !== 0);
          expect(redundant).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('signed vints round trip over the whole long range', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (v) => {
        const bytes = encodeSignedVint(v);
        expect(readSignedVint(bytes, 0)).toEqual({ value: v, next: bytes.length });
      }),
      { numRuns: 300 },
    );
    expect(encodeSignedVint(0n).toString('hex')).toBe('00');
    expect(encodeSignedVint(-1n).toString('hex')).toBe('01');
    expect(encodeSignedVint(64n).toString('hex')).toBe('8080');
    expect(readSignedVint(Buffer.from('80', 'hex'), 0)).toBeUndefined();
  });

  it('decimal text', () => {
    expect(encodeDecimal('1e3')?.toString('hex')).toBe('fffffffd01');
    expect(encodeDecimal('.5')?.toString('hex')).toBe('0000000105');
    expect(encodeDecimal('abc')).toBeUndefined();
    expect(encodeDecimal('.')).toBeUndefined();
  });
});

describe('temporal text', () => {
  it('timestamps', () => {
    expect(parseTimestamp('1970-01-01')).toBe(0n);
    expect(parseTimestamp('1970-01-01 00:00:01.5')).toBe(1500n);
    expect(parseTimestamp('1970-01-01T01:00:00+0100')).toBe(0n);
    expect(parseTimestamp('1970-01-01 00:00-01:00')).toBe(3_600_000n);
    expect(parseTimestamp('0001-01-01')).toBe(-62135596800000n);
    expect(parseTimestamp('-5')).toBe(-5n);
    expect(parseTimestamp('2023-02-29')).toBeUndefined();
    expect(parseTimestamp('2023-13-01')).toBeUndefined();
    expect(parseTimestamp('2023-01-01 24:00')).toBeUndefined();
  });

  it('dates and times', () => {
    expect(parseDate('1970-01-01')).toBe(2 ** 31);
    expect(parseDate('1970-01-02')).toBe(2 ** 31 + 1);
    expect(parseDate('4294967296')).toBeUndefined();
    expect(parseTime('00:00:00')).toBe(0n);
    expect(parseTime('23:59:59.999999999')).toBe(86_399_999_999_999n);
    expect(parseTime('24:00:00')).toBeUndefined();
    expect(parseTime('86400000000000')).toBeUndefined();
  });

  it('durations', () => {
    expect(parseDuration('1mo1m1ms')).toEqual({
      months: 1n,
      days: 0n,
      nanoseconds: 60_001_000_000n,
    });
    expect(parseDuration('-2w')).toEqual({ months: 0n, days: -14n, nanoseconds: 0n });
    expect(parseDuration('PT1H')).toEqual({
      months: 0n,
      days: 0n,
      nanoseconds: 3_600_000_000_000n,
    });
    expect(parseDuration('P')).toBeUndefined();
    expect(parseDuration('PT')).toBeUndefined();
    expect(parseDuration('1x')).toBeUndefined();
    expect(parseDuration('99999999999y')).toBeUndefined();
  });
});
