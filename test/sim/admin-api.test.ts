// The admin HTTP API, driven as another process would drive it, against a running simulator.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consistency, ErrorCode, Opcode, ResultKind } from '../../src/protocol/constants.js';
import { encodeExecute } from '../../src/protocol/messages/execute.js';
import { encodePrepare } from '../../src/protocol/messages/prepare.js';
import { MAX_QUEUED_BYTES } from '../../sim/node/connection.js';
import type { ConnectionStats } from '../../sim/node/connection.js';
import { startSimulator } from '../../sim/simulator.js';
import type { Simulator } from '../../sim/simulator.js';
import { RawClient, errorOf, resultOf } from './node/raw-client.js';
import { createStubEngine } from './node/stub-engine.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ engine: createStubEngine() });
});

afterAll(async () => {
  await sim.close();
});

async function call(
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${sim.info.adminUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { body, headers: { 'Content-Type': 'application/json' } }),
  });
  expect(response.headers.get('content-type')).toBe('application/json');
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function ready(nodeIndex: number): Promise<RawClient> {
  const client = await RawClient.connect(sim.info.contactPoints[nodeIndex]!, sim.info.port);
  client.startup(4);
  await client.next();
  client.authenticate(4, 'token', sim.info.token, 1);
  expect((await client.next()).header.opcode).toBe(Opcode.AUTH_SUCCESS);
  return client;
}

describe('nodes', () => {
  it('GET /nodes lists every node', async () => {
    const { status, json } = await call('GET', '/nodes');
    expect(status).toBe(200);
    expect(json.nodes).toEqual(
      sim.info.nodes.map((n, index) => ({
        index,
        hostId: n.hostId,
        address: n.address,
        up: true,
        readingPaused: false,
      })),
    );
  });

  it('POST /nodes/{i}/stop and /start', async () => {
    const stopped = await call('POST', '/nodes/2/stop');
    expect(stopped).toEqual({
      status: 200,
      json: expect.objectContaining({ index: 2, up: false }) as unknown,
    });
    expect(sim.nodes[2]!.up).toBe(false);
    const started = await call('POST', '/nodes/2/start');
    expect(started.json).toMatchObject({ index: 2, up: true });
    expect(sim.nodes[2]!.up).toBe(true);
  });

  it('POST /nodes/{i}/forget-prepared makes the next EXECUTE there UNPREPARED', async () => {
    const client = await ready(0);
    client.request(4, Opcode.PREPARE, encodePrepare(4, { query: 'SELECT echo ?' }), 2);
    const prepared = resultOf(await client.next());
    if (prepared.kind !== ResultKind.PREPARED) throw new Error('PREPARED expected');
    const execute = encodeExecute(4, {
      id: prepared.id,
      parameters: { consistency: Consistency.LOCAL_QUORUM, values: [null] },
    });
    expect((await call('POST', '/nodes/0/forget-prepared')).status).toBe(200);
    client.request(4, Opcode.EXECUTE, execute, 3);
    expect(errorOf(await client.next()).code).toBe(ErrorCode.UNPREPARED);
    client.close();
  });

  it('POST /nodes/{i}/pause-reading and resume-reading', async () => {
    const client = await ready(1);
    expect((await call('POST', '/nodes/1/pause-reading')).json).toMatchObject({
      readingPaused: true,
    });
    client.query(4, 'SELECT keyspace', 5);
    // The query is in node 1's socket buffer (loopback). A connection opened after it being
    // listed shows the node has been through its sockets since: it has not handled the query.
    const probe = await RawClient.connect(sim.info.contactPoints[1]!, sim.info.port);
    const listed = async (c: RawClient): Promise<ConnectionStats | undefined> => {
      const { json } = await call('GET', '/nodes/1/connections');
      const port = c.socket.localPort;
      return (json.connections as ConnectionStats[]).find((s) => s.remote.endsWith(`:${port}`));
    };
    for (let i = 0; i < 500 && (await listed(probe)) === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await listed(probe)).toMatchObject({ requests: 0 });
    expect(await listed(client)).toMatchObject({ requests: 2 }); // STARTUP, AUTH_RESPONSE
    expect(client.pending).toBe(0);
    expect((await call('POST', '/nodes/1/resume-reading')).json).toMatchObject({
      readingPaused: false,
    });
    expect((await client.next()).header.streamId).toBe(5);
    client.close();
    probe.close();
  });

  it('GET /nodes/{i}/connections reports each connection and the queued-bytes bound', async () => {
    const client = await ready(0);
    const port = client.socket.localPort;
    const { status, json } = await call('GET', '/nodes/0/connections');
    expect(status).toBe(200);
    expect(json).toMatchObject({ index: 0, queueLimit: MAX_QUEUED_BYTES });
    const mine = (json.connections as ConnectionStats[]).find((c) => c.remote.endsWith(`:${port}`));
    expect(mine).toEqual({
      remote: `127.0.0.1:${port}`,
      protocolVersion: 4,
      queuedBytes: 0,
      peakQueuedBytes: expect.any(Number) as unknown,
      heldRequestBytes: 0,
      delayedAnswers: 0,
      readingPaused: false,
      backpressured: false,
      backpressurePauses: 0,
      droppedEvents: 0,
      requests: 2,
    });
    // The admin pause is not backpressure.
    await call('POST', '/nodes/0/pause-reading');
    const paused = (await call('GET', '/nodes/0/connections')).json
      .connections as ConnectionStats[];
    expect(paused.find((c) => c.remote.endsWith(`:${port}`))).toMatchObject({
      readingPaused: true,
      backpressured: false,
    });
    await call('POST', '/nodes/0/resume-reading');
    expect((await call('POST', '/nodes/0/connections')).status).toBe(405);
    client.close();
  });

  it('answers 404 for an unknown node or route, 405 for a wrong method', async () => {
    expect((await call('POST', '/nodes/3/stop')).status).toBe(404);
    expect((await call('GET', '/nodes/3/connections')).status).toBe(404);
    expect((await call('POST', '/nodes/x/stop')).status).toBe(404);
    expect((await call('POST', '/nodes/0/explode')).status).toBe(404);
    expect((await call('GET', '/elsewhere')).status).toBe(404);
    const wrong = await call('GET', '/nodes/0/stop');
    expect(wrong.status).toBe(405);
    expect(wrong.json.error).toBe('method GET not allowed');
  });
});

