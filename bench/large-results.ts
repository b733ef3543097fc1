// Large results through the proxy against a plain byte pipe (issue "Performance", part 1).
//
// The simulator runs in this process with one node whose prepared SELECT answers a fixed page of
// ~80 KB (ROWS rows of ROW_BYTES of text: the engine's answer is computed once and kept,
// bench/helpers/cached-answers-engine.ts, so the node's cost is the encoding and the write). A raw
// v4 client keeps IN_FLIGHT EXECUTEs in flight on CONNECTIONS connections, first through a plain
// Node.js byte pipe (bench/helpers/byte-pipe.ts, a child process), then through the proxy (a child
// process, bench/helpers/children.ts). For each the figures are answers/s and the CPU the child
// process spent per answer (utime + stime from /proc/<pid>/stat over the measured window). Both
// children run side by side and are measured in alternating rounds (pipe, proxy, pipe, proxy...),
// and the medians are reported: on a shared machine a slow spell then hits both about equally.
// Then a second proxy runs one more window under --cpu-prof; its profile is written to a
// temporary directory and summarised by bench/helpers/cpuprofile-top.ts.
// Run: npx tsx bench/large-results.ts [--rounds 3 --seconds 4 --connections 1 --in-flight 64
//      --rows 80]
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSimulator } from '../sim/simulator.js';
import { encodeInt } from '../src/protocol/values.js';
import { cachedAnswersEngine } from './helpers/cached-answers-engine.js';
import {
  BENCH_SCHEMA,
  LARGE_ROWS,
  LARGE_ROW_BYTES,
  LARGE_SELECT,
} from './helpers/bench-keyspace.js';
import {
  startBytePipe,
  startProxy,
  stopChild,
  upstreamArgs,
  type Child,
} from './helpers/children.js';
import { processCpuMicros as cpuMicros } from './helpers/cpu-time.js';
import { summariseProfile } from './helpers/cpuprofile-top.js';
import { RawBenchClient } from './helpers/raw-bench-client.js';
import { median } from './helpers/rounds.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '1' },
    'in-flight': { type: 'string', default: '64' },
    rows: { type: 'string', default: String(LARGE_ROWS) },
    'row-bytes': { type: 'string', default: String(LARGE_ROW_BYTES) },
    top: { type: 'string', default: '15' },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const IN_FLIGHT = Number(values['in-flight']);
const ROWS = Number(values.rows);
const ROW_BYTES = Number(values['row-bytes']);

// --- the simulated node: answers computed once ---------------------------------------------------

const sim = await startSimulator({ nodes: 1, engine: cachedAnswersEngine(), log: () => undefined });
const node = { host: sim.info.contactPoints[0]!, port: sim.info.port };
const token = sim.info.token;

// --- the load ------------------------------------------------------------------------------------

function prepareExecute(client: RawBenchClient): Promise<Buffer> {
  return client.prepareExecute(LARGE_SELECT, [encodeInt(1)], true);
}

interface Figures {
  label: string;
  perSecond: number;
  cpuPerAnswer: number;
  systemPerAnswer: number;
  answerBytes: number;
  cpuShare: number;
}

/** performance.now() at the start and end of the last measured window. */
let windowStart = 0;
let windowEnd = 0;

/** The median of every figure over the rounds. */
function medianFigures(rounds: readonly Figures[]): Figures {
  const of = (pick: (f: Figures) => number): number => median(rounds.map(pick));
  return {
    label: rounds[0]!.label,
    perSecond: of((f) => f.perSecond),
    cpuPerAnswer: of((f) => f.cpuPerAnswer),
    systemPerAnswer: of((f) => f.systemPerAnswer),
    answerBytes: of((f) => f.answerBytes),
    cpuShare: of((f) => f.cpuShare),
  };
}

function line(r: Figures): string {
  return (
    `${r.label.padEnd(28)} ${Math.round(r.perSecond).toString().padStart(7)} answers/s  ` +
    `${r.cpuPerAnswer.toFixed(1).padStart(7)} µs CPU/answer (${r.systemPerAnswer.toFixed(1)} in the kernel)  ` +
    `${(r.cpuShare * 100).toFixed(0)}% of a core`
  );
}

