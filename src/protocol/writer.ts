// Growable writer for the notations of spec v4/v5 §3. It reserves room for the 9-byte frame header
// up front so a whole frame is built in one buffer, and it hands that buffer over on finish(): the
// bytes given to a socket are never written again (the pg-protocol Writer.flush rule).

import { HEADER_LENGTH } from './constants.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import { writeHeader } from './header.js';
import type { Inet } from './reader.js';
import { UNSET, type Unset } from './reader.js';

export class CqlWriter {
  private buf: Buffer;
  private pos: number;
  private readonly start: number;

  /** @param reserveHeader leave 9 bytes for a frame header, written by finishFrame(). */
  constructor(initialSize = 256, reserveHeader = false) {
    this.buf = Buffer.allocUnsafe(Math.max(initialSize, HEADER_LENGTH));
    this.start = reserveHeader ? HEADER_LENGTH : 0;
    this.pos = this.start;
  }

  get length(): number {
    return this.pos - this.start;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** [byte] */
  writeByte(v: number): this {
    this.ensure(1);
    this.buf.writeUInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  /** [short] */
  writeShort(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  /** [int] */
  writeInt(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  /** [long] */
  writeLong(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** Raw bytes, copied. */
  writeRaw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** [string]: the length is counted in UTF-8 bytes once, then the string is written in place. */
  writeString(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 0xffff)
      throw new ProtocolError(ProtocolErrorCode.MALFORMED, `[string] too long (${n} bytes)`);
    this.ensure(2 + n);
    this.buf.writeUInt16BE(n, this.pos);
    this.buf.write(s, this.pos + 2, n, 'utf8');
    this.pos += 2 + n;
    return this;
  }

  /** [long string] */
  writeLongString(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(4 + n);
    this.buf.writeInt32BE(n, this.pos);
    this.buf.write(s, this.pos + 4, n, 'utf8');
    this.pos += 4 + n;
    return this;
  }

  /** [uuid] from the dashed text form. */
  writeUuid(uuid: string): this {
    return this.writeRaw(parseUuid(uuid));
  }

  /** [string list] */
  writeStringList(list: readonly string[]): this {
    this.writeShort(list.length);
    for (const s of list) this.writeString(s);
    return this;
  }

  /** [bytes]; null is written as length -1. */
  writeBytes(bytes: Uint8Array | null): this {
    if (bytes === null) return this.writeInt(-1);
    this.writeInt(bytes.length);
    return this.writeRaw(bytes);
  }

  /** [value]; null is -1, UNSET is -2. */
  writeValue(value: Uint8Array | null | Unset): this {
    if (value === UNSET) return this.writeInt(-2);
    return this.writeBytes(value);
  }

  /** [short bytes] */
  writeShortBytes(bytes: Uint8Array): this {
    if (bytes.length > 0xffff) {
      throw new ProtocolError(
        ProtocolErrorCode.MALFORMED,
        `[short bytes] too long (${bytes.length})`,
      );
    }
    this.writeShort(bytes.length);
    return this.writeRaw(bytes);
  }

  /** [string map] */
  writeStringMap(map: ReadonlyMap<string, string>): this {
    this.writeShort(map.size);
    for (const [k, v] of map) this.writeString(k).writeString(v);
    return this;
  }

  /** [string multimap] */
  writeStringMultimap(map: ReadonlyMap<string, readonly string[]>): this {
    this.writeShort(map.size);
    for (const [k, v] of map) this.writeString(k).writeStringList(v);
    return this;
  }

  /** [bytes map] */
  writeBytesMap(map: ReadonlyMap<string, Uint8Array | null>): this {
    this.writeShort(map.size);
    for (const [k, v] of map) this.writeString(k).writeBytes(v);
    return this;
  }

  /** [inetaddr] */
  writeInetAddr(address: string): this {
    const bytes = parseInetAddr(address);
    this.writeByte(bytes.length);
    return this.writeRaw(bytes);
  }

  /** [inet] */
  writeInet(inet: Inet): this {
    return this.writeInetAddr(inet.address).writeInt(inet.port);
  }

  /** [consistency] */
  writeConsistency(v: number): this {
    return this.writeShort(v);
  }

  /** The bytes written so far (body only), handed over: the writer must not be used afterwards. */
  finish(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    return out;
  }

  /** A whole frame: header written into the reserved 9 bytes, body length from what was written. */
  finishFrame(
    version: number,
    flags: number,
    streamId: number,
    opcode: number,
    response: boolean,
  ): Buffer {
    if (this.start !== HEADER_LENGTH)
      throw new Error('finishFrame needs a writer made with reserveHeader');
    writeHeader(this.buf, 0, {
      version,
      response,
      flags,
      streamId,
      opcode,
      bodyLength: this.pos - HEADER_LENGTH,
    });
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    return out;
  }
}

export function parseUuid(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex))
    throw new ProtocolError(ProtocolErrorCode.MALFORMED, `invalid uuid ${uuid}`);
  return Buffer.from(hex, 'hex');
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Address text → 4 or 16 bytes. IPv6 may use `::` and an embedded dotted IPv4 tail. */
export function parseInetAddr(address: string): Buffer {
  if (IPV4.test(address)) return Buffer.from(address.split('.').map(Number));
  const v6 = parseIpv6(address);
  if (v6) return v6;
  throw new ProtocolError(ProtocolErrorCode.MALFORMED, `invalid IP address ${address}`);
}

function parseIpv6(address: string): Buffer | undefined {
  let text = address;
  const v4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (text.includes('.', lastColon)) {
    const dotted = text.slice(lastColon + 1);
    if (!IPV4.test(dotted)) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
    v4.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const group = /^[0-9a-fA-F]{1,4}$/;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const parts = s.split(':');
    return parts.every((p) => group.test(p)) ? parts.map((p) => parseInt(p, 16)) : undefined;
  };
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  const total = head.length + rest.length + v4.length;
  let groups: number[];
  if (halves.length === 2) {
    if (total > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - total).fill(0), ...rest, ...v4];
  } else {
    if (total !== 8) return undefined;
    groups = [...head, ...v4];
  }
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
