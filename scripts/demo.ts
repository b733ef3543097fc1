// `npm run demo [-- --bind HOST:PORT]`: the whole product in a few seconds, on one machine. Starts
// the simulated Astra DB (3 nodes) in this process, starts the proxy in front of it in bundle mode,
// and connects the unmodified Node.js cassandra-driver to the proxy with nothing Astra-specific
// (one contact point and the data center). Then it runs a handful of statements, printing one line
// per step with its time, and shuts everything down. Exit code 0 when every step worked, 1 with a
// "demo failed" line naming the step otherwise. The token is never printed: the proxy gets it
// through the environment, as a deployment would pass it.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import cassandra from 'cassandra-driver';
import { startSimulator } from '../sim/simulator.js';
import type { Simulator } from '../sim/simulator.js';
import { parseConfig } from '../src/config/parse.js';
import { ProxyError, ProxyErrorCode } from '../src/errors.js';
import { createLogger } from '../src/ops/logger.js';
import { startProxy } from '../src/proxy.js';
import type { RunningProxy } from '../src/proxy.js';

const { types } = cassandra;

/** The whole demo normally takes 2-5 s; past this something hangs, and the demo says so. */
const DEMO_DEADLINE_MS = 90_000;
const DEFAULT_PORT = 9042;
const KEYSPACE = 'demo';
const ROWS = 20;
const PAGE_SIZE = 8;

class DemoError extends Error {
  override name = 'DemoError';
}

class UsageError extends Error {
  override name = 'UsageError';
}

interface Resources {
  sim?: Simulator;
  proxy?: RunningProxy;
  client?: cassandra.Client;
}

const started = performance.now();
let currentStep = 'starting';

function elapsed(): string {
  return `${((performance.now() - started) / 1000).toFixed(2)}s`.padStart(6);
}

/** Runs one step and prints its line once it is done: `[ total] what happened (step time)`. */
async function step<T>(title: string, run: () => Promise<{ value: T; line: string }>): Promise<T> {
  currentStep = title;
  const t0 = performance.now();
  const { value, line } = await run();
  const ms = Math.round(performance.now() - t0);
  process.stdout.write(`[${elapsed()}] ${line}  (${ms} ms)\n`);
  return value;
}

