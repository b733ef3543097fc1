// The load benchmarks print their figures as a Markdown table under a line that says when, where
// and how they were measured, so that a run's output can be pasted into the README's Performance
// section as it is.

import { availableParallelism, loadavg } from 'node:os';

/** "2026-01-31, Node v20.x, 2 cores (load average 1.2 at the start): `npm run bench:...`". */
export function measuredOn(command: string, loadAtStart: number): string {
  const date = new Date().toISOString().slice(0, 10);
  return (
    `Measured ${date}, Node ${process.version}, ${availableParallelism()} cores ` +
    `(load average ${loadAtStart.toFixed(1)} at the start): \`${command}\``
  );
}

/** The one-minute load average now: how busy the machine was before the benchmark's own load. */
export function loadAverage(): number {
  return loadavg()[0] ?? 0;
}

/** A Markdown table: a header row, a separator, the rows; numbers right-aligned. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => /^[\d.,x×%–—-]*\s*$/.test(r[i] ?? '')));
  const cell = (text: string, i: number): string =>
    numeric[i] ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => cell(c, i)).join(' | ')} |`;
  const separator = `| ${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), separator, ...rows.map(line)].join('\n');
}

/** A figure with `digits` decimals, or "—" when it was not measured. */
export function figure(value: number | undefined, digits = 0): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}

/** `value` as a multiple of `base` ("1.23x"), or "—" when either was not measured. */
export function timesOf(value: number, base: number | undefined): string {
  const ratio = base === undefined ? Number.NaN : value / base;
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '—';
}
