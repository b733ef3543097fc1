// Cassandra's Murmur3Partitioner token without BigInt: MurmurHash3_x64_128 (seed 0), first 64-bit
// half, computed on pairs of unsigned 32-bit halves so that the proxy can work out the token of
// every routed request without allocating (a BigInt per step cost microseconds per key).
//
// Cassandra's quirk is kept (org.apache.cassandra.utils.MurmurHash.hash3_x64_128): the tail bytes
// are read as signed Java bytes, so a byte >= 0x80 is sign extended before being shifted in.
// Murmur3Partitioner.getToken maps an empty key to the minimum token and the hash Long.MIN_VALUE
// to Long.MAX_VALUE. The simulator's BigInt version (sim/engine/murmur3.ts) is the reference the
// tests compare this one with.

// The result of the last mul/rotl/etc. (hi, lo): module state instead of an object per step, in a
// typed array because a number above 2^30 stored in a plain variable is boxed (an allocation).
// Everything is kept as signed int32 (`| 0`), which V8 keeps untagged in registers.
const R = new Int32Array(2);

// Multiplier halves above 2^31, as int32.
const K_FF51AFD7 = 0xff51afd7 | 0;
const K_ED558CCD = 0xed558ccd | 0;
const K_C4CEB9FE = 0xc4ceb9fe | 0;
const K_87C37B91 = 0x87c37b91 | 0;

/** (ah:al) * (bh:bl) mod 2^64 into R. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  R[1] = ((mid & 0xffff) << 16) | (p00 & 0xffff) | 0;
  // Each partial product is below 2^32, so `>>> 16` is exact.
  const high = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  R[0] = (high + Math.imul(ah, bl) + Math.imul(al, bh)) | 0;
}

/** Rotates (h:l) left by r (0 < r < 64, r !== 32) into R. */
function rotl(h: number, l: number, r: number): void {
  if (r > 32) {
    const t = h;
    h = l;
    l = t;
    r -= 32;
  }
  R[0] = (h << r) | (l >>> (32 - r)) | 0;
  R[1] = (l << r) | (h >>> (32 - r)) | 0;
}

/** (ah:al) + (bh:bl) mod 2^64 into R. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = (al >>> 0) + (bl >>> 0);
  R[1] = lo | 0;
  R[0] = (ah + bh + (lo > 0xffffffff ? 1 : 0)) | 0;
}

/** fmix64 of (h:l) into R. */
function fmix(h: number, l: number): void {
  l = (l ^ (h >>> 1)) | 0;
  mul(h, l, K_FF51AFD7, K_ED558CCD);
  h = R[0]!;
  l = (R[1]! ^ (h >>> 1)) | 0;
  mul(h, l, K_C4CEB9FE, 0x1a85ec53);
  h = R[0]!;
  R[1] = (R[1]! ^ (h >>> 1)) | 0;
}

function le32(b: Uint8Array, i: number): number {
  return (
    (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24) | 0
  );
}

/**
 * The tail word of `count` (1..8) bytes at `at` into R: each byte little endian at 8 * i
 * bits, sign extended to 64 bits as a Java byte is, all XORed together. A byte >= 0x80 thus also
 * flips every bit above its own.
 */
function tailWord(key: Uint8Array, at: number, count: number): void {
  let h = 0;
  let l = 0;
  for (let i = 0; i < count; i++) {
    const b = key[at + i]!;
    if (i < 4) l ^= b << (i * 8);
    else h ^= b << ((i - 4) * 8);
    if (b >= 0x80) {
      const above = i * 8 + 8;
      if (above < 32) {
        l ^= ~((1 << above) - 1);
        h ^= -1;
      } else if (above < 64) {
        h ^= ~((1 << (above - 32)) - 1);
      }
    }
  }
  R[0] = h | 0;
  R[1] = l | 0;
}

/**
 * The Murmur3Partitioner token of `key[start, end)`, written to `out`: out[0] the high 32 bits
 * (signed), out[1] the low 32 bits (as int32; compare them unsigned, `>>> 0`).
 */
