import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FrameDecoder,
  INITIAL_PARTIAL_CAPACITY,
  acceptedFirstBytesFor,
} from '../../src/protocol/frame-decoder.js';
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js';
import { chunkings, detached, hex } from '../helpers/chunking.js';

function decodeAll(
  chunks: Buffer[],
  options: { maxFrameLength?: number; direction?: 'request' | 'response' } = {},
): Buffer[] {
  const frames: Buffer[] = [];
  const decoder = new FrameDecoder({ ...options, onFrame: (f) => frames.push(Buffer.from(f)) });
  for (const c of chunks) decoder.push(c);
  expect(decoder.midFrame).toBe(false);
  return frames;
}

/** A frame built by hand: header fields then body. */
function frame(first: number, stream: number, opcode: number, body: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUInt8(first, 0);
  h.writeInt16BE(stream, 2);
  h.writeUInt8(opcode, 4);
  h.writeInt32BE(body.length, 5);
  return Buffer.concat([h, body]);
}

// Golden frames written from the spec (v4 §4.1.1 STARTUP, §4.1.3 OPTIONS, §4.2.2 READY, §4.2.4
// SUPPORTED), one per version the decoder serves.
const STARTUP_V4 = hex(`
  04 00 0001 01 00000016   // v4 request, stream 1, STARTUP, 22-byte body
  0001                     // [string map] with 1 entry
  000b 43514c5f56455253494f4e  // "CQL_VERSION"
  0005 332e302e30          // "3.0.0"
`);
const OPTIONS_V3 = hex('03 00 0000 05 00000000');
const READY_V5 = hex('85 00 0001 02 00000000');
const SUPPORTED_DSE2 = hex(`
  c2 00 0002 06 00000016   // DSE v2 response, stream 2, SUPPORTED, 22 bytes
  0001                     // [string multimap] 1 entry
  000b 434f4d5052455353494f4e // "COMPRESSION"
  0001 0003 6c7a34         // ["lz4"]
`);
const GOLDEN = [STARTUP_V4, OPTIONS_V3, READY_V5, SUPPORTED_DSE2];