async function measure(label: string, port: number, pid: number, auth: boolean): Promise<Figures> {
  const clients = await Promise.all(
    Array.from({ length: CONNECTIONS }, () =>
      RawBenchClient.open('127.0.0.1', port, auth ? token : undefined),
    ),
  );
  const frames = await Promise.all(clients.map(prepareExecute));
  // Warm-up (JIT, pools), then the measured window.
  await Promise.all(clients.map((c, i) => c.run(frames[i]!, Date.now() + 1000, IN_FLIGHT)));
  const answeredBefore = clients.reduce((n, c) => n + c.answered, 0);
  const bytesBefore = clients.reduce((n, c) => n + c.bytes, 0);
  const cpuBefore = cpuMicros(pid);
  const t0 = performance.now();
  windowStart = t0;
  await Promise.all(
    clients.map((c, i) => c.run(frames[i]!, Date.now() + SECONDS * 1000, IN_FLIGHT)),
  );
  windowEnd = performance.now();
  const micros = (windowEnd - t0) * 1000;
  const cpuAfter = cpuMicros(pid);
  const system = cpuAfter.system - cpuBefore.system;
  const cpu = cpuAfter.user - cpuBefore.user + system;
  const answered = clients.reduce((n, c) => n + c.answered, 0) - answeredBefore;
  const bytes = clients.reduce((n, c) => n + c.bytes, 0) - bytesBefore;
  for (const c of clients) c.close();
  return {
    label,
    perSecond: (answered * 1e6) / micros,
    cpuPerAnswer: cpu / answered,
    systemPerAnswer: system / answered,
    answerBytes: bytes / answered,
    cpuShare: cpu / micros,
  };
}

// --- setup: ROWS rows in one partition -----------------------------------------------------------

const setup = await RawBenchClient.open(node.host, node.port, token);
for (const statement of BENCH_SCHEMA) await setup.query(statement);
const text = 'x'.repeat(ROW_BYTES);
for (let c = 0; c < ROWS; c++) {
  await setup.query(`INSERT INTO bench.big (k, c, v) VALUES (1, ${c}, '${text}')`);
}
setup.close();

// --- the pipe and the proxy, in alternating rounds -----------------------------------------------

const pipe = await startBytePipe(node);
/** The proxy as a child process; with `profileDir`, under --cpu-prof writing there. */
function startMeasuredProxy(profileDir?: string): Promise<Child & { port: number }> {
  const profiling = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  return startProxy(upstreamArgs(node, token), profiling);
}

// The measured proxy runs without the profiler: its sampling (a signal and a stack walk a
// millisecond) costs CPU the pipe does not pay. The profile comes from one more window of its own.
const proxy = await startMeasuredProxy();
const pipeRounds: Figures[] = [];
const proxyRounds: Figures[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  pipeRounds.push(await measure('plain Node.js byte pipe', pipe.port, pipe.pid, true));
  proxyRounds.push(await measure('through the proxy', proxy.port, proxy.pid, false));
  const ratio = proxyRounds.at(-1)!.cpuPerAnswer / pipeRounds.at(-1)!.cpuPerAnswer;
  console.log(`round ${round}: ${line(pipeRounds.at(-1)!)}`);
  console.log(`round ${round}: ${line(proxyRounds.at(-1)!)}  (${ratio.toFixed(2)}x the pipe)`);
}
await stopChild(pipe);
await stopChild(proxy);

const profileDir = mkdtempSync(join(tmpdir(), 'large-results-'));
const spawnedAt = performance.now();
const profiled = await startMeasuredProxy(profileDir);
const underProfiler = await measure('proxy under the profiler', profiled.port, profiled.pid, false);
const profileWindow = { from: windowStart - spawnedAt, to: windowEnd - spawnedAt };
await stopChild(profiled);
await sim.close();

const results = [medianFigures(pipeRounds), medianFigures(proxyRounds)];
const ratios = proxyRounds.map((p, i) => p.cpuPerAnswer / pipeRounds[i]!.cpuPerAnswer);
console.log(
  `\nLarge results: ${CONNECTIONS} raw connection(s) x ${IN_FLIGHT} EXECUTEs in flight, ` +
    `answers of ${Math.round(results[0]!.answerBytes)} bytes, ${SECONDS} s each, ` +
    `medians of ${ROUNDS} alternating rounds`,
);
for (const r of results) console.log(line(r));
console.log(`proxy CPU per answer / pipe CPU per answer: ${median(ratios).toFixed(2)}x (median)`);
console.log(line(underProfiler));
// The main thread's profile is the largest (tsx's loader thread writes one too). Only its samples
// of the measured windows count (the profile starts a few ms after the spawn: close enough).
const profile = readdirSync(profileDir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => join(profileDir, f))
  .sort((a, b) => statSync(b).size - statSync(a).size)[0];
if (profile !== undefined) {
  console.log(`\nProxy profile ${profile}, the measured window:`);
  console.log(summariseProfile(profile, Number(values.top), [profileWindow]));
}
process.exit(0);
