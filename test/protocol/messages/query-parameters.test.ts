import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  Consistency,
  ProtocolVersion,
  hasKeyspaceFlag,
  hasNowInSeconds,
  isDseVersion,
} from '../../../src/protocol/constants.js';
import { ProtocolErrorCode } from '../../../src/protocol/errors.js';
import {
  queryFlagMask,
  queryParametersFlags,
  readQueryParameters,
  writeQueryParameters,
  type DecodedQueryParameters,
  type QueryParameters,
} from '../../../src/protocol/messages/query-parameters.js';
import { CqlReader, UNSET } from '../../../src/protocol/reader.js';
import { CqlWriter } from '../../../src/protocol/writer.js';
import { hex } from '../../helpers/chunking.js';
import {
  ALL_VERSIONS,
  bytesArb,
  embedded,
  expectEveryTruncationFails,
  expectProtocolError,
  fuzzDecoder,
  int32Arb,
  longArb,
  shortArb,
  textArb,
  valueArb,
} from './request-test-helpers.js';

const { V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;

function readParams(body: Buffer, version: number): DecodedQueryParameters {
  const reader = new CqlReader(body);
  const params = readQueryParameters(reader, version);
  reader.expectEnd('<query_parameters>');
  return params;
}

function writeParams(version: number, params: QueryParameters): Buffer {
  const writer = new CqlWriter(16);
  writeQueryParameters(writer, version, params);
  return writer.finish();
}

interface Golden {
  name: string;
  version: number;
  bytes: Buffer;
  decoded: DecodedQueryParameters;
}

// Every layout that differs: [byte] flags (v3, v4), [int] flags with keyspace and now_in_seconds
// (v5), DSE continuous paging with two (DSE v1) or three (DSE v2) [int]s.
const GOLDENS: Golden[] = [
  {
    name: 'v4, every v4 field',
    version: V4,
    bytes: hex(`
      00 06                      // consistency LOCAL_QUORUM
      3f                         // flags [byte]: VALUES SKIP_METADATA PAGE_SIZE WITH_PAGING_STATE
                                 //   WITH_SERIAL_CONSISTENCY WITH_DEFAULT_TIMESTAMP
      00 03                      // n = 3 values
      00 00 00 02 ca fe          //   [value] 0xcafe
      ff ff ff ff                //   [value] null (-1)
      ff ff ff fe                //   [value] not set (-2)
      00 00 13 88                // result_page_size 5000
      00 00 00 03 01 02 03       // paging_state [bytes] 010203
      00 09                      // serial_consistency LOCAL_SERIAL
      00 05 f3 e4 8c 0a 2b 40    // timestamp [long] 1675537811123008
    `),
    decoded: {
      consistency: Consistency.LOCAL_QUORUM,
      consistencyOffset: 0,
      flags: 0x3f,
      values: [hex('ca fe'), null, UNSET],
      skipMetadata: true,
      pageSize: 5000,
      pagingState: hex('01 02 03'),
      serialConsistency: Consistency.LOCAL_SERIAL,
      defaultTimestamp: 1675537811123008n,
    },
  },
  {
    name: 'v4, named values',
    version: V4,
    bytes: hex(`
      00 01                      // consistency ONE
      41                         // flags: VALUES WITH_NAMES_FOR_VALUES
      00 02                      // n = 2
      00 01 61 00 00 00 01 07    //   name "a", [value] 07
      00 01 62 ff ff ff ff       //   name "b", [value] null
    `),
    decoded: {
      consistency: Consistency.ONE,
      consistencyOffset: 0,
      flags: 0x41,
      values: [hex('07'), null],
      names: ['a', 'b'],
    },
  },
  {
    name: 'v4, no flags',
    version: V4,
    bytes: hex('00 0a  00 // LOCAL_ONE, flags 0'),
    decoded: { consistency: Consistency.LOCAL_ONE, consistencyOffset: 0, flags: 0 },
  },
  {
    name: 'v3, [bytes] values',
    version: V3,
    bytes: hex(`
      00 04                      // consistency QUORUM
      05                         // flags [byte]: VALUES PAGE_SIZE
      00 02                      // n = 2
      ff ff ff ff                //   [bytes] null
      00 00 00 00                //   [bytes] empty
      00 00 00 64                // result_page_size 100
    `),
    decoded: {
      consistency: Consistency.QUORUM,
      consistencyOffset: 0,
      flags: 0x05,
      values: [null, Buffer.alloc(0)],
      pageSize: 100,
    },
  },
  {
    name: 'v5, keyspace and now_in_seconds',
    version: V5,
    bytes: hex(`
      00 06                      // consistency LOCAL_QUORUM
      00 00 01 a1                // flags [int]: VALUES WITH_DEFAULT_TIMESTAMP WITH_KEYSPACE
                                 //   WITH_NOW_IN_SECONDS
      00 01 00 00 00 01 2a       // n = 1, [value] 2a
      00 00 00 00 00 00 00 01    // timestamp 1
      00 02 6b 73                // keyspace "ks"
      65 53 f1 00                // now_in_seconds 1700000000
    `),
    decoded: {
      consistency: Consistency.LOCAL_QUORUM,
      consistencyOffset: 0,
      flags: 0x1a1,
      values: [hex('2a')],
      defaultTimestamp: 1n,
      keyspace: 'ks',
      nowInSeconds: 1700000000,
    },
  },
  {
    // The same bytes as datastax/native-protocol DseQueryTest (dse_protocol_v1.spec §4.1.4).
    name: 'DSE v1, continuous paging with two [int]s',
    version: DSE_V1,
    bytes: hex(`
      00 04                      // consistency QUORUM
      c0 00 00 05                // flags [int]: VALUES PAGE_SIZE PAGE_SIZE_BYTES CONTINUOUS_PAGING
      00 01 00 00 00 04 ca fe ba be   // n = 1, [value] cafebabe
      00 00 20 00                // result_page_size 8192 (bytes)
      00 00 00 0a                // max_num_pages 10
      00 00 00 05                // pages_per_second 5
    `),
    decoded: {
      consistency: Consistency.QUORUM,
      consistencyOffset: 0,
      flags: 0xc0000005,
      values: [hex('ca fe ba be')],
      pageSize: 8192,
      pageSizeInBytes: true,
      continuousPaging: { maxPages: 10, pagesPerSecond: 5 },
    },
  },
  {
    name: 'DSE v2, keyspace then continuous paging with three [int]s',
    version: DSE_V2,
    bytes: hex(`
      00 04                      // consistency QUORUM
      c0 00 00 85                // flags [int]: VALUES PAGE_SIZE WITH_KEYSPACE PAGE_SIZE_BYTES
                                 //   CONTINUOUS_PAGING
      00 01 00 00 00 04 ca fe ba be   // n = 1, [value] cafebabe
      00 00 20 00                // result_page_size 8192 (bytes)
      00 02 6b 73                // keyspace "ks"
      00 00 00 0a                // max_num_pages 10
      00 00 00 05                // pages_per_second 5
      00 00 00 02                // next_pages 2
    `),
    decoded: {
      consistency: Consistency.QUORUM,
      consistencyOffset: 0,
      flags: 0xc0000085,
      values: [hex('ca fe ba be')],
      pageSize: 8192,
      keyspace: 'ks',
      pageSizeInBytes: true,
      continuousPaging: { maxPages: 10, pagesPerSecond: 5, nextPages: 2 },
    },
  },
];

function toInput(decoded: DecodedQueryParameters): QueryParameters {
  const { consistencyOffset: _offset, flags: _flags, ...params } = decoded;
  return params;
}

describe('<query_parameters> goldens', () => {
  for (const g of GOLDENS) {
    describe(g.name, () => {
      it('decodes', () => {
        expect(readParams(g.bytes, g.version)).toEqual(g.decoded);
      });

      it('encodes the same bytes', () => {
        expect(writeParams(g.version, toInput(g.decoded))).toEqual(g.bytes);
        expect(queryParametersFlags(g.version, toInput(g.decoded))).toBe(g.decoded.flags);
      });

      it('refuses every truncation', () => {
        expectEveryTruncationFails(g.bytes, (cut) => readParams(cut, g.version));
      });

      it('reads only within a view into a larger buffer', () => {
        expect(readParams(embedded(g.bytes), g.version)).toEqual(g.decoded);
      });
    });
  }
});

describe('<query_parameters> per-version rules', () => {
  it('v3 reads any negative value length as null: [bytes] has no `not set`', () => {
    const body = hex('00 01  01  00 02  ff ff ff fe  80 00 00 00');
    expect(readParams(body, V3).values).toEqual([null, null]);
    expectProtocolError(() => writeParams(V3, { consistency: 1, values: [UNSET] }));
  });

  it('v4+ refuses a [value] length below -2, and a huge one', () => {
    for (const version of [V4, V5, DSE_V1, DSE_V2]) {
      const flags = isDseVersion(version) || version === V5 ? '00 00 00 01' : '01';
      const bad = hex(`00 01 ${flags} 00 01 ff ff ff fd`);
      expect(expectProtocolError(() => readParams(bad, version)).message).toContain('-3');
      expectProtocolError(() => readParams(hex(`00 01 ${flags} 00 01 7f ff ff ff 00`), version));
    }
  });

  it('treats WITH_NAMES_FOR_VALUES without VALUES as ignored', () => {
    expect(readParams(hex('00 01 40'), V4)).toEqual({
      consistency: 1,
      consistencyOffset: 0,
      flags: 0x40,
    });
  });

  it('reads a null paging state', () => {
    expect(readParams(hex('00 01 08 ff ff ff ff'), V4).pagingState).toBeNull();
    expect(writeParams(V4, { consistency: 1, pagingState: null })).toEqual(
      hex('00 01 08 ff ff ff ff'),
    );
  });

  it('refuses invalid UTF-8 in a value name and in the keyspace', () => {
    expectProtocolError(() => readParams(hex('00 01 41 00 01 00 02 c3 28 ff ff ff ff'), V4));
    expectProtocolError(() => readParams(hex('00 01 00 00 00 80 00 02 c3 28'), V5));
  });

  it('refuses trailing bytes after the last field', () => {
    expectProtocolError(() => readParams(hex('00 01 00 00'), V4));
  });

  it('has the flag masks of each version', () => {
    expect(queryFlagMask(V3)).toBe(0x7f);
    expect(queryFlagMask(V4)).toBe(0x7f);
    expect(queryFlagMask(V5)).toBe(0x1ff);
    expect(queryFlagMask(DSE_V1)).toBe(0xc000007f);
    expect(queryFlagMask(DSE_V2)).toBe(0xc00000ff);
  });

  it('refuses flag bits the version does not define', () => {
    const cases: [number, string][] = [
      [V3, '80'],
      [V4, '80'],
      [V5, '00 00 02 00'],
      [V5, '40 00 00 00'], // DSE page size in bytes
      [V5, '80 00 00 00'], // DSE continuous paging
      [DSE_V1, '00 00 00 80'], // keyspace is DSE v2
      [DSE_V1, '00 00 01 00'],
      [DSE_V2, '00 00 01 00'], // now_in_seconds is v5 only
      [DSE_V2, '20 00 00 00'],
    ];
    for (const [version, flags] of cases) {
      const error = expectProtocolError(() => readParams(hex(`00 01 ${flags}`), version));
      expect(error.message).toContain('unknown flag bits');
    }
  });

  it('refuses versions it does not know', () => {
    for (const version of [0x01, 0x02, 0x06, 0x43, 0x7f]) {
      expectProtocolError(
        () => readParams(hex('00 01 00'), version),
        ProtocolErrorCode.UNSUPPORTED_VERSION,
      );
      expectProtocolError(
        () => writeParams(version, { consistency: 1 }),
        ProtocolErrorCode.UNSUPPORTED_VERSION,
      );
    }
  });

  it('refuses to encode fields the version does not have', () => {
    expectProtocolError(() => writeParams(V4, { consistency: 1, keyspace: 'ks' }));
    expectProtocolError(() => writeParams(DSE_V1, { consistency: 1, keyspace: 'ks' }));
    expectProtocolError(() => writeParams(DSE_V2, { consistency: 1, nowInSeconds: 1 }));
    expectProtocolError(() => writeParams(V4, { consistency: 1, nowInSeconds: 1 }));
    expectProtocolError(() => writeParams(V5, { consistency: 1, pageSizeInBytes: true }));
    expectProtocolError(() =>
      writeParams(V5, { consistency: 1, continuousPaging: { maxPages: 1, pagesPerSecond: 1 } }),
    );
    expectProtocolError(() =>
      writeParams(DSE_V1, {
        consistency: 1,
        continuousPaging: { maxPages: 1, pagesPerSecond: 1, nextPages: 1 },
      }),
    );
  });

  it('encodes an absent next_pages as 0 in DSE v2', () => {
    const bytes = writeParams(DSE_V2, {
      consistency: 1,
      continuousPaging: { maxPages: 0, pagesPerSecond: 0 },
    });
    expect(bytes).toEqual(hex('00 01  80 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00'));
  });

  it('refuses out-of-range numbers and mismatched names with a ProtocolError', () => {
    const bad: QueryParameters[] = [
      { consistency: -1 },
      { consistency: 0x10000 },
      { consistency: 1.5 },
      { consistency: 1, serialConsistency: 70000 },
      { consistency: 1, pageSize: 2 ** 31 },
      { consistency: 1, defaultTimestamp: 1n << 63n },
      { consistency: 1, values: [null], names: [] },
      { consistency: 1, names: ['a'] },
      { consistency: 1, values: new Array<null>(0x10000).fill(null) },
      { consistency: 1, values: [null], names: ['x'.repeat(0x10000)] },
    ];
    for (const params of bad) expectProtocolError(() => writeParams(V4, params));
    expectProtocolError(() => writeParams(V5, { consistency: 1, nowInSeconds: -(2 ** 31) - 1 }));
  });
});

/** Random parameters a version can carry; absent flags leave their fields out. */
function paramsArb(version: number): fc.Arbitrary<QueryParameters> {
  return fc
    .record(
      {
        consistency: shortArb,
        values: fc.array(valueArb(version), { maxLength: 5 }),
        named: fc.boolean(),
        names: fc.array(textArb, { minLength: 5, maxLength: 5 }),
        skipMetadata: fc.constant(true as const),
        pageSize: int32Arb,
        pagingState: fc.option(bytesArb, { nil: null }),
        serialConsistency: shortArb,
        defaultTimestamp: longArb,
        keyspace: textArb,
        nowInSeconds: int32Arb,
        pageSizeInBytes: fc.constant(true as const),
        continuousPaging: fc.record({
          maxPages: int32Arb,
          pagesPerSecond: int32Arb,
          nextPages: int32Arb,
        }),
      },
      { requiredKeys: ['consistency', 'named', 'names'] },
    )
    .map(({ named, names, ...params }) => {
      const out: QueryParameters = params;
      if (named && params.values !== undefined) out.names = names.slice(0, params.values.length);
      if (!hasKeyspaceFlag(version)) delete out.keyspace;
      if (!hasNowInSeconds(version)) delete out.nowInSeconds;
      if (!isDseVersion(version)) {
        delete out.pageSizeInBytes;
        delete out.continuousPaging;
      } else if (version === DSE_V1 && params.continuousPaging !== undefined) {
        const { maxPages, pagesPerSecond } = params.continuousPaging;
        out.continuousPaging = { maxPages, pagesPerSecond };
      }
      return out;
    });
}

describe('<query_parameters> properties', () => {
  for (const version of ALL_VERSIONS) {
    it(`round-trips random parameters (version 0x${version.toString(16)})`, () => {
      fc.assert(
        fc.property(paramsArb(version), (params) => {
          const bytes = writeParams(version, params);
          const decoded = readParams(bytes, version);
          expect(toInput(decoded)).toEqual(params);
          expect(decoded.flags).toBe(queryParametersFlags(version, params));
          // Decoding then encoding gives the same bytes back.
          expect(writeParams(version, toInput(decoded))).toEqual(bytes);
        }),
        { numRuns: 200 },
      );
    });

    it(`turns random bytes into parameters or a ProtocolError (version 0x${version.toString(16)})`, () => {
      fuzzDecoder((body) => readParams(body, version), 200);
    });
  }
});
