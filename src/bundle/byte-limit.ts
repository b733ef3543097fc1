// Shared by the caps on what comes from outside at start-up (the bundle file, the DevOps API and
// metadata service answers): each is read with a byte limit, so a zip bomb or an endless answer
// ends in one error line naming the limit instead of exhausting memory.

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** `16 MiB`, `512 KiB` for exact multiples, else `16777217 bytes`: exact, for error lines. */
export function formatBytes(bytes: number): string {
  for (const [unit, factor] of [
    ['GiB', 1024 * MiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor} ${unit}`;
  }
  return `${bytes} bytes`;
}

/**
 * The body of a fetch() answer, at most `limit` bytes. Past the limit (or when Content-Length
 * already says so) reading stops, the connection is dropped and `tooLarge()` is thrown; the
 * declared length is never used to size a buffer, since a server may lie about it.
 */
export async function readBodyWithLimit(
  response: Response,
  limit: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  const body = response.body;
  if (body === null) return Buffer.alloc(0);
  const declared = Number(response.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > limit) {
    // Not awaited: cancelling drops the connection, and nothing is left to wait for.
    body.cancel().catch(() => undefined);
    throw tooLarge();
  }
  // undici types the body as ReadableStream<any>; a fetch body's chunks are Uint8Arrays.
  const reader = body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}
