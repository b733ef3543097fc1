// Schema agreement (src/upstream/schema-agreement.ts): the answer to a schema change waits until
// every node reports the same schema_version, polled on the control connection, bounded by
// --schema-agreement-timeout (a warning when it runs out). Unit tests of the loop and of the
// SCHEMA_CHANGE test on RESULT frames, then the proxy in front of a 3-node simulator whose schema
// changes take 500 ms to propagate: with the wait, the INSERT sent at once after CREATE TABLE to
// every node succeeds; without it (timeout 100 ms) a node answers "unconfigured table".

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Consistency, HeaderFlag, Opcode, ResultKind } from '../../src/protocol/constants.js';
import { bodyCompressor } from '../../src/protocol/compression.js';
import { decodeError } from '../../src/protocol/messages/error.js';
import type { Logger } from '../../src/ops/logger.js';
import {
  NO_VERSIONS,
  SchemaAgreement,
  agreement,
  isSchemaChangeResult,
} from '../../src/upstream/schema-agreement.js';
import {
  RawClient,
  executeFrame,
  prepareFrame,
  queryFrame,
  resultOf,
  type RawResponse,
} from '../e2e/helpers/raw-client.js';
import { startStack, waitFor, type Stack } from '../e2e/helpers/stack.js';

const PARAMS = { consistency: Consistency.LOCAL_QUORUM };

/** A RESULT frame with that body; compressed with `compression` when given. */
function resultFrame(body: Buffer, compression?: 'lz4' | 'snappy'): Buffer {
  const payload = compression === undefined ? body : bodyCompressor(compression).compress(body);
  const header = Buffer.from([0x84, 0, 0, 1, Opcode.RESULT, 0, 0, 0, 0]);
  header.writeUInt8(compression === undefined ? 0 : HeaderFlag.COMPRESSION, 1);
  header.writeUInt32BE(payload.length, 5);
  return Buffer.concat([header, payload]);
}

function schemaChangeBody(): Buffer {
  const text = (s: string): Buffer => {
    const b = Buffer.alloc(2 + s.length);
    b.writeUInt16BE(s.length, 0);
    b.write(s, 2);
    return b;
  };
  const kind = Buffer.alloc(4);
  kind.writeInt32BE(ResultKind.SCHEMA_CHANGE, 0);
  return Buffer.concat([kind, text('CREATED'), text('TABLE'), text('ks'), text('t')]);
}

function otherBody(kind: number, extra = 0): Buffer {
  const b = Buffer.alloc(4 + extra);
  b.writeInt32BE(kind, 0);
  return b;
}

function bodies(compression?: 'lz4' | 'snappy') {
  return {
    compression,
    responseBody: (frame: Buffer): Buffer => {
      const body = frame.subarray(9);
      return compression === undefined
        ? body
        : bodyCompressor(compression).decompress(body, 1 << 20);
    },
  };
}

describe('isSchemaChangeResult', () => {
  for (const compression of [undefined, 'lz4', 'snappy'] as const) {
    it(`tells a SCHEMA_CHANGE RESULT from the others (${compression ?? 'uncompressed'})`, () => {
      expect(
        isSchemaChangeResult(resultFrame(schemaChangeBody(), compression), bodies(compression)),
      ).toBe(true);
      for (const kind of [
        ResultKind.VOID,
        ResultKind.ROWS,
        ResultKind.SET_KEYSPACE,
        ResultKind.PREPARED,
      ]) {
        expect(
          isSchemaChangeResult(resultFrame(otherBody(kind, 40), compression), bodies(compression)),
        ).toBe(false);
      }
      // A rows result whose first cell bytes look like a schema change kind is still rows.
      const rows = Buffer.concat([otherBody(ResultKind.ROWS), schemaChangeBody()]);
      expect(isSchemaChangeResult(resultFrame(rows, compression), bodies(compression))).toBe(false);
    });
  }

  it('does not decompress a large snappy body to find out (schema changes are small)', () => {
    let calls = 0;
    const big = Buffer.concat([otherBody(ResultKind.ROWS), randomBytes(5000)]);
    const source = {
      compression: 'snappy' as const,
      responseBody: (f: Buffer) => (calls++, bodies('snappy').responseBody(f)),
    };
    expect(isSchemaChangeResult(resultFrame(big, 'snappy'), source)).toBe(false);
    expect(calls).toBe(0);
  });
});

