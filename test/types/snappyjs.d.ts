// Minimal types for snappyjs 0.7 (pure JS, no bundled types): raw (unframed) Snappy.
declare module 'snappyjs' {
  export function compress(input: Uint8Array): Uint8Array;
  /** Throws when the preamble declares more than `maxLength` bytes or the data is corrupt. */
  export function uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
}
