// Minimal types for lz4js 0.2 (pure JS, no bundled types): only the raw block functions the
// interoperability tests use.
declare module 'lz4js' {
  /** Worst-case compressed size of `n` input bytes. */
  export function compressBound(n: number): number;
  /** Decompresses src[sIndex, sIndex + sLength) into dst from dIndex; returns the end index in dst. */
  export function decompressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    dIndex: number,
  ): number;
  /**
   * Compresses src[sIndex, sIndex + sLength) into dst; returns the block length, or 0 when the
   * input did not compress (then nothing useful was written). `hashTable` is a zeroed
   * Uint32Array of 65536 entries.
   */
  export function compressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    hashTable: Uint32Array,
  ): number;
}
