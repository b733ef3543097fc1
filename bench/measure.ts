// A bounded, timed loop that prints throughput figures. vitest bench prints operations per second;
// this prints what people ask about (frames/s, MB/s) and puts a baseline beside each figure.
// Figures are printed, never asserted.

export interface Throughput {
  label: string;
  framesPerSecond: number;
  megabytesPerSecond: number;
}

/**
 * Runs `op` (which processes `framesPerOp` frames and `bytesPerOp` bytes) repeatedly for about
 * `budgetMs` after a short warm-up, bounded by `maxOps`.
 */
export function measure(
  label: string,
  framesPerOp: number,
  bytesPerOp: number,
  op: () => void,
  { budgetMs = 500, maxOps = 1_000_000 }: { budgetMs?: number; maxOps?: number } = {},
): Throughput {
  const warmUntil = performance.now() + budgetMs / 5;
  for (let i = 0; i < maxOps && performance.now() < warmUntil; i++) op();
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (ops < maxOps && elapsed < budgetMs) {
    op();
    ops++;
    elapsed = performance.now() - start;
  }
  const seconds = elapsed / 1000;
  return {
    label,
    framesPerSecond: (ops * framesPerOp) / seconds,
    megabytesPerSecond: (ops * bytesPerOp) / seconds / 1e6,
  };
}

export function formatThroughput(rows: readonly Throughput[]): string {
  const width = Math.max(...rows.map((r) => r.label.length));
  return rows
    .map(
      (r) =>
        `${r.label.padEnd(width)}  ${(r.framesPerSecond / 1e6).toFixed(2).padStart(8)} M frames/s  ${r.megabytesPerSecond
          .toFixed(0)
          .padStart(6)} MB/s`,
    )
    .join('\n');
}

/** Cuts a buffer into views of `size` bytes (the last one shorter), as a socket would deliver it. */
export function chunk(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}
