import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ProtocolVersion, hasPrepareFlags } from '../../../src/protocol/constants.js';
import { ProtocolErrorCode } from '../../../src/protocol/errors.js';
import {
  decodePrepare,
  encodePrepare,
  type DecodedPrepare,
} from '../../../src/protocol/messages/prepare.js';
import { hex } from '../../helpers/chunking.js';
import {
  ALL_VERSIONS,
  embedded,
  expectEveryTruncationFails,
  expectProtocolError,
  fuzzDecoder,
  textArb,
} from './request-test-helpers.js';

const { V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;

// spec v4 §4.1.5 PREPARE: <query: [long string]>
const QUERY_ONLY = hex('00 00 00 08  53 45 4c 45 43 54 20 3f  // [long string] "SELECT ?"');
// spec v5 §4.1.5 PREPARE: <query: [long string]><flags: [int]>[<keyspace: [string]>]
const V5_NO_KEYSPACE = hex(`
  00 00 00 08 53 45 4c 45 43 54 20 3f   // [long string] "SELECT ?"
  00 00 00 00                           // flags [int]: none
`);
const V5_KEYSPACE = hex(`
  00 00 00 08 53 45 4c 45 43 54 20 3f   // [long string] "SELECT ?"
  00 00 00 01                           // flags [int]: WITH_KEYSPACE
  00 02 6b 73                           // keyspace "ks"
`);

const GOLDENS: { name: string; version: number; bytes: Buffer; decoded: DecodedPrepare }[] = [
  { name: 'v3', version: V3, bytes: QUERY_ONLY, decoded: { query: 'SELECT ?' } },
  { name: 'v4', version: V4, bytes: QUERY_ONLY, decoded: { query: 'SELECT ?' } },
  { name: 'DSE v1', version: DSE_V1, bytes: QUERY_ONLY, decoded: { query: 'SELECT ?' } },
  { name: 'v5', version: V5, bytes: V5_NO_KEYSPACE, decoded: { query: 'SELECT ?', flags: 0 } },
  {
    name: 'v5 with keyspace',
    version: V5,
    bytes: V5_KEYSPACE,
    decoded: { query: 'SELECT ?', flags: 1, keyspace: 'ks' },
  },
  {
    name: 'DSE v2 with keyspace',
    version: DSE_V2,
    bytes: V5_KEYSPACE,
    decoded: { query: 'SELECT ?', flags: 1, keyspace: 'ks' },
  },
];

describe('PREPARE goldens', () => {
  for (const g of GOLDENS) {
    describe(g.name, () => {
      it('decodes and encodes', () => {
        expect(decodePrepare(g.bytes, g.version)).toEqual(g.decoded);
        const { flags: _flags, ...message } = g.decoded;
        expect(encodePrepare(g.version, message)).toEqual(g.bytes);
      });

      it('refuses every truncation', () => {
        expectEveryTruncationFails(g.bytes, (cut) => decodePrepare(cut, g.version));
      });

      it('reads only within a view into a larger buffer', () => {
        expect(decodePrepare(embedded(g.bytes, 0x00), g.version)).toEqual(g.decoded);
      });
    });
  }
});

describe('PREPARE hostile input', () => {
  it('refuses a v5 body in v4 (the flags are trailing bytes there)', () => {
    expectProtocolError(() => decodePrepare(V5_KEYSPACE, V4));
  });

  it('refuses unknown PREPARE flag bits', () => {
    for (const flags of ['00 00 00 02', '80 00 00 00', '00 00 01 01']) {
      const body = hex(`00 00 00 00 ${flags} 00 00`);
      expect(expectProtocolError(() => decodePrepare(body, V5)).message).toContain('flag');
    }
  });

  it('refuses invalid UTF-8 in the query and in the keyspace', () => {
    expectProtocolError(() => decodePrepare(hex('00 00 00 02 c3 28'), V4));
    expectProtocolError(() => decodePrepare(hex('00 00 00 00  00 00 00 01  00 01 ff'), V5));
  });

  it('refuses negative and huge query lengths', () => {
    expectProtocolError(() => decodePrepare(hex('ff ff ff ff'), V4));
    expectProtocolError(() => decodePrepare(hex('7f ff ff ff 00'), V4));
  });

  it('refuses a keyspace where the version has none, and unknown versions', () => {
    expectProtocolError(() => encodePrepare(V4, { query: 'q', keyspace: 'ks' }));
    expectProtocolError(() => encodePrepare(DSE_V1, { query: 'q', keyspace: 'ks' }));
    expectProtocolError(() => decodePrepare(QUERY_ONLY, 2), ProtocolErrorCode.UNSUPPORTED_VERSION);
    expectProtocolError(
      () => encodePrepare(0x43, { query: 'q' }),
      ProtocolErrorCode.UNSUPPORTED_VERSION,
    );
  });

  it('turns random bytes into a PREPARE or a ProtocolError', () => {
    for (const version of ALL_VERSIONS) fuzzDecoder((b) => decodePrepare(b, version), 100);
  });
});

describe('PREPARE properties', () => {
  for (const version of ALL_VERSIONS) {
    it(`round-trips query and keyspace (version 0x${version.toString(16)})`, () => {
      const keyspaceArb = hasPrepareFlags(version)
        ? fc.option(textArb, { nil: undefined })
        : fc.constant(undefined);
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 80 }), keyspaceArb, (query, ks) => {
          const message = ks === undefined ? { query } : { query, keyspace: ks };
          const decoded = decodePrepare(encodePrepare(version, message), version);
          const { flags, ...rest } = decoded;
          expect(rest).toEqual(message);
          expect(flags).toBe(hasPrepareFlags(version) ? (ks === undefined ? 0 : 1) : undefined);
        }),
        { numRuns: 100 },
      );
    });
  }
});