describe('agreement', () => {
  it('is the one version every node reports; nodes without one are not waited for', () => {
    expect(agreement(['a', 'a', 'a'])).toBe('a');
    expect(agreement(['a', 'b', 'a'])).toBeUndefined();
    expect(agreement(['a', undefined])).toBe('a');
    expect(agreement([undefined])).toBe(NO_VERSIONS);
    expect(agreement(undefined)).toBeUndefined();
  });
});

/** A logger that keeps its warnings. */
function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = {
    warn: (_fields: unknown, message?: string) => warnings.push(message ?? String(_fields)),
    debug: () => undefined,
    info: () => undefined,
    error: () => undefined,
  } as unknown as Logger;
  return { logger, warnings };
}

describe('SchemaAgreement', () => {
  /** Runs `body` with setTimeout faked: time is the subject, so it moves only when told. */
  async function withFakeTime(body: () => Promise<void>): Promise<void> {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await body();
    } finally {
      vi.useRealTimers();
    }
  }

  /** Tracks whether a promise has settled yet, without awaiting it. */
  function settledFlag<T>(p: Promise<T>): { settled: boolean; value: Promise<T> } {
    const flag = { settled: false, value: p };
    void p.then(() => (flag.settled = true));
    return flag;
  }

  it('resolves once a poll started after the wait began sees every node agree', () =>
    withFakeTime(async () => {
      const { logger, warnings } = recordingLogger();
      let versions: string[] = ['v1', 'v0', 'v0'];
      let reads = 0;
      const agreed: string[] = [];
      const a = new SchemaAgreement({
        timeoutMs: 5_000,
        intervalMs: 20,
        logger,
        read: () => {
          reads++;
          return Promise.resolve(versions);
        },
        onAgreed: (v) => agreed.push(v),
      });
      const wait = settledFlag(a.wait());
      await vi.advanceTimersByTimeAsync(150);
      // Seven polls have seen disagreeing versions: still waiting.
      expect(wait.settled).toBe(false);
      expect(reads).toBe(1 + 140 / 20);
      versions = ['v1', 'v1', 'v1'];
      await vi.advanceTimersByTimeAsync(20);
      expect(wait.settled).toBe(true);
      expect(await wait.value).toBe(true);
      expect(agreed).toEqual(['v1']);
      expect(warnings).toEqual([]);
      // Agreed already: the next wait is satisfied by the next poll.
      const next = a.wait();
      await vi.advanceTimersByTimeAsync(20);
      expect(await next).toBe(true);
      expect(a.agreed).toBe(2);
      a.close();
    }));

  it('answers at the timeout with a warning when the nodes do not agree', () =>
    withFakeTime(async () => {
      const { logger, warnings } = recordingLogger();
      const a = new SchemaAgreement({
        timeoutMs: 120,
        intervalMs: 20,
        logger,
        read: () => Promise.resolve(['v1', 'v0']),
      });
      const wait = settledFlag(a.wait());
      await vi.advanceTimersByTimeAsync(119);
      expect(wait.settled).toBe(false);
      expect(warnings).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(wait.settled).toBe(true);
      expect(await wait.value).toBe(false);
      expect(a.timedOut).toBe(1);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/schema agreement not reached within --schema-agreement-timeout/);
      a.close();
    }));

  it('does not wait at all with a timeout of 0, and keeps polling while the versions cannot be read', async () => {
    const { logger } = recordingLogger();
    let reads = 0;
    const off = new SchemaAgreement({
      timeoutMs: 0,
      logger,
      read: () => {
        reads++;
        return Promise.resolve(['a']);
      },
    });
    expect(off.enabled).toBe(false);
    expect(await off.wait()).toBe(false);
    expect(reads).toBe(0);

    let readable = false;
    const on = new SchemaAgreement({
      timeoutMs: 2_000,
      intervalMs: 10,
      logger,
      read: () =>
        readable ? Promise.resolve(['a', 'a']) : Promise.reject(new Error('no control connection')),
    });
    setTimeout(() => {
      readable = true;
    }, 60);
    expect(await on.wait()).toBe(true);
    on.close();
  });

  it('gives up a read that never answers and reads again', () =>
    withFakeTime(async () => {
      const { logger } = recordingLogger();
      let reads = 0;
      const a = new SchemaAgreement({
        timeoutMs: 5_000,
        intervalMs: 10,
        readTimeoutMs: 50,
        logger,
        read: () => (reads++ === 0 ? new Promise(() => undefined) : Promise.resolve(['a', 'a'])),
      });
      const wait = settledFlag(a.wait());
      await vi.advanceTimersByTimeAsync(49);
      expect(reads).toBe(1);
      expect(wait.settled).toBe(false);
      // The read is given up at 50 ms and the next poll, 10 ms later, agrees.
      await vi.advanceTimersByTimeAsync(11);
      expect(reads).toBe(2);
      expect(await wait.value).toBe(true);
      a.close();
    }));

  it('one poll loop serves concurrent waits; close() answers them', async () => {
    // Time is the subject: the poll interval runs on faked timers.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { logger } = recordingLogger();
      let reads = 0;
      const a = new SchemaAgreement({
        timeoutMs: 10_000,
        intervalMs: 20,
        logger,
        read: () => {
          reads++;
          return Promise.resolve(['a', 'b']);
        },
      });
      const waits = [a.wait(), a.wait(), a.wait()];
      await vi.advanceTimersByTimeAsync(100);
      // One read at once, then one per interval: a loop per wait would have read three times that.
      expect(reads).toBe(1 + 100 / 20);
      a.close();
      expect(await Promise.all(waits)).toEqual([false, false, false]);
    } finally {
      vi.useRealTimers();
    }
  });
});

