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
  it('resolves once a poll started after the wait began sees every node agree', async () => {
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
    const started = Date.now();
    setTimeout(() => {
      versions = ['v1', 'v1', 'v1'];
    }, 150);
    expect(await a.wait()).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(reads).toBeGreaterThan(3);
    expect(agreed).toEqual(['v1']);
    expect(warnings).toEqual([]);
    // Agreed already: the next wait is satisfied by the next poll.
    expect(await a.wait()).toBe(true);
    expect(a.agreed).toBe(2);
    a.close();
  });

  it('answers at the timeout with a warning when the nodes do not agree', async () => {
    const { logger, warnings } = recordingLogger();
    const a = new SchemaAgreement({
      timeoutMs: 120,
      intervalMs: 20,
      logger,
      read: () => Promise.resolve(['v1', 'v0']),
    });
    const started = Date.now();
    expect(await a.wait()).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    expect(a.timedOut).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/schema agreement not reached within --schema-agreement-timeout/);
    a.close();
  });

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

  it('gives up a read that never answers and reads again', async () => {
    const { logger } = recordingLogger();
    let reads = 0;
    const a = new SchemaAgreement({
      timeoutMs: 5_000,
      intervalMs: 10,
      readTimeoutMs: 50,
      logger,
      read: () => (reads++ === 0 ? new Promise(() => undefined) : Promise.resolve(['a', 'a'])),
    });
    const started = Date.now();
    expect(await a.wait()).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(reads).toBe(2);
    a.close();
  });

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
 * requests round robin); the errors those got, and how long CREATE TABLE took.
 */
async function createThenUse(
  client: RawClient,
  table: string,
): Promise<{ createMs: number; errors: string[] }> {
  let stream = 1;
  const started = Date.now();
  const create = await query(
    client,
    stream++,
    `CREATE TABLE default_keyspace.${table} (k int PRIMARY KEY, v int)`,
  );
  const createMs = Date.now() - started;
  expect(resultOf(create).kind).toBe(ResultKind.SCHEMA_CHANGE);
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
  const errors = responses.map(errorText).filter((e): e is string => e !== undefined);
  return { createMs, errors };
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
      const { createMs, errors } = await createThenUse(client, `sa_wait_${i}`);
      expect(errors).toEqual([]);
      expect(createMs).toBeGreaterThanOrEqual(DELAY_MS - 50);
      expect(createMs).toBeLessThan(DELAY_MS + 1_000);
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

  it('does not hold other answers: a SELECT is answered at once', async () => {
    await query(
      client,
      200,
      'CREATE TABLE IF NOT EXISTS default_keyspace.sa_fast (k int PRIMARY KEY)',
    );
    const started = Date.now();
    const select = await query(client, 201, 'SELECT * FROM default_keyspace.sa_fast');
    expect(resultOf(select).kind).toBe(ResultKind.ROWS);
    expect(Date.now() - started).toBeLessThan(DELAY_MS / 2);
  }, 30_000);

  it('waits after a prepared schema change (EXECUTE) too', async () => {
    const cql = 'CREATE TABLE IF NOT EXISTS default_keyspace.sa_prepared (k int PRIMARY KEY)';
    const [prepared] = await client.send([prepareFrame(300, cql)]);
    const result = resultOf(prepared!);
    if (result.kind !== ResultKind.PREPARED) throw new Error('not PREPARED');
    const started = Date.now();
    const [executed] = await client.send([executeFrame(301, result.id, PARAMS)]);
    expect(resultOf(executed!).kind).toBe(ResultKind.SCHEMA_CHANGE);
    expect(Date.now() - started).toBeGreaterThanOrEqual(DELAY_MS - 50);
    const { errors } = await createThenUse(client, 'sa_after_prepared');
    expect(errors).toEqual([]);
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
      const started = Date.now();
      const create = await query(
        client,
        stream++,
        'CREATE TABLE default_keyspace.sa_node_down (k int PRIMARY KEY, v int)',
      );
      const ms = Date.now() - started;
      expect(resultOf(create).kind).toBe(ResultKind.SCHEMA_CHANGE);
      expect(ms).toBeGreaterThanOrEqual(DELAY_MS - 50);
      expect(ms).toBeLessThan(DELAY_MS + 1_000);
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
    const { createMs, errors } = await createThenUse(client, 'sa_nowait');
    expect(createMs).toBeGreaterThanOrEqual(90);
    expect(createMs).toBeLessThan(DELAY_MS - 100);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toBe('unconfigured table sa_nowait');
    expect(
      stack.logs.filter((l) =>
        /schema agreement not reached within --schema-agreement-timeout/.test(l.msg ?? ''),
      ),
    ).toHaveLength(1);
  }, 30_000);
});
