// Users besides `token`, end to end over real sockets: the Node.js driver (PlainTextAuthProvider)
// against the simulator's nodes (contact points) and its SNI front end (secure connect bundle), and
// the raw client where a driver cannot say it (EXECUTE and BATCH of an id someone else prepared).
// A wrong password is the driver's AuthenticationError; a keyspace the user may not use is
// Cassandra's Unauthorized (0x2100) with its exact text; users come and go through the admin API.

import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchType,
  Consistency,
  ErrorCode,
  Opcode,
  ResultKind,
} from '../../src/protocol/constants.js';
import { encodeBatch } from '../../src/protocol/messages/batch.js';
import { encodeExecute } from '../../src/protocol/messages/execute.js';
import { encodePrepare } from '../../src/protocol/messages/prepare.js';
import type { ExecutionContext } from '../../sim/engine/contract.js';
import { startSimulator } from '../../sim/simulator.js';
import type { Simulator } from '../../sim/simulator.js';
import { RawClient, errorOf, resultOf } from './node/raw-client.js';

const ROOT = { username: 'root', password: 'r00t-pw' };
const BOB = { username: 'bob', password: 'b0b-pw', keyspaces: ['ks1'] };

let sim: Simulator;
const clients: cassandra.Client[] = [];

beforeAll(async () => {
  sim = await startSimulator({ nodes: 2, users: [ROOT, BOB], log: () => undefined });
  // The schema, as the operator would have made it (no role: nothing checked).
  const context: ExecutionContext = {
    node: sim.nodes[0]!.identity,
    peers: () => [],
    keyspace: undefined,
    protocolVersion: 4,
  };
  for (const ks of ['ks1', 'ks2']) {
    const run = (query: string): void => {
      sim.engine.execute(query, { consistency: Consistency.LOCAL_QUORUM, values: [] }, context);
    };
    run(`CREATE KEYSPACE ${ks} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}`);
    run(`CREATE TABLE ${ks}.t (k int PRIMARY KEY, v text)`);
    run(`INSERT INTO ${ks}.t (k, v) VALUES (1, '${ks} one')`);
  }
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.shutdown();
  await sim.close();
});

/** A driver client on the nodes' contact points (or the bundle), logging in as `username`. */
function driver(
  username: string,
  password: string,
  via: 'contact points' | 'bundle' = 'contact points',
): cassandra.Client {
  const client = new cassandra.Client({
    ...(via === 'bundle'
      ? { cloud: { secureConnectBundle: sim.info.bundle } }
      : {
          contactPoints: sim.info.contactPoints.map((h) => `${h}:${sim.info.port}`),
          localDataCenter: sim.info.region,
        }),
    authProvider: new cassandra.auth.PlainTextAuthProvider(username, password),
    socketOptions: { readTimeout: 10_000, connectTimeout: 10_000 },
  });
  clients.push(client);
  return client;
}

function unauthorized(user: string, permission: string, resource: string) {
  return {
    code: ErrorCode.UNAUTHORIZED,
    message: `User ${user} has no ${permission} permission on ${resource} or any of its parents`,
  };
}

/** What a driver call fails with, as code and message (or the error itself if not a response). */
async function refusal(work: Promise<unknown>): Promise<unknown> {
  const error = await work.then(
    () => new Error('expected the request to fail'),
    (e: unknown) => e,
  );
  if (error instanceof cassandra.errors.ResponseError) {
    return { code: error.code, message: error.message };
  }
  return error;
}

