// Cassandra's Murmur3Partitioner token: MurmurHash3 x64 128-bit (seed 0) of the serialized
// partition key, keeping the first 64-bit half as a signed long.
//
// Written from the MurmurHash3 algorithm (Austin Appleby, MurmurHash3_x64_128) with Cassandra's
// one deviation kept: the tail bytes are read as *signed* Java bytes, so a byte >= 0x80 is sign
// extended before being shifted into k1/k2 (org.apache.cassandra.utils.MurmurHash.hash3_x64_128
// does `(long) key.get(i) << n`). Drivers reproduce the quirk to route requests; so must we, or
// token-aware routing and the token order of full scans would disagree with them.
//
// Murmur3Partitioner.getToken also maps an empty key to the minimum token and the hash value
// Long.MIN_VALUE to Long.MAX_VALUE (the minimum token is reserved).

const MASK64 = (1n << 64n) - 1n;
const C1 = 0x87c37b91114253d5n;
const C2 = 0x4cf5ad432745937fn;
export const MIN_TOKEN = -(1n << 63n);
export const MAX_TOKEN = (1n << 63n) - 1n;

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK64;
}

function mul64(a: bigint, b: bigint): bigint {
  return (a * b) & MASK64;
}

function fmix64(k: bigint): bigint {
  let x = k;
  x ^= x >> 33n;
  x = mul64(x, 0xff51afd7ed558ccdn);
  x ^= x >> 33n;
  x = mul64(x, 0xc4ceb9fe1a85ec53n);
  x ^= x >> 33n;
  return x;
}

/** A Java byte widened to long, as 64 unsigned bits. */
function signedByte(b: number): bigint {
  return BigInt.asUintN(64, BigInt(b >= 0x80 ? b - 0x100 : b));
}

/** MurmurHash3_x64_128 (seed 0) of `key`: the first 64-bit half, as Cassandra's signed long. */
export function murmur3Hash(key: Uint8Array): bigint {
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const length = key.byteLength;
  const nblocks = Math.floor(length / 16);
  let h1 = 0n;
  let h2 = 0n;

  for (let i = 0; i < nblocks; i++) {
    let k1 = view.getBigUint64(i * 16, true);
    let k2 = view.getBigUint64(i * 16 + 8, true);

    k1 = mul64(rotl64(mul64(k1, C1), 31n), C2);
    h1 ^= k1;
    h1 = rotl64(h1, 27n);
    h1 = (h1 + h2) & MASK64;
    h1 = (mul64(h1, 5n) + 0x52dce729n) & MASK64;

    k2 = mul64(rotl64(mul64(k2, C2), 33n), C1);
    h2 ^= k2;
    h2 = rotl64(h2, 31n);
    h2 = (h2 + h1) & MASK64;
    h2 = (mul64(h2, 5n) + 0x38495ab5n) & MASK64;
  }

  const tail = nblocks * 16;
  const rest = length - tail;
  let k1 = 0n;
  let k2 = 0n;
  for (let i = rest - 1; i >= 8; i--) {
    k2 ^= (signedByte(key[tail + i] ?? 0) << BigInt((i - 8) * 8)) & MASK64;
  }
  if (rest > 8) {
    k2 = mul64(rotl64(mul64(k2, C2), 33n), C1);
    h2 ^= k2;
  }
  for (let i = Math.min(rest, 8) - 1; i >= 0; i--) {
    k1 ^= (signedByte(key[tail + i] ?? 0) << BigInt(i * 8)) & MASK64;
  }
  if (rest > 0) {
    k1 = mul64(rotl64(mul64(k1, C1), 31n), C2);
    h1 ^= k1;
  }

  const len = BigInt(length);
  h1 ^= len;
  h2 ^= len;
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 = (h1 + h2) & MASK64;
  return BigInt.asIntN(64, h1);
}

/** Murmur3Partitioner.getToken: the token of a serialized partition key. */
export function murmur3Token(key: Uint8Array): bigint {
  if (key.byteLength === 0) return MIN_TOKEN;
  const h = murmur3Hash(key);
  return h === MIN_TOKEN ? MAX_TOKEN : h;
}
