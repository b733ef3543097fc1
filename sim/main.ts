// `npm run sim -- [--nodes 3] [--out DIR] [--token AstraCS:...] [--protocol-versions 3,4] [--port N]
// [--region dc1] [--authenticator CLASS] [--user name:password[:ks1,ks2]]... [--schema-delay 500ms]`:
// starts the simulated Astra, prints exactly one JSON line on stdout once every listener is up
// (issue 3's contract), logs to stderr only, and runs until SIGTERM or SIGINT, then closes everything and exits 0.
// `--user` (repeatable) adds a user besides `token`: every keyspace without the list, only those
// keyspaces with it (`name:password:` for none), so a proxy passing client credentials through
// meets real logins and Cassandra's Unauthorized.

import { parseArgs } from 'node:util';
import { UserError, parseUserFlag } from './node/users.js';
import { startSimulator } from './simulator.js';
import type { Simulator, SimulatorOptions } from './simulator.js';

const USAGE = `usage: npm run sim -- [--nodes N] [--out DIR] [--token AstraCS:...]
                        [--protocol-versions 3,4[,5]] [--port N] [--region NAME]
                        [--authenticator CLASS] [--user NAME:PASSWORD[:KS1,KS2]]...
                        [--schema-delay 500ms]
  --user  a user besides token (repeatable); without KS1,KS2 it may use every keyspace,
          with them only those ('NAME:PASSWORD:' none); no ':' in the password here
  --schema-delay  how long a schema change takes to reach the other nodes (500ms, 2s; default 0)`;

class UsageError extends Error {}

function log(message: string): void {
  process.stderr.write(`[sim] ${message}\n`);
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/** `500ms`, `2s` or a bare number of milliseconds. */
function duration(name: string, text: string): number {
  const m = /^(\d+)(ms|s)?$/.exec(text.trim());
  if (m === null) {
    throw new UsageError(
      `--${name} must be a duration like 500ms or 2s, got ${JSON.stringify(text)}`,
    );
  }
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

function parseOptions(argv: string[]): SimulatorOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        nodes: { type: 'string' },
        out: { type: 'string' },
        token: { type: 'string' },
        'protocol-versions': { type: 'string' },
        port: { type: 'string' },
        region: { type: 'string' },
        authenticator: { type: 'string' },
        user: { type: 'string', multiple: true },
        'schema-delay': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help === true) return 'help';
  const options: {
    -readonly [K in keyof SimulatorOptions]: SimulatorOptions[K];
  } = { log };
  if (values.nodes !== undefined) options.nodes = integer('nodes', values.nodes, 1, 254);
  if (values.out !== undefined) options.outDir = values.out;
  if (values.token !== undefined) {
    if (!/^AstraCS:\S+$/.test(values.token)) {
      throw new UsageError('--token must look like AstraCS:...');
    }
    options.token = values.token;
  }
  if (values['protocol-versions'] !== undefined) {
    options.protocolVersions = values['protocol-versions']
      .split(',')
      .map((v) => integer('protocol-versions', v.trim(), 3, 5));
  }
  if (values.port !== undefined) options.port = integer('port', values.port, 1, 65535);
  if (values.region !== undefined) options.region = values.region;
  if (values.authenticator !== undefined) options.authenticatorClass = values.authenticator;
  if (values['schema-delay'] !== undefined) {
    options.schemaDelayMs = duration('schema-delay', values['schema-delay']);
  }
  if (values.user !== undefined) {
    try {
      options.users = values.user.map(parseUserFlag);
      const names = options.users.map((u) => u.username);
      const twice = names.find((name, i) => names.indexOf(name) !== i);
      if (twice !== undefined) throw new UsageError(`--user ${twice} is given twice`);
    } catch (error) {
      if (error instanceof UserError) throw new UsageError(error.message);
      throw error;
    }
  }
  return options;
}

async function main(): Promise<number> {
  let options: SimulatorOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }

  let simulator: Simulator;
  try {
    simulator = await startSimulator(options);
  } catch (error) {
    process.stderr.write(`sim: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify(simulator.info)}\n`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log(`${signal}: shutting down`);
  await simulator.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `sim: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
