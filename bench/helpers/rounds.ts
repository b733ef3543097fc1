// Alternating rounds: every case once per round, in the same order, for a few rounds, and the
// median of each figure over the rounds. On a shared machine a slow spell then hits every case
// about equally rather than one case entirely, and the median drops a spell that hit one round.

/** One measurement: named figures (requests/s, µs of CPU per request...). */
export type Figures = Record<string, number>;

export interface BenchCase<F extends Figures> {
  name: string;
  run: () => Promise<F>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Runs each case once per round for `rounds` rounds and gives, per case (in the order given), the
 * median of every figure. `onRound` hears each measurement as it comes (for a progress line).
 */
export async function alternate<F extends Figures>(
  cases: readonly BenchCase<F>[],
  rounds: number,
  onRound: (round: number, name: string, figures: F) => void = () => undefined,
): Promise<Map<string, F>> {
  const samples = new Map<string, F[]>(cases.map((c) => [c.name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const c of cases) {
      const figures = await c.run();
      samples.get(c.name)!.push(figures);
      onRound(round, c.name, figures);
    }
  }
  const medians = new Map<string, F>();
  for (const [name, list] of samples) {
    const keys = Object.keys(list[0] ?? {});
    medians.set(
      name,
      Object.fromEntries(keys.map((k) => [k, median(list.map((f) => f[k] ?? Number.NaN))])) as F,
    );
  }
  return medians;
}

/** Comma-separated case names, each one of `known`; throws naming the unknown ones. */
export function parseCaseList(text: string, known: readonly string[]): string[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(
      `--cases: unknown ${unknown.join(', ') || '(none given)'}; known: ${known.join(', ')}`,
    );
  }
  return names;
}

/** A number option within [min, max], or an error that names the option. */
export function boundedNumber(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`--${name} must be a number in [${min}, ${max}], got ${JSON.stringify(text)}`);
  }
  return value;
}

/**
 * Says what a run plans (`cases x workloads x rounds`) and how long it should take, and bounds it:
 * past twice the plan plus `startUpSeconds` the process exits 1 rather than run on.
 */
export function boundRun(
  name: string,
  plan: { cases: number; workloads: number; rounds: number; seconds: number },
  plannedSeconds: number,
  startUpSeconds: number,
): void {
  const limit = plannedSeconds * 2 + startUpSeconds * 6;
  setTimeout(() => {
    console.error(`${name}: still running after ${Math.round(limit)} s`);
    process.exit(1);
  }, limit * 1000).unref();
  console.error(
    `${name}: ${plan.cases} cases x ${plan.workloads} workloads x ${plan.rounds} rounds of ${plan.seconds} s: about ${Math.round(plannedSeconds + startUpSeconds)} s`,
  );
}