export function murmur3TokenInto(
  key: Uint8Array,
  start: number,
  end: number,
  out: Int32Array,
): void {
  const length = end - start;
  if (length <= 0) {
    out[0] = -0x80000000;
    out[1] = 0;
    return;
  }
  let h1h = 0;
  let h1l = 0;
  let h2h = 0;
  let h2l = 0;
  const nblocks = Math.floor(length / 16);
  for (let i = 0; i < nblocks; i++) {
    const o = start + i * 16;
    // k1 = block[0..8), k2 = block[8..16), little endian.
    mul(le32(key, o + 4), le32(key, o), K_87C37B91, 0x114253d5);
    rotl(R[0]!, R[1]!, 31);
    mul(R[0]!, R[1]!, 0x4cf5ad43, 0x2745937f);
    h1h = (h1h ^ R[0]!) | 0;
    h1l = (h1l ^ R[1]!) | 0;
    rotl(h1h, h1l, 27);
    add(R[0]!, R[1]!, h2h, h2l);
    mul(R[0]!, R[1]!, 0, 5);
    add(R[0]!, R[1]!, 0, 0x52dce729);
    h1h = R[0]!;
    h1l = R[1]!;

    mul(le32(key, o + 12), le32(key, o + 8), 0x4cf5ad43, 0x2745937f);
    rotl(R[0]!, R[1]!, 33);
    mul(R[0]!, R[1]!, K_87C37B91, 0x114253d5);
    h2h = (h2h ^ R[0]!) | 0;
    h2l = (h2l ^ R[1]!) | 0;
    rotl(h2h, h2l, 31);
    add(R[0]!, R[1]!, h1h, h1l);
    mul(R[0]!, R[1]!, 0, 5);
    add(R[0]!, R[1]!, 0, 0x38495ab5);
    h2h = R[0]!;
    h2l = R[1]!;
  }

  const tail = start + nblocks * 16;
  const rest = length - nblocks * 16;
  if (rest > 8) {
    tailWord(key, tail + 8, rest - 8);
    mul(R[0]!, R[1]!, 0x4cf5ad43, 0x2745937f);
    rotl(R[0]!, R[1]!, 33);
    mul(R[0]!, R[1]!, K_87C37B91, 0x114253d5);
    h2h = (h2h ^ R[0]!) | 0;
    h2l = (h2l ^ R[1]!) | 0;
  }
  if (rest > 0) {
    tailWord(key, tail, Math.min(rest, 8));
    mul(R[0]!, R[1]!, K_87C37B91, 0x114253d5);
    rotl(R[0]!, R[1]!, 31);
    mul(R[0]!, R[1]!, 0x4cf5ad43, 0x2745937f);
    h1h = (h1h ^ R[0]!) | 0;
    h1l = (h1l ^ R[1]!) | 0;
  }

  // The length is below 2^32: it only touches the low halves.
  h1l = (h1l ^ length) | 0;
  h2l = (h2l ^ length) | 0;
  add(h1h, h1l, h2h, h2l);
  h1h = R[0]!;
  h1l = R[1]!;
  add(h2h, h2l, h1h, h1l);
  h2h = R[0]!;
  h2l = R[1]!;
  fmix(h1h, h1l);
  h1h = R[0]!;
  h1l = R[1]!;
  fmix(h2h, h2l);
  add(h1h, h1l, R[0]!, R[1]!);
  if (R[0]! === -0x80000000 && R[1]! === 0) {
    // Long.MIN_VALUE is the minimum token, reserved: Long.MAX_VALUE instead.
    out[0] = 0x7fffffff;
    out[1] = -1;
    return;
  }
  out[0] = R[0]! | 0;
  out[1] = R[1]! | 0;
}

const scratch = new Int32Array(2);

/** The token of `key` as a BigInt (tests, and tokens read as text). */
export function murmur3Token(key: Uint8Array): bigint {
  murmur3TokenInto(key, 0, key.byteLength, scratch);
  return tokenFromParts(scratch[0] ?? 0, scratch[1] ?? 0);
}

/** A signed 64-bit token from its halves. */
export function tokenFromParts(hi: number, lo: number): bigint {
  return (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0);
}
