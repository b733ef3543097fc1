import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HeaderFlag, Opcode } from '../../src/protocol/constants.js';
import {
  encodeHeader,
  frameBody,
  frameFlags,
  frameOpcode,
  frameStreamId,
  frameVersion,
  patchStreamId,
  readHeader,
  setFrameFlags,
} from '../../src/protocol/header.js';
import { hex } from '../helpers/chunking.js';

// spec v4 §2: version, flags, stream (2 bytes, signed), opcode, length (4 bytes).
describe('frame header', () => {
  const cases = [
    {
      name: 'v4 OPTIONS request, stream 1',
      bytes: hex('04 00 0001 05 00000000'),
      header: {
        version: 4,
        response: false,
        flags: 0,
        streamId: 1,
        opcode: Opcode.OPTIONS,
        bodyLength: 0,
      },
    },
    {
      name: 'v3 READY response, stream 0x7fff',
      bytes: hex('83 00 7fff 02 00000000'),
      header: {
        version: 3,
        response: true,
        flags: 0,
        streamId: 0x7fff,
        opcode: Opcode.READY,
        bodyLength: 0,
      },
    },
    {
      name: 'v5 EVENT response on stream -1 with warning flag',
      bytes: hex('85 08 ffff 0c 00000010'),
      header: {
        version: 5,
        response: true,
        flags: HeaderFlag.WARNING,
        streamId: -1,
        opcode: Opcode.EVENT,
        bodyLength: 16,
      },
    },
    {
      name: 'DSE v2 QUERY request, compressed + tracing, stream -32768',
      bytes: hex('42 03 8000 07 00010000'),
      header: {
        version: 0x42,
        response: false,
        flags: 3,
        streamId: -32768,
        opcode: Opcode.QUERY,
        bodyLength: 65536,
      },
    },
    {
      name: 'DSE v1 RESULT response',
      bytes: hex('c1 00 0102 08 7fffffff'),
      header: {
        version: 0x41,
        response: true,
        flags: 0,
        streamId: 0x0102,
        opcode: Opcode.RESULT,
        bodyLength: 0x7fffffff,
      },
    },
  ];

  for (const c of cases) {
    it(`reads and writes ${c.name}`, () => {
      expect(readHeader(c.bytes)).toEqual(c.header);
      expect(encodeHeader(c.header)).toEqual(c.bytes);
      expect(frameVersion(c.bytes)).toBe(c.header.version);
      expect(frameFlags(c.bytes)).toBe(c.header.flags);
      expect(frameStreamId(c.bytes)).toBe(c.header.streamId);
      expect(frameOpcode(c.bytes)).toBe(c.header.opcode);
    });
  }

  it('reads a header at an offset inside a larger buffer', () => {
    const buf = Buffer.concat([hex('ffffff'), hex('84 00 0005 08 00000004'), hex('00000001')]);
    expect(readHeader(buf, 3)).toMatchObject({
      version: 4,
      response: true,
      streamId: 5,
      bodyLength: 4,
    });
  });

  it('patches the stream id in place and touches nothing else', () => {
    const frame = hex('04 00 0001 0a 00000003 aabbcc');
    const before = Buffer.from(frame);
    patchStreamId(frame, -2);
    expect(frame).toEqual(hex('04 00 fffe 0a 00000003 aabbcc'));
    patchStreamId(frame, 1);
    expect(frame).toEqual(before);
  });

  it('patches a frame that is a view into a shared chunk', () => {
    const chunk = hex('04 00 0001 05 00000000 04 00 0002 05 00000000');
    patchStreamId(chunk.subarray(9), 0x1234);
    expect(chunk).toEqual(hex('04 00 0001 05 00000000 04 00 1234 05 00000000'));
  });

  it('sets flags in place and exposes the body as a view', () => {
    const frame = hex('84 00 0001 08 00000002 abcd');
    setFrameFlags(frame, HeaderFlag.COMPRESSION);
    expect(frame.readUInt8(1)).toBe(1);
    const body = frameBody(frame);
    expect(body).toEqual(hex('abcd'));
    body.writeUInt8(0, 0);
    expect(frame.readUInt8(9)).toBe(0);
  });

  it('round-trips every field (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(3, 4, 5, 0x41, 0x42),
        fc.boolean(),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: -32768, max: 32767 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0x7fffffff }),
        (version, response, flags, streamId, opcode, bodyLength) => {
          const h = { version, response, flags, streamId, opcode, bodyLength };
          expect(readHeader(encodeHeader(h))).toEqual(h);
        },
      ),
      { numRuns: 300 },
    );
  });
});
