// Cassandra's Murmur3Partitioner token without BigInt: MurmurHash3_x64_128 (seed 0), first 64-bit
// half, computed on pairs of unsigned 32-bit halves so that the proxy can work out the token of
// every routed request without allocating (a BigInt per step cost microseconds per key).
//
// Cassandra's quirk is kept (org.apache.cassandra.utils.MurmurHash.hash3_x64_128): the tail bytes
// are read as signed Java bytes, so a byte >= 0x80 is sign extended before being shifted in.
// Murmur3Partitioner.getToken maps an empty key to the minimum token and the hash Long.MIN_VALUE
// to Long.MAX_VALUE. The simulator's BigInt version (sim/engine/murmur3.ts) is the reference the
// tests compare this one with.

// The result of the last mul/rotl/etc. (hi, lo): module state instead of an object per step.
let rh = 0;
let rl = 0;

/** (ah:al) * (bh:bl) mod 2^64 into (rh, rl). */
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
  rl = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const high =
    p11 + Math.floor(p01 / 0x10000) + Math.floor(p10 / 0x10000) + Math.floor(mid / 0x10000);
  rh = (high + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** Rotates (h:l) left by r (0 < r < 64, r !== 32) into (rh, rl). */
function rotl(h: number, l: number, r: number): void {
  if (r > 32) {
    const t = h;
    h = l;
    l = t;
    r -= 32;
  }
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** (ah:al) + (bh:bl) mod 2^64 into (rh, rl). */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  rl = lo >>> 0;
  rh = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** fmix64 of (h:l) into (rh, rl). */
function fmix(h: number, l: number): void {
  l = (l ^ (h >>> 1)) >>> 0;
  mul(h, l, 0xff51afd7, 0xed558ccd);
  h = rh;
  l = (rl ^ (h >>> 1)) >>> 0;
  mul(h, l, 0xc4ceb9fe, 0x1a85ec53);
  h = rh;
  rl = (rl ^ (h >>> 1)) >>> 0;
}

function le32(b: Uint8Array, i: number): number {
  return (
    ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24)) >>> 0
  );
}

/** XORs the sign-extended byte `b` shifted left by `n` bits (0..56) into (h:l); result in (rh, rl). */
function xorTailByte(h: number, l: number, b: number, n: number): void {
  let bh = b >= 0x80 ? 0xffffffff : 0;
  let bl = b >= 0x80 ? (0xffffff00 | b) >>> 0 : b;
  if (n >= 32) {
    bh = (bl << (n - 32)) >>> 0;
    bl = 0;
  } else if (n > 0) {
    bh = ((bh << n) | (bl >>> (32 - n))) >>> 0;
    bl = (bl << n) >>> 0;
  }
  rh = (h ^ bh) >>> 0;
  rl = (l ^ bl) >>> 0;
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
    mul(le32(key, o + 4), le32(key, o), 0x87c37b91, 0x114253d5);
    rotl(rh, rl, 31);
    mul(rh, rl, 0x4cf5ad43, 0x2745937f);
    h1h = (h1h ^ rh) >>> 0;
    h1l = (h1l ^ rl) >>> 0;
    rotl(h1h, h1l, 27);
    add(rh, rl, h2h, h2l);
    mul(rh, rl, 0, 5);
    add(rh, rl, 0, 0x52dce729);
    h1h = rh;
    h1l = rl;

    mul(le32(key, o + 12), le32(key, o + 8), 0x4cf5ad43, 0x2745937f);
    rotl(rh, rl, 33);
    mul(rh, rl, 0x87c37b91, 0x114253d5);
    h2h = (h2h ^ rh) >>> 0;
    h2l = (h2l ^ rl) >>> 0;
    rotl(h2h, h2l, 31);
    add(rh, rl, h1h, h1l);
    mul(rh, rl, 0, 5);
    add(rh, rl, 0, 0x38495ab5);
    h2h = rh;
    h2l = rl;
  }

  const tail = start + nblocks * 16;
  const rest = length - nblocks * 16;
  if (rest > 8) {
    let kh = 0;
    let kl = 0;
    for (let i = rest - 1; i >= 8; i--) {
      xorTailByte(kh, kl, key[tail + i] ?? 0, (i - 8) * 8);
      kh = rh;
      kl = rl;
    }
    mul(kh, kl, 0x4cf5ad43, 0x2745937f);
    rotl(rh, rl, 33);
    mul(rh, rl, 0x87c37b91, 0x114253d5);
    h2h = (h2h ^ rh) >>> 0;
    h2l = (h2l ^ rl) >>> 0;
  }
  if (rest > 0) {
    let kh = 0;
    let kl = 0;
    for (let i = Math.min(rest, 8) - 1; i >= 0; i--) {
      xorTailByte(kh, kl, key[tail + i] ?? 0, i * 8);
      kh = rh;
      kl = rl;
    }
    mul(kh, kl, 0x87c37b91, 0x114253d5);
    rotl(rh, rl, 31);
    mul(rh, rl, 0x4cf5ad43, 0x2745937f);
    h1h = (h1h ^ rh) >>> 0;
    h1l = (h1l ^ rl) >>> 0;
  }

  // The length is below 2^32: it only touches the low halves.
  h1l = (h1l ^ length) >>> 0;
  h2l = (h2l ^ length) >>> 0;
  add(h1h, h1l, h2h, h2l);
  h1h = rh;
  h1l = rl;
  add(h2h, h2l, h1h, h1l);
  h2h = rh;
  h2l = rl;
  fmix(h1h, h1l);
  h1h = rh;
  h1l = rl;
  fmix(h2h, h2l);
  add(h1h, h1l, rh, rl);
  if (rh === 0x80000000 && rl === 0) {
    // Long.MIN_VALUE is the minimum token, reserved: Long.MAX_VALUE instead.
    out[0] = 0x7fffffff;
    out[1] = -1;
    return;
  }
  out[0] = rh | 0;
  out[1] = rl | 0;
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
