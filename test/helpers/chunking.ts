// Ways to cut a byte stream: TCP may deliver a frame in any number of pieces, so every golden frame
// is also fed byte by byte and split at every offset (node-redis "byte by byte", pg split suites).

/** The whole input as one chunk, then byte by byte, then cut in two at every offset. */
export function* chunkings(bytes: Buffer): Generator<{ name: string; chunks: Buffer[] }> {
  yield { name: 'single chunk', chunks: [bytes] };
  yield {
    name: 'byte by byte',
    chunks: Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1)),
  };
  for (let cut = 1; cut < bytes.length; cut++) {
    yield { name: `split at ${cut}`, chunks: [bytes.subarray(0, cut), bytes.subarray(cut)] };
  }
}

/** Copies each chunk so a decoder cannot rely on the chunks sharing one backing buffer. */
export function detached(chunks: Buffer[]): Buffer[] {
  return chunks.map((c) => Buffer.from(c));
}

/** Hex with spaces and `//` comments allowed, for golden bytes annotated field by field. */
export function hex(text: string): Buffer {
  const cleaned = text
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(cleaned)) throw new Error(`bad hex literal: ${cleaned}`);
  return Buffer.from(cleaned, 'hex');
}