// ------------------------------------------------------------ the proxy in front of the simulator

const DELAY_MS = 500;

async function query(client: RawClient, stream: number, cql: string): Promise<RawResponse> {
  const [response] = await client.send([queryFrame(stream, cql, PARAMS)]);
  if (response === undefined) throw new Error('no response');
  return response;
}

function errorText(response: RawResponse): string | undefined {
  return response.opcode === Opcode.ERROR ? decodeError(response.body, 4).message : undefined;
}

/**
 * CREATE TABLE, then at once an INSERT and a SELECT on each of the three nodes (the proxy sends
 * requests round robin); the errors those got. A node that has not applied the change yet
 * answers "unconfigured table": no error proves the answer was held until every node had it.
 */
async function createThenUse(client: RawClient, table: string): Promise<{ errors: string[] }> {
  const create = await query(
    client,
    1,
    `CREATE TABLE default_keyspace.${table} (k int PRIMARY KEY, v int)`,
  );
  expect(resultOf(create).kind).toBe(ResultKind.SCHEMA_CHANGE);
  return { errors: await useOnEveryNode(client, table, 2) };
}

/** An INSERT and a SELECT of `table` on each of the three nodes; the errors they got. */
async function useOnEveryNode(
  client: RawClient,
  table: string,
  firstStream: number,
): Promise<string[]> {
  let stream = firstStream;
  const responses = await client.send(
    Array.from({ length: 6 }, (_, i) =>
      queryFrame(
        stream++,
        i % 2 === 0
          ? `INSERT INTO default_keyspace.${table} (k, v) VALUES (${i}, ${i})`
          : `SELECT * FROM default_keyspace.${table} WHERE k = ${i - 1}`,
        PARAMS,
      ),
    ),
  );
  return responses.map(errorText).filter((e): e is string => e !== undefined);
}

