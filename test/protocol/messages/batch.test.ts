import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  BatchType,
  Consistency,
  ProtocolVersion,
  hasKeyspaceFlag,
  hasNowInSeconds,
} from '../../../src/protocol/constants.js';
import { ProtocolErrorCode } from '../../../src/protocol/errors.js';
import {
  batchFlagMask,
  decodeBatch,
  decodeBatchHead,
  encodeBatch,
  type BatchMessage,
  type BatchStatementInput,
  type DecodedBatch,
} from '../../../src/protocol/messages/batch.js';
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
  int32Arb,
  longArb,
  shortArb,
  textArb,
  valueArb,
} from './request-test-helpers.js';

const { V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;

interface Golden {
  name: string;
  version: number;
  bytes: Buffer;
  decoded: DecodedBatch;
}

// spec v4 §4.1.7 BATCH: <type><n><query_1>...<query_n><consistency><flags>[<serial_consistency>]
// [<timestamp>]; <query_i> = <kind><string_or_id><n>[<name_1>]<value_1>...[<name_n>]<value_n>
const GOLDENS: Golden[] = [
  {
    name: 'v4, a query and a prepared statement',
    version: V4,
    bytes: hex(`
      01                                  // type UNLOGGED
      00 02                               // n = 2 statements
      00                                  // kind 0: query string
      00 00 00 1c                         //   [long string] length 28
      49 4e 53 45 52 54 20 49 4e 54 4f 20 74 20 28 6b 29 20 56 41 4c 55 45 53 20 28 3f 29
                                          //   "INSERT INTO t (k) VALUES (?)"
      00 01                               //   n = 1 value
      00 00 00 01 2a                      //     [value] 2a
      01                                  // kind 1: prepared id
      00 02 ab cd                         //   [short bytes] id
      00 00                               //   n = 0 values
      00 01                               // consistency ONE (offset 50)
      30                                  // flags [byte]: WITH_SERIAL_CONSISTENCY WITH_DEFAULT_TIMESTAMP
      00 09                               // serial_consistency LOCAL_SERIAL
      00 00 00 00 00 00 00 64             // timestamp 100
    `),
    decoded: {
      type: BatchType.UNLOGGED,
      statements: [
        { kind: 'query', query: 'INSERT INTO t (k) VALUES (?)', values: [hex('2a')] },
        { kind: 'prepared', id: hex('ab cd'), values: [] },
      ],
      consistency: Consistency.ONE,
      consistencyOffset: 50,
      flags: 0x30,
      serialConsistency: Consistency.LOCAL_SERIAL,
      defaultTimestamp: 100n,
    },
  },
  {
    name: 'v4, named values (flag 0x40): each [string] name precedes its value',
    version: V4,
    bytes: hex(`
      00                                  // type LOGGED
      00 02                               // n = 2 statements
      00 00 00 00 08 53 45 4c 45 43 54 20 3f   // kind 0, "SELECT ?"
      00 01                               //   n = 1
      00 01 61 00 00 00 01 2a             //     name "a", [value] 2a
      01 00 01 07                         // kind 1, id 07
      00 01                               //   n = 1
      00 01 62 ff ff ff ff                //     name "b", [value] null
      00 01                               // consistency ONE (offset 39)
      40                                  // flags [byte]: WITH_NAMES_FOR_VALUES
    `),
    decoded: {
      type: BatchType.LOGGED,
      statements: [
        { kind: 'query', query: 'SELECT ?', values: [hex('2a')], names: ['a'] },
        { kind: 'prepared', id: hex('07'), values: [null], names: ['b'] },
      ],
      consistency: Consistency.ONE,
      consistencyOffset: 39,
      flags: 0x40,
    },
  },
  {
    name: 'v3, [bytes] values',
    version: V3,
    bytes: hex(`
      00                                  // type LOGGED
      00 01                               // n = 1 statement
      01 00 01 07                         // kind 1, id 07
      00 02 ff ff ff ff 00 00 00 01 01    //   n = 2: [bytes] null, [bytes] 01
      00 04                               // consistency QUORUM (offset 18)
      00                                  // flags [byte]: none
    `),
    decoded: {
      type: BatchType.LOGGED,
      statements: [{ kind: 'prepared', id: hex('07'), values: [null, hex('01')] }],
      consistency: Consistency.QUORUM,
      consistencyOffset: 18,
      flags: 0,
    },
  },
  {
    name: 'v5, keyspace and now_in_seconds',
    version: V5,
    bytes: hex(`
      02                                  // type COUNTER
      00 01                               // n = 1 statement
      00 00 00 00 0d 44 45 4c 45 54 45 20 46 52 4f 4d 20 74   // kind 0, "DELETE FROM t"
      00 00                               //   n = 0
      00 06                               // consistency LOCAL_QUORUM (offset 23)
      00 00 01 80                         // flags [int]: WITH_KEYSPACE WITH_NOW_IN_SECONDS
      00 02 6b 73                         // keyspace "ks"
      00 00 00 3c                         // now_in_seconds 60
    `),
    decoded: {
      type: BatchType.COUNTER,
      statements: [{ kind: 'query', query: 'DELETE FROM t', values: [] }],
      consistency: Consistency.LOCAL_QUORUM,
      consistencyOffset: 23,
      flags: 0x180,
      keyspace: 'ks',
      nowInSeconds: 60,
    },
  },
  {
    name: 'DSE v1, [int] flags',
    version: DSE_V1,
    bytes: hex(`
      01 00 01                            // type UNLOGGED, n = 1
      01 00 01 07 00 00                   // kind 1, id 07, n = 0
      00 0a                               // consistency LOCAL_ONE (offset 9)
      00 00 00 20                         // flags [int]: WITH_DEFAULT_TIMESTAMP
      00 00 00 00 00 00 00 05             // timestamp 5
    `),
    decoded: {
      type: BatchType.UNLOGGED,
      statements: [{ kind: 'prepared', id: hex('07'), values: [] }],
      consistency: Consistency.LOCAL_ONE,
      consistencyOffset: 9,
      flags: 0x20,
      defaultTimestamp: 5n,
    },
  },
  {
    name: 'DSE v2, keyspace',
    version: DSE_V2,
    bytes: hex(`
      00 00 01                            // type LOGGED, n = 1
      01 00 01 07 00 01 ff ff ff fe       // kind 1, id 07, n = 1: [value] not set
      00 01                               // consistency ONE (offset 13)
      00 00 00 80                         // flags [int]: WITH_KEYSPACE
      00 03 6b 73 31                      // keyspace "ks1"
    `),
    decoded: {
      type: BatchType.LOGGED,
      statements: [{ kind: 'prepared', id: hex('07'), values: [UNSET] }],
      consistency: Consistency.ONE,
      consistencyOffset: 13,
      flags: 0x80,
      keyspace: 'ks1',
    },
  },
];

function toMessage(d: DecodedBatch): BatchMessage {
  const { consistencyOffset: _o, flags: _f, ...message } = d;
  return message;
}

describe('BATCH goldens', () => {
  for (const g of GOLDENS) {
    describe(g.name, () => {
      it('decodes in full', () => {
        expect(decodeBatch(g.bytes, g.version)).toEqual(g.decoded);
      });

      it('decodes the head: walks the statements to the consistency', () => {
        const head = decodeBatchHead(g.bytes, g.version);
        expect(head).toEqual({
          type: g.decoded.type,
          statementCount: g.decoded.statements.length,
          consistency: g.decoded.consistency,
          consistencyOffset: g.decoded.consistencyOffset,
          flags: g.decoded.flags,
        });
        const flagsEnd =
          head.consistencyOffset + 2 + (g.version === V3 || g.version === V4 ? 1 : 4);
        expect(decodeBatchHead(g.bytes.subarray(0, flagsEnd), g.version)).toEqual(head);
      });

      it('encodes the same bytes', () => {
        expect(encodeBatch(g.version, toMessage(g.decoded))).toEqual(g.bytes);
      });

      it('refuses every truncation (full and head)', () => {
        expectEveryTruncationFails(g.bytes, (cut) => decodeBatch(cut, g.version));
        const head = decodeBatchHead(g.bytes, g.version);
        expectEveryTruncationFails(
          g.bytes,
          (cut) => decodeBatchHead(cut, g.version),
          head.consistencyOffset + 2,
        );
      });

      it('reads only within a view into a larger buffer', () => {
        expect(decodeBatch(embedded(g.bytes), g.version)).toEqual(g.decoded);
        expect(decodeBatch(embedded(g.bytes, 0x00), g.version)).toEqual(g.decoded);
      });
    });
  }
});

describe('BATCH hostile input and rules', () => {
  const EMPTY_V4 = '00 00 00  00 01  00'; // LOGGED, no statements, ONE, no flags

  it('accepts a batch without statements', () => {
    expect(decodeBatch(hex(EMPTY_V4), V4).statements).toEqual([]);
  });

  it('refuses an unknown batch type and statement kind', () => {
    expect(expectProtocolError(() => decodeBatch(hex('03 00 00 00 01 00'), V4)).message).toContain(
      'type',
    );
    expectProtocolError(() => decodeBatchHead(hex('03 00 00 00 01 00'), V4));
    const badKind = hex('00 00 01  02 00 00 00 00 00 00  00 01 00');
    expect(expectProtocolError(() => decodeBatch(badKind, V4)).message).toContain('kind');
    expectProtocolError(() => decodeBatchHead(badKind, V4));
    expectProtocolError(() =>
      encodeBatch(V4, { type: 3 as BatchType, statements: [], consistency: 1 }),
    );
  });

  it('refuses the four rightmost flag bits and bits the version lacks', () => {
    for (const flags of ['01', '02', '04', '08', '80']) {
      expectProtocolError(() => decodeBatch(hex(`00 00 00 00 01 ${flags}`), V4));
      expectProtocolError(() => decodeBatchHead(hex(`00 00 00 00 01 ${flags}`), V4));
    }
    expectProtocolError(() => decodeBatch(hex('00 00 00 00 01 00 00 01 00'), DSE_V2));
    expectProtocolError(() => decodeBatch(hex('00 00 00 00 01 80 00 00 00'), DSE_V2));
    expectProtocolError(() => decodeBatch(hex('00 00 00 00 01 00 00 00 80'), DSE_V1));
    expect(batchFlagMask(V4)).toBe(0x70);
    expect(batchFlagMask(V5)).toBe(0x1f0);
    expect(batchFlagMask(DSE_V2)).toBe(0xf0);
  });

  it('refuses [value] lengths below -2 from v4 on, reads them as null in v3', () => {
    const body = hex('00 00 01  01 00 01 07  00 01 ff ff ff fd  00 01 00');
    expectProtocolError(() => decodeBatch(body, V4));
    expectProtocolError(() => decodeBatchHead(body, V4));
    expect(decodeBatch(body, V3).statements[0]?.values).toEqual([null]);
  });

  it('refuses negative and huge statement lengths', () => {
    for (const len of ['ff ff ff ff', '7f ff ff ff']) {
      const body = hex(`00 00 01  00 ${len}  00 00  00 01 00`);
      expectProtocolError(() => decodeBatch(body, V4));
      expectProtocolError(() => decodeBatchHead(body, V4));
    }
  });

  it('validates UTF-8 when decoding in full; the head does not decode strings', () => {
    const body = hex('00 00 01  00 00 00 00 02 c3 28  00 00  00 01 00');
    expect(expectProtocolError(() => decodeBatch(body, V4)).message).toContain('UTF-8');
    expect(decodeBatchHead(body, V4).consistencyOffset).toBe(12);
  });

  it('refuses 0x40 on statements that carry no names (what Cassandra would accept)', () => {
    const body = hex(`
      00 00 01                                 // LOGGED, one statement
      00 00 00 00 08 53 45 4c 45 43 54 20 3f   // kind 0, "SELECT ?"
      00 01 00 00 00 01 2a                     // one unnamed value
      00 01 40                                 // ONE, flags WITH_NAMES_FOR_VALUES
    `);
    expectProtocolError(() => decodeBatch(body, V4));
    expectProtocolError(() => decodeBatchHead(body, V4));
  });

  it('refuses trailing bytes and fields the version has not', () => {
    expectProtocolError(() => decodeBatch(hex(`${EMPTY_V4} 00`), V4));
    const base = { type: BatchType.LOGGED, statements: [], consistency: 1 };
    expectProtocolError(() => encodeBatch(V4, { ...base, keyspace: 'ks' }));
    expectProtocolError(() => encodeBatch(DSE_V2, { ...base, nowInSeconds: 1 }));
    expectProtocolError(() =>
      encodeBatch(V3, {
        ...base,
        statements: [{ kind: 'prepared', id: hex('01'), values: [UNSET] }],
      }),
    );
    expectProtocolError(() =>
      encodeBatch(V4, {
        ...base,
        statements: [
          { kind: 'prepared', id: hex('01'), values: [null], names: ['a'] },
          { kind: 'prepared', id: hex('02'), values: [null] },
        ],
      }),
    );
    expectProtocolError(() => encodeBatch(V4, { ...base, consistency: 0x10000 }));
    expectProtocolError(() => encodeBatch(V4, { ...base, defaultTimestamp: -(1n << 64n) }));
    expectProtocolError(() => decodeBatch(hex(EMPTY_V4), 7), ProtocolErrorCode.UNSUPPORTED_VERSION);
  });

  it('rewrites the consistency found by the head in place', () => {
    const g = GOLDENS[0];
    if (g === undefined) throw new Error('missing golden');
    const body = embedded(g.bytes);
    const head = decodeBatchHead(body, V4);
    expect(rewriteConsistency(body, head.consistencyOffset, Consistency.LOCAL_QUORUM)).toBe(
      Consistency.ONE,
    );
    expect(decodeBatch(body, V4)).toEqual({ ...g.decoded, consistency: Consistency.LOCAL_QUORUM });
  });

  it('turns random bytes into a BATCH or a ProtocolError', () => {
    for (const version of ALL_VERSIONS) {
      fuzzDecoder((b) => decodeBatch(b, version), 100);
      fuzzDecoder((b) => decodeBatchHead(b, version), 100);
    }
  });
});

function batchArb(version: number): fc.Arbitrary<BatchMessage> {
  const statementArb = (named: boolean): fc.Arbitrary<BatchStatementInput> =>
    fc
      .record({
        prepared: fc.boolean(),
        query: fc.string({ unit: 'binary', maxLength: 30 }),
        id: bytesArb,
        values: fc.array(valueArb(version), { maxLength: 3 }),
        names: fc.array(textArb, { minLength: 3, maxLength: 3 }),
      })
      .map(({ prepared, query, id, values, names }) => {
        const common = named ? { values, names: names.slice(0, values.length) } : { values };
        return prepared ? { kind: 'prepared', id, ...common } : { kind: 'query', query, ...common };
      });
  return fc.boolean().chain((named) =>
    fc
      .record(
        {
          type: fc.constantFrom(BatchType.LOGGED, BatchType.UNLOGGED, BatchType.COUNTER),
          statements: fc.array(statementArb(named), { maxLength: 4 }),
          consistency: shortArb,
          serialConsistency: shortArb,
          defaultTimestamp: longArb,
          keyspace: textArb,
          nowInSeconds: int32Arb,
        },
        { requiredKeys: ['type', 'statements', 'consistency'] },
      )
      .map((batch) => {
        const out: BatchMessage = batch;
        if (!hasKeyspaceFlag(version)) delete out.keyspace;
        if (!hasNowInSeconds(version)) delete out.nowInSeconds;
        return out;
      }),
  );
}

describe('BATCH properties', () => {
  for (const version of ALL_VERSIONS) {
    it(`round-trips random batches (version 0x${version.toString(16)})`, () => {
      fc.assert(
        fc.property(batchArb(version), (batch) => {
          const body = encodeBatch(version, batch);
          const decoded = decodeBatch(body, version);
          expect(toMessage(decoded)).toEqual(batch);
          expect(encodeBatch(version, toMessage(decoded))).toEqual(body);
          const head = decodeBatchHead(body, version);
          expect(head.consistencyOffset).toBe(decoded.consistencyOffset);
          expect(head.flags).toBe(decoded.flags);
          expect(body.readUInt16BE(head.consistencyOffset)).toBe(batch.consistency);
        }),
        { numRuns: 200 },
      );
    });
  }
});