/** The inner errors of a NoHostAvailableError from connect(). */
async function connectFailures(client: cassandra.Client): Promise<Error[]> {
  const error = await client.connect().then(
    () => new Error('expected connect() to fail'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(cassandra.errors.NoHostAvailableError);
  return Object.values(
    (error as cassandra.errors.NoHostAvailableError).innerErrors as Record<string, Error>,
  );
}

/** A raw v4 connection to node `index`, logged in. */
async function rawLogin(index: number, username: string, password: string): Promise<RawClient> {
  const client = await RawClient.connect(sim.info.contactPoints[index]!, sim.info.port);
  client.startup(4);
  expect((await client.next()).header.opcode).toBe(Opcode.AUTHENTICATE);
  client.authenticate(4, username, password, 1);
  expect((await client.next()).header.opcode).toBe(Opcode.AUTH_SUCCESS);
  return client;
}

const QUORUM = { consistency: Consistency.LOCAL_QUORUM };

describe('a user with every keyspace', () => {
  it('reads and writes any keyspace and creates keyspaces', async () => {
    const client = driver(ROOT.username, ROOT.password);
    await client.connect();
    for (const ks of ['ks1', 'ks2']) {
      const result = await client.execute(`SELECT v FROM ${ks}.t WHERE k = ?`, [1], {
        prepare: true,
      });
      expect(result.rows.map((r) => r['v'] as string)).toEqual([`${ks} one`]);
    }
    await client.execute(
      "CREATE KEYSPACE IF NOT EXISTS root_ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}",
    );
    await client.execute('CREATE TABLE IF NOT EXISTS root_ks.t (k int PRIMARY KEY)');
    await client.execute('INSERT INTO root_ks.t (k) VALUES (1)');
    expect((await client.execute('SELECT k FROM root_ks.t')).rowLength).toBe(1);
  });
});

describe('a user limited to ks1', () => {
  let bob: cassandra.Client;

  beforeAll(async () => {
    bob = driver(BOB.username, BOB.password);
    await bob.connect();
  });

  it('reads and writes ks1, simple and prepared', async () => {
    await bob.execute("INSERT INTO ks1.t (k, v) VALUES (2, 'bob')");
    await bob.execute('UPDATE ks1.t SET v = ? WHERE k = ?', ['bob two', 2], { prepare: true });
    const result = await bob.execute('SELECT v FROM ks1.t WHERE k = ?', [2], { prepare: true });
    expect(result.rows.map((r) => r['v'] as string)).toEqual(['bob two']);
  });

  it('gets Unauthorized with Cassandra’s text on ks2: SELECT, INSERT, CREATE TABLE, CREATE KEYSPACE', async () => {
    expect(await refusal(bob.execute('SELECT * FROM ks2.t'))).toEqual(
      unauthorized('bob', 'SELECT', '<table ks2.t>'),
    );
    expect(await refusal(bob.execute("INSERT INTO ks2.t (k, v) VALUES (3, 'x')"))).toEqual(
      unauthorized('bob', 'MODIFY', '<table ks2.t>'),
    );
    expect(await refusal(bob.execute('CREATE TABLE ks2.bob (k int PRIMARY KEY)'))).toEqual(
      unauthorized('bob', 'CREATE', '<keyspace ks2>'),
    );
    expect(
      await refusal(
        bob.execute(
          "CREATE KEYSPACE bob_ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}",
        ),
      ),
    ).toEqual(unauthorized('bob', 'CREATE', '<all keyspaces>'));
  });

  it('is refused at PREPARE (the driver prepares first)', async () => {
    expect(
      await refusal(bob.execute('SELECT v FROM ks2.t WHERE k = ?', [1], { prepare: true })),
    ).toEqual(unauthorized('bob', 'SELECT', '<table ks2.t>'));
    expect(
      await refusal(bob.execute('DELETE FROM ks2.t WHERE k = ?', [1], { prepare: true })),
    ).toEqual(unauthorized('bob', 'MODIFY', '<table ks2.t>'));
  });

  it('is refused a BATCH touching ks2, prepared or not, and none of it is applied', async () => {
    const queries = [
      { query: 'INSERT INTO ks1.t (k, v) VALUES (?, ?)', params: [40, 'batched'] },
      { query: 'INSERT INTO ks2.t (k, v) VALUES (?, ?)', params: [40, 'batched'] },
    ];
    for (const prepare of [false, true]) {
      expect(await refusal(bob.batch(queries, { prepare })), `prepare: ${prepare}`).toEqual(
        unauthorized('bob', 'MODIFY', '<table ks2.t>'),
      );
    }
    const row = await bob.execute('SELECT v FROM ks1.t WHERE k = 40');
    expect(row.rowLength).toBe(0);
    await bob.batch(queries.slice(0, 1), { prepare: true });
    expect((await bob.execute('SELECT v FROM ks1.t WHERE k = 40')).rowLength).toBe(1);
  });

  it('may USE ks2 (Cassandra checks on access), then is refused there', async () => {
    const client = new cassandra.Client({
      contactPoints: sim.info.contactPoints.map((h) => `${h}:${sim.info.port}`),
      localDataCenter: sim.info.region,
      authProvider: new cassandra.auth.PlainTextAuthProvider(BOB.username, BOB.password),
      keyspace: 'ks2',
    });
    clients.push(client);
    await client.connect();
    expect(client.keyspace).toBe('ks2');
    expect(await refusal(client.execute('SELECT * FROM t'))).toEqual(
      unauthorized('bob', 'SELECT', '<table ks2.t>'),
    );
  });

  it('is refused EXECUTE and BATCH of ids another user prepared on the same node', async () => {
    const root = await rawLogin(0, ROOT.username, ROOT.password);
    const bobRaw = await rawLogin(0, BOB.username, BOB.password);
    try {
      root.request(
        4,
        Opcode.PREPARE,
        encodePrepare(4, { query: 'SELECT v FROM ks2.t WHERE k = 1' }),
        2,
      );
      const select = resultOf(await root.next());
      root.request(
        4,
        Opcode.PREPARE,
        encodePrepare(4, { query: "INSERT INTO ks2.t (k, v) VALUES (50, 'raw')" }),
        3,
      );
      const insert = resultOf(await root.next());
      if (select.kind !== ResultKind.PREPARED || insert.kind !== ResultKind.PREPARED) {
        throw new Error('PREPARED expected');
      }

      bobRaw.request(4, Opcode.EXECUTE, encodeExecute(4, { id: select.id, parameters: QUORUM }), 7);
      const execute = await bobRaw.next();
      expect(execute.header.streamId).toBe(7);
      expect(errorOf(execute)).toEqual(unauthorized('bob', 'SELECT', '<table ks2.t>'));

      bobRaw.request(
        4,
        Opcode.BATCH,
        encodeBatch(4, {
          type: BatchType.LOGGED,
          statements: [
            { kind: 'query', query: "INSERT INTO ks1.t (k, v) VALUES (50, 'raw')", values: [] },
            { kind: 'prepared', id: insert.id, values: [] },
          ],
          ...QUORUM,
        }),
        8,
      );
      expect(errorOf(await bobRaw.next())).toEqual(unauthorized('bob', 'MODIFY', '<table ks2.t>'));

      // The owner still runs it; bob's connection stays usable.
      root.request(4, Opcode.EXECUTE, encodeExecute(4, { id: select.id, parameters: QUORUM }), 4);
      expect(resultOf(await root.next()).kind).toBe(ResultKind.ROWS);
      bobRaw.query(4, 'SELECT k FROM ks1.t WHERE k = 50', 9);
      const rows = resultOf(await bobRaw.next());
      expect(rows.kind === ResultKind.ROWS ? rows.rows : undefined).toEqual([]);
    } finally {
      root.close();
      bobRaw.close();
    }
  });

  it('through the SNI front end (secure connect bundle) too', async () => {
    const client = driver(BOB.username, BOB.password, 'bundle');
    await client.connect();
    expect((await client.execute('SELECT v FROM ks1.t WHERE k = 1')).rowLength).toBe(1);
    expect(await refusal(client.execute('SELECT * FROM ks2.t'))).toEqual(
      unauthorized('bob', 'SELECT', '<table ks2.t>'),
    );
  });
});

describe('authentication', () => {
  for (const [what, username, password] of [
    ['a wrong password', 'bob', 'wrong'],
    ['another user’s password', 'bob', ROOT.password],
    ['an unknown user', 'mallory', 'whatever'],
  ] as const) {
    it(`${what}: the driver's AuthenticationError with Cassandra's text, on every node`, async () => {
      const failures = await connectFailures(driver(username, password));
      expect(failures).toHaveLength(sim.info.contactPoints.length);
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(cassandra.errors.AuthenticationError);
        expect(failure.message).toBe(`Provided username ${username} and/or password are incorrect`);
      }
    });
  }

  it('a wrong password through the secure connect bundle', async () => {
    const failures = await connectFailures(driver('bob', 'wrong', 'bundle'));
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(cassandra.errors.AuthenticationError);
      expect(failure.message).toBe('Provided username bob and/or password are incorrect');
    }
  });
});