describe('faults', () => {
  it('POST /faults arms a cluster-wide rule that reaches clients; DELETE /faults disarms it', async () => {
    const added = await call(
      'POST',
      '/faults',
      JSON.stringify({ match: 'SELECT keyspace', error: 'overloaded' }),
    );
    expect(added.status).toBe(200);
    expect(added.json).toMatchObject({
      added: { match: 'SELECT keyspace', error: 'overloaded' },
      node: null,
      cluster: [{ match: 'SELECT keyspace', error: 'overloaded' }],
    });
    for (const i of [0, 1, 2]) {
      const client = await ready(i);
      client.query(4, 'SELECT keyspace', 7);
      expect(errorOf(await client.next()).code).toBe(ErrorCode.OVERLOADED);
      client.close();
    }
    expect(await call('DELETE', '/faults')).toEqual({ status: 200, json: { cleared: 1 } });
    const client = await ready(0);
    client.query(4, 'SELECT keyspace', 8);
    expect(resultOf(await client.next()).kind).toBe(ResultKind.ROWS);
    client.close();
  });

  it('a rule with "node" applies to that node only, `times` times', async () => {
    await call('POST', '/faults', JSON.stringify({ error: 'unavailable', node: 2, times: 1 }));
    expect((await call('GET', '/faults')).json).toEqual({
      cluster: [],
      nodes: [[], [], [{ error: 'unavailable', times: 1 }]],
    });
    const other = await ready(1);
    other.query(4, 'SELECT keyspace', 1);
    expect(resultOf(await other.next()).kind).toBe(ResultKind.ROWS);
    const target = await ready(2);
    target.query(4, 'SELECT keyspace', 1, { consistency: Consistency.LOCAL_QUORUM });
    expect(errorOf(await target.next())).toMatchObject({
      code: ErrorCode.UNAVAILABLE,
      required: 2,
      alive: 1,
    });
    target.query(4, 'SELECT keyspace', 2);
    expect(resultOf(await target.next()).kind).toBe(ResultKind.ROWS);
    other.close();
    target.close();
  });

  it('answers 400 for bad JSON or a bad rule, 404 for an unknown node', async () => {
    expect((await call('POST', '/faults', '{nope')).status).toBe(400);
    const bad = await call('POST', '/faults', JSON.stringify({ error: 'meltdown' }));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('"error" must be one of');
    expect(
      (await call('POST', '/faults', JSON.stringify({ error: 'overloaded', node: 'x' }))).status,
    ).toBe(400);
    expect(
      (await call('POST', '/faults', JSON.stringify({ error: 'overloaded', node: 7 }))).status,
    ).toBe(404);
    expect((await call('GET', '/faults')).json).toEqual({ cluster: [], nodes: [[], [], []] });
  });
});
