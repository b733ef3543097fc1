import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CqlReader, UNSET, formatInetAddr } from '../../src/protocol/reader.js';
import { CqlWriter, parseInetAddr, parseUuid } from '../../src/protocol/writer.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { hex } from '../helpers/chunking.js';

type Case = {
  name: string;
  bytes: Buffer;
  read: (r: CqlReader) => unknown;
  write: (w: CqlWriter) => unknown;
  value: unknown;
};

// Golden bytes for each notation of spec v4/v5 §3, written by hand.
const CASES: Case[] = [
  {
    name: '[byte]',
    bytes: hex('fe'),
    read: (r) => r.readByte(),
    write: (w) => w.writeByte(0xfe),
    value: 0xfe,
  },
  {
    name: '[short]',
    bytes: hex('ff01'),
    read: (r) => r.readShort(),
    write: (w) => w.writeShort(0xff01),
    value: 0xff01,
  },
  {
    name: '[int] negative',
    bytes: hex('fffffffe'),
    read: (r) => r.readInt(),
    write: (w) => w.writeInt(-2),
    value: -2,
  },
  {
    name: '[long]',
    bytes: hex('8000000000000001'),
    read: (r) => r.readLong(),
    write: (w) => w.writeLong(-9223372036854775807n),
    value: -9223372036854775807n,
  },
  {
    name: '[string] with multi-byte UTF-8',
    bytes: hex('0005 68c3a96c6c'), // "héll": h, é (c3 a9), l, l
    read: (r) => r.readString(),
    write: (w) => w.writeString('héll'),
    value: 'héll',
  },
  {
    name: '[string] empty',
    bytes: hex('0000'),
    read: (r) => r.readString(),
    write: (w) => w.writeString(''),
    value: '',
  },
  {
    name: '[long string]',
    bytes: hex('00000006 53454c454354'),
    read: (r) => r.readLongString(),
    write: (w) => w.writeLongString('SELECT'),
    value: 'SELECT',
  },
  {
    name: '[uuid]',
    bytes: hex('123e4567e89b12d3a456426614174000'),
    read: (r) => r.readUuid(),
    write: (w) => w.writeUuid('123e4567-e89b-12d3-a456-426614174000'),
    value: '123e4567-e89b-12d3-a456-426614174000',
  },
  {
    name: '[string list]',
    bytes: hex('0002 0001 61 0002 6263'),
    read: (r) => r.readStringList(),
    write: (w) => w.writeStringList(['a', 'bc']),
    value: ['a', 'bc'],
  },
  {
    name: '[bytes]',
    bytes: hex('00000003 010203'),
    read: (r) => r.readBytes(),
    write: (w) => w.writeBytes(Buffer.from([1, 2, 3])),
    value: Buffer.from([1, 2, 3]),
  },
  {
    name: '[bytes] null',
    bytes: hex('ffffffff'),
    read: (r) => r.readBytes(),
    write: (w) => w.writeBytes(null),
    value: null,
  },
  {
    name: '[value] null',
    bytes: hex('ffffffff'),
    read: (r) => r.readValue(),
    write: (w) => w.writeValue(null),
    value: null,
  },
  {
    name: '[value] not set',
    bytes: hex('fffffffe'),
    read: (r) => r.readValue(),
    write: (w) => w.writeValue(UNSET),
    value: UNSET,
  },
  {
    name: '[value] empty',
    bytes: hex('00000000'),
    read: (r) => r.readValue(),
    write: (w) => w.writeValue(Buffer.alloc(0)),
    value: Buffer.alloc(0),
  },
  {
    name: '[short bytes]',
    bytes: hex('0002 cafe'),
    read: (r) => r.readShortBytes(),
    write: (w) => w.writeShortBytes(hex('cafe')),
    value: hex('cafe'),
  },
  {
    name: '[string map]',
    bytes: hex('0001 000b 43514c5f56455253494f4e 0005 332e302e30'),
    read: (r) => r.readStringMap(),
    write: (w) => w.writeStringMap(new Map([['CQL_VERSION', '3.0.0']])),
    value: new Map([['CQL_VERSION', '3.0.0']]),
  },
  {
    name: '[string multimap]',
    bytes: hex('0001 000b 434f4d5052455353494f4e 0002 0003 6c7a34 0006 736e61707079'),
    read: (r) => r.readStringMultimap(),
    write: (w) => w.writeStringMultimap(new Map([['COMPRESSION', ['lz4', 'snappy']]])),
    value: new Map([['COMPRESSION', ['lz4', 'snappy']]]),
  },
  {
    name: '[bytes map]',
    bytes: hex('0002 0001 61 00000001 ff 0001 62 ffffffff'),
    read: (r) => r.readBytesMap(),
    write: (w) =>
      w.writeBytesMap(
        new Map<string, Buffer | null>([
          ['a', hex('ff')],
          ['b', null],
        ]),
      ),
    value: new Map<string, Buffer | null>([
      ['a', hex('ff')],
      ['b', null],
    ]),
  },
  {
    name: '[inet] v4',
    bytes: hex('04 7f000001 00002352'),
    read: (r) => r.readInet(),
    write: (w) => w.writeInet({ address: '127.0.0.1', port: 9042 }),
    value: { address: '127.0.0.1', port: 9042 },
  },
  {
    name: '[inet] v6',
    bytes: hex('10 20010db8000000000000000000000001 00002352'),
    read: (r) => r.readInet(),
    write: (w) => w.writeInet({ address: '2001:db8::1', port: 9042 }),
    value: { address: '2001:db8::1', port: 9042 },
  },
  {
    name: '[inetaddr]',
    bytes: hex('04 0a000102'),
    read: (r) => r.readInetAddr(),
    write: (w) => w.writeInetAddr('10.0.1.2'),
    value: '10.0.1.2',
  },
  {
    name: '[consistency]',
    bytes: hex('000a'),
    read: (r) => r.readConsistency(),
    write: (w) => w.writeConsistency(10),
    value: 10,
  },
];

