// Hostile clients against the proxy: a measurement, not a test. The proxy under test runs as a
// child process (its RSS and descriptors are its own), in front of the simulator (another child).
// Each scenario starts a fresh proxy, is bounded in connections and time, and kills the proxy if
// its RSS passes the cap, so the run always ends; the cap is then the figure. Loopback only.
//
//   npx tsx bench/hostile-clients.ts --proxy <dist/main.js> [--only 1,3] [--cap-mb 2560]
//                                    [--sim-nodes 1] [--sim-dir <checkout>]
//
// The simulator comes from --sim-dir (default: this checkout). Its behaviour shapes the figures
// (e.g. its own backpressure), so measure "before" and "after" against the same simulator: pin
// it with a clean clone at one commit. The commit used is printed with the figures.
//
// 1 non-reading client, large results   5 descriptor exhaustion (prlimit --nofile=256)
// 2 non-reading client, system.local    6 churn: connect, handshake, requests, hang up
// 3 huge declared frames before STARTUP 7 one client holds every upstream stream id
// 4 silent connections
//
// Prints one table (scenario, figure, value) and then one JSON line with the same figures.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killAllChildren, startSimulator, type SimProcess } from './hostile/processes.js';
import { SCENARIOS, createSchema, type Figures } from './hostile/scenarios.js';

const USAGE =
  'usage: npx tsx bench/hostile-clients.ts --proxy <path to dist/main.js> [--only 1,3] ' +
  '[--cap-mb 2560] [--sim-nodes 1] [--sim-dir <checkout with sim/ and node_modules>]';

/** No scenario may take longer than this, whatever the proxy does. */
const SCENARIO_DEADLINE_MS = 120_000;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    proxy: { type: 'string' },
    only: { type: 'string' },
    'cap-mb': { type: 'string', default: '2560' },
    'sim-nodes': { type: 'string', default: '1' },
    'sim-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (values.proxy === undefined) fail('--proxy is required');
const proxyPath = resolve(values.proxy);
if (!existsSync(proxyPath)) fail(`no such file: ${proxyPath}`);
const capMb = Number(values['cap-mb']);
if (!Number.isInteger(capMb) || capMb < 64) fail('--cap-mb must be an integer >= 64');
const simNodes = Number(values['sim-nodes']);
if (!Number.isInteger(simNodes) || simNodes < 1 || simNodes > 3) {
  fail('--sim-nodes must be 1, 2 or 3');
}
const only =
  values.only === undefined
    ? SCENARIOS.map((s) => s.id)
    : values.only.split(',').map((s) => Number(s.trim()));
for (const id of only) {
  if (!SCENARIOS.some((s) => s.id === id)) fail(`--only: no scenario ${id}`);
}

process.on('SIGINT', () => {
  killAllChildren();
  process.exit(130);
});

const simDir = resolve(values['sim-dir'] ?? resolve(dirname(fileURLToPath(import.meta.url)), '..'));
if (!existsSync(resolve(simDir, 'sim/main.ts'))) fail(`no sim/main.ts in ${simDir}`);

/** The simulator's commit, and whether sim/ or src/protocol/ differ from it. */
function simVersion(dir: string): string {
  const git = (...args: string[]): string =>
    spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).stdout.trim();
  const commit = git('rev-parse', '--short', 'HEAD');
  if (commit === '') return 'not a git checkout';
  const dirty = git('status', '--porcelain', '--', 'sim', 'src/protocol') !== '';
  return dirty ? `${commit} + uncommitted changes in sim/ or src/protocol/` : commit;
}
const simCommit = simVersion(simDir);
const log = (message: string): void => {
  process.stderr.write(`[hostile ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`scenario deadline of ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

log(
  `proxy ${proxyPath}; simulator ${simDir} (${simCommit}) with ${simNodes} node(s); cap ${capMb} MB`,
);
let sim: SimProcess;
try {
  sim = await startSimulator(simDir, simNodes);
  await createSchema(sim);
} catch (err) {
  killAllChildren();
  process.stderr.write(`setup failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
}

const results: { id: number; title: string; figures: Figures }[] = [];
for (const scenario of SCENARIOS.filter((s) => only.includes(s.id))) {
  log(`scenario ${scenario.id}: ${scenario.title}`);
  const t0 = Date.now();
  let figures: Figures;
  try {
    figures = await withDeadline(
      scenario.run({ proxyPath, sim, cap: capMb * 1024 * 1024 }),
      SCENARIO_DEADLINE_MS,
    );
  } catch (err) {
    figures = [['error', err instanceof Error ? err.message : String(err)]];
  }
  figures.push(['scenario duration (s)', Math.round((Date.now() - t0) / 100) / 10]);
  results.push({ id: scenario.id, title: scenario.title, figures });
  log(`scenario ${scenario.id} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
await sim.stop();

const rows: [string, string, string][] = [['scenario', 'figure', 'value']];
for (const r of results) {
  for (const [figure, value] of r.figures) {
    rows.push([`${r.id} ${r.title}`, figure, value === null ? '-' : String(value)]);
  }
}
const widths = [0, 1].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
const line = (row: [string, string, string]): string =>
  `${row[0].padEnd(widths[0]!)} | ${row[1].padEnd(widths[1]!)} | ${row[2]}`;
const out: string[] = [
  '',
  `hostile clients against ${proxyPath}`,
  `simulator ${simDir} at ${simCommit}, ${simNodes} node(s); RSS cap ${capMb} MB`,
  line(rows[0]!),
];
out.push(`${'-'.repeat(widths[0]!)}-+-${'-'.repeat(widths[1]!)}-+-${'-'.repeat(10)}`);
let previous = '';
for (const row of rows.slice(1)) {
  out.push(line(row[0] === previous ? ['', row[1], row[2]] : row));
  previous = row[0];
}
process.stdout.write(`${out.join('\n')}\n\n`);
process.stdout.write(
  `${JSON.stringify({
    proxy: proxyPath,
    capMb,
    simNodes,
    simDir,
    simCommit,
    scenarios: results.map((r) => ({
      id: r.id,
      title: r.title,
      figures: Object.fromEntries(r.figures),
    })),
  })}\n`,
);
killAllChildren();
process.exit(0);