describe('the proxy waits for schema agreement (3 nodes, schema changes take 500 ms to propagate)', () => {
  let stack: Stack;
  let client: RawClient;

  beforeAll(async () => {
    stack = await startStack('contact-points', {
      simulator: { nodes: 3, schemaDelayMs: DELAY_MS },
      proxyArgs: ['--schema-agreement-timeout', '5s'],
    });
    client = await RawClient.connect(stack.port);
  }, 60_000);

  afterAll(async () => {
    client.close();
    await stack.close();
  });

  it('answers CREATE TABLE once every node has it: the next statements on every node succeed', async () => {
    for (let i = 0; i < 3; i++) {
      const { errors } = await createThenUse(client, `sa_wait_${i}`);
      expect(errors).toEqual([]);
    }
    expect(stack.logs.filter((l) => /schema agreement not reached/.test(l.msg ?? ''))).toEqual([]);
    // The proxy's own system.local reports the version the nodes agreed on.
    const proxyRows = resultOf(
      await query(client, 100, "SELECT schema_version FROM system.local WHERE key='local'"),
    );
    const simVersion = stack.sim.engine.execute(
      "SELECT schema_version FROM system.local WHERE key='local'",
      { ...PARAMS, values: [] },
      {
        node: stack.sim.nodes[0]!.identity,
        peers: () => [],
        keyspace: undefined,
        protocolVersion: 4,
      },
    );
    expect(proxyRows.kind).toBe(ResultKind.ROWS);
    expect(simVersion.kind).toBe('rows');
    if (proxyRows.kind === ResultKind.ROWS && simVersion.kind === 'rows') {
      expect(Buffer.from(proxyRows.rows[0]![0]!)).toEqual(simVersion.rows[0]![0]);
    }
  }, 30_000);

  it('does not hold other answers: a SELECT sent after a held CREATE is answered before it', async () => {
    await query(
      client,
      200,
      'CREATE TABLE IF NOT EXISTS default_keyspace.sa_fast (k int PRIMARY KEY)',
    );
    const arrived: string[] = [];
    const create = query(client, 201, 'CREATE TABLE default_keyspace.sa_held (k int PRIMARY KEY)');
    void create.then(() => arrived.push('CREATE'));
    const select = await query(client, 202, 'SELECT * FROM default_keyspace.sa_fast');
    arrived.push('SELECT');
    expect(resultOf(select).kind).toBe(ResultKind.ROWS);
    expect(resultOf(await create).kind).toBe(ResultKind.SCHEMA_CHANGE);
    expect(arrived).toEqual(['SELECT', 'CREATE']);
  }, 30_000);

  it('waits after a prepared schema change (EXECUTE) too', async () => {
    const cql = 'CREATE TABLE IF NOT EXISTS default_keyspace.sa_prepared (k int PRIMARY KEY)';
    const [prepared] = await client.send([prepareFrame(300, cql)]);
    const result = resultOf(prepared!);
    if (result.kind !== ResultKind.PREPARED) throw new Error('not PREPARED');
    const [executed] = await client.send([executeFrame(301, result.id, PARAMS)]);
    expect(resultOf(executed!).kind).toBe(ResultKind.SCHEMA_CHANGE);
    // A SELECT on each of the three nodes: none meets "unconfigured table".
    const responses = await client.send(
      [0, 1, 2].map((i) =>
        queryFrame(302 + i, 'SELECT * FROM default_keyspace.sa_prepared WHERE k = 1', PARAMS),
      ),
    );
    expect(responses.map(errorText).filter((e) => e !== undefined)).toEqual([]);
  }, 30_000);

  it('does not wait for a node that is down (it would never agree)', async () => {
    await stack.sim.stopNode(2);
    try {
      // The proxy learns the node is down when its connections close.
      const hostId = stack.sim.info.nodes[2]!.hostId;
      await waitFor(
        () => stack.proxy.cluster.nodeStates().some((s) => s.node.hostId === hostId && !s.up),
        10_000,
        'the proxy to count node 2 down',
      );
      let stream = 400;
      const create = await query(
        client,
        stream++,
        'CREATE TABLE default_keyspace.sa_node_down (k int PRIMARY KEY, v int)',
      );
      expect(resultOf(create).kind).toBe(ResultKind.SCHEMA_CHANGE);
      for (let i = 0; i < 4; i++) {
        const insert = await query(
          client,
          stream++,
          `INSERT INTO default_keyspace.sa_node_down (k, v) VALUES (${i}, ${i})`,
        );
        expect(errorText(insert)).toBeUndefined();
      }
      expect(stack.logs.filter((l) => /schema agreement not reached/.test(l.msg ?? ''))).toEqual(
        [],
      );
    } finally {
      await stack.sim.startNode(2);
    }
  }, 30_000);
});

describe('without the wait (--schema-agreement-timeout 100ms, shorter than the propagation)', () => {
  let stack: Stack;
  let client: RawClient;

  beforeAll(async () => {
    stack = await startStack('contact-points', {
      simulator: { nodes: 3, schemaDelayMs: DELAY_MS },
      proxyArgs: ['--schema-agreement-timeout', '100ms'],
    });
    client = await RawClient.connect(stack.port);
  }, 60_000);

  afterAll(async () => {
    client.close();
    await stack.close();
  });

  it('answers at the timeout with a warning, and the next statements meet "unconfigured table"', async () => {
    const { errors } = await createThenUse(client, 'sa_nowait');
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toBe('unconfigured table sa_nowait');
    expect(
      stack.logs.filter((l) =>
        /schema agreement not reached within --schema-agreement-timeout/.test(l.msg ?? ''),
      ),
    ).toHaveLength(1);
  }, 30_000);
});
