// Views over a Buffer's memory without Buffer#subarray's argument handling. Node's subarray()
// normalises negative and out-of-range arguments on every call; the frame decoder already knows
// its bounds, and constructing the view directly is about twice as fast per frame (measured in
// bench/frame-decoder.bench.ts). Buffer[Symbol.species] is Node's internal FastBuffer class, the
// same constructor Buffer#subarray uses (undici builds its body views the same way).

type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Buffer;

const species: unknown = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species];
const FastBuffer: ViewConstructor | undefined =
  typeof species === 'function' ? (species as ViewConstructor) : undefined;

/** A view of buf[start, end): the caller guarantees 0 <= start <= end <= buf.length. */
export const bufferView: (buf: Buffer, start: number, end: number) => Buffer =
  FastBuffer === undefined
    ? (buf, start, end) => buf.subarray(start, end)
    : (buf, start, end) => new FastBuffer(buf.buffer, buf.byteOffset + start, end - start);
