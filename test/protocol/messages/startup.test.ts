import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  StartupOption,
  decodeStartup,
  encodeStartup,
} from '../../../src/protocol/messages/startup.js';
import { hex } from '../../helpers/chunking.js';
import {
  embedded,
  expectEveryTruncationFails,
  expectProtocolError,
  fuzzDecoder,
  textArb,
} from './request-test-helpers.js';

// spec v4 §4.1.1 STARTUP: <options: [string map]>
const GOLDEN = hex(`
  00 02                                       // [string map] n = 2
  00 0b 43 51 4c 5f 56 45 52 53 49 4f 4e      //   "CQL_VERSION"
  00 05 33 2e 30 2e 30                        //   => "3.0.0"
  00 0b 43 4f 4d 50 52 45 53 53 49 4f 4e      //   "COMPRESSION"
  00 03 6c 7a 34                              //   => "lz4"
`);
const OPTIONS = new Map([
  [StartupOption.CQL_VERSION, '3.0.0'],
  [StartupOption.COMPRESSION, 'lz4'],
]);

describe('STARTUP', () => {
  it('decodes the golden body', () => {
    expect(decodeStartup(GOLDEN)).toEqual(OPTIONS);
  });

  it('encodes the golden body from a Map or a plain object', () => {
    expect(encodeStartup(OPTIONS)).toEqual(GOLDEN);
    expect(encodeStartup({ CQL_VERSION: '3.0.0', COMPRESSION: 'lz4' })).toEqual(GOLDEN);
  });

  it('encodes and decodes an empty map', () => {
    expect(encodeStartup({})).toEqual(hex('00 00'));
    expect(decodeStartup(hex('00 00'))).toEqual(new Map());
  });

  it('names the option keys of the specs', () => {
    expect(StartupOption).toMatchObject({
      CQL_VERSION: 'CQL_VERSION',
      COMPRESSION: 'COMPRESSION',
      DRIVER_NAME: 'DRIVER_NAME',
      DRIVER_VERSION: 'DRIVER_VERSION',
      NO_COMPACT: 'NO_COMPACT',
      THROW_ON_OVERLOAD: 'THROW_ON_OVERLOAD',
    });
  });

  it('refuses every truncation, trailing bytes and invalid UTF-8', () => {
    expect(expectEveryTruncationFails(GOLDEN, decodeStartup)).toBe(GOLDEN.length);
    expectProtocolError(() => decodeStartup(Buffer.concat([GOLDEN, hex('00')])));
    expectProtocolError(() => decodeStartup(hex('00 01  00 01 ff  00 00')));
    // A count far beyond the body.
    expectProtocolError(() => decodeStartup(hex('ff ff  00 00 00 00')));
  });

  it('never reads past the end of a view into a larger buffer', () => {
    expect(decodeStartup(embedded(GOLDEN))).toEqual(OPTIONS);
    // One entry claimed, the view ends after the key: the zero bytes beyond must stay unread.
    expectProtocolError(() => decodeStartup(embedded(hex('00 01 00 01 61'), 0x00)));
  });

  it('turns random bytes into a map or a ProtocolError', () => {
    fuzzDecoder(decodeStartup);
  });

  it('round-trips random option maps', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(textArb, textArb), { maxLength: 6 }), (entries) => {
        const map = new Map(entries);
        expect(decodeStartup(encodeStartup(map))).toEqual(map);
      }),
      { numRuns: 200 },
    );
  });
});
