import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolVersion } from '../../../src/protocol/constants.js';
import {
  decodeSupported,
  encodeSupported,
  supportedFrame,
} from '../../../src/protocol/messages/supported.js';
import { hex } from '../../helpers/chunking.js';
import { text } from './response-arbitraries.js';
import {
  embedded,
  expectEveryTruncationThrows,
  expectProtocolError,
  expectTrailingByteThrows,
} from './response-hostile-input.js';

const OPTIONS = new Map([
  ['CQL_VERSION', ['3.4.5']],
  ['COMPRESSION', ['lz4', 'snappy']],
]);

const BODY = hex(`
  0002                          // [string multimap] 2 keys
  000b 43514c5f56455253494f4e   // "CQL_VERSION"
  0001                          //   1 value
  0005 332e342e35               //   "3.4.5"
  000b 434f4d5052455353494f4e   // "COMPRESSION"
  0002                          //   2 values
  0003 6c7a34                   //   "lz4"
  0006 736e61707079             //   "snappy"
`);

describe('SUPPORTED (spec v5 §4.2.4: [string multimap])', () => {
  it('decodes the golden body', () => {
    expect(decodeSupported(BODY, ProtocolVersion.V4)).toEqual(OPTIONS);
    expect(decodeSupported(embedded(BODY), ProtocolVersion.V5)).toEqual(OPTIONS);
  });

  it('encodes a Map or a record to the golden body', () => {
    expect(encodeSupported(ProtocolVersion.V4, OPTIONS)).toEqual(BODY);
    expect(
      encodeSupported(ProtocolVersion.V4, {
        CQL_VERSION: ['3.4.5'],
        COMPRESSION: ['lz4', 'snappy'],
      }),
    ).toEqual(BODY);
  });

  it('supportedFrame writes the whole frame', () => {
    const frame = supportedFrame(ProtocolVersion.V4, 3, OPTIONS);
    // v4 response, flags 0, stream 3, opcode SUPPORTED, length 52
    expect(frame).toEqual(Buffer.concat([hex('84 00 0003 06 00000034'), BODY]));
    expect(BODY.length).toBe(52);
  });

  it('throws ProtocolError on truncation, trailing bytes and invalid UTF-8', () => {
    expectEveryTruncationThrows(BODY, (b) => decodeSupported(b, ProtocolVersion.V4));
    expectTrailingByteThrows(BODY, (b) => decodeSupported(b, ProtocolVersion.V4));
    expectProtocolError(() => decodeSupported(hex('0001 0001 ff 0000'), ProtocolVersion.V4));
    expectProtocolError(() => decodeSupported(hex('ffff 0001 41 0000'), ProtocolVersion.V4));
  });

  it('refuses more values than a [short] can count', () => {
    const many = Array.from({ length: 0x10000 }, () => '');
    expectProtocolError(() => encodeSupported(ProtocolVersion.V4, { X: many }));
    expectProtocolError(() => supportedFrame(ProtocolVersion.V4, 0x8000, OPTIONS));
  });

  it('round-trips random multimaps (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(text(), fc.array(text(), { maxLength: 4 })), (dict) => {
        const map = new Map(Object.entries(dict));
        expect(
          decodeSupported(encodeSupported(ProtocolVersion.V5, map), ProtocolVersion.V5),
        ).toEqual(map);
      }),
      { numRuns: 200 },
    );
  });
});
