import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Consistency, ProtocolVersion } from '../../../src/protocol/constants.js';
import { ProtocolErrorCode } from '../../../src/protocol/errors.js';
import {
  decodeQuery,
  decodeQueryHead,
  encodeQuery,
  type DecodedQuery,
} from '../../../src/protocol/messages/query.js';
import { rewriteConsistency } from '../../../src/protocol/messages/rewrite-consistency.js';
import { UNSET } from '../../../src/protocol/reader.js';
import { hex } from '../../helpers/chunking.js';
import {
  ALL_VERSIONS,
  embedded,
  expectEveryTruncationFails,
  expectProtocolError,
  fuzzDecoder,
  textArb,
  valueArb,
} from './request-test-helpers.js';

const { V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;

interface Golden {
  name: string;
  version: number;
  bytes: Buffer;
  decoded: DecodedQuery;
  /** Where <flags> ends: the head decoder reads nothing after it. */
  headEnd: number;
}

// spec v4/v5 §4.1.4 QUERY: <query: [long string]><query_parameters>
const GOLDENS: Golden[] = [
  {
    name: 'v3',
    version: V3,
    bytes: hex(`
      00 00 00 06 55 53 45 20 6b 73    // [long string] "USE ks"
      00 01                            // consistency ONE
      00                               // flags [byte]: none
    `),
    decoded: {
      query: 'USE ks',
      parameters: { consistency: Consistency.ONE, consistencyOffset: 10, flags: 0 },
    },
    headEnd: 13,
  },
  {
    name: 'v4',
    version: V4,
    bytes: hex(`
      00 00 00 1c                      // [long string] length 28
      49 4e 53 45 52 54 20 49 4e 54 4f 20 74 20 28 6b 29 20 56 41 4c 55 45 53 20 28 3f 29
                                       //   "INSERT INTO t (k) VALUES (?)"
      00 01                            // consistency ONE (offset 32)
      21                               // flags [byte]: VALUES WITH_DEFAULT_TIMESTAMP
      00 01 00 00 00 01 2a             // n = 1, [value] 2a
      00 05 f3 e4 8c 0a 2b 40          // timestamp 1675537811123008
    `),
    decoded: {
      query: 'INSERT INTO t (k) VALUES (?)',
      parameters: {
        consistency: Consistency.ONE,
        consistencyOffset: 32,
        flags: 0x21,
        values: [hex('2a')],
        defaultTimestamp: 1675537811123008n,
      },
    },
    headEnd: 35,
  },
  {
    name: 'v5',
    version: V5,
    bytes: hex(`
      00 00 00 08 53 45 4c 45 43 54 20 3f   // [long string] "SELECT ?"
      00 0a                                 // consistency LOCAL_ONE (offset 12)
      00 00 01 85                           // flags [int]: VALUES PAGE_SIZE WITH_KEYSPACE
                                            //   WITH_NOW_IN_SECONDS
      00 01 ff ff ff fe                     // n = 1, [value] not set
      00 00 00 0a                           // result_page_size 10
      00 02 6b 73                           // keyspace "ks"
      00 00 00 3c                           // now_in_seconds 60
    `),
    decoded: {
      query: 'SELECT ?',
      parameters: {
        consistency: Consistency.LOCAL_ONE,
        consistencyOffset: 12,
        flags: 0x185,
        values: [UNSET],
        pageSize: 10,
        keyspace: 'ks',
        nowInSeconds: 60,
      },
    },
    headEnd: 18,
  },
  {
    name: 'DSE v1',
    version: DSE_V1,
    bytes: hex(`
      00 00 00 08 53 45 4c 45 43 54 20 3f   // [long string] "SELECT ?"
      00 04                                 // consistency QUORUM (offset 12)
      80 00 00 02                           // flags [int]: SKIP_METADATA CONTINUOUS_PAGING
      00 00 00 00                           // max_num_pages 0 (no limit)
      00 00 00 03                           // pages_per_second 3
    `),
    decoded: {
      query: 'SELECT ?',
      parameters: {
        consistency: Consistency.QUORUM,
        consistencyOffset: 12,
        flags: 0x80000002,
        skipMetadata: true,
        continuousPaging: { maxPages: 0, pagesPerSecond: 3 },
      },
    },
    headEnd: 18,
  },
  {
    name: 'DSE v2',
    version: DSE_V2,
    bytes: hex(`
      00 00 00 08 53 45 4c 45 43 54 20 3f   // [long string] "SELECT ?"
      00 06                                 // consistency LOCAL_QUORUM (offset 12)
      00 00 00 90                           // flags [int]: WITH_SERIAL_CONSISTENCY WITH_KEYSPACE
      00 08                                 // serial_consistency SERIAL
      00 03 6b 73 31                        // keyspace "ks1"
    `),
    decoded: {
      query: 'SELECT ?',
      parameters: {
        consistency: Consistency.LOCAL_QUORUM,
        consistencyOffset: 12,
        flags: 0x90,
        serialConsistency: Consistency.SERIAL,
        keyspace: 'ks1',
      },
    },
    headEnd: 18,
  },
];

function encodeDecoded(version: number, d: DecodedQuery): Buffer {
  const { consistencyOffset: _o, flags: _f, ...parameters } = d.parameters;
  return encodeQuery(version, d.query, parameters);
}

describe('QUERY goldens', () => {
  for (const g of GOLDENS) {
    describe(g.name, () => {
      it('decodes in full', () => {
        expect(decodeQuery(g.bytes, g.version)).toEqual(g.decoded);
      });

      it('decodes the head only', () => {
        const { query, parameters } = g.decoded;
        expect(decodeQueryHead(g.bytes, g.version)).toEqual({
          query,
          consistency: parameters.consistency,
          consistencyOffset: parameters.consistencyOffset,
          flags: parameters.flags,
        });
        // The head stops at <flags>: whatever follows is not its business.
        expect(decodeQueryHead(g.bytes.subarray(0, g.headEnd), g.version).query).toBe(query);
      });

      it('encodes the same bytes', () => {
        expect(encodeDecoded(g.version, g.decoded)).toEqual(g.bytes);
      });

      it('refuses every truncation (full and head)', () => {
        expectEveryTruncationFails(g.bytes, (cut) => decodeQuery(cut, g.version));
        expectEveryTruncationFails(g.bytes, (cut) => decodeQueryHead(cut, g.version), g.headEnd);
      });

      it('reads only within a view into a larger buffer', () => {
        const view = embedded(g.bytes);
        expect(decodeQuery(view, g.version)).toEqual(g.decoded);
        expect(decodeQueryHead(view, g.version).consistencyOffset).toBe(
          g.decoded.parameters.consistencyOffset,
        );
      });
    });
  }
});

describe('QUERY hostile input', () => {
  it('refuses invalid UTF-8 in the query string', () => {
    const body = hex('00 00 00 02 c3 28  00 01 00');
    expect(expectProtocolError(() => decodeQueryHead(body, V4)).message).toContain('UTF-8');
    expectProtocolError(() => decodeQuery(body, V4));
    // An overlong encoding of "/" and a lone surrogate half are not UTF-8 either.
    expectProtocolError(() => decodeQuery(hex('00 00 00 02 c0 af  00 01 00'), V4));
    expectProtocolError(() => decodeQuery(hex('00 00 00 03 ed a0 80  00 01 00'), V4));
  });

  it('refuses negative and huge query lengths', () => {
    for (const len of ['ff ff ff ff', '80 00 00 00', '7f ff ff ff', '00 00 01 00']) {
      expectProtocolError(() => decodeQueryHead(hex(`${len} 41 42 00 01 00`), V4));
      expectProtocolError(() => decodeQuery(hex(`${len} 41 42 00 01 00`), V4));
    }
  });

  it('passes unknown flag bits through the head (the proxy reads nothing after them)', () => {
    expect(decodeQueryHead(hex('00 00 00 00  00 01  80'), V4).flags).toBe(0x80);
    expect(decodeQueryHead(hex('00 00 00 00  00 01  00 00 02 00'), V5).flags).toBe(0x200);
    expect(decodeQueryHead(hex('00 00 00 00  00 01  80 00 00 00'), V5).flags).toBe(0x80000000);
    // The full decoder still refuses them.
    expectProtocolError(() => decodeQuery(hex('00 00 00 00  00 01  80'), V4));
  });

  it('refuses trailing bytes after the parameters', () => {
    expectProtocolError(() => decodeQuery(hex('00 00 00 00  00 01 00  00'), V4));
  });

  it('refuses unknown versions', () => {
    const body = hex('00 00 00 00  00 01 00');
    expectProtocolError(() => decodeQueryHead(body, 2), ProtocolErrorCode.UNSUPPORTED_VERSION);
    expectProtocolError(() => decodeQuery(body, 6), ProtocolErrorCode.UNSUPPORTED_VERSION);
    expectProtocolError(
      () => encodeQuery(0x43, '', { consistency: 1 }),
      ProtocolErrorCode.UNSUPPORTED_VERSION,
    );
  });

  it('turns random bytes into a query or a ProtocolError', () => {
    for (const version of ALL_VERSIONS) {
      fuzzDecoder((b) => decodeQuery(b, version), 100);
      fuzzDecoder((b) => decodeQueryHead(b, version), 100);
    }
  });
});

describe('QUERY consistency rewrite (Astra write guardrail)', () => {
  it('rewrites the consistency in place inside a view and leaves every other byte alone', () => {
    const g = GOLDENS[1];
    if (g === undefined) throw new Error('missing golden');
    const view = embedded(g.bytes);
    const before = Buffer.from(view.buffer, view.byteOffset - 32, view.length + 64);
    const snapshot = Buffer.from(before);
    const head = decodeQueryHead(view, V4);
    expect(rewriteConsistency(view, head.consistencyOffset, Consistency.LOCAL_QUORUM)).toBe(
      Consistency.ONE,
    );
    expect(decodeQuery(view, V4).parameters.consistency).toBe(Consistency.LOCAL_QUORUM);
    const changed = [...before.keys()].filter((i) => before[i] !== snapshot[i]);
    expect(changed).toEqual([32 + head.consistencyOffset + 1]);
  });
});

describe('QUERY properties', () => {
  for (const version of ALL_VERSIONS) {
    it(`round-trips query string and values (version 0x${version.toString(16)})`, () => {
      fc.assert(
        fc.property(
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc.integer({ min: 0, max: 0xffff }),
          fc.option(fc.array(valueArb(version), { maxLength: 4 }), { nil: undefined }),
          fc.option(textArb, { nil: undefined }),
          (query, consistency, values, name) => {
            const parameters =
              values === undefined
                ? { consistency }
                : name === undefined
                  ? { consistency, values }
                  : { consistency, values, names: values.map(() => name) };
            const body = encodeQuery(version, query, parameters);
            const decoded = decodeQuery(body, version);
            expect(decoded.query).toBe(query);
            const { consistencyOffset, flags, ...rest } = decoded.parameters;
            expect(rest).toEqual(parameters);
            expect(decodeQueryHead(body, version)).toEqual({
              query,
              consistency,
              consistencyOffset,
              flags,
            });
            expect(body.readUInt16BE(consistencyOffset)).toBe(consistency);
          },
        ),
        { numRuns: 150 },
      );
    });
  }
});
