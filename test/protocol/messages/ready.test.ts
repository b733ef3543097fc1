import { describe, expect, it } from 'vitest';
import { ProtocolVersion } from '../../../src/protocol/constants.js';
import { ProtocolErrorCode } from '../../../src/protocol/errors.js';
import { decodeReady, encodeReady, readyFrame } from '../../../src/protocol/messages/ready.js';
import { hex } from '../../helpers/chunking.js';
import { embedded, expectProtocolError } from './response-hostile-input.js';

describe('READY (spec v5 §4.2.2: empty body)', () => {
  it('encodes and decodes an empty body', () => {
    expect(encodeReady(ProtocolVersion.V4)).toEqual(Buffer.alloc(0));
    expect(() => decodeReady(Buffer.alloc(0), ProtocolVersion.V4)).not.toThrow();
  });

  it.each([
    [ProtocolVersion.V3, 0, '83 00 0000 02 00000000'],
    [ProtocolVersion.V4, 1, '84 00 0001 02 00000000'],
    [ProtocolVersion.V5, 0x7fff, '85 00 7fff 02 00000000'],
    [ProtocolVersion.DSE_V2, -1, 'c2 00 ffff 02 00000000'],
  ])('readyFrame(v%i, stream %i) is the 9-byte header alone', (version, stream, golden) => {
    // version | response bit, flags 0, stream, opcode READY, length 0
    expect(readyFrame(version, stream)).toEqual(hex(golden));
  });

  it('refuses a body with anything in it, even when the bytes behind the view are empty', () => {
    expectProtocolError(() => decodeReady(hex('00'), ProtocolVersion.V4));
    expect(() => decodeReady(embedded(Buffer.alloc(0)), ProtocolVersion.V4)).not.toThrow();
  });

  it('refuses unknown versions and stream ids', () => {
    expectProtocolError(
      () => decodeReady(Buffer.alloc(0), 1),
      ProtocolErrorCode.UNSUPPORTED_VERSION,
    );
    expectProtocolError(() => readyFrame(0x7f, 0), ProtocolErrorCode.UNSUPPORTED_VERSION);
    expectProtocolError(() => readyFrame(ProtocolVersion.V4, 0x8000));
  });
});
