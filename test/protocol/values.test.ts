import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatInetAddr } from '../../src/protocol/reader.js';
import {
  decodeBigint,
  decodeBoolean,
  decodeCollection,
  decodeInet,
  decodeInt,
  decodeMapEntries,
  decodeStringList,
  decodeStringMap,
  decodeStringSet,
  decodeText,
  decodeTimestamp,
  decodeTimeuuid,
  decodeUuid,
  encodeBigint,
  encodeBoolean,
  encodeCollection,
  encodeInet,
  encodeInt,
  encodeMapEntries,
  encodeStringList,
  encodeStringMap,
  encodeStringSet,
  encodeText,
  encodeTimestamp,
  encodeTimeuuid,
  encodeUuid,
} from '../../src/protocol/values.js';
import { hex } from '../helpers/chunking.js';
import {
  embedded,
  expectEveryTruncationThrows,
  expectProtocolError,
  expectTrailingByteThrows,
} from './messages/response-hostile-input.js';

const SET_AB = hex(`
  00000002     // [int] n = 2 elements
  00000001 61  // [bytes] "a"
  00000001 62  // [bytes] "b"
`);

const MAP_A1_B2 = hex(`
  00000002                 // [int] n = 2 entries
  00000001 61  00000001 31 // "a" => "1"
  00000001 62  00000001 32 // "b" => "2"
`);