function parseDemoArgs(argv: string[]): { bind: string | undefined } {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { bind: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    return { bind: values.bind };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** True when nothing listens on 127.0.0.1:port (checked by listening there for a moment). */
async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The proxy as `cql-proxy-ts` would run it: flags and environment through the real parser. */
async function startDemoProxy(sim: Simulator, bind: string): Promise<RunningProxy> {
  const parsed = parseConfig(
    ['--astra-bundle', sim.info.bundle, '--bind', bind, '--log-level', 'warn'],
    { ASTRA_TOKEN: sim.info.token },
    (path) => readFileSync(path, 'utf8'),
  );
  if (!('config' in parsed)) {
    throw new DemoError(`the proxy refused its configuration: ${JSON.stringify(parsed)}`);
  }
  // Warnings and errors only, on stderr, so stdout reads as the demo's story.
  return startProxy(parsed.config, createLogger({ level: 'warn', destination: process.stderr }));
}

async function run(resources: Resources, bind: string | undefined): Promise<void> {
  process.stdout.write(
    'cql-proxy-ts demo: simulated Astra DB <- proxy (bundle mode) <- unmodified Node.js cassandra-driver\n',
  );

  const sim = await step('start the simulated Astra DB', async () => {
    const s = await startSimulator({ nodes: 3 });
    resources.sim = s;
    const last = s.info.contactPoints.at(-1) ?? '?';
    return {
      value: s,
      line:
        `simulated Astra DB up: ${s.info.nodes.length} nodes on ${s.info.contactPoints[0] ?? '?'}..${last} ` +
        `port ${s.info.port}, region ${s.info.region}, secure connect bundle ${s.info.bundle}`,
    };
  });

  const proxy = await step('start the proxy', async () => {
    let p: RunningProxy;
    if (bind !== undefined) {
      p = await startDemoProxy(sim, bind);
    } else {
      // 127.0.0.1:9042 as drivers expect when it is free; any free loopback port otherwise.
      const preferred = (await portFree(DEFAULT_PORT))
        ? `127.0.0.1:${DEFAULT_PORT}`
        : '127.0.0.1:0';
      try {
        p = await startDemoProxy(sim, preferred);
      } catch (error) {
        // Taken between the check and the bind: any free port will do.
        if (!(ProxyError.isProxyError(error) && error.code === ProxyErrorCode.LISTEN_FAILED)) {
          throw error;
        }
        p = await startDemoProxy(sim, '127.0.0.1:0');
      }
    }
    resources.proxy = p;
    const { info } = p.cluster;
    return {
      value: p,
      line:
        `proxy up in bundle mode on ${p.address.host}:${p.address.port}: ${p.cluster.nodeList.length} Astra nodes ` +
        `through the SNI proxy, upstream protocol v${info.protocolVersion}, data center ${info.dataCenter}`,
    };
  });

  const contactPoint = `${proxy.address.host}:${proxy.address.port}`;
  const dataCenter = proxy.cluster.info.dataCenter;
  const driverLog: string[] = [];
  const client = await step('connect the driver', async () => {
    // An ordinary driver configuration: no `cloud` option, no credentials, no TLS. LOCAL_QUORUM
    // by default because Astra refuses writes at the driver's default LOCAL_ONE.
    const c = new cassandra.Client({
      contactPoints: [contactPoint],
      localDataCenter: dataCenter,
      queryOptions: { consistency: types.consistencies.localQuorum },
    });
    resources.client = c;
    c.on('log', (level: string, _className: string, message: string) => {
      if (level === 'info') driverLog.push(message);
    });
    await c.connect();
    const hosts = c.hosts.keys();
    if (hosts.length !== 1) {
      throw new DemoError(`the driver sees ${hosts.length} hosts (${hosts.join(', ')}), not one`);
    }
    const version = negotiatedVersion(driverLog);
    const steppedDown = driverLog.some((m) => /^Protocol 0x42 not supported/.test(m));
    return {
      value: c,
      line:
        `driver connected with contactPoints ['${contactPoint}'], localDataCenter '${dataCenter}': ` +
        `sees 1 host (${hosts[0] ?? '?'}), protocol v${version}` +
        (steppedDown ? ' (it asked for DSE_V2 and stepped down)' : ''),
    };
  });

  await step('read system.local', async () => {
    const local = (
      await client.execute(
        'SELECT data_center, release_version, native_protocol_version FROM system.local',
      )
    ).first();
    const peers = await client.execute('SELECT peer FROM system.peers');
    return {
      value: undefined,
      line:
        `system.local answered by the proxy: data_center ${String(local.get('data_center'))}, ` +
        `release_version ${String(local.get('release_version'))}, native_protocol_version ` +
        `${String(local.get('native_protocol_version'))}; system.peers: ${peers.rowLength} rows`,
    };
  });

  await step('create a keyspace', async () => {
    await client.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${KEYSPACE} WITH replication = ` +
        `{'class': 'NetworkTopologyStrategy', '${dataCenter}': 3}`,
    );
    return { value: undefined, line: `CREATE KEYSPACE ${KEYSPACE}` };
  });

  const table = `${KEYSPACE}.readings`;
  await step('create a table', async () => {
    await client.execute(
      `CREATE TABLE IF NOT EXISTS ${table} ` +
        '(sensor text, ts int, value double, PRIMARY KEY (sensor, ts))',
    );
    return { value: undefined, line: `CREATE TABLE ${table} (sensor text, ts int, value double)` };
  });

  const insert = `INSERT INTO ${table} (sensor, ts, value) VALUES (?, ?, ?)`;
  await step('insert with a prepared statement', async () => {
    for (let ts = 0; ts < ROWS; ts++) {
      await client.execute(insert, ['s1', ts, ts / 2], { prepare: true });
    }
    return {
      value: undefined,
      line: `prepared INSERT executed ${ROWS} times (prepared once, then EXECUTE by id)`,
    };
  });

  await step('read with a prepared statement', async () => {
    const row = (
      await client.execute(`SELECT value FROM ${table} WHERE sensor = ? AND ts = ?`, ['s1', 7], {
        prepare: true,
      })
    ).first();
    const value = row?.get('value') as number | undefined;
    if (value !== 3.5) throw new DemoError(`read back value ${String(value)}, expected 3.5`);
    return {
      value: undefined,
      line: `prepared SELECT ... WHERE sensor = 's1' AND ts = 7 -> value 3.5`,
    };
  });

  await step('write a batch', async () => {
    const queries = Array.from({ length: 5 }, (_, ts) => ({
      query: insert,
      params: ['s2', ts, ts],
    }));
    await client.batch(queries, { prepare: true });
    const count = (
      await client.execute(`SELECT count(*) FROM ${table} WHERE sensor = ?`, ['s2'], {
        prepare: true,
      })
    ).first();
    const n = String(count?.get('count'));
    if (n !== '5') throw new DemoError(`count(*) after the batch is ${n}, expected 5`);
    return { value: undefined, line: 'logged BATCH of 5 prepared INSERTs, then count(*) -> 5' };
  });

  await step('read a page of results', async () => {
    const query = `SELECT ts FROM ${table} WHERE sensor = ?`;
    const first = await client.execute(query, ['s1'], { prepare: true, fetchSize: PAGE_SIZE });
    const firstPage = first.rows.map((r) => r.get('ts') as number);
    let pages = 1;
    let total = first.rowLength;
    let pageState = first.pageState ?? undefined;
    // Bounded: 20 rows at 8 a page is 3 pages; stop well past that whatever happens.
    while (pageState !== undefined && pages < 100) {
      const next = await client.execute(query, ['s1'], {
        prepare: true,
        fetchSize: PAGE_SIZE,
        pageState,
      });
      pages++;
      total += next.rowLength;
      pageState = next.pageState ?? undefined;
    }
    if (total !== ROWS) throw new DemoError(`paging read ${total} rows, expected ${ROWS}`);
    return {
      value: undefined,
      line:
        `first page of ${firstPage.length} rows (ts ${firstPage.join(',')}), ` +
        `then the paging state -> ${pages} pages, ${total} rows in all`,
    };
  });

  const guarded = `INSERT INTO ${table} (sensor, ts, value) VALUES ('s3', 1, 1.0)`;
  await step('write at ONE', async () => {
    const error = await client.execute(guarded, [], { consistency: types.consistencies.one }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof cassandra.errors.ResponseError)) {
      throw new DemoError(
        error === undefined
          ? 'a write at ONE was accepted; Astra (and the simulator) refuse it'
          : `a write at ONE failed with an unexpected error: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
      );
    }
    return {
      value: undefined,
      line: `INSERT at ONE refused by Astra's guardrail, error intact: [${errorCodeName(error.code)}] ${error.message}`,
    };
  });

  await step('write at LOCAL_QUORUM', async () => {
    await client.execute(guarded, [], { consistency: types.consistencies.localQuorum });
    const row = (
      await client.execute(`SELECT value FROM ${table} WHERE sensor = 's3' AND ts = 1`)
    ).first();
    if (row === null) throw new DemoError('the LOCAL_QUORUM write is not readable');
    return {
      value: undefined,
      line:
        'the same INSERT at LOCAL_QUORUM succeeds and reads back ' +
        '(or start the proxy with --unsupported-write-consistencies ANY,ONE,LOCAL_ONE)',
    };
  });

  await step('shut down', async () => {
    await closeAll(resources);
    return { value: undefined, line: 'driver, proxy and simulated Astra shut down' };
  });
}

