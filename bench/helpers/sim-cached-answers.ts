// The simulator (3 nodes) over the engine of cached-answers-engine.ts: writes by EXECUTE answer
// Void at once, reads by EXECUTE the answer computed the first time. bench/proxy-overhead.ts runs
// it as a child process so that the simulator's storage work does not hide the proxy's own cost.
// Prints the simulator's JSON line on stdout; runs until SIGTERM.
// Run: npx tsx bench/helpers/sim-cached-answers.ts
import { startSimulator } from '../../sim/simulator.js';
import { cachedAnswersEngine } from './cached-answers-engine.js';

const sim = await startSimulator({ nodes: 3, engine: cachedAnswersEngine(), log: () => undefined });
process.stdout.write(`${JSON.stringify(sim.info)}\n`);
const stop = (): void => {
  void sim.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
