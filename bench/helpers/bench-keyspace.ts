// The keyspace the load benchmarks read and write (bench:e2e, bench:overhead,
// bench/large-results.ts), so that their figures describe the same answers: `bench.kv` holds
// single-row reads of SMALL_VALUE_BYTES, `bench.big` one partition of LARGE_ROWS rows of
// LARGE_ROW_BYTES (an answer of about 80 KB).

export const SMALL_VALUE_BYTES = 100;
export const LARGE_ROWS = 80;
export const LARGE_ROW_BYTES = 1000;

/** The statements that make the keyspace and its tables (idempotent). */
export const BENCH_SCHEMA: readonly string[] = [
  "CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
  'CREATE TABLE IF NOT EXISTS bench.kv (k int PRIMARY KEY, v text)',
  'CREATE TABLE IF NOT EXISTS bench.big (k int, c int, v text, PRIMARY KEY (k, c))',
];

/** The prepared read of the large partition. */
export const LARGE_SELECT = 'SELECT c, v FROM bench.big WHERE k = ?';

/** The first measurement of a case warms the JIT of every process; later ones only briefly. */
export const FIRST_WARM_UP_MS = 1500;
export const WARM_UP_MS = 300;

const warmed = new Set<string>();

/** How long to warm up before measuring `key` (a case and workload): longer the first time. */
export function warmUpMs(key: string): number {
  if (warmed.has(key)) return WARM_UP_MS;
  warmed.add(key);
  return FIRST_WARM_UP_MS;
}