/** "Invalid 0x2200": the driver's name for a CQL error code, and the code as the spec writes it. */
function errorCodeName(code: number): string {
  const entry = Object.entries(types.responseErrorCodes).find(
    ([, value]) => Number(value) === code,
  );
  const name = entry === undefined ? 'error' : entry[0].charAt(0).toUpperCase() + entry[0].slice(1);
  return `${name} 0x${code.toString(16).padStart(4, '0')}`;
}

/** The version from the driver's own log line "ControlConnection using protocol version 0x4, ...". */
function negotiatedVersion(log: readonly string[]): string {
  for (const message of log) {
    const match = /using protocol version 0x([0-9a-f]+)/i.exec(message);
    if (match?.[1] !== undefined) return String(parseInt(match[1], 16));
  }
  return '?';
}

/** Closes what was started, newest first; each part at most once. */
async function closeAll(resources: Resources): Promise<void> {
  const { client, proxy, sim } = resources;
  delete resources.client;
  delete resources.proxy;
  delete resources.sim;
  if (client !== undefined) await client.shutdown();
  if (proxy !== undefined) await proxy.close();
  if (sim !== undefined) await sim.close();
}

/** A hint for failures with a known cause, shown under the error line. */
function hintFor(message: string): string | undefined {
  if (/EADDRNOTAVAIL|127\.0\.0\.[2-9]/.test(message)) {
    return 'the simulator needs the loopback addresses 127.0.0.2 and 127.0.0.3 (Linux has them; on macOS: sudo ifconfig lo0 alias 127.0.0.2 up; sudo ifconfig lo0 alias 127.0.0.3 up)';
  }
  if (/cannot listen on/.test(message)) {
    return 'choose another address with: npm run demo -- --bind 127.0.0.1:<port>';
  }
  return undefined;
}

async function main(): Promise<number> {
  let bind: string | undefined;
  try {
    ({ bind } = parseDemoArgs(process.argv.slice(2)));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\nusage: npm run demo [-- --bind HOST:PORT]\n`);
    return 2;
  }
  const resources: Resources = {};
  const watchdog = setTimeout(() => {
    process.stderr.write(
      `demo failed: no progress for ${DEMO_DEADLINE_MS / 1000} s at step "${currentStep}"\n`,
    );
    process.exit(1);
  }, DEMO_DEADLINE_MS);
  watchdog.unref();
  try {
    await run(resources, bind);
    process.stdout.write(`demo finished in ${elapsed().trim()}\n`);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`demo failed at step "${currentStep}": ${message}\n`);
    const hint = hintFor(message);
    if (hint !== undefined) process.stderr.write(`hint: ${hint}\n`);
    try {
      await closeAll(resources);
    } catch (closeError) {
      process.stderr.write(
        `while shutting down: ${closeError instanceof Error ? closeError.message : String(closeError)}\n`,
      );
    }
    return 1;
  } finally {
    clearTimeout(watchdog);
  }
}

// The driver and servers are closed by then; exit explicitly so a stray timer cannot keep the demo
// alive after its last line.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
