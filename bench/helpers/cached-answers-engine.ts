// A simulated node whose prepared statements cost (almost) nothing, so that a load benchmark
// measures what lies between the client and the node rather than the simulator's storage engine.
// The real engine does everything (schema, system tables, QUERY, PREPARE, BATCH); an EXECUTE of a
// statement without result columns (a write) answers Void at once, and one with result columns
// (a read) answers what the real engine answered the first time for the same id and values,
// kept. What remains of the node's cost per request is encoding the answer and writing it.

import type { Engine, EngineResult, StatementOptions } from '../../sim/engine/contract.js';
import { createEngine } from '../../sim/engine/index.js';

/** Answers kept at most: a benchmark reads a handful of keys. */
const KEPT_ANSWERS = 1_000;

function answerKey(id: Buffer, options: StatementOptions): string {
  let key = id.toString('hex');
  for (const v of options.values) key += `/${Buffer.isBuffer(v) ? v.toString('hex') : String(v)}`;
  return key;
}

export function cachedAnswersEngine(real: Engine = createEngine()): Engine {
  const answers = new Map<string, EngineResult>();
  return {
    execute: (query, options, context) => real.execute(query, options, context),
    prepare: (query, context) => real.prepare(query, context),
    preparedInfo: (id) => real.preparedInfo(id),
    executePrepared: (id, options, context) => {
      const info = real.preparedInfo(id);
      // Unknown ids go to the real engine, which answers UNPREPARED as a node does.
      if (info === undefined) return real.executePrepared(id, options, context);
      if (info.resultColumns.length === 0) return { kind: 'void' };
      const key = answerKey(id, options);
      let answer = answers.get(key);
      if (answer === undefined) {
        answer = real.executePrepared(id, options, context);
        if (answers.size < KEPT_ANSWERS) answers.set(key, answer);
      }
      return answer;
    },
    batch: (type, children, options, context) => real.batch(type, children, options, context),
    onSchemaChange: (listener) => real.onSchemaChange(listener),
  };
}
