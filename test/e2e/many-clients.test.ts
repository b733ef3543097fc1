// Many clients at once over few upstream connections: 200 raw protocol v4 connections to a proxy
// started with `--num-conns 1`, each with six requests in flight on stream ids of its own choosing
// (QUERY and EXECUTE mixed, the EXECUTEs held back by the simulator so that answers come back out
// of order). Every request reads the row keyed by its own (client, stream): the answer proves it
// reached the right client on the right stream. All of it crosses one connection per node.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { Consistency, ResultKind } from '../../src/protocol/constants.js';
import { decodeInt, decodeText, encodeInt } from '../../src/protocol/values.js';
import { nodeClient } from './helpers/node-driver.js';
import {
  RawClient,
  executeFrame,
  prepareFrame,
  queryFrame,
  resultOf,
  type RawResponse,
} from './helpers/raw-client.js';
import { admin, startStack, withDeadline, type Stack } from './helpers/stack.js';

const CLIENTS = 200;
const ROUNDS = 3;
const KEYSPACE = 'crowd';
const PREPARED = `SELECT client, stream, v FROM ${KEYSPACE}.tags WHERE client = ? AND stream = ?`;

/** Six stream ids per client, spread over the whole v4 range and shared between clients. */
function streamIds(client: number): number[] {
  return [
    1 + client,
    300 + client * 3,
    1000 + client * 7,
    5000 + client * 11,
    10_000 + client * 13,
    32_767 - client,
  ];
}

function tag(client: number, stream: number): string {
  return `c${client}-s${stream}`;
}

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('astra-bundle', { proxyArgs: ['--num-conns', '1'] });
  const setup = nodeClient(stack.port, stack.sim.info.region);
  try {
    await setup.connect();
    await setup.execute(
      `CREATE KEYSPACE ${KEYSPACE} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}`,
    );
    await setup.execute(
      `CREATE TABLE ${KEYSPACE}.tags (client int, stream int, v text, PRIMARY KEY (client, stream))`,
    );
    const insert = `INSERT INTO ${KEYSPACE}.tags (client, stream, v) VALUES (?, ?, ?)`;
    for (let client = 0; client < CLIENTS; client++) {
      await setup.batch(
        streamIds(client).map((stream) => ({
          query: insert,
          params: [client, stream, tag(client, stream)],
        })),
        { prepare: true },
      );
    }
  } finally {
    await setup.shutdown();
  }
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

/** The single row of a response: which (client, stream) it is about. */
function rowTag(response: RawResponse): { client: number; stream: number; v: string } {
  const result = resultOf(response);
  if (result.kind !== ResultKind.ROWS) throw new Error(`result kind ${result.kind}`);
  expect(result.rows).toHaveLength(1);
  const [client, stream, v] = result.rows[0] ?? [];
  return {
    client: decodeInt(client ?? null) ?? -1,
    stream: decodeInt(stream ?? null) ?? -1,
    v: decodeText(v ?? null) ?? '',
  };
}

it(`${CLIENTS} clients, 6 requests in flight each, over one upstream connection per node`, async () => {
  const { info } = stack.sim;
  // EXECUTEs wait 30 ms at the node, so the QUERYs sent after them on the same client overtake.
  await admin(info, 'POST', '/faults', { match: 'stream = ?', delayMs: 30 });
  const clients: RawClient[] = [];
  try {
    const connected = await withDeadline(
      Promise.all(Array.from({ length: CLIENTS }, () => RawClient.connect(stack.port))),
      20_000,
      'connecting the clients',
    );
    clients.push(...connected);
    expect(stack.proxy.clientSide.connections).toBe(CLIENTS);

    const run = async (client: number, raw: RawClient): Promise<number> => {
      const [prepared] = await raw.send([prepareFrame(0, PREPARED)]);
      const result = prepared === undefined ? undefined : resultOf(prepared);
      if (result?.kind !== ResultKind.PREPARED) throw new Error('PREPARE did not return an id');
      const id = Buffer.from(result.id);
      let checked = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const streams = streamIds(client);
        const frames = streams.map((stream, i) =>
          i % 2 === 0
            ? executeFrame(stream, id, {
                consistency: Consistency.LOCAL_QUORUM,
                values: [encodeInt(client), encodeInt(stream)],
              })
            : queryFrame(
                stream,
                `SELECT client, stream, v FROM ${KEYSPACE}.tags WHERE client = ${client} AND stream = ${stream}`,
                { consistency: Consistency.LOCAL_QUORUM },
              ),
        );
        const responses = await raw.send(frames);
        responses.forEach((response, i) => {
          const stream = streams[i]!;
          expect(response.streamId).toBe(stream);
          expect(rowTag(response)).toEqual({ client, stream, v: tag(client, stream) });
          checked++;
        });
      }
      return checked;
    };

    const counts = await withDeadline(
      Promise.all(clients.map((raw, client) => run(client, raw))),
      30_000,
      'the requests of every client',
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(CLIENTS * ROUNDS * 6);
    expect(clients.flatMap((c) => c.strays)).toEqual([]);

    // One pooled connection per node, plus the control connection on one of them.
    const perNode = stack.sim.nodes.map((n) => n.connectionCount);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(perNode.length + 1);
    for (const count of perNode) expect(count === 1 || count === 2).toBe(true);
  } finally {
    for (const raw of clients) raw.close();
    await admin(info, 'DELETE', '/faults');
  }
}, 60_000);
