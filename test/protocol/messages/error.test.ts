import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolVersion } from '../../../src/protocol/constants.js';
import { ProtocolErrorCode } from '../../../src/protocol/errors.js';
import {
  type CqlErrorMessage,
  type KnownCqlError,
  decodeError,
  encodeError,
  errorFrame,
  isKnownError,
  peekErrorCode,
  peekUnpreparedId,
} from '../../../src/protocol/messages/error.js';
import { hex } from '../../helpers/chunking.js';
import { bytes, inetAddress, int32, text, uint16 } from './response-arbitraries.js';
import {
  embedded,
  expectEveryTruncationThrows,
  expectProtocolError,
  expectTrailingByteThrows,
} from './response-hostile-input.js';

const { V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;
const ALL_VERSIONS = [V3, V4, V5, DSE_V1, DSE_V2];

interface Golden {
  name: string;
  versions: number[];
  error: CqlErrorMessage;
  bytes: Buffer;
}

const GOLDEN: Golden[] = [
  {
    name: 'SERVER_ERROR (code + message only)',
    versions: ALL_VERSIONS,
    error: { code: ErrorCode.SERVER_ERROR, message: 'oops' },
    bytes: hex(`
      00000000       // <code> SERVER_ERROR
      0004 6f6f7073  // <message> "oops"
    `),
  },
  {
    name: 'SYNTAX_ERROR',
    versions: ALL_VERSIONS,
    error: { code: ErrorCode.SYNTAX_ERROR, message: 'bad' },
    bytes: hex(`
      00002000     // <code> SYNTAX_ERROR
      0003 626164  // <message> "bad"
    `),
  },
  {
    name: 'UNAVAILABLE',
    versions: ALL_VERSIONS,
    error: {
      code: ErrorCode.UNAVAILABLE,
      message: 'no',
      consistency: 0x0004,
      required: 3,
      alive: 1,
    },
    bytes: hex(`
      00001000   // <code> UNAVAILABLE
      0002 6e6f  // <message> "no"
      0004       // <cl> QUORUM
      00000003   // <required> 3
      00000001   // <alive> 1
    `),
  },
  {
    name: 'WRITE_TIMEOUT SIMPLE',
    versions: ALL_VERSIONS,
    error: {
      code: ErrorCode.WRITE_TIMEOUT,
      message: 'wt',
      consistency: 0x0001,
      received: 0,
      blockFor: 1,
      writeType: 'SIMPLE',
    },
    bytes: hex(`
      00001100             // <code> WRITE_TIMEOUT
      0002 7774            // <message> "wt"
      0001                 // <cl> ONE
      00000000             // <received> 0
      00000001             // <blockfor> 1
      0006 53494d504c45    // <writeType> "SIMPLE"
    `),
  },
  {
    name: 'WRITE_TIMEOUT CAS in v5: <contentions> follows',
    versions: [V5],
    error: {
      code: ErrorCode.WRITE_TIMEOUT,
      message: 'wt',
      consistency: 0x0008,
      received: 1,
      blockFor: 2,
      writeType: 'CAS',
      contentions: 7,
    },
    bytes: hex(`
      00001100     // <code> WRITE_TIMEOUT
      0002 7774    // <message> "wt"
      0008         // <cl> SERIAL
      00000001     // <received> 1
      00000002     // <blockfor> 2
      0003 434153  // <writeType> "CAS"
      0007         // <contentions> 7 (v5 only)
    `),
  },
  {
    name: 'WRITE_TIMEOUT CAS before v5 and in DSE: no <contentions>',
    versions: [V3, V4, DSE_V1, DSE_V2],
    error: {
      code: ErrorCode.WRITE_TIMEOUT,
      message: 'wt',
      consistency: 0x0008,
      received: 1,
      blockFor: 2,
      writeType: 'CAS',
    },
    bytes: hex(`
      00001100     // <code> WRITE_TIMEOUT
      0002 7774    // <message> "wt"
      0008         // <cl> SERIAL
      00000001     // <received> 1
      00000002     // <blockfor> 2
      0003 434153  // <writeType> "CAS"
    `),
  },
  {
    name: 'READ_TIMEOUT',
    versions: ALL_VERSIONS,
    error: {
      code: ErrorCode.READ_TIMEOUT,
      message: 'rt',
      consistency: 0x0004,
      received: 1,
      blockFor: 2,
      dataPresent: false,
    },
    bytes: hex(`
      00001200   // <code> READ_TIMEOUT
      0002 7274  // <message> "rt"
      0004       // <cl> QUORUM
      00000001   // <received> 1
      00000002   // <blockfor> 2
      00         // <data_present> false
    `),
  },
  {
    name: 'READ_FAILURE with <numfailures> (v3/v4)',
    versions: [V3, V4],
    error: {
      code: ErrorCode.READ_FAILURE,
      message: 'rf',
      consistency: 0x0006,
      received: 1,
      blockFor: 2,
      numFailures: 1,
      dataPresent: true,
    },
    bytes: hex(`
      00001300   // <code> READ_FAILURE
      0002 7266  // <message> "rf"
      0006       // <cl> LOCAL_QUORUM
      00000001   // <received> 1
      00000002   // <blockfor> 2
      00000001   // <numfailures> 1
      01         // <data_present> true
    `),
  },
  {
    name: 'READ_FAILURE with <reasonmap> (v5, DSE)',
    versions: [V5, DSE_V1, DSE_V2],
    error: {
      code: ErrorCode.READ_FAILURE,
      message: 'rf',
      consistency: 0x0006,
      received: 1,
      blockFor: 2,
      numFailures: 2,
      reasonMap: [
        { address: '10.0.0.1', reason: 1 },
        { address: '::1', reason: 0 },
      ],
      dataPresent: true,
    },
    bytes: hex(`
      00001300                            // <code> READ_FAILURE
      0002 7266                           // <message> "rf"
      0006                                // <cl> LOCAL_QUORUM
      00000001                            // <received> 1
      00000002                            // <blockfor> 2
      00000002                            // <reasonmap> n = 2
      04 0a000001                   0001  //   [inetaddr] 10.0.0.1 => [short] 1
      10 00000000000000000000000000000001 0000 //   [inetaddr] ::1 => 0
      01                                  // <data_present> true
    `),
  },
  {
    name: 'WRITE_FAILURE with <numfailures> (v3/v4)',
    versions: [V3, V4],
    error: {
      code: ErrorCode.WRITE_FAILURE,
      message: 'wf',
      consistency: 0x0001,
      received: 0,
      blockFor: 1,
      numFailures: 1,
      writeType: 'BATCH',
    },
    bytes: hex(`
      00001500          // <code> WRITE_FAILURE
      0002 7766         // <message> "wf"
      0001              // <cl> ONE
      00000000          // <received> 0
      00000001          // <blockfor> 1
      00000001          // <numfailures> 1
      0005 4241544348   // <writeType> "BATCH"
    `),
  },
  {
    name: 'WRITE_FAILURE with <reasonmap> (v5, DSE)',
    versions: [V5, DSE_V1, DSE_V2],
    error: {
      code: ErrorCode.WRITE_FAILURE,
      message: 'wf',
      consistency: 0x0001,
      received: 0,
      blockFor: 1,
      numFailures: 1,
      reasonMap: [{ address: '127.0.0.1', reason: 3 }],
      writeType: 'BATCH',
    },
    bytes: hex(`
      00001500          // <code> WRITE_FAILURE
      0002 7766         // <message> "wf"
      0001              // <cl> ONE
      00000000          // <received> 0
      00000001          // <blockfor> 1
      00000001          // <reasonmap> n = 1
      04 7f000001 0003  //   127.0.0.1 => 3
      0005 4241544348   // <writeType> "BATCH"
    `),
  },
  {
    name: 'FUNCTION_FAILURE',
    versions: ALL_VERSIONS,
    error: {
      code: ErrorCode.FUNCTION_FAILURE,
      message: 'ff',
      keyspace: 'ks',
      functionName: 'fs',
      argTypes: ['int', 'text'],
    },
    bytes: hex(`
      00001400       // <code> FUNCTION_FAILURE
      0002 6666      // <message> "ff"
      0002 6b73      // <keyspace> "ks"
      0002 6673      // <function> "fs"
      0002           // <arg_types> 2 strings
      0003 696e74    //   "int"
      0004 74657874  //   "text"
    `),
  },
  {
    name: 'CAS_WRITE_UNKNOWN',
    versions: ALL_VERSIONS,
    error: {
      code: ErrorCode.CAS_WRITE_UNKNOWN,
      message: 'cw',
      consistency: 0x0009,
      received: 1,
      blockFor: 2,
    },
    bytes: hex(`
      00001700   // <code> CAS_WRITE_UNKNOWN
      0002 6377  // <message> "cw"
      0009       // <cl> LOCAL_SERIAL
      00000001   // <received> 1
      00000002   // <blockfor> 2
    `),
  },
  {
    name: 'ALREADY_EXISTS (a keyspace: empty table)',
    versions: ALL_VERSIONS,
    error: { code: ErrorCode.ALREADY_EXISTS, message: 'ae', keyspace: 'ks', table: '' },
    bytes: hex(`
      00002400   // <code> ALREADY_EXISTS
      0002 6165  // <message> "ae"
      0002 6b73  // <ks> "ks"
      0000       // <table> ""
    `),
  },
  {
    name: 'UNPREPARED',
    versions: ALL_VERSIONS,
    error: { code: ErrorCode.UNPREPARED, message: 'up', id: hex('cafebabe') },
    bytes: hex(`
      00002500        // <code> UNPREPARED
      0002 7570       // <message> "up"
      0004 cafebabe   // <id> [short bytes]
    `),
  },
  {
    name: 'an unknown code: the generic shape',
    versions: ALL_VERSIONS,
    error: { code: 0x7777, message: '?' },
    bytes: hex(`
      00007777  // <code> unknown
      0001 3f   // <message> "?"
    `),
  },
];

const CASES = GOLDEN.flatMap((g) => g.versions.map((version) => ({ ...g, version })));

describe('ERROR (spec v5 §4.2.1, §8; v4 §9; v3 §9)', () => {
  describe.each(CASES)('$name, version $version', ({ version, error, bytes }) => {
    it('decodes the golden bytes', () => {
      expect(decodeError(bytes, version)).toEqual(error);
    });
    it('encodes to the golden bytes', () => {
      expect(encodeError(version, error)).toEqual(bytes);
    });
    it('decodes the same from a view inside a larger buffer', () => {
      expect(decodeError(embedded(bytes), version)).toEqual(error);
    });
    it('peeks the code', () => {
      expect(peekErrorCode(bytes)).toBe(error.code);
    });
    it('throws ProtocolError when truncated at any length', () => {
      expectEveryTruncationThrows(bytes, (b) => decodeError(b, version));
    });
    it('refuses trailing bytes', () => {
      expectTrailingByteThrows(bytes, (b) => decodeError(b, version));
    });
  });

  it('drops <contentions> when encoding a v5 CAS timeout for v4, and writes 0 when absent', () => {
    const cas: CqlErrorMessage = {
      code: ErrorCode.WRITE_TIMEOUT,
      message: '',
      consistency: 8,
      received: 0,
      blockFor: 1,
      writeType: 'CAS',
    };
    expect(encodeError(V4, { ...cas, contentions: 5 })).toEqual(
      hex('00001100 0000 0008 00000000 00000001 0003 434153'),
    );
    expect(encodeError(V5, cas)).toEqual(
      hex('00001100 0000 0008 00000000 00000001 0003 434153 0000'),
    );
  });

  it('writes an empty reason map in v5 when only a count is known', () => {
    const rf: CqlErrorMessage = {
      code: ErrorCode.READ_FAILURE,
      message: '',
      consistency: 1,
      received: 0,
      blockFor: 1,
      numFailures: 3,
      dataPresent: false,
    };
    expect(encodeError(V5, rf)).toEqual(hex('00001300 0000 0001 00000000 00000001 00000000 00'));
    expect(encodeError(V4, rf)).toEqual(hex('00001300 0000 0001 00000000 00000001 00000003 00'));
  });

  it('narrows known errors by code', () => {
    const e = decodeError(GOLDEN[2]?.bytes ?? Buffer.alloc(0), V4);
    expect(isKnownError(e)).toBe(true);
    if (isKnownError(e) && e.code === ErrorCode.UNAVAILABLE) expect(e.alive).toBe(1);
    expect(isKnownError({ code: 0x7777, message: '' })).toBe(false);
  });

  describe('whole frames', () => {
    it('errorFrame writes header and body (DSE v2, stream 5, UNPREPARED)', () => {
      const frame = errorFrame(DSE_V2, 5, {
        code: ErrorCode.UNPREPARED,
        message: 'up',
        id: hex('cafebabe'),
      });
      expect(frame).toEqual(
        hex(`
          c2              // version: response bit | 0x42
          00              // flags
          0005            // stream 5
          00              // opcode ERROR
          0000000e        // length 14
          00002500 0002 7570 0004 cafebabe
        `),
      );
    });

    it('errorFrame writes header and body (v3, stream 0x7fff, SERVER_ERROR)', () => {
      expect(errorFrame(V3, 0x7fff, { code: ErrorCode.SERVER_ERROR, message: 'oops' })).toEqual(
        hex(`
          83 00 7fff 00 0000000a  // v3 response, stream 32767, ERROR, 10 bytes
          00000000 0004 6f6f7073
        `),
      );
    });

    it('errorFrame writes the PROTOCOL_ERROR drivers step down on (v5, stream 0)', () => {
      const message = 'Invalid or unsupported protocol version (66)';
      const frame = errorFrame(V5, 0, { code: ErrorCode.PROTOCOL_ERROR, message });
      expect(frame.subarray(0, 9)).toEqual(hex('85 00 0000 00 00000032')); // 4 + 2 + 44 bytes
      expect(decodeError(frame.subarray(9), V5)).toEqual({
        code: ErrorCode.PROTOCOL_ERROR,
        message,
      });
    });

    it('refuses a stream id outside a signed [short]', () => {
      const e = { code: ErrorCode.SERVER_ERROR, message: '' } as const;
      expectProtocolError(() => errorFrame(V4, 0x8000, e));
      expectProtocolError(() => errorFrame(V4, -0x8001, e));
    });
  });

  describe('peekUnpreparedId', () => {
    it('returns the id as a view, without decoding the message', () => {
      const body = embedded(hex('00002500 0002 7570 0004 cafebabe'));
      const id = peekUnpreparedId(body);
      expect(id).toEqual(hex('cafebabe'));
      expect(id?.buffer).toBe(body.buffer);
    });

    it('skips the message even when it is not valid UTF-8', () => {
      expect(peekUnpreparedId(hex('00002500 0002 c328 0001 01'))).toEqual(hex('01'));
    });

    it('returns undefined for any other code', () => {
      expect(peekUnpreparedId(hex('00000000 0004 6f6f7073'))).toBeUndefined();
    });

    it('throws ProtocolError on a truncated or padded UNPREPARED', () => {
      const body = hex('00002500 0002 7570 0004 cafebabe');
      expectEveryTruncationThrows(body, peekUnpreparedId);
      expectTrailingByteThrows(body, peekUnpreparedId);
    });
  });

  describe('hostile input', () => {
    it('refuses an unknown protocol version', () => {
      expectProtocolError(
        () => decodeError(hex('00000000 0000'), 2),
        ProtocolErrorCode.UNSUPPORTED_VERSION,
      );
      expectProtocolError(
        () => encodeError(0x06, { code: 0, message: '' }),
        ProtocolErrorCode.UNSUPPORTED_VERSION,
      );
    });

    it('refuses invalid UTF-8 in the message and in strings after it', () => {
      expectProtocolError(() => decodeError(hex('00000000 0002 c328'), V4));
      expectProtocolError(() => decodeError(hex('00002400 0000 0001 ff 0000'), V4));
    });

    it('refuses negative and huge counts in failure bodies', () => {
      const head = '00001300 0000 0001 00000000 00000001';
      expectProtocolError(() => decodeError(hex(`${head} ffffffff 00`), V5)); // n = -1
      expectProtocolError(() => decodeError(hex(`${head} 7fffffff 00`), V5)); // n = 2^31-1
      expectProtocolError(() => decodeError(hex(`${head} ffffffff 00`), V4)); // numfailures -1
      expectProtocolError(() => decodeError(hex('00001400 0000 0000 0000 ffff'), V4)); // arg_types
    });

    it('refuses an [inetaddr] that is neither 4 nor 16 bytes', () => {
      const body = hex('00001300 0000 0001 00000000 00000001 00000001 05 0102030405 0000 00');
      expectProtocolError(() => decodeError(body, V5));
    });

    it('refuses an UNPREPARED id longer than the body', () => {
      expectProtocolError(() => decodeError(hex('00002500 0000 ffff cafe'), V4));
    });

    it('refuses out-of-range numbers when encoding', () => {
      const base = { code: ErrorCode.UNAVAILABLE, message: '', required: 1, alive: 0 } as const;
      expectProtocolError(() => encodeError(V4, { ...base, consistency: 0x10000 }));
      expectProtocolError(() => encodeError(V4, { ...base, consistency: 1, required: 2 ** 31 }));
      expectProtocolError(() =>
        encodeError(V5, {
          code: ErrorCode.WRITE_FAILURE,
          message: '',
          consistency: 1,
          received: 0,
          blockFor: 1,
          numFailures: 1,
          reasonMap: [{ address: '10.0.0.1', reason: 0x10000 }],
          writeType: 'SIMPLE',
        }),
      );
      expectProtocolError(() => encodeError(V4, { code: 2 ** 32, message: '' }));
      expectProtocolError(() => encodeError(V4, { code: 0, message: 'x'.repeat(0x10000) }));
      expectProtocolError(() =>
        encodeError(V4, { code: ErrorCode.UNPREPARED, message: '', id: Buffer.alloc(0x10000) }),
      );
    });

    it('throws only ProtocolError on random bytes (property)', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 48 }), fc.constantFrom(...ALL_VERSIONS), (a, v) => {
          try {
            decodeError(Buffer.from(a), v);
          } catch (e) {
            expect((e as Error).name).toBe('ProtocolError');
          }
        }),
        { numRuns: 500 },
      );
    });
  });

  it('round-trips random errors in every version (property)', () => {
    const errorFor = (version: number): fc.Arbitrary<KnownCqlError | CqlErrorMessage> => {
      const counts = { consistency: uint16, received: int32, blockFor: int32 };
      const reasonMap = version === V5 || version === DSE_V1 || version === DSE_V2;
      const failures = reasonMap
        ? fc
            .array(fc.record({ address: inetAddress, reason: uint16 }), { maxLength: 4 })
            .map((m) => ({ numFailures: m.length, reasonMap: m }))
        : fc.nat().map((n) => ({ numFailures: n }));
      const writeType = fc.constantFrom('SIMPLE', 'BATCH', 'CAS', 'COUNTER', 'VIEW');
      return fc.oneof(
        fc.record({
          code: fc.constantFrom(
            ErrorCode.SERVER_ERROR,
            ErrorCode.PROTOCOL_ERROR,
            ErrorCode.OVERLOADED,
            ErrorCode.INVALID,
          ),
          message: text(30),
        }),
        fc.record({
          code: fc.integer({ min: 0x3000, max: 0x7fffffff }),
          message: text(30),
        }),
        fc.record({
          code: fc.constant(ErrorCode.UNAVAILABLE),
          message: text(),
          consistency: uint16,
          required: int32,
          alive: int32,
        }),
        fc
          .record({ message: text(), ...counts, writeType, contentions: uint16 })
          .map(({ contentions, ...e }) => ({
            code: ErrorCode.WRITE_TIMEOUT,
            ...e,
            ...(version === V5 && e.writeType === 'CAS' ? { contentions } : {}),
          })),
        fc.record({
          code: fc.constant(ErrorCode.READ_TIMEOUT),
          message: text(),
          ...counts,
          dataPresent: fc.boolean(),
        }),
        fc
          .tuple(fc.record({ message: text(), ...counts, dataPresent: fc.boolean() }), failures)
          .map(([e, f]) => ({ code: ErrorCode.READ_FAILURE, ...e, ...f })),
        fc
          .tuple(fc.record({ message: text(), ...counts, writeType }), failures)
          .map(([e, f]) => ({ code: ErrorCode.WRITE_FAILURE, ...e, ...f })),
        fc.record({
          code: fc.constant(ErrorCode.FUNCTION_FAILURE),
          message: text(),
          keyspace: text(),
          functionName: text(),
          argTypes: fc.array(text(), { maxLength: 4 }),
        }),
        fc.record({ code: fc.constant(ErrorCode.CAS_WRITE_UNKNOWN), message: text(), ...counts }),
        fc.record({
          code: fc.constant(ErrorCode.ALREADY_EXISTS),
          message: text(),
          keyspace: text(),
          table: text(),
        }),
        fc.record({ code: fc.constant(ErrorCode.UNPREPARED), message: text(), id: bytes(32) }),
      );
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_VERSIONS).chain((v) => fc.tuple(fc.constant(v), errorFor(v))),
        fc.integer({ min: -0x8000, max: 0x7fff }),
        ([version, error], streamId) => {
          const body = encodeError(version, error);
          expect(decodeError(body, version)).toEqual(error);
          const frame = errorFrame(version, streamId, error);
          expect(frame.readInt16BE(2)).toBe(streamId);
          expect(frame.readInt32BE(5)).toBe(body.length);
          expect(frame.subarray(9)).toEqual(body);
        },
      ),
      { numRuns: 400 },
    );
  });
});