describe('cell values (spec v5 §5)', () => {
  describe('golden bytes', () => {
    it('text (§5.16): UTF-8', () => {
      const bytes = hex('68 c3a9 6c6c6f'); // "héllo"
      expect(encodeText('héllo')).toEqual(bytes);
      expect(decodeText(bytes)).toBe('héllo');
      expect(decodeText(Buffer.alloc(0))).toBe(''); // an empty text is a value, not null
    });

    it('int (§5.11): 4 byte two’s complement', () => {
      expect(encodeInt(0x01020304)).toEqual(hex('01020304'));
      expect(encodeInt(-2)).toEqual(hex('fffffffe'));
      expect(decodeInt(hex('fffffffe'))).toBe(-2);
      expect(decodeInt(hex('7fffffff'))).toBe(0x7fffffff);
    });

    it('bigint (§5.2): 8 byte two’s complement', () => {
      expect(encodeBigint(1n << 40n)).toEqual(hex('0000010000000000'));
      expect(encodeBigint(-1)).toEqual(hex('ffffffffffffffff'));
      expect(decodeBigint(hex('8000000000000000'))).toBe(-(1n << 63n));
    });

    it('uuid (§5.22) and timeuuid (§5.19): 16 bytes', () => {
      const uuid = '550e8400-e29b-41d4-a716-446655440000';
      const bytes = hex('550e8400 e29b 41d4 a716 446655440000');
      expect(encodeUuid(uuid)).toEqual(bytes);
      expect(encodeUuid(uuid.toUpperCase())).toEqual(bytes);
      expect(decodeUuid(bytes)).toBe(uuid);
      const timeuuid = '8a3c6b40-7f2e-11ee-b962-0242ac120002';
      const tbytes = hex('8a3c6b40 7f2e 11ee b962 0242ac120002'); // version nibble 1 at byte 6
      expect(encodeTimeuuid(timeuuid)).toEqual(tbytes);
      expect(decodeTimeuuid(tbytes)).toBe(timeuuid);
    });

    it('inet (§5.10): 4 or 16 bytes', () => {
      expect(encodeInet('127.0.0.1')).toEqual(hex('7f000001'));
      expect(decodeInet(hex('0a000102'))).toBe('10.0.1.2');
      const v6 = hex('20010db8 00000000 0000ff00 00428329');
      expect(encodeInet('2001:db8::ff00:42:8329')).toEqual(v6);
      expect(decodeInet(v6)).toBe('2001:db8::ff00:42:8329');
      expect(encodeInet('::1')).toEqual(hex('00000000 00000000 00000000 00000001'));
    });

    it('boolean (§5.4): one byte, any non-zero is true', () => {
      expect(encodeBoolean(true)).toEqual(hex('01'));
      expect(encodeBoolean(false)).toEqual(hex('00'));
      expect(decodeBoolean(hex('05'))).toBe(true);
      expect(decodeBoolean(hex('00'))).toBe(false);
    });

    it('timestamp (§5.18): milliseconds since the epoch as a [long]', () => {
      const bytes = hex('0000018cc251f400'); // 1704067200000 ms = 2024-01-01T00:00:00Z
      expect(encodeTimestamp(new Date(Date.UTC(2024, 0, 1)))).toEqual(bytes);
      expect(encodeTimestamp(1704067200000n)).toEqual(bytes);
      expect(encodeTimestamp(1704067200000)).toEqual(bytes);
      expect(decodeTimestamp(bytes)).toEqual(new Date('2024-01-01T00:00:00Z'));
      expect(decodeTimestamp(hex('ffffffffffffffff'))).toEqual(new Date(-1));
    });

    it('set<text> (§5.14): sorted and unique, like Cassandra', () => {
      expect(encodeStringSet(['b', 'a', 'b'])).toEqual(SET_AB);
      expect(decodeStringSet(SET_AB)).toEqual(['a', 'b']);
    });

    it('set<text> sorts by UTF-8 bytes, not UTF-16 code units', () => {
      // U+FFFD is EF BF BD, U+1F600 is F0 9F 98 80: byte order puts U+FFFD first, while
      // JavaScript's default string order (surrogate D83D < FFFD) would not.
      expect(decodeStringSet(encodeStringSet(['\u{1F600}', '\uFFFD']))).toEqual([
        '\uFFFD',
        '\u{1F600}',
      ]);
    });

    it('list<text> (§5.12): in the given order', () => {
      const bytes = hex(`
        00000002     // [int] n = 2
        00000001 62  // "b"
        00000001 61  // "a"
      `);
      expect(encodeStringList(['b', 'a'])).toEqual(bytes);
      expect(decodeStringList(bytes)).toEqual(['b', 'a']);
      expect(encodeStringList([])).toEqual(hex('00000000'));
      expect(decodeStringList(hex('00000000'))).toEqual([]);
    });

    it('map<text, text> (§5.13): keys sorted', () => {
      expect(encodeStringMap({ b: '2', a: '1' })).toEqual(MAP_A1_B2);
      expect(
        encodeStringMap(
          new Map([
            ['b', '2'],
            ['a', '1'],
          ]),
        ),
      ).toEqual(MAP_A1_B2);
      expect(decodeStringMap(MAP_A1_B2)).toEqual(
        new Map([
          ['a', '1'],
          ['b', '2'],
        ]),
      );
    });

    it('generic collections keep null elements and views', () => {
      const bytes = hex(`
        00000002     // n = 2
        ffffffff     // null
        00000002 abcd
      `);
      expect(encodeCollection([null, hex('abcd')])).toEqual(bytes);
      const body = embedded(bytes);
      const decoded = decodeCollection(body);
      expect(decoded).toEqual([null, hex('abcd')]);
      expect(decoded?.[1]?.buffer).toBe(body.buffer); // a view, not a copy
      const map = hex('00000001 00000001 01 ffffffff');
      expect(encodeMapEntries([[hex('01'), null]])).toEqual(map);
      expect(decodeMapEntries(map)).toEqual([[hex('01'), null]]);
    });
  });

  describe('null and empty cells', () => {
    it('null is null for every decoder', () => {
      for (const decode of [
        decodeText,
        decodeInt,
        decodeBigint,
        decodeUuid,
        decodeInet,
        decodeBoolean,
        decodeTimestamp,
        decodeStringList,
        decodeStringSet,
        decodeStringMap,
        decodeCollection,
        decodeMapEntries,
      ]) {
        expect(decode(null)).toBeNull();
      }
    });

    it('an empty non-text cell is null (spec §5 legacy empty values)', () => {
      const empty = Buffer.alloc(0);
      expect(decodeInt(empty)).toBeNull();
      expect(decodeBigint(empty)).toBeNull();
      expect(decodeUuid(empty)).toBeNull();
      expect(decodeInet(empty)).toBeNull();
      expect(decodeBoolean(empty)).toBeNull();
      expect(decodeTimestamp(empty)).toBeNull();
      expect(decodeStringSet(empty)).toBeNull();
      expect(decodeStringMap(empty)).toBeNull();
    });
  });

  describe('hostile input', () => {
    it('refuses wrong fixed lengths', () => {
      expectProtocolError(() => decodeInt(hex('010203')));
      expectProtocolError(() => decodeInt(hex('0102030405')));
      expectProtocolError(() => decodeBigint(hex('01020304')));
      expectProtocolError(() => decodeUuid(hex('00'.repeat(15))));
      expectProtocolError(() => decodeInet(hex('0102030405')));
      expectProtocolError(() => decodeBoolean(hex('0101')));
    });

    it('refuses a fixed-size value cut short inside a larger buffer', () => {
      // The view is 3 bytes; the fourth byte exists behind it and must not be read.
      expectProtocolError(() => decodeInt(embedded(hex('01020304')).subarray(0, 3)));
    });

    it('refuses invalid UTF-8 in text and text collections', () => {
      expectProtocolError(() => decodeText(hex('c328')));
      expectProtocolError(() => decodeText(hex('eda080'))); // a UTF-16 surrogate
      expectProtocolError(() => decodeStringSet(hex('00000001 00000001 ff')));
      expectProtocolError(() => decodeStringMap(hex('00000001 00000001 61 00000001 80')));
    });

    it('refuses timestamps outside the Date range', () => {
      expectProtocolError(() => decodeTimestamp(hex('4000000000000000')));
    });

    it('refuses negative, huge and overrunning counts', () => {
      expectProtocolError(() => decodeStringList(hex('ffffffff')));
      expectProtocolError(() => decodeStringList(hex('80000000')));
      expectProtocolError(() => decodeCollection(hex('7fffffff 00000000')));
      expectProtocolError(() => decodeMapEntries(hex('00000001 00000000')));
      expectProtocolError(() => decodeStringList(hex('00000002 00000001 61')));
      expectProtocolError(() => decodeStringList(hex('00000001 7fffffff 61')));
    });

    it('refuses null elements in text collections and null map keys', () => {
      expectProtocolError(() => decodeStringSet(hex('00000001 ffffffff')));
      expectProtocolError(() => decodeStringMap(hex('00000001 00000001 61 ffffffff')));
      expectProtocolError(() => decodeMapEntries(hex('00000001 ffffffff 00000000')));
    });

    it('refuses trailing bytes after a collection', () => {
      expectTrailingByteThrows(SET_AB, decodeStringSet);
      expectTrailingByteThrows(MAP_A1_B2, decodeStringMap);
    });

    it('throws ProtocolError for every truncation of a collection', () => {
      // Length 0 is the legacy empty value (null), so truncations start at one byte.
      expectEveryTruncationThrows(SET_AB, decodeStringSet, 1);
      expectEveryTruncationThrows(MAP_A1_B2, decodeStringMap, 1);
    });

    it('refuses values that do not fit their type when encoding', () => {
      expectProtocolError(() => encodeInt(2 ** 31));
      expectProtocolError(() => encodeInt(1.5));
      expectProtocolError(() => encodeBigint(1n << 63n));
      expectProtocolError(() => encodeBigint(2 ** 60));
      expectProtocolError(() => encodeUuid('not-a-uuid'));
      expectProtocolError(() => encodeTimeuuid('550e8400-e29b-41d4-a716-446655440000'));
      expectProtocolError(() => encodeInet('256.0.0.1'));
      expectProtocolError(() => encodeInet('example.com'));
      expectProtocolError(() => encodeTimestamp(new Date(Number.NaN)));
      // Lone surrogates both become U+FFFD in UTF-8: two keys, one encoded key.
      expectProtocolError(() =>
        encodeStringMap(
          new Map([
            ['\uD800', '1'],
            ['\uDFFF', '2'],
          ]),
        ),
      );
    });
  });

  describe('round trips (property)', () => {
    const opts = { numRuns: 200 };
    const anyText = fc.string({ unit: 'grapheme', maxLength: 20 });

    it('int and bigint', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: -0x80000000, max: 0x7fffffff }),
          fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
          (i, b) => {
            expect(decodeInt(encodeInt(i))).toBe(i);
            expect(decodeBigint(encodeBigint(b))).toBe(b);
          },
        ),
        opts,
      );
    });

    it('uuid and inet', () => {
      fc.assert(
        fc.property(fc.uuid(), fc.uint8Array({ minLength: 16, maxLength: 16 }), (uuid, v6) => {
          expect(decodeUuid(encodeUuid(uuid))).toBe(uuid);
          const address = formatInetAddr(Buffer.from(v6));
          expect(decodeInet(encodeInet(address))).toBe(address);
        }),
        opts,
      );
    });

    it('timestamps', () => {
      fc.assert(
        fc.property(fc.date({ noInvalidDate: true }), (d) => {
          expect(decodeTimestamp(encodeTimestamp(d))).toEqual(d);
        }),
        opts,
      );
    });

    it('text collections', () => {
      fc.assert(
        fc.property(
          fc.array(anyText, { maxLength: 8 }),
          fc.dictionary(anyText, anyText),
          (list, dict) => {
            expect(decodeText(encodeText(list[0] ?? ''))).toBe(list[0] ?? '');
            expect(decodeStringList(encodeStringList(list))).toEqual(list);
            const set = decodeStringSet(encodeStringSet(list)) ?? [];
            expect(new Set(set)).toEqual(new Set(list));
            expect(set.length).toBe(new Set(list).size);
            expect(decodeStringMap(encodeStringMap(dict))).toEqual(new Map(Object.entries(dict)));
          },
        ),
        opts,
      );
    });
  });
});
