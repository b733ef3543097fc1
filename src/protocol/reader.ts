// Bounded reader for the notations of spec v4/v5 §3. Every read is checked against `end`, the end of
// the frame body, never the end of the underlying buffer: frames are views into shared socket
// chunks, and Node's subarray()/toString() clamp silently, so an unchecked length would read the
// next frame's bytes (the bug class of mysql2 commit 91c5229d).

import { isUtf8 } from 'node:buffer';
import { ProtocolError, ProtocolErrorCode } from './errors.js';

/** The `not set` marker of a [value] (n == -2), spec v4 §3. */
export const UNSET: unique symbol = Symbol('unset');
export type Unset = typeof UNSET;

export interface Inet {
  address: string;
  port: number;
}

export class CqlReader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new ProtocolError(ProtocolErrorCode.MALFORMED, 'reader bounds outside the buffer');
    }
    this.buf = buf;
    this.pos = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes are available before the frame end. */
  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new ProtocolError(
        ProtocolErrorCode.MALFORMED,
        `truncated ${what}: need ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`,
      );
    }
  }

  /** [byte] */
  readByte(): number {
    this.need(1, '[byte]');
    return this.buf.readUInt8(this.pos++);
  }

  /** [short]: unsigned 16-bit. */
  readShort(): number {
    this.need(2, '[short]');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  /** [int]: signed 32-bit. */
  readInt(): number {
    this.need(4, '[int]');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** [long]: signed 64-bit. */
  readLong(): bigint {
    this.need(8, '[long]');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** n raw bytes as a view (no copy). */
  readRaw(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  private utf8(n: number, what: string): string {
    this.need(n, what);
    const start = this.pos;
    this.pos += n;
    const view = this.buf.subarray(start, start + n);
    // Node replaces invalid sequences with U+FFFD without a word; the spec says UTF-8, so refuse.
    if (!isUtf8(view)) {
      throw new ProtocolError(ProtocolErrorCode.MALFORMED, `invalid UTF-8 in ${what}`);
    }
    return view.toString('utf8');
  }

  /** [string]: [short] n + n bytes of UTF-8. */
  readString(): string {
    return this.utf8(this.readShort(), '[string]');
  }

  /** [long string]: [int] n + n bytes of UTF-8. */
  readLongString(): string {
    const n = this.readInt();
    if (n < 0)
      throw new ProtocolError(ProtocolErrorCode.MALFORMED, `negative [long string] length ${n}`);
    return this.utf8(n, '[long string]');
  }

  /** [uuid]: 16 bytes, returned in the canonical dashed lower-case form. */
  readUuid(): string {
    return formatUuid(this.readRaw(16, '[uuid]'));
  }

  /** [string list] */
  readStringList(): string[] {
    const n = this.readShort();
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.readString());
    return out;
  }

  /** [bytes]: [int] n + n bytes; n < 0 is null. Returns a view. */
  readBytes(): Buffer | null {
    const n = this.readInt();
    if (n < 0) return null;
    return this.readRaw(n, '[bytes]');
  }

  /** [value]: like [bytes], with -2 meaning `not set`; n < -2 is invalid (spec v4 §3). */
  readValue(): Buffer | null | Unset {
    const n = this.readInt();
    if (n === -1) return null;
    if (n === -2) return UNSET;
    if (n < -2) throw new ProtocolError(ProtocolErrorCode.MALFORMED, `invalid [value] length ${n}`);
    return this.readRaw(n, '[value]');
  }

  /** [short bytes]: [short] n + n bytes. Returns a view. */
  readShortBytes(): Buffer {
    return this.readRaw(this.readShort(), '[short bytes]');
  }

  /** [string map] */
  readStringMap(): Map<string, string> {
    const n = this.readShort();
    const out = new Map<string, string>();
    for (let i = 0; i < n; i++) out.set(this.readString(), this.readString());
    return out;
  }

  /** [string multimap] */
  readStringMultimap(): Map<string, string[]> {
    const n = this.readShort();
    const out = new Map<string, string[]>();
    for (let i = 0; i < n; i++) out.set(this.readString(), this.readStringList());
    return out;
  }

  /** [bytes map] */
  readBytesMap(): Map<string, Buffer | null> {
    const n = this.readShort();
    const out = new Map<string, Buffer | null>();
    for (let i = 0; i < n; i++) out.set(this.readString(), this.readBytes());
    return out;
  }

  /** [inetaddr]: [byte] n (4 or 16) + n address bytes. */
  readInetAddr(): string {
    const n = this.readByte();
    if (n !== 4 && n !== 16) {
      throw new ProtocolError(ProtocolErrorCode.MALFORMED, `invalid [inetaddr] length ${n}`);
    }
    return formatInetAddr(this.readRaw(n, '[inetaddr]'));
  }

  /** [inet]: [inetaddr] + [int] port. */
  readInet(): Inet {
    const address = this.readInetAddr();
    return { address, port: this.readInt() };
  }

  /** [consistency]: a [short]. */
  readConsistency(): number {
    return this.readShort();
  }

  /** Throws unless the body was consumed exactly: trailing bytes mean the framing is off. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) {
      throw new ProtocolError(
        ProtocolErrorCode.MALFORMED,
        `${this.end - this.pos} unexpected trailing bytes after ${what}`,
      );
    }
  }
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function formatUuid(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[i] ?? 0];
  }
  return s;
}

export function formatInetAddr(b: Buffer): string {
  if (b.length === 4)
    return `${b.readUInt8(0)}.${b.readUInt8(1)}.${b.readUInt8(2)}.${b.readUInt8(3)}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return compressIpv6(groups);
}

/** RFC 5952 form: the longest run of two or more zero groups becomes `::`. */
function compressIpv6(groups: string[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}
