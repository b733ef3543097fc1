// CREATE KEYSPACE options: `replication = {'class': ..., ...}` (mandatory) and `durable_writes`,
// checked with Cassandra 4.0's messages (KeyspaceAttributes, AbstractReplicationStrategy) and
// stored as system_schema.keyspaces shows them: the class fully qualified, every option as text.

import type { Property, Term } from './ast.js';
import { configError, invalid, syntaxError } from './errors.js';

const LOCATOR = 'org.apache.cassandra.locator.';
const STRATEGIES = new Set(['SimpleStrategy', 'NetworkTopologyStrategy']);

export interface KeyspaceOptions {
  replication: Map<string, string>;
  durableWrites: boolean;
}

function termText(t: Term): string | undefined {
  if (t.kind === 'string') return t.value;
  if (t.kind === 'integer' || t.kind === 'float' || t.kind === 'boolean') return t.text;
  return undefined;
}

function replicationFactor(value: string | undefined, strategy: string): void {
  if (value === undefined || !/^\d+$/.test(value)) {
    throw configError(
      value === undefined
        ? `${strategy} requires a replication_factor strategy option.`
        : `Replication factor must be non-negative; found ${value}`,
    );
  }
}

function parseReplication(term: Term): Map<string, string> {
  if (term.kind !== 'map') throw syntaxError("Invalid value for property 'replication'");
  const options = new Map<string, string>();
  for (const [k, v] of term.entries) {
    const key = termText(k);
    const value = termText(v);
    if (key === undefined || value === undefined) {
      throw syntaxError("Invalid value for property 'replication'");
    }
    options.set(key, value);
  }
  const cls = options.get('class');
  if (cls === undefined) throw configError('Missing replication strategy class');
  const short = cls.startsWith(LOCATOR) ? cls.slice(LOCATOR.length) : cls;
  if (!STRATEGIES.has(short)) {
    throw configError(`Unable to find replication strategy class '${cls}'`);
  }
  options.delete('class');
  if (short === 'SimpleStrategy') {
    replicationFactor(options.get('replication_factor'), short);
    for (const k of options.keys()) {
      if (k !== 'replication_factor') {
        throw configError(
          `Unrecognized strategy option {${k}} passed to SimpleStrategy for keyspace`,
        );
      }
    }
  } else {
    for (const rf of options.values()) replicationFactor(rf, short);
  }
  return new Map([['class', `${LOCATOR}${short}`], ...options]);
}

export function keyspaceOptions(properties: readonly Property[]): KeyspaceOptions {
  let replication: Map<string, string> | undefined;
  let durableWrites = true;
  for (const p of properties) {
    if (p.name === 'replication') {
      replication = parseReplication(p.value);
    } else if (p.name === 'durable_writes') {
      const text = termText(p.value)?.toLowerCase();
      if (text !== 'true' && text !== 'false') {
        throw syntaxError(`Invalid boolean value ${termText(p.value) ?? ''} for 'durable_writes'`);
      }
      durableWrites = text === 'true';
    } else {
      throw syntaxError(`Unknown property '${p.name}'`);
    }
  }
  if (replication === undefined) throw invalid("Missing mandatory option 'replication'");
  return { replication, durableWrites };
}
