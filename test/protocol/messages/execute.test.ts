import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  Consistency,
  ProtocolVersion,
  hasResultMetadataId,
} from '../../../src/protocol/constants.js';
import { ProtocolErrorCode } from '../../../src/protocol/errors.js';
import {
  decodeExecute,
  decodeExecuteHead,
  encodeExecute,
  type DecodedExecute,
} from '../../../src/protocol/messages/execute.js';
import { rewriteConsistency } from '../../../src/protocol/messages/rewrite-consistency.js';
import { UNSET } from '../../../src/protocol/reader.js';
import { hex } from '../../helpers/chunking.js';
import {
  ALL_VERSIONS,
  bytesArb,
  embedded,
  expectEveryTruncationFails,
  expectProtocolError,
  fuzzDecoder,
  shortArb,
  valueArb,
} from './request-test-helpers.js';

const { V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;

interface Golden {
  name: string;
  version: number;
  bytes: Buffer;
  decoded: DecodedExecute;
  headEnd: number;
}

// spec v4 §4.1.6 EXECUTE: <id: [short bytes]><query_parameters>
// spec v5 §4.1.6 EXECUTE: <id: [short bytes]><result_metadata_id: [short bytes]><query_parameters>
const GOLDENS: Golden[] = [
  {
    name: 'v3',
    version: V3,
    bytes: hex(`
      00 01 07                  // id [short bytes] 07
      00 01                     // consistency ONE (offset 3)
      00                        // flags [byte]: none
    `),
    decoded: {
      id: hex('07'),
      parameters: { consistency: Consistency.ONE, consistencyOffset: 3, flags: 0 },
    },
    headEnd: 6,
  },
  {
    name: 'v4',
    version: V4,
    bytes: hex(`
      00 04 0a 0b 0c 0d         // id [short bytes]
      00 06                     // consistency LOCAL_QUORUM (offset 6)
      03                        // flags [byte]: VALUES SKIP_METADATA
      00 02                     // n = 2
      00 00 00 01 01            //   [value] 01
      ff ff ff fe               //   [value] not set
    `),
    decoded: {
      id: hex('0a 0b 0c 0d'),
      parameters: {
        consistency: Consistency.LOCAL_QUORUM,
        consistencyOffset: 6,
        flags: 0x03,
        values: [hex('01'), UNSET],
        skipMetadata: true,
      },
    },
    headEnd: 9,
  },
  {
    name: 'v5',
    version: V5,
    bytes: hex(`
      00 02 ab cd               // id [short bytes]
      00 03 01 02 03            // result_metadata_id [short bytes]
      00 0a                     // consistency LOCAL_ONE (offset 9)
      00 00 00 21               // flags [int]: VALUES WITH_DEFAULT_TIMESTAMP
      00 00                     // n = 0
      ff ff ff ff ff ff ff ff   // timestamp -1
    `),
    decoded: {
      id: hex('ab cd'),
      resultMetadataId: hex('01 02 03'),
      parameters: {
        consistency: Consistency.LOCAL_ONE,
        consistencyOffset: 9,
        flags: 0x21,
        values: [],
        defaultTimestamp: -1n,
      },
    },
    headEnd: 15,
  },
  {
    name: 'DSE v1',
    version: DSE_V1,
    bytes: hex(`
      00 02 ab cd               // id [short bytes] (no result_metadata_id in DSE v1)
      00 01                     // consistency ONE (offset 4)
      00 00 00 04               // flags [int]: PAGE_SIZE
      00 00 00 64               // result_page_size 100
    `),
    decoded: {
      id: hex('ab cd'),
      parameters: {
        consistency: Consistency.ONE,
        consistencyOffset: 4,
        flags: 0x04,
        pageSize: 100,
      },
    },
    headEnd: 10,
  },
  {
    name: 'DSE v2',
    version: DSE_V2,
    bytes: hex(`
      00 02 ab cd               // id [short bytes]
      00 00                     // result_metadata_id [short bytes]: empty
      00 04                     // consistency QUORUM (offset 6)
      c0 00 00 04               // flags [int]: PAGE_SIZE PAGE_SIZE_BYTES CONTINUOUS_PAGING
      00 01 00 00               // result_page_size 65536 (bytes)
      00 00 00 01               // max_num_pages 1
      00 00 00 00               // pages_per_second 0
      00 00 00 04               // next_pages 4
    `),
    decoded: {
      id: hex('ab cd'),
      resultMetadataId: Buffer.alloc(0),
      parameters: {
        consistency: Consistency.QUORUM,
        consistencyOffset: 6,
        flags: 0xc0000004,
        pageSize: 65536,
        pageSizeInBytes: true,
        continuousPaging: { maxPages: 1, pagesPerSecond: 0, nextPages: 4 },
      },
    },
    headEnd: 12,
  },
];

function encodeDecoded(version: number, d: DecodedExecute): Buffer {
  const { consistencyOffset: _o, flags: _f, ...parameters } = d.parameters;
  return encodeExecute(version, { ...d, parameters });
}

describe('EXECUTE goldens', () => {
  for (const g of GOLDENS) {
    describe(g.name, () => {
      it('decodes in full', () => {
        expect(decodeExecute(g.bytes, g.version)).toEqual(g.decoded);
      });

      it('decodes the head only, ids as views', () => {
        const { id, resultMetadataId, parameters } = g.decoded;
        const head = decodeExecuteHead(g.bytes, g.version);
        expect(head).toEqual({
          id,
          ...(resultMetadataId === undefined ? {} : { resultMetadataId }),
          consistency: parameters.consistency,
          consistencyOffset: parameters.consistencyOffset,
          flags: parameters.flags,
        });
        expect(head.id.buffer).toBe(g.bytes.buffer);
        expect(decodeExecuteHead(g.bytes.subarray(0, g.headEnd), g.version)).toEqual(head);
      });

      it('encodes the same bytes', () => {
        expect(encodeDecoded(g.version, g.decoded)).toEqual(g.bytes);
      });

      it('refuses every truncation (full and head)', () => {
        expectEveryTruncationFails(g.bytes, (cut) => decodeExecute(cut, g.version));
        expectEveryTruncationFails(g.bytes, (cut) => decodeExecuteHead(cut, g.version), g.headEnd);
      });

      it('reads only within a view into a larger buffer', () => {
        expect(decodeExecute(embedded(g.bytes), g.version)).toEqual(g.decoded);
      });
    });
  }
});

describe('EXECUTE hostile input and rules', () => {
  it('refuses unknown flag bits, [value] lengths below -2 and trailing bytes', () => {
    expect(decodeExecuteHead(hex('00 01 07 00 01 80'), V4).flags).toBe(0x80);
    expectProtocolError(() => decodeExecute(hex('00 01 07 00 01 80'), V4));
    expectProtocolError(() => decodeExecute(hex('00 01 07 00 01 01 00 01 ff ff ff f0'), V4));
    expectProtocolError(() => decodeExecute(hex('00 01 07 00 01 00 00'), V4));
  });

  it('needs a result_metadata_id exactly where the version has one', () => {
    const parameters = { consistency: 1 };
    expectProtocolError(() => encodeExecute(V5, { id: hex('01'), parameters }));
    expectProtocolError(() => encodeExecute(DSE_V2, { id: hex('01'), parameters }));
    expectProtocolError(() =>
      encodeExecute(V4, { id: hex('01'), resultMetadataId: hex('02'), parameters }),
    );
  });

  it('refuses an id longer than a [short bytes] and unknown versions', () => {
    const parameters = { consistency: 1 };
    expectProtocolError(() => encodeExecute(V4, { id: Buffer.alloc(0x10000), parameters }));
    expectProtocolError(
      () => decodeExecute(hex('00 01 07 00 01 00'), 6),
      ProtocolErrorCode.UNSUPPORTED_VERSION,
    );
    expectProtocolError(
      () => decodeExecuteHead(hex('00 01 07 00 01 00'), 0),
      ProtocolErrorCode.UNSUPPORTED_VERSION,
    );
    expectProtocolError(
      () => encodeExecute(0x44, { id: hex('01'), parameters }),
      ProtocolErrorCode.UNSUPPORTED_VERSION,
    );
  });

  it('rewrites the consistency found by the head in place', () => {
    const g = GOLDENS[2];
    if (g === undefined) throw new Error('missing golden');
    const body = embedded(g.bytes);
    const head = decodeExecuteHead(body, V5);
    rewriteConsistency(body, head.consistencyOffset, Consistency.LOCAL_QUORUM);
    const after = decodeExecute(body, V5);
    expect(after.parameters.consistency).toBe(Consistency.LOCAL_QUORUM);
    expect(after.parameters.defaultTimestamp).toBe(-1n);
  });

  it('turns random bytes into an EXECUTE or a ProtocolError', () => {
    for (const version of ALL_VERSIONS) {
      fuzzDecoder((b) => decodeExecute(b, version), 100);
      fuzzDecoder((b) => decodeExecuteHead(b, version), 100);
    }
  });
});

describe('EXECUTE properties', () => {
  for (const version of ALL_VERSIONS) {
    it(`round-trips ids and values (version 0x${version.toString(16)})`, () => {
      fc.assert(
        fc.property(
          bytesArb,
          bytesArb,
          shortArb,
          fc.array(valueArb(version), { maxLength: 4 }),
          (id, resultMetadataId, consistency, values) => {
            const message = hasResultMetadataId(version)
              ? { id, resultMetadataId, parameters: { consistency, values } }
              : { id, parameters: { consistency, values } };
            const body = encodeExecute(version, message);
            const decoded = decodeExecute(body, version);
            const { consistencyOffset, flags, ...parameters } = decoded.parameters;
            expect({ ...decoded, parameters }).toEqual(message);
            const head = decodeExecuteHead(body, version);
            expect(head.consistencyOffset).toBe(consistencyOffset);
            expect(head.flags).toBe(flags);
            expect(head.consistency).toBe(consistency);
          },
        ),
        { numRuns: 150 },
      );
    });
  }
});