describe('FrameDecoder', () => {
  it('golden frames have the lengths their headers declare', () => {
    for (const f of GOLDEN) expect(f.length).toBe(9 + f.readInt32BE(5));
  });

  for (const golden of GOLDEN) {
    for (const { name, chunks } of chunkings(golden)) {
      it(`decodes ${golden.subarray(0, 5).toString('hex')} fed ${name}`, () => {
        expect(decodeAll(chunks)).toEqual([golden]);
      });
    }
  }

  const stream = Buffer.concat(GOLDEN);
  for (const { name, chunks } of chunkings(stream)) {
    it(`decodes four concatenated frames fed ${name}`, () => {
      expect(decodeAll(detached(chunks))).toEqual(GOLDEN);
    });
  }

  it('hands out views into the chunk when a frame lies inside it (no copy)', () => {
    const chunk = Buffer.concat([OPTIONS_V3, READY_V5]);
    const seen: Buffer[] = [];
    const decoder = new FrameDecoder({ onFrame: (f) => seen.push(f) });
    decoder.push(chunk);
    expect(seen).toHaveLength(2);
    expect(seen[0]?.buffer).toBe(chunk.buffer);
    expect(seen[0]?.byteOffset).toBe(chunk.byteOffset);
    expect(seen[1]?.byteOffset).toBe(chunk.byteOffset + 9);
  });

  it('copies a straddling frame into its own buffer and never reuses it', () => {
    const seen: Buffer[] = [];
    const decoder = new FrameDecoder({ onFrame: (f) => seen.push(f) });
    decoder.push(STARTUP_V4.subarray(0, 12));
    decoder.push(STARTUP_V4.subarray(12));
    decoder.push(STARTUP_V4.subarray(0, 5));
    decoder.push(STARTUP_V4.subarray(5));
    expect(seen).toHaveLength(2);
    expect(seen[0]).toEqual(STARTUP_V4);
    expect(seen[1]).toEqual(STARTUP_V4);
    // Distinct memory: writing into one frame must not change the other.
    seen[0]?.writeUInt8(0xee, 9);
    expect(seen[1]?.readUInt8(9)).toBe(0x00);
  });

  it('accepts empty chunks anywhere', () => {
    expect(
      decodeAll([
        Buffer.alloc(0),
        OPTIONS_V3.subarray(0, 3),
        Buffer.alloc(0),
        OPTIONS_V3.subarray(3),
      ]),
    ).toEqual([OPTIONS_V3]);
  });

  it('reports how much it holds while mid-frame', () => {
    const decoder = new FrameDecoder({ onFrame: () => undefined });
    decoder.push(STARTUP_V4.subarray(0, 4));
    expect(decoder.midFrame).toBe(true);
    expect(decoder.bufferedBytes).toBe(4);
    decoder.push(STARTUP_V4.subarray(4, 20));
    expect(decoder.bufferedBytes).toBe(20);
    decoder.push(STARTUP_V4.subarray(20));
    expect(decoder.midFrame).toBe(false);
  });

  describe('hostile input', () => {
    function expectError(
      chunks: Buffer[],
      code: string,
      options: { maxFrameLength?: number; direction?: 'request' | 'response' } = {},
    ): ProtocolError {
      const decoder = new FrameDecoder({ ...options, onFrame: () => undefined });
      let error: unknown;
      try {
        for (const c of chunks) decoder.push(c);
      } catch (e) {
        error = e;
      }
      expect(ProtocolError.isProtocolError(error)).toBe(true);
      const pe = error as ProtocolError;
      expect(pe.code).toBe(code);
      // The framing is lost: every later push fails the same way.
      expect(() => decoder.push(OPTIONS_V3)).toThrow(pe);
      return pe;
    }

    it('refuses a declared length beyond the limit before buffering anything', () => {
      const huge = hex('04 00 0001 07 7fffffff');
      const err = expectError([huge], ProtocolErrorCode.FRAME_TOO_LARGE, {
        maxFrameLength: 1024 * 1024,
      });
      expect(err.message).toContain('exceeds the limit');
    });

    it('refuses an over-limit length even when the header arrives byte by byte', () => {
      const huge = hex('04 00 0001 07 00100000');
      const bytes = Array.from({ length: 9 }, (_, i) => huge.subarray(i, i + 1));
      expectError(bytes, ProtocolErrorCode.FRAME_TOO_LARGE, { maxFrameLength: 1024 });
    });

    it('holds memory in proportion to the bytes received, not to the declared length', () => {
      // 16 MiB declared, a trickle sent: the buffer grows by doubling as bytes arrive.
      const bodyLength = 16 * 1024 * 1024;
      const body = Buffer.alloc(bodyLength, 0xab);
      const whole = frame(0x04, 3, 7, body);
      const frames: Buffer[] = [];
      const decoder = new FrameDecoder({
        maxFrameLength: 32 * 1024 * 1024,
        onFrame: (f) => frames.push(f),
      });
      decoder.push(whole.subarray(0, 19));
      expect(decoder.bufferedBytes).toBe(19);
      expect(decoder.reservedBytes).toBe(INITIAL_PARTIAL_CAPACITY);
      let sent = 19;
      for (const size of [100_000, 300_000, 1_000_000]) {
        decoder.push(whole.subarray(sent, sent + size));
        sent += size;
        expect(decoder.bufferedBytes).toBe(sent);
        expect(decoder.reservedBytes).toBeLessThanOrEqual(2 * sent);
      }
      decoder.push(whole.subarray(sent));
      expect(frames).toHaveLength(1);
      expect(frames[0]!.equals(whole)).toBe(true);
      expect(decoder.reservedBytes).toBe(0);
    });

    it('gives a frame of up to 64 KiB its exact size at once', () => {
      const f = frame(0x04, 1, 7, Buffer.alloc(1000, 7));
      const frames: Buffer[] = [];
      const decoder = new FrameDecoder({ onFrame: (x) => frames.push(x) });
      decoder.push(f.subarray(0, 10));
      expect(decoder.reservedBytes).toBe(f.length);
      decoder.push(f.subarray(10));
      expect(frames).toEqual([f]);
    });

    it('applies a changed limit to the next header, not to a frame already accepted', () => {
      const big = frame(0x04, 1, 7, Buffer.alloc(5000, 1));
      const frames: Buffer[] = [];
      const decoder = new FrameDecoder({ maxFrameLength: 10_000, onFrame: (f) => frames.push(f) });
      decoder.push(big.subarray(0, 100));
      decoder.setMaxFrameLength(1024);
      expect(decoder.maxFrameLength).toBe(1024);
      decoder.push(big.subarray(100));
      expect(frames).toEqual([big]);
      expect(() => decoder.push(big)).toThrow(/exceeds the limit of 1024/);
      expect(() => decoder.setMaxFrameLength(3)).toThrow(RangeError);
    });

    it('accepts a frame of exactly the limit', () => {
      const f = frame(0x04, 1, 7, Buffer.alloc(100));
      expect(decodeAll([f], { maxFrameLength: 109 })).toEqual([f]);
      expectError([f], ProtocolErrorCode.FRAME_TOO_LARGE, { maxFrameLength: 108 });
    });

    it('refuses a negative body length', () => {
      expectError([hex('04 00 0001 07 80000000')], ProtocolErrorCode.MALFORMED);
      expectError([hex('04 00 0001 07 ffffffff')], ProtocolErrorCode.MALFORMED);
    });

    for (const version of [0x00, 0x01, 0x02, 0x06, 0x40, 0x43, 0x7f]) {
      it(`names unsupported version 0x${version.toString(16)} as soon as its first byte arrives`, () => {
        const err = expectError([Buffer.from([version])], ProtocolErrorCode.UNSUPPORTED_VERSION);
        expect(err.version).toBe(version);
        expect(err.message).toBe(`Invalid or unsupported protocol version (${version})`);
      });
    }

    it('recognises a v2 OPTIONS (8-byte header) as an unsupported version', () => {
      const err = expectError([hex('02 00 01 05 00000000')], ProtocolErrorCode.UNSUPPORTED_VERSION);
      expect(err.version).toBe(2);
    });

    it('checks the direction bit when told which side it is on', () => {
      expectError([READY_V5], ProtocolErrorCode.MALFORMED, { direction: 'request' });
      expectError([OPTIONS_V3], ProtocolErrorCode.MALFORMED, { direction: 'response' });
      expect(decodeAll([OPTIONS_V3], { direction: 'request' })).toEqual([OPTIONS_V3]);
      expect(decodeAll([READY_V5], { direction: 'response' })).toEqual([READY_V5]);
    });

    it('fails a later frame in the same chunk after good ones were delivered', () => {
      const frames: Buffer[] = [];
      const decoder = new FrameDecoder({ onFrame: (f) => frames.push(f) });
      expect(() =>
        decoder.push(Buffer.concat([OPTIONS_V3, hex('09 00 0000 05 00000000')])),
      ).toThrow(ProtocolError);
      expect(frames).toEqual([OPTIONS_V3]);
    });

    it('rejects a bad limit at construction', () => {
      expect(() => new FrameDecoder({ onFrame: () => undefined, maxFrameLength: 8 })).toThrow(
        RangeError,
      );
    });

    it('never throws anything but ProtocolError on random bytes (property)', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 200 }),
          fc.integer({ min: 1, max: 50 }),
          (bytes, cut) => {
            const decoder = new FrameDecoder({ onFrame: () => undefined, maxFrameLength: 4096 });
            const buf = Buffer.from(bytes);
            try {
              for (let i = 0; i < buf.length; i += cut) decoder.push(buf.subarray(i, i + cut));
            } catch (e) {
              expect(ProtocolError.isProtocolError(e)).toBe(true);
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe('v5 self-contained payloads', () => {
    it('accepts whole frames', () => {
      const frames: Buffer[] = [];
      const decoder = new FrameDecoder({ onFrame: (f) => frames.push(f) });
      decoder.pushSelfContained(Buffer.concat([READY_V5, READY_V5]));
      expect(frames).toHaveLength(2);
    });

    it('refuses a self-contained payload that ends mid-frame', () => {
      const decoder = new FrameDecoder({ onFrame: () => undefined });
      expect(() => decoder.pushSelfContained(STARTUP_V4.subarray(0, 20))).toThrow(
        /ends in the middle/,
      );
    });

    it('refuses a self-contained payload that arrives while a frame is incomplete', () => {
      const decoder = new FrameDecoder({ onFrame: () => undefined });
      decoder.push(STARTUP_V4.subarray(0, 20));
      expect(() => decoder.pushSelfContained(READY_V5)).toThrow(/middle of a frame/);
    });

    it('assembles a frame split over non-self-contained payloads', () => {
      const big = frame(0x85, 3, 8, Buffer.alloc(300_000, 7));
      const frames: Buffer[] = [];
      const decoder = new FrameDecoder({ onFrame: (f) => frames.push(f) });
      for (let i = 0; i < big.length; i += 131_071) decoder.push(big.subarray(i, i + 131_071));
      expect(frames).toEqual([big]);
    });
  });

  it('delivers any sequence of frames in any chunking, unchanged and in order (property)', () => {
    const arbFrame = fc
      .record({
        first: fc.constantFrom(0x03, 0x04, 0x05, 0x41, 0x42, 0x83, 0x84, 0x85, 0xc1, 0xc2),
        stream: fc.integer({ min: -32768, max: 32767 }),
        opcode: fc.integer({ min: 0, max: 0x10 }),
        body: fc.uint8Array({ maxLength: 3000 }),
      })
      .map((r) => frame(r.first, r.stream, r.opcode, Buffer.from(r.body)));
    fc.assert(
      fc.property(
        fc.array(arbFrame, { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 20 }),
        (frames, cuts) => {
          const all = Buffer.concat(frames);
          const chunks: Buffer[] = [];
          let offset = 0;
          for (let i = 0; offset < all.length; i++) {
            const size = cuts[i % cuts.length] ?? 1;
            chunks.push(Buffer.from(all.subarray(offset, offset + size)));
            offset += size;
          }
          expect(decodeAll(chunks)).toEqual(frames);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('FrameDecoder.detach', () => {
  const READY = hex('85 00 0001 02 00000000');
  const AFTER = hex('deadbeef');

  for (const { name, chunks } of chunkings(Buffer.concat([READY, AFTER]))) {
    it(`stops after the frame it was detached in and keeps the rest (${name})`, () => {
      const frames: Buffer[] = [];
      const decoder = new FrameDecoder({
        onFrame: (f) => {
          frames.push(Buffer.from(f));
          decoder.detach();
        },
      });
      const rest: Buffer[] = [];
      for (const c of chunks) {
        if (frames.length === 0) {
          decoder.push(c);
          const r = decoder.takeRemainder();
          if (r !== undefined) rest.push(r);
        } else {
          rest.push(c);
        }
      }
      expect(frames).toEqual([READY]);
      expect(Buffer.concat(rest)).toEqual(AFTER);
      expect(decoder.takeRemainder()).toBeUndefined();
      expect(() => decoder.push(AFTER)).toThrow(/after detach/);
    });
  }
});

describe('FrameDecoder memory per instance', () => {
  /** The decoder's private fields, read for what they hold (not part of its interface). */
  type Internals = { acceptedFirstBytes: Uint8Array; headerScratch: Buffer | undefined };
  const internals = (d: FrameDecoder): Internals => d as unknown as Internals;

  it('shares one table of accepted first bytes per direction', () => {
    const onFrame = (): void => undefined;
    const requests = [1, 2, 3].map(() => new FrameDecoder({ direction: 'request', onFrame }));
    const responses = [1, 2].map(() => new FrameDecoder({ direction: 'response', onFrame }));
    const either = new FrameDecoder({ onFrame });
    const table = internals(requests[0]!).acceptedFirstBytes;
    for (const d of requests) expect(internals(d).acceptedFirstBytes).toBe(table);
    expect(internals(responses[1]!).acceptedFirstBytes).toBe(
      internals(responses[0]!).acceptedFirstBytes,
    );
    expect(internals(responses[0]!).acceptedFirstBytes).not.toBe(table);
    // The tables still tell the directions apart: v4 request 0x04, v4 response 0x84.
    expect(table[0x04]).toBe(1);
    expect(table[0x84]).toBe(0);
    expect(internals(responses[0]!).acceptedFirstBytes[0x84]).toBe(1);
    expect(internals(either).acceptedFirstBytes[0x04]).toBe(1);
    expect(internals(either).acceptedFirstBytes[0x84]).toBe(1);
    expect(acceptedFirstBytesFor(0)).toBe(table);
  });

  it('makes its header scratch only when a header is cut by the end of a chunk', () => {
    const frames: Buffer[] = [];
    const decoder = new FrameDecoder({ direction: 'request', onFrame: (f) => frames.push(f) });
    const query = frame(0x04, 7, 0x07, Buffer.from('abcd'));
    decoder.push(query);
    expect(internals(decoder).headerScratch).toBeUndefined();
    decoder.push(query.subarray(0, 4));
    expect(internals(decoder).headerScratch).toBeDefined();
    decoder.push(query.subarray(4));
    expect(frames.map((f) => Buffer.from(f))).toEqual([query, query]);
  });
});
