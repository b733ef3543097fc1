// Variable-length number encodings: varint and decimal (native_protocol_v4.spec §6.17, §6.6)
// and Cassandra's unsigned vint, which duration values use (spec v4 §6.5, VIntCoding.java).

/** spec v4 §6.17 varint: the minimal big-endian two's complement bytes of `value`. */
export function encodeVarint(value: bigint): Buffer {
  if (value === 0n) return Buffer.from([0]);
  const bytes: number[] = [];
  let v = value;
  // Emit low bytes until the rest is pure sign extension of the last byte written.
  for (;;) {
    const byte = Number(BigInt.asUintN(8, v));
    bytes.unshift(byte);
    v >>= 8n;
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return Buffer.from(bytes);
}

/** spec v4 §6.17 varint, read back (empty means 0, as Cassandra's IntegerType reads it). */
export function decodeVarint(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return BigInt.asIntN(bytes.length * 8, v);
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * spec v4 §6.6 decimal: <scale: [int]><unscaled: varint>, for a number in CQL text form
 * (`1.50` → unscaled 150, scale 2; `1.5e3` → unscaled 15, scale -2, as Java's BigDecimal).
 */
export function encodeDecimal(text: string): Buffer | undefined {
  const m = DECIMAL.exec(text);
  if (m === null) return undefined;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = m;
  if (whole === '' && fraction === '') return undefined;
  const scale = fraction.length - Number(exponent);
  if (!Number.isSafeInteger(scale) || scale > 0x7fffffff || scale < -0x80000000) return undefined;
  const unscaled = BigInt(
    `${sign}${whole}${fraction}` === sign ? '0' : `${sign}${whole}${fraction}`,
  );
  const head = Buffer.alloc(4);
  head.writeInt32BE(scale, 0);
  return Buffer.concat([head, encodeVarint(unscaled)]);
}

/** The number of bytes of Cassandra's unsigned vint for `value` (VIntCoding). */
function vintSize(value: bigint): number {
  let size = 1;
  // Each extra byte adds 7 bits of payload; 9 bytes hold all 64.
  while (size < 9 && value >= 1n << BigInt(7 * size)) size++;
  return size;
}

/**
 * Cassandra's unsigned vint (VIntCoding.writeUnsignedVInt): the count of extra bytes as leading
 * 1 bits of the first byte, then the value big-endian in the remaining bits.
 */
export function encodeUnsignedVint(value: bigint): Buffer {
  const size = vintSize(value);
  const out = Buffer.alloc(size);
  let v = value;
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  const extra = size - 1;
  out[0] = (out[0] ?? 0) | (~(0xff >> extra) & 0xff);
  return out;
}

/** Zig-zag then unsigned vint (VIntCoding.writeVInt), for signed 64-bit values. */
export function encodeSignedVint(value: bigint): Buffer {
  const zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  return encodeUnsignedVint(zigzag);
}

/** Reads one signed vint at `offset`; undefined when the bytes run out. */
export function readSignedVint(
  bytes: Uint8Array,
  offset: number,
): { value: bigint; next: number } | undefined {
  const first = bytes[offset];
  if (first === undefined) return undefined;
  let extra = 0;
  while (extra < 8 && (first & (0x80 >> extra)) !== 0) extra++;
  if (offset + 1 + extra > bytes.length) return undefined;
  // With 8 extra bytes the first byte is all length bits (0xff >> 9 is 0).
  let v = BigInt(first & (0xff >> (extra + 1)));
  for (let i = 1; i <= extra; i++) v = (v << 8n) | BigInt(bytes[offset + i] ?? 0);
  const value = (v >> 1n) ^ -(v & 1n);
  return { value, next: offset + 1 + extra };
}