describe('CqlReader and CqlWriter', () => {
  for (const c of CASES) {
    it(`reads ${c.name}`, () => {
      const r = new CqlReader(c.bytes);
      expect(c.read(r)).toEqual(c.value);
      r.expectEnd(c.name);
    });

    it(`writes ${c.name}`, () => {
      const w = new CqlWriter(1);
      c.write(w);
      expect(w.finish()).toEqual(c.bytes);
    });

    it(`refuses ${c.name} truncated at every length`, () => {
      for (let cut = 0; cut < c.bytes.length; cut++) {
        // Bytes follow the cut in the same buffer: the reader must stop at its end, not the buffer's.
        const buf = Buffer.concat([c.bytes.subarray(0, cut), Buffer.alloc(64, 0x41)]);
        const r = new CqlReader(buf, 0, cut);
        expect(() => c.read(r), `cut at ${cut}`).toThrow(ProtocolError);
      }
    });

    it(`reads ${c.name} inside a larger buffer at an offset`, () => {
      const buf = Buffer.concat([hex('aabbcc'), c.bytes, hex('ddeeff')]);
      const r = new CqlReader(buf, 3, 3 + c.bytes.length);
      expect(c.read(r)).toEqual(c.value);
      r.expectEnd(c.name);
    });
  }

  it('returns views, not copies, for [bytes]', () => {
    const buf = hex('00000002 abcd');
    const v = new CqlReader(buf).readBytes();
    expect(v?.buffer).toBe(buf.buffer);
  });

  it('refuses invalid UTF-8 instead of replacing it', () => {
    expect(() => new CqlReader(hex('0002 c328')).readString()).toThrow(/invalid UTF-8/);
    expect(() => new CqlReader(hex('00000001 ff')).readLongString()).toThrow(/invalid UTF-8/);
    expect(() => new CqlReader(hex('0003 eda080')).readString()).toThrow(/invalid UTF-8/); // lone surrogate
  });

  it('refuses negative and invalid lengths', () => {
    expect(() => new CqlReader(hex('ffffffff')).readLongString()).toThrow(ProtocolError);
    expect(() => new CqlReader(hex('fffffffd')).readValue()).toThrow(/invalid \[value\] length -3/);
    expect(() => new CqlReader(hex('7fffffff 00')).readBytes()).toThrow(ProtocolError);
    expect(() => new CqlReader(hex('05 0102030405 00000000')).readInet()).toThrow(
      /invalid \[inetaddr\] length 5/,
    );
  });

  it('refuses trailing bytes when the grammar ends', () => {
    const r = new CqlReader(hex('0001 00'));
    r.readShort();
    expect(() => r.expectEnd('test')).toThrow(/1 unexpected trailing bytes/);
  });

  it('refuses reader bounds outside the buffer', () => {
    expect(() => new CqlReader(Buffer.alloc(4), 0, 5)).toThrow(ProtocolError);
    expect(() => new CqlReader(Buffer.alloc(4), 3, 2)).toThrow(ProtocolError);
  });

  it('refuses to write what the notation cannot hold', () => {
    expect(() => new CqlWriter().writeString('x'.repeat(70_000))).toThrow(ProtocolError);
    expect(() => new CqlWriter().writeShortBytes(Buffer.alloc(70_000))).toThrow(ProtocolError);
    expect(() => parseUuid('not-a-uuid')).toThrow(ProtocolError);
    expect(() => parseInetAddr('300.1.1.1')).toThrow(ProtocolError);
  });

  it('builds a whole frame in one buffer with the header reserved', () => {
    const w = new CqlWriter(4, true);
    w.writeStringMap(new Map([['CQL_VERSION', '3.0.0']]));
    expect(w.length).toBe(22);
    expect(w.finishFrame(4, 0, 1, 0x01, false)).toEqual(
      hex('04 00 0001 01 00000016 0001 000b 43514c5f56455253494f4e 0005 332e302e30'),
    );
    const r = new CqlWriter(16, true);
    expect(r.finishFrame(5, 0, -1, 0x02, true)).toEqual(hex('85 00 ffff 02 00000000'));
    expect(() => new CqlWriter().finishFrame(4, 0, 0, 2, true)).toThrow(/reserveHeader/);
  });

  it('formats IPv6 addresses in their shortest form', () => {
    expect(formatInetAddr(parseInetAddr('::'))).toBe('::');
    expect(formatInetAddr(parseInetAddr('fe80:0:0:1::1'))).toBe('fe80:0:0:1::1');
    expect(formatInetAddr(parseInetAddr('1:0:0:2:0:0:0:3'))).toBe('1:0:0:2::3');
    expect(formatInetAddr(parseInetAddr('::ffff:10.0.0.1'))).toBe('::ffff:a00:1');
  });

  it('round-trips strings, bytes and maps (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 100 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 5 }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        (s, bytes, dict, long) => {
          const map = new Map(Object.entries(dict));
          const w = new CqlWriter(1);
          w.writeString(s).writeLongString(s).writeBytes(bytes).writeStringMap(map).writeLong(long);
          const r = new CqlReader(w.finish());
          expect(r.readString()).toBe(s);
          expect(r.readLongString()).toBe(s);
          expect(r.readBytes()).toEqual(Buffer.from(bytes));
          expect(r.readStringMap()).toEqual(map);
          expect(r.readLong()).toBe(long);
          r.expectEnd('property');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('round-trips any IPv4 or IPv6 address (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const bytes = parseInetAddr(ip);
        expect(parseInetAddr(formatInetAddr(bytes))).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });
});
