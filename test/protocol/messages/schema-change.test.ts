import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolVersion } from '../../../src/protocol/constants.js';
import {
  type SchemaChange,
  readSchemaChange,
  writeSchemaChange,
} from '../../../src/protocol/messages/schema-change.js';
import { CqlReader } from '../../../src/protocol/reader.js';
import { CqlWriter } from '../../../src/protocol/writer.js';
import { hex } from '../../helpers/chunking.js';
import { text } from './response-arbitraries.js';
import { expectEveryTruncationThrows, expectProtocolError } from './response-hostile-input.js';
import { SCHEMA_CHANGE_GOLDEN, V3_KEYSPACE_UPDATED } from './schema-change-goldens.js';

const { V3, V4, V5 } = ProtocolVersion;

function read(buf: Buffer): SchemaChange {
  const reader = new CqlReader(buf);
  const change = readSchemaChange(reader);
  reader.expectEnd('schema change');
  return change;
}

function write(version: number, change: SchemaChange): Buffer {
  const writer = new CqlWriter(32);
  writeSchemaChange(writer, version, change);
  return writer.finish();
}

describe('schema change body (spec v4 §4.2.6 <change_type><target><options>)', () => {
  describe.each(SCHEMA_CHANGE_GOLDEN)('$name', ({ change, bytes, inV3 }) => {
    it('reads the golden bytes in every version', () => {
      expect(read(bytes)).toEqual(change);
    });
    it('writes the golden bytes from v4 on', () => {
      expect(write(V4, change)).toEqual(bytes);
      expect(write(V5, change)).toEqual(bytes);
    });
    it(`writes ${inV3 ? 'the same bytes' : 'a keyspace UPDATED change'} for v3`, () => {
      expect(write(V3, change)).toEqual(inV3 ? bytes : V3_KEYSPACE_UPDATED);
    });
    it('throws ProtocolError when truncated at any length', () => {
      expectEveryTruncationThrows(bytes, read);
    });
  });

  it('refuses unknown change types and targets, reading and writing', () => {
    expectProtocolError(() => read(hex('0005 414c544552 0008 4b45595350414345 0002 6b73')));
    expectProtocolError(() => read(hex('0007 43524541544544 0005 494e444558 0002 6b73')));
    expectProtocolError(() =>
      write(V4, {
        changeType: 'ALTERED',
        target: 'KEYSPACE',
        keyspace: 'k',
      } as unknown as SchemaChange),
    );
    expectProtocolError(() =>
      write(V4, {
        changeType: 'CREATED',
        target: 'INDEX',
        keyspace: 'k',
      } as unknown as SchemaChange),
    );
    const argTypes = Array.from({ length: 0x10000 }, () => 'int');
    expectProtocolError(() =>
      write(V4, { changeType: 'CREATED', target: 'FUNCTION', keyspace: 'k', name: 'f', argTypes }),
    );
  });

  it('round-trips random changes (property)', () => {
    const changeType = fc.constantFrom('CREATED', 'UPDATED', 'DROPPED' as const);
    const change: fc.Arbitrary<SchemaChange> = fc.oneof(
      fc.record({ changeType, target: fc.constant('KEYSPACE' as const), keyspace: text() }),
      fc.record({
        changeType,
        target: fc.constantFrom('TABLE', 'TYPE' as const),
        keyspace: text(),
        name: text(),
      }),
      fc.record({
        changeType,
        target: fc.constantFrom('FUNCTION', 'AGGREGATE' as const),
        keyspace: text(),
        name: text(),
        argTypes: fc.array(text(), { maxLength: 4 }),
      }),
    );
    fc.assert(
      fc.property(change, (c) => {
        expect(read(write(V4, c))).toEqual(c);
      }),
      { numRuns: 200 },
    );
  });
});
