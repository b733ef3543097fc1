import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolVersion } from '../../../src/protocol/constants.js';
import {
  type CqlEvent,
  decodeEvent,
  encodeEvent,
  eventFrame,
} from '../../../src/protocol/messages/event.js';
import { hex } from '../../helpers/chunking.js';
import { inetAddress, text } from './response-arbitraries.js';
import {
  embedded,
  expectEveryTruncationThrows,
  expectProtocolError,
  expectTrailingByteThrows,
} from './response-hostile-input.js';
import { SCHEMA_CHANGE_GOLDEN, V3_KEYSPACE_UPDATED } from './schema-change-goldens.js';

const { V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;
const ALL_VERSIONS = [V3, V4, V5, DSE_V1, DSE_V2];

const SCHEMA_CHANGE = hex('000d 534348454d415f4348414e4745'); // [string] "SCHEMA_CHANGE"

interface Golden {
  name: string;
  event: CqlEvent;
  bytes: Buffer;
  versions: number[];
}

const GOLDEN: Golden[] = [
  {
    name: 'TOPOLOGY_CHANGE NEW_NODE, IPv4',
    event: {
      type: 'TOPOLOGY_CHANGE',
      change: 'NEW_NODE',
      address: { address: '10.0.0.2', port: 9042 },
    },
    bytes: hex(`
      000f 544f504f4c4f47595f4348414e4745  // <type> "TOPOLOGY_CHANGE"
      0008 4e45575f4e4f4445                // <change> "NEW_NODE"
      04 0a000002                          // [inet] address 10.0.0.2
      00002352                             //        port 9042
    `),
    versions: ALL_VERSIONS,
  },
  {
    name: 'TOPOLOGY_CHANGE REMOVED_NODE',
    event: {
      type: 'TOPOLOGY_CHANGE',
      change: 'REMOVED_NODE',
      address: { address: '127.0.0.1', port: 9042 },
    },
    bytes: hex(`
      000f 544f504f4c4f47595f4348414e4745  // <type> "TOPOLOGY_CHANGE"
      000c 52454d4f5645445f4e4f4445        // <change> "REMOVED_NODE"
      04 7f000001 00002352                 // [inet] 127.0.0.1:9042
    `),
    versions: ALL_VERSIONS,
  },
  {
    name: 'TOPOLOGY_CHANGE MOVED_NODE (v3 §4.2.6)',
    event: {
      type: 'TOPOLOGY_CHANGE',
      change: 'MOVED_NODE',
      address: { address: '127.0.0.1', port: 9042 },
    },
    bytes: hex(`
      000f 544f504f4c4f47595f4348414e4745  // <type> "TOPOLOGY_CHANGE"
      000a 4d4f5645445f4e4f4445            // <change> "MOVED_NODE"
      04 7f000001 00002352                 // [inet] 127.0.0.1:9042
    `),
    versions: ALL_VERSIONS,
  },
  {
    name: 'STATUS_CHANGE DOWN, IPv6',
    event: {
      type: 'STATUS_CHANGE',
      change: 'DOWN',
      address: { address: 'fe80::1', port: 9042 },
    },
    bytes: hex(`
      000d 5354415455535f4348414e4745       // <type> "STATUS_CHANGE"
      0004 444f574e                         // <change> "DOWN"
      10 fe800000000000000000000000000001   // [inet] address fe80::1
      00002352                              //        port 9042
    `),
    versions: ALL_VERSIONS,
  },
  {
    name: 'STATUS_CHANGE UP',
    event: { type: 'STATUS_CHANGE', change: 'UP', address: { address: '10.0.0.2', port: 1 } },
    bytes: hex(`
      000d 5354415455535f4348414e4745  // <type> "STATUS_CHANGE"
      0002 5550                        // <change> "UP"
      04 0a000002 00000001             // [inet] 10.0.0.2:1
    `),
    versions: ALL_VERSIONS,
  },
  ...SCHEMA_CHANGE_GOLDEN.map((g): Golden => ({
    name: `SCHEMA_CHANGE ${g.name}`,
    event: { type: 'SCHEMA_CHANGE', change: g.change },
    bytes: Buffer.concat([SCHEMA_CHANGE, g.bytes]),
    versions: g.inV3 ? ALL_VERSIONS : [V4, V5, DSE_V1, DSE_V2],
  })),
];

const CASES = GOLDEN.flatMap((g) => g.versions.map((version) => ({ ...g, version })));

describe('EVENT (spec v4 §4.2.6)', () => {
  describe.each(CASES)('$name, version $version', ({ event, bytes, version }) => {
    it('decodes the golden bytes', () => {
      expect(decodeEvent(bytes, version)).toEqual(event);
      expect(decodeEvent(embedded(bytes), version)).toEqual(event);
    });
    it('encodes to the golden bytes', () => {
      expect(encodeEvent(version, event)).toEqual(bytes);
    });
    it('throws ProtocolError when truncated at any length or padded', () => {
      expectEveryTruncationThrows(bytes, (b) => decodeEvent(b, version));
      expectTrailingByteThrows(bytes, (b) => decodeEvent(b, version));
    });
  });

  it('sends a function change to a v3 peer as a keyspace update', () => {
    const fn = SCHEMA_CHANGE_GOLDEN.find((g) => g.name === 'FUNCTION CREATED');
    if (fn === undefined) throw new Error('golden missing');
    expect(encodeEvent(V3, { type: 'SCHEMA_CHANGE', change: fn.change })).toEqual(
      Buffer.concat([SCHEMA_CHANGE, V3_KEYSPACE_UPDATED]),
    );
  });

  it('eventFrame writes the whole frame on stream -1', () => {
    const frame = eventFrame(V4, {
      type: 'STATUS_CHANGE',
      change: 'UP',
      address: { address: '10.0.0.2', port: 1 },
    });
    expect(frame).toEqual(
      hex(`
        84 00 ffff 0c 0000001c           // v4 response, stream -1, EVENT, 28 bytes
        000d 5354415455535f4348414e4745  // "STATUS_CHANGE"
        0002 5550                        // "UP"
        04 0a000002 00000001             // 10.0.0.2:1
      `),
    );
    const v5 = eventFrame(V5, { type: 'SCHEMA_CHANGE', change: SCHEMA_CHANGE_GOLDEN[0]!.change });
    expect(v5.subarray(0, 9)).toEqual(hex('85 00 ffff 0c 00000026')); // 15 + 23 bytes
  });

  describe('hostile input', () => {
    it('refuses unknown event types and change kinds', () => {
      expectProtocolError(() => decodeEvent(hex('0003 464f4f'), V4));
      expectProtocolError(() =>
        decodeEvent(hex('000d 5354415455535f4348414e4745 0004 48414c46 04 0a000002 00000001'), V4),
      );
      expectProtocolError(() =>
        decodeEvent(hex('000f 544f504f4c4f47595f4348414e4745 0002 5550 04 0a000002 00000001'), V4),
      );
      expectProtocolError(() => encodeEvent(V4, { type: 'NOPE' } as unknown as CqlEvent));
      expectProtocolError(() =>
        encodeEvent(V4, {
          type: 'STATUS_CHANGE',
          change: 'NEW_NODE',
          address: { address: '10.0.0.1', port: 1 },
        } as unknown as CqlEvent),
      );
    });

    it('refuses an [inet] of the wrong size and a bad address or port when encoding', () => {
      expectProtocolError(() =>
        decodeEvent(hex('000d 5354415455535f4348414e4745 0002 5550 05 0a00000200 00000001'), V4),
      );
      expectProtocolError(() =>
        encodeEvent(V4, {
          type: 'STATUS_CHANGE',
          change: 'UP',
          address: { address: 'not-an-ip', port: 1 },
        }),
      );
      expectProtocolError(() =>
        encodeEvent(V4, {
          type: 'STATUS_CHANGE',
          change: 'UP',
          address: { address: '10.0.0.1', port: 2 ** 31 },
        }),
      );
    });
  });

  it('round-trips random events (property)', () => {
    const address = fc.record({ address: inetAddress, port: fc.integer({ min: 0, max: 65535 }) });
    const event: fc.Arbitrary<CqlEvent> = fc.oneof(
      fc.record({
        type: fc.constant('TOPOLOGY_CHANGE' as const),
        change: fc.constantFrom('NEW_NODE', 'REMOVED_NODE', 'MOVED_NODE' as const),
        address,
      }),
      fc.record({
        type: fc.constant('STATUS_CHANGE' as const),
        change: fc.constantFrom('UP', 'DOWN' as const),
        address,
      }),
      fc.record({
        type: fc.constant('SCHEMA_CHANGE' as const),
        change: fc.record({
          changeType: fc.constantFrom('CREATED', 'UPDATED', 'DROPPED' as const),
          target: fc.constantFrom('TABLE', 'TYPE' as const),
          keyspace: text(),
          name: text(),
        }),
      }),
    );
    fc.assert(
      fc.property(event, fc.constantFrom(...ALL_VERSIONS), (e, version) => {
        expect(decodeEvent(encodeEvent(version, e), version)).toEqual(e);
        const frame = eventFrame(version, e);
        expect(frame.readInt16BE(2)).toBe(-1);
        expect(decodeEvent(frame.subarray(9), version)).toEqual(e);
      }),
      { numRuns: 200 },
    );
  });
});
