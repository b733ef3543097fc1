// The routing key read from EXECUTE and BATCH frames (routing-key.ts): the token of the values at
// the partition key indexes, single or composite (CompositeType encoding), in v3, v4 and v5, and
// "unknown" for whatever cannot be routed. Here rather than in test/protocol (whose tests also run
// in the image build, without sim/): it compares with the simulator's partition keys and tokens.

import { describe, expect, it } from 'vitest';
import { serializePartitionKey } from '../../sim/engine/partition-key.js';
import { murmur3Token as reference } from '../../sim/engine/murmur3.js';
import { BatchType, HeaderFlag, Opcode, ProtocolVersion } from '../../src/protocol/constants.js';
import { encodeHeader } from '../../src/protocol/header.js';
import { encodeBatch } from '../../src/protocol/messages/batch.js';
import { encodeExecute } from '../../src/protocol/messages/execute.js';
import type { QueryParameters } from '../../src/protocol/messages/query-parameters.js';
import { UNSET } from '../../src/protocol/reader.js';
import { tokenFromParts } from '../../src/protocol/murmur3.js';
import {
  batchToken,
  executeId,
  executeToken,
  type FrameSlice,
} from '../../src/protocol/routing-key.js';

const ID = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
const META = Buffer.from('fedcba9876543210', 'hex');

function frame(version: number, opcode: number, body: Buffer, flags = 0): Buffer {
  const header = encodeHeader({
    version,
    response: false,
    flags,
    streamId: 7,
    opcode,
    bodyLength: body.length,
  });
  return Buffer.concat([header, body]);
}

function execute(version: number, parameters: QueryParameters): Buffer {
  const message =
    version >= ProtocolVersion.V5
      ? { id: ID, resultMetadataId: META, parameters }
      : { id: ID, parameters };
  return frame(version, Opcode.EXECUTE, encodeExecute(version, message));
}

function tokenOf(f: Buffer, version: number, pk: number[]): bigint | undefined {
  const slice: FrameSlice = { start: 0, end: 0 };
  if (!executeId(f, slice)) return undefined;
  expect(f.subarray(slice.start, slice.end)).toEqual(ID);
  const out = new Int32Array(2);
  return executeToken(f, version, slice.end, pk, out)
    ? tokenFromParts(out[0]!, out[1]!)
    : undefined;
}

const int = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

describe('executeToken', () => {
  for (const version of [ProtocolVersion.V3, ProtocolVersion.V4, ProtocolVersion.V5]) {
    it(`hashes a single key value where it lies (v${version})`, () => {
      const values = [Buffer.from('text value'), int(42), Buffer.from('more')];
      const f = execute(version, { consistency: 1, values, pageSize: 100 });
      expect(tokenOf(f, version, [1])).toBe(reference(int(42)));
      expect(tokenOf(f, version, [0])).toBe(reference(Buffer.from('text value')));
    });

    it(`builds a composite key in pk order (v${version})`, () => {
      const values = [Buffer.from('v'), Buffer.from('bb'), int(7)];
      const f = execute(version, { consistency: 1, values });
      const expected = reference(serializePartitionKey([int(7), Buffer.from('bb')]));
      expect(tokenOf(f, version, [2, 1])).toBe(expected);
    });
  }

  it('is unknown for named values, a null or unset key, too few values, no values', () => {
    const v = ProtocolVersion.V4;
    expect(tokenOf(execute(v, { consistency: 1, values: [int(1)], names: ['k'] }), v, [0])).toBe(
      undefined,
    );
    expect(tokenOf(execute(v, { consistency: 1, values: [null] }), v, [0])).toBeUndefined();
    expect(tokenOf(execute(v, { consistency: 1, values: [UNSET] }), v, [0])).toBeUndefined();
    expect(tokenOf(execute(v, { consistency: 1, values: [int(1)] }), v, [1])).toBeUndefined();
    expect(tokenOf(execute(v, { consistency: 1 }), v, [0])).toBeUndefined();
  });

  it('is unknown for compressed frames, custom payloads and truncated bodies', () => {
    const v = ProtocolVersion.V4;
    const body = encodeExecute(v, { id: ID, parameters: { consistency: 1, values: [int(1)] } });
    const slice: FrameSlice = { start: 0, end: 0 };
    expect(executeId(frame(v, Opcode.EXECUTE, body, HeaderFlag.COMPRESSION), slice)).toBe(false);
    expect(executeId(frame(v, Opcode.EXECUTE, body, HeaderFlag.CUSTOM_PAYLOAD), slice)).toBe(false);
    const whole = frame(v, Opcode.EXECUTE, body);
    for (let cut = 9; cut < whole.length; cut++) {
      expect(tokenOf(whole.subarray(0, cut), v, [0])).toBeUndefined();
    }
    expect(tokenOf(whole, v, [0])).toBe(reference(int(1)));
  });
});

describe('batchToken', () => {
  const ID2 = Buffer.alloc(16, 2);
  const pk = new Map([
    [ID.toString('hex'), [0]],
    [ID2.toString('hex'), [1]],
  ]);
  const lookup = (f: Buffer, start: number, end: number): number[] | undefined =>
    pk.get(f.subarray(start, end).toString('hex'));

  function batch(statements: Parameters<typeof encodeBatch>[1]['statements']): Buffer {
    const v = ProtocolVersion.V4;
    return frame(
      v,
      Opcode.BATCH,
      encodeBatch(v, { type: BatchType.LOGGED, statements, consistency: 1 }),
    );
  }

  it('gives the token when every prepared statement names the same partition', () => {
    const f = batch([
      { kind: 'prepared', id: ID, values: [int(5), Buffer.from('a')] },
      { kind: 'prepared', id: ID2, values: [Buffer.from('b'), int(5)] },
    ]);
    const out = new Int32Array(2);
    expect(batchToken(f, lookup, out, new Int32Array(2))).toBe(true);
    expect(tokenFromParts(out[0]!, out[1]!)).toBe(reference(int(5)));
  });

  it('is unknown for two partitions, a query child or an unknown id', () => {
    const out = new Int32Array(2);
    const scratch = new Int32Array(2);
    const two = batch([
      { kind: 'prepared', id: ID, values: [int(5)] },
      { kind: 'prepared', id: ID, values: [int(6)] },
    ]);
    expect(batchToken(two, lookup, out, scratch)).toBe(false);
    const query = batch([
      { kind: 'prepared', id: ID, values: [int(5)] },
      { kind: 'query', query: 'INSERT', values: [] },
    ]);
    expect(batchToken(query, lookup, out, scratch)).toBe(false);
    const unknown = batch([{ kind: 'prepared', id: Buffer.alloc(16, 9), values: [int(5)] }]);
    expect(batchToken(unknown, lookup, out, scratch)).toBe(false);
  });
});
