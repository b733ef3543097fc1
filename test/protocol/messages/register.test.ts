import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { EventType } from '../../../src/protocol/constants.js';
import {
  decodeRegister,
  encodeRegister,
  isEventType,
} from '../../../src/protocol/messages/register.js';
import { hex } from '../../helpers/chunking.js';
import {
  embedded,
  expectEveryTruncationFails,
  expectProtocolError,
  fuzzDecoder,
} from './request-test-helpers.js';

// spec v4 §4.1.8 REGISTER: <event_types: [string list]>
const GOLDEN = hex(`
  00 03                                                // [string list] n = 3
  00 0f 54 4f 50 4f 4c 4f 47 59 5f 43 48 41 4e 47 45   //   "TOPOLOGY_CHANGE"
  00 0d 53 54 41 54 55 53 5f 43 48 41 4e 47 45         //   "STATUS_CHANGE"
  00 0d 53 43 48 45 4d 41 5f 43 48 41 4e 47 45         //   "SCHEMA_CHANGE"
`);
const TYPES = [EventType.TOPOLOGY_CHANGE, EventType.STATUS_CHANGE, EventType.SCHEMA_CHANGE];

describe('REGISTER', () => {
  it('decodes and encodes the golden body', () => {
    expect(decodeRegister(GOLDEN)).toEqual(TYPES);
    expect(encodeRegister(TYPES)).toEqual(GOLDEN);
  });

  it('accepts an empty list', () => {
    expect(decodeRegister(hex('00 00'))).toEqual([]);
    expect(encodeRegister([])).toEqual(hex('00 00'));
  });

  it('refuses unknown event types when decoding and encoding', () => {
    // "TRACE_COMPLETE" is in Cassandra's source but not in the specs' §4.2.6.
    const body = hex('00 01  00 0e 54 52 41 43 45 5f 43 4f 4d 50 4c 45 54 45');
    expect(expectProtocolError(() => decodeRegister(body)).message).toContain('TRACE_COMPLETE');
    expectProtocolError(() =>
      decodeRegister(hex('00 01 00 0d 73 63 68 65 6d 61 5f 63 68 61 6e 67 65')),
    );
    expectProtocolError(() => encodeRegister(['SCHEMA_CHANGE', 'nope']));
    expect(isEventType('SCHEMA_CHANGE')).toBe(true);
    expect(isEventType('schema_change')).toBe(false);
  });

  it('refuses every truncation, trailing bytes and invalid UTF-8', () => {
    expect(expectEveryTruncationFails(GOLDEN, decodeRegister)).toBe(GOLDEN.length);
    expectProtocolError(() => decodeRegister(Buffer.concat([GOLDEN, hex('00')])));
    expectProtocolError(() => decodeRegister(hex('00 01 00 02 c3 28')));
  });

  it('never reads past the end of a view into a larger buffer', () => {
    expect(decodeRegister(embedded(GOLDEN))).toEqual(TYPES);
  });

  it('turns random bytes into event types or a ProtocolError', () => {
    fuzzDecoder(decodeRegister);
  });

  it('round-trips any list of event types', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...Object.values(EventType)), { maxLength: 5 }), (t) => {
        expect(decodeRegister(encodeRegister(t))).toEqual(t);
      }),
      { numRuns: 100 },
    );
  });
});
