// Timeouts that fit the statement: schema changes (CREATE/ALTER/DROP ...) and TRUNCATE get
// --schema-timeout, everything else --request-timeout. Against the simulator, with its fault
// injection holding answers back: a statement answered after 300 ms succeeds when it is a schema
// change or TRUNCATE (2 s), and times out when it is a SELECT (100 ms), as a QUERY and prepared.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consistency, ErrorCode, Opcode } from '../../src/protocol/constants.js';
import { decodeError } from '../../src/protocol/messages/error.js';
import {
  RawClient,
  executeFrame,
  prepareFrame,
  queryFrame,
  resultOf,
  type RawResponse,
} from '../e2e/helpers/raw-client.js';
import { startStack, type Stack } from '../e2e/helpers/stack.js';

const KS = 'default_keyspace';
const DELAY_MS = 300;
const PARAMS = { consistency: Consistency.LOCAL_QUORUM };

let stack: Stack;
let client: RawClient;
let stream = 1;

beforeAll(async () => {
  stack = await startStack('contact-points', {
    proxyArgs: ['--request-timeout', '100ms', '--schema-timeout', '2s'],
  });
  client = await RawClient.connect(stack.port);
}, 60_000);

afterAll(async () => {
  client.close();
  await stack.close();
});

async function one(frame: (id: number) => Buffer): Promise<RawResponse> {
  const [response] = await client.send([frame(stream++)]);
  if (response === undefined) throw new Error('no response');
  return response;
}

function query(cql: string): Promise<RawResponse> {
  return one((id) => queryFrame(id, cql, PARAMS));
}

async function prepare(cql: string): Promise<Buffer> {
  const result = resultOf(await one((id) => prepareFrame(id, cql)));
  if (result.kind !== 0x0004) throw new Error(`not PREPARED: ${JSON.stringify(result.kind)}`);
  return Buffer.from(result.id);
}

function execute(id: Buffer): Promise<RawResponse> {
  return one((s) => executeFrame(s, id, PARAMS));
}

/** Sends, timed; the simulator answers statements matching `match` DELAY_MS late (once). */
async function delayed(
  match: string,
  send: () => Promise<RawResponse>,
): Promise<{ response: RawResponse; ms: number }> {
  stack.sim.faults.add({ match, delayMs: DELAY_MS, times: 1 });
  const started = Date.now();
  const response = await send();
  return { response, ms: Date.now() - started };
}

function expectTimedOut(response: RawResponse): void {
  expect(response.opcode).toBe(Opcode.ERROR);
  const error = decodeError(response.body, 4);
  expect(error.code).toBe(ErrorCode.SERVER_ERROR);
  expect(error.message).toBe('Proxy timed out after 100 ms waiting for the cluster to answer');
}

describe('--schema-timeout', () => {
  it('lets a slow CREATE TABLE and a slow TRUNCATE finish past --request-timeout', async () => {
    const create = await delayed('st_query_t (', () =>
      query(`CREATE TABLE ${KS}.st_query_t (k int PRIMARY KEY, v text)`),
    );
    expect(resultOf(create.response).kind).toBe(0x0005); // SCHEMA_CHANGE
    expect(create.ms).toBeGreaterThanOrEqual(DELAY_MS - 20);

    expect(resultOf(await query(`INSERT INTO ${KS}.st_query_t (k, v) VALUES (1, 'a')`)).kind).toBe(
      0x0001,
    );
    const truncate = await delayed('TRUNCATE', () => query(`TRUNCATE ${KS}.st_query_t`));
    expect(resultOf(truncate.response).kind).toBe(0x0001); // VOID
    expect(truncate.ms).toBeGreaterThanOrEqual(DELAY_MS - 20);

    // Also after a comment, in lower case, and as TRUNCATE TABLE.
    const commented = await delayed('st_query_t', () =>
      query(`/* cleanup */ truncate table ${KS}.st_query_t`),
    );
    expect(resultOf(commented.response).kind).toBe(0x0001);
  }, 20_000);

  it('still times a SELECT delayed the same way out at --request-timeout', async () => {
    await query(`CREATE TABLE IF NOT EXISTS ${KS}.st_select_t (k int PRIMARY KEY, v text)`);
    const select = await delayed('FROM default_keyspace.st_select_t', () =>
      query(`SELECT * FROM ${KS}.st_select_t WHERE k = 1`),
    );
    expectTimedOut(select.response);
    expect(select.ms).toBeLessThan(DELAY_MS);
  }, 20_000);

  it('gives prepared schema changes and TRUNCATE the long timeout too, not prepared SELECTs', async () => {
    await query(`CREATE TABLE IF NOT EXISTS ${KS}.st_prep_t (k int PRIMARY KEY, v text)`);
    const truncateId = await prepare(`TRUNCATE ${KS}.st_prep_t`);
    const createId = await prepare(
      `CREATE TABLE IF NOT EXISTS ${KS}.st_prep_c (k int PRIMARY KEY)`,
    );
    const selectId = await prepare(`SELECT v FROM ${KS}.st_prep_t WHERE k = 1`);

    const truncate = await delayed(`TRUNCATE ${KS}.st_prep_t`, () => execute(truncateId));
    expect(resultOf(truncate.response).kind).toBe(0x0001);
    expect(truncate.ms).toBeGreaterThanOrEqual(DELAY_MS - 20);

    const create = await delayed('st_prep_c (', () => execute(createId));
    expect(resultOf(create.response).kind).toBe(0x0005);
    expect(create.ms).toBeGreaterThanOrEqual(DELAY_MS - 20);

    const select = await delayed(`SELECT v FROM ${KS}.st_prep_t`, () => execute(selectId));
    expectTimedOut(select.response);
  }, 20_000);
});
