// Astra refuses writes at ANY, ONE and LOCAL_ONE with an Invalid error (its guardrail). Through
// the proxy that error reaches the client intact (code and Astra's exact text); with
// `--unsupported-write-consistencies ONE,ANY,LOCAL_ONE` the proxy rewrites those writes to
// LOCAL_QUORUM and they succeed. Both proxies sit in front of one simulator.

import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeClient } from './helpers/node-driver.js';
import { runPythonGuardrail } from './helpers/python.js';
import { startStack, type Stack } from './helpers/stack.js';

const { consistencies, responseErrorCodes } = cassandra.types;
const KEYSPACE = 'guardrails';

/** docs/astra.md §6.3, as observed from Astra (cql-proxy issue #139). */
function astraMessage(level: string): string {
  return `Provided value ${level} is not allowed for Write Consistency Level (disallowed values are: [ANY, ONE, LOCAL_ONE])`;
}

let stack: Stack;
let plain: cassandra.Client;
let rewriting: cassandra.Client;
let rewritingPort: number;

beforeAll(async () => {
  stack = await startStack('astra-bundle');
  const rewriter = await stack.addProxy(['--unsupported-write-consistencies', 'ONE,ANY,LOCAL_ONE']);
  rewritingPort = rewriter.address.port;
  plain = nodeClient(stack.port, stack.sim.info.region);
  rewriting = nodeClient(rewritingPort, stack.sim.info.region);
  await Promise.all([plain.connect(), rewriting.connect()]);
  await plain.execute(
    `CREATE KEYSPACE ${KEYSPACE} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}`,
  );
  await plain.execute(`CREATE TABLE ${KEYSPACE}.kv (k text PRIMARY KEY, v int)`);
}, 60_000);

afterAll(async () => {
  await Promise.all([plain?.shutdown(), rewriting?.shutdown()]);
  await stack?.close();
});

const INSERT = `INSERT INTO ${KEYSPACE}.kv (k, v) VALUES (?, ?)`;

/** The three ways a write travels: QUERY, EXECUTE, BATCH. */
function writes(
  client: cassandra.Client,
  key: string,
  consistency: number,
): [string, () => Promise<unknown>][] {
  return [
    [
      'QUERY',
      () =>
        client.execute(`INSERT INTO ${KEYSPACE}.kv (k, v) VALUES ('${key}-q', 1)`, [], {
          consistency,
        }),
    ],
    ['EXECUTE', () => client.execute(INSERT, [`${key}-e`, 2], { prepare: true, consistency })],
    [
      'BATCH',
      () =>
        client.batch(
          [
            { query: INSERT, params: [`${key}-b1`, 3] },
            { query: INSERT, params: [`${key}-b2`, 4] },
          ],
          { prepare: true, consistency },
        ),
    ],
  ];
}

// ANY is 0, which cassandra-driver 4 takes for "not set" (it sends its default instead): the
// Python driver writes at ANY.
const NODE_LEVELS = [
  ['ONE', consistencies.one],
  ['LOCAL_ONE', consistencies.localOne],
] as const;
const PYTHON_LEVELS = ['ANY', 'ONE', 'LOCAL_ONE'] as const;

describe('without the rewrite', () => {
  it.each(NODE_LEVELS)("a write at %s gets Astra's Invalid error, intact", async (name, level) => {
    for (const [kind, write] of writes(plain, `plain-${name}`, level)) {
      const err = await write().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `${kind} at ${name}`).toBeInstanceOf(cassandra.errors.ResponseError);
      expect((err as cassandra.errors.ResponseError).code).toBe(responseErrorCodes.invalid);
      expect((err as Error).message).toBe(astraMessage(name));
    }
    const row = await plain.execute(
      `SELECT v FROM ${KEYSPACE}.kv WHERE k = ?`,
      [`plain-${name}-e`],
      {
        prepare: true,
      },
    );
    expect(row.rowLength).toBe(0);
  });

  it('reads at ONE are allowed', async () => {
    const result = await plain.execute(`SELECT v FROM ${KEYSPACE}.kv WHERE k = 'x'`, [], {
      consistency: consistencies.one,
    });
    expect(result.rowLength).toBe(0);
  });

  it.each(PYTHON_LEVELS)(
    'the Python driver writing at %s gets InvalidRequest with that text',
    async (level) => {
      const outcome = await runPythonGuardrail({
        host: '127.0.0.1',
        port: stack.port,
        keyspace: KEYSPACE,
        consistency: level,
      });
      expect(outcome).toEqual({
        error: 'InvalidRequest',
        message: `Error from server: code=2200 [Invalid query] message="${astraMessage(level)}"`,
      });
    },
  );
});

describe('with --unsupported-write-consistencies ONE,ANY,LOCAL_ONE', () => {
  it.each(NODE_LEVELS)(
    'a write at %s succeeds (rewritten to LOCAL_QUORUM)',
    async (name, level) => {
      for (const [, write] of writes(rewriting, `rewritten-${name}`, level)) await write();
      for (const [suffix, v] of [
        ['q', 1],
        ['e', 2],
        ['b1', 3],
        ['b2', 4],
      ] as const) {
        const row = (
          await plain.execute(
            `SELECT v FROM ${KEYSPACE}.kv WHERE k = ?`,
            [`rewritten-${name}-${suffix}`],
            {
              prepare: true,
            },
          )
        ).first();
        expect(row.get('v')).toBe(v);
      }
    },
  );

  it.each(PYTHON_LEVELS)('the Python driver writes at %s through it', async (level) => {
    const outcome = await runPythonGuardrail({
      host: '127.0.0.1',
      port: rewritingPort,
      keyspace: KEYSPACE,
      consistency: level,
    });
    expect(outcome).toEqual({ written: true });
    const row = (
      await plain.execute(
        `SELECT v FROM ${KEYSPACE}.kv WHERE k = ?`,
        [`python-${level.toLowerCase()}`],
        {
          prepare: true,
        },
      )
    ).first();
    expect(row.get('v')).toBe(1);
  });
});