describe('users through the admin API', () => {
  async function call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${sim.info.adminUrl}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  it('POST /users adds a user who can then log in; replacing it changes open connections', async () => {
    const added = await call('POST', '/users', {
      username: 'carol',
      password: 'c4rol',
      keyspaces: ['ks2'],
    });
    expect(added).toEqual({
      status: 200,
      json: {
        user: 'carol',
        replaced: false,
        users: expect.arrayContaining([{ username: 'carol', keyspaces: ['ks2'] }]) as unknown,
      },
    });
    const carol = driver('carol', 'c4rol');
    await carol.connect();
    expect((await carol.execute('SELECT v FROM ks2.t WHERE k = 1')).rowLength).toBe(1);
    expect(await refusal(carol.execute('SELECT * FROM ks1.t'))).toEqual(
      unauthorized('carol', 'SELECT', '<table ks1.t>'),
    );

    // Replaced: the open connections keep their login and get the new keyspaces at once.
    const replaced = await call('POST', '/users', {
      username: 'carol',
      password: 'c4rol-2',
      keyspaces: ['ks1'],
    });
    expect(replaced.json.replaced).toBe(true);
    expect((await carol.execute('SELECT v FROM ks1.t WHERE k = 1')).rowLength).toBe(1);
    expect(await refusal(carol.execute('SELECT * FROM ks2.t'))).toEqual(
      unauthorized('carol', 'SELECT', '<table ks2.t>'),
    );
    const [old] = await connectFailures(driver('carol', 'c4rol'));
    expect(old?.message).toBe('Provided username carol and/or password are incorrect');

    // Deleted: no new login, and the open connections have no keyspace left.
    expect(await call('DELETE', '/users/carol')).toMatchObject({
      status: 200,
      json: { deleted: 'carol' },
    });
    const [gone] = await connectFailures(driver('carol', 'c4rol-2'));
    expect(gone).toBeInstanceOf(cassandra.errors.AuthenticationError);
    expect(await refusal(carol.execute('SELECT * FROM ks1.t'))).toEqual(
      unauthorized('carol', 'SELECT', '<table ks1.t>'),
    );
  });

  it('GET /users lists users without passwords; a user without keyspaces gets every one', async () => {
    expect(await call('POST', '/users', { username: 'dave', password: 'd4ve' })).toMatchObject({
      status: 200,
    });
    const { status, json } = await call('GET', '/users');
    expect(status).toBe(200);
    expect(json.users).toEqual(
      expect.arrayContaining([
        { username: 'token', keyspaces: null },
        { username: 'root', keyspaces: null },
        { username: 'bob', keyspaces: ['ks1'] },
        { username: 'dave', keyspaces: null },
      ]),
    );
    expect(JSON.stringify(json)).not.toContain('d4ve');
    const dave = await rawLogin(1, 'dave', 'd4ve');
    try {
      dave.query(4, 'SELECT v FROM ks2.t WHERE k = 1', 2);
      expect(resultOf(await dave.next()).kind).toBe(ResultKind.ROWS);
    } finally {
      dave.close();
    }
  });

  it('refuses bad definitions (400), the token user (400) and unknown users (404)', async () => {
    for (const body of [
      { username: 'eve' },
      { username: 'eve', password: 'x', keyspaces: 'ks1' },
      { username: 'token', password: 'x' },
      { username: '', password: 'x' },
    ]) {
      const { status, json } = await call('POST', '/users', body);
      expect(status, JSON.stringify(body)).toBe(400);
      expect(typeof json.error).toBe('string');
    }
    expect((await call('DELETE', '/users/token')).status).toBe(400);
    expect(await call('DELETE', '/users/nobody')).toEqual({
      status: 404,
      json: { error: 'no user nobody' },
    });
    expect((await call('PUT', '/users')).status).toBe(405);
    // The token still logs in.
    (await rawLogin(0, 'token', sim.info.token)).close();
  });
});
