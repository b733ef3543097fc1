// A simulator whose EXECUTEs cost nothing: the real engine for everything (schema, system tables,
// PREPARE) except EXECUTE, which answers RESULT Void at once. bench/proxy-overhead.ts runs it so
// that the simulator's storage work does not hide the proxy's own cost. Prints the simulator's
// JSON line on stdout; runs until SIGTERM.
import { createEngine } from '../../sim/engine/index.js';
import type { Engine } from '../../sim/engine/contract.js';
import { startSimulator } from '../../sim/simulator.js';

const real = createEngine();
const engine: Engine = {
  execute: (query, options, context) => real.execute(query, options, context),
  prepare: (query, context) => real.prepare(query, context),
  preparedInfo: (id) => real.preparedInfo(id),
  executePrepared: () => ({ kind: 'void' }),
  batch: (type, children, options, context) => real.batch(type, children, options, context),
  onSchemaChange: (listener) => real.onSchemaChange(listener),
};
const sim = await startSimulator({ nodes: 3, engine, log: () => undefined });
process.stdout.write(`${JSON.stringify(sim.info)}\n`);
const stop = (): void => {
  void sim.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
