// Backpressure through the SNI proxy, against the whole simulator and its real engine: a TLS client
// that pipelines SELECTs of large rows and reads nothing. The proxy holds about a chunk per
// direction (pipe() stops reading the node while the client's leg is full), so the node sees a
// peer that reads nothing and stops reading it within its bound; another client is served
// meanwhile; once the first one reads, every answer arrives whole and in order.
//
// Waits are bounded polls of the simulator's own figures, never fixed sleeps.

import { checkServerIdentity } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consistency, Opcode, ResultKind } from '../../src/protocol/constants.js';
import { encodeQuery } from '../../src/protocol/messages/query.js';
import { decodeText, encodeInt, encodeText } from '../../src/protocol/values.js';
import type { ConnectionStats } from '../../sim/node/connection.js';
import { MAX_QUEUED_BYTES } from '../../sim/node/connection.js';
import { startSimulator } from '../../sim/simulator.js';
import type { Simulator } from '../../sim/simulator.js';
import { RawClient, requestFrame, resultOf } from './node/raw-client.js';
import type { ReceivedFrame } from './node/raw-client.js';

const ROWS = 3;
const VALUE_BYTES = 100_000;
/** Each answer is about 300 KB: 100 of them are far more than every buffer on the way. */
const REQUESTS = 100;
const TABLE = 'default_keyspace.blobs';
const SELECT = `SELECT k, v FROM ${TABLE}`;
/** The node's bound plus the answer being produced when it is crossed, plus frame overhead. */
const QUEUE_CEILING = MAX_QUEUED_BYTES + ROWS * VALUE_BYTES + 64 * 1024;
/** What the proxy may hold for one direction of one connection: a few socket chunks. */
const PROXY_CEILING = 1024 * 1024;
const HANDSHAKE_FRAMES = 2;

let sim: Simulator;
const clients: RawClient[] = [];

beforeAll(async () => {
  sim = await startSimulator({ nodes: 1 });
  const setup = await ready(await RawClient.connect(sim.info.contactPoints[0]!, sim.info.port));
  setup.query(4, `CREATE TABLE ${TABLE} (k int PRIMARY KEY, v text)`, 2);
  expect(resultOf(await setup.next()).kind).toBe(ResultKind.SCHEMA_CHANGE);
  for (let k = 0; k < ROWS; k++) {
    setup.query(4, `INSERT INTO ${TABLE} (k, v) VALUES (?, ?)`, 3, {
      consistency: Consistency.LOCAL_QUORUM,
      values: [encodeInt(k), encodeText(valueOf(k))],
    });
    expect(resultOf(await setup.next()).kind).toBe(ResultKind.VOID);
  }
});

afterAll(async () => {
  for (const client of clients.splice(0)) client.close();
  await sim.close();
});

/** Row k's value: its own letter, so a mixed-up or cut answer shows. */
function valueOf(k: number): string {
  return String.fromCharCode(0x61 + k).repeat(VALUE_BYTES);
}

async function ready(client: RawClient): Promise<RawClient> {
  clients.push(client);
  client.startup(4);
  expect((await client.next()).header.opcode).toBe(Opcode.AUTHENTICATE);
  client.authenticate(4, 'token', sim.info.token, 1);
  expect((await client.next()).header.opcode).toBe(Opcode.AUTH_SUCCESS);
  return client;
}

/** Through the SNI proxy, as a driver with the bundle: SNI = the node's host id. */
async function viaProxy(): Promise<RawClient> {
  const files = sim.bundle.files;
  const client = await RawClient.connectTls({
    host: '127.0.0.1',
    port: sim.sniProxy.port,
    servername: sim.info.nodes[0]!.hostId,
    ca: files['ca.crt'].toString(),
    cert: files.cert.toString(),
    key: files.key.toString(),
    checkServerIdentity: (_name, cert) => checkServerIdentity('127.0.0.1', cert),
  });
  return ready(client);
}

function selectFrame(streamId: number): Buffer {
  const body = encodeQuery(4, SELECT, { consistency: Consistency.LOCAL_QUORUM });
  return requestFrame(4, Opcode.QUERY, body, streamId);
}

function expectWholeAnswer(frame: ReceivedFrame): void {
  const result = resultOf(frame);
  if (result.kind !== ResultKind.ROWS) throw new Error('rows expected');
  const values = result.rows.map((row) => decodeText(row[1]!));
  expect(values.sort()).toEqual(Array.from({ length: ROWS }, (_, k) => valueOf(k)));
}

/** The node's connection held back by backpressure, if any (only the stalled client's is). */
function stalledConnection(): ConnectionStats | undefined {
  return sim.nodes[0]!.connectionStats().find((s) => s.backpressured);
}

/** Polls every 10 ms, at most 1000 times, until `probe` returns something. */
async function eventually<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`not within 10 s: ${what}`);
}

describe('through the SNI proxy, a client that reads none of its answers', () => {
  it('holds the proxy to a few chunks and the node to its bound; others are served; then every answer arrives', async () => {
    const hog = await viaProxy();
    hog.socket.pause();
    hog.send(...Array.from({ length: REQUESTS }, (_, i) => selectFrame(100 + i)));

    const stalled = await eventually('the node holding back the proxied connection', () =>
      stalledConnection(),
    );
    expect(stalled.requests).toBeLessThan(HANDSHAKE_FRAMES + REQUESTS);
    expect(stalled.queuedBytes).toBeLessThanOrEqual(QUEUE_CEILING);
    expect(sim.sniProxy.bufferedBytes).toBeLessThanOrEqual(2 * PROXY_CEILING);

    // Another client, through the proxy too, is served meanwhile.
    const other = await viaProxy();
    other.send(selectFrame(7));
    const answer = await other.next();
    expect(answer.header.streamId).toBe(7);
    expectWholeAnswer(answer);

    const still = await eventually('the proxied connection still held back', () =>
      stalledConnection(),
    );
    expect(still.requests).toBeLessThan(HANDSHAKE_FRAMES + REQUESTS);
    expect(still.peakQueuedBytes).toBeLessThanOrEqual(QUEUE_CEILING);
    expect(sim.sniProxy.peakBufferedBytes).toBeLessThanOrEqual(PROXY_CEILING);

    hog.socket.resume();
    const answers = await hog.nextFrames(REQUESTS, 30_000);
    expect(answers.map((f) => f.header.streamId)).toEqual(
      Array.from({ length: REQUESTS }, (_, i) => 100 + i),
    );
    for (const frame of answers) expectWholeAnswer(frame);
    expect(sim.sniProxy.peakBufferedBytes).toBeLessThanOrEqual(PROXY_CEILING);
    const all = sim.nodes[0]!.connectionStats();
    expect(all.some((s) => s.backpressurePauses > 0)).toBe(true);
    expect(all.every((s) => s.peakQueuedBytes <= QUEUE_CEILING)).toBe(true);
  }, 60_000);
});
