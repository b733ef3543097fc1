// Who may connect, end to end: real drivers (Node.js PlainTextAuthProvider, the Python driver's
// PlainTextAuthProvider on v4 and v5, gocql's PasswordAuthenticator) log in through the proxy in
// front of the simulated Astra, in `users` mode (a command-line user and a users file) and in
// `passthrough` mode (the simulator's own users, one of them limited to one keyspace, so the
// cluster's Unauthorized reaches the driver). Wrong and missing credentials get the drivers' own
// authentication errors, and no log line holds a password or the token.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/client/auth/password-hash.js';
import { ErrorCode } from '../../src/protocol/constants.js';
import type { RunningProxy } from '../../src/proxy.js';
import { buildGocql, runGocql, type GocqlBinary } from './helpers/gocql.js';
import { nodeClient, proxyTarget, runNodeScenarioOn } from './helpers/node-driver.js';
import { runPythonScenario } from './helpers/python.js';
import { startStack, type Stack } from './helpers/stack.js';

const ROWS = 1000;
const DRIVER_TEST_MS = 120_000;
const APP = { username: 'app', password: 'app-secret-pw' };
const CAROL = { username: 'carol', password: 'carol-secret-pw' };
const ALICE = { username: 'alice', password: 'alice-secret-pw' };
const BOB = { username: 'bob', password: 'bob-secret-pw' };

let stack: Stack;
let gocql: GocqlBinary;
let usersProxy: RunningProxy;
let passthroughProxy: RunningProxy;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'client-auth-'));
  const usersFile = join(dir, 'users');
  await writeFile(usersFile, `${CAROL.username}:${await hashPassword(CAROL.password)}\n`);
  const [s, g] = await Promise.all([
    startStack('astra-bundle', {
      simulator: {
        protocolVersions: [3, 4, 5],
        users: [
          { username: ALICE.username, password: ALICE.password },
          { username: BOB.username, password: BOB.password, keyspaces: ['bob_ks'] },
        ],
      },
    }),
    buildGocql(),
  ]);
  stack = s;
  gocql = g;
  usersProxy = await stack.addProxy([
    '--client-username',
    APP.username,
    '--client-password',
    APP.password,
    '--client-users-file',
    usersFile,
  ]);
  passthroughProxy = await stack.addProxy(['--client-auth', 'passthrough']);
}, 240_000);

afterAll(async () => {
  await stack?.close();
  await gocql?.remove();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const dc = (): string => stack.sim.info.region;

/** What a driver call fails with: the error's name, code and message. */
async function failure(
  promise: Promise<unknown>,
): Promise<{ name: string; code?: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { code?: number; innerErrors?: Record<string, Error> };
    const inner = e.innerErrors === undefined ? undefined : Object.values(e.innerErrors)[0];
    const cause = (inner ?? e) as Error & { code?: number };
    return {
      name: cause.name,
      message: cause.message,
      ...(cause.code === undefined ? {} : { code: cause.code }),
    };
  }
  throw new Error('expected a failure');
}

describe('--client-auth users', () => {
  it(
    'Node.js driver: the command-line user logs in and runs the scenario',
    async () => {
      await runNodeScenarioOn(
        proxyTarget(usersProxy.address.port, dc(), APP),
        'auth_users_node',
        ROWS,
      );
    },
    DRIVER_TEST_MS,
  );

  for (const protocol of [4, 5]) {
    it(
      `Python driver v${protocol}: a users-file user logs in and runs the scenario`,
      async () => {
        const out = await runPythonScenario({
          host: '127.0.0.1',
          port: usersProxy.address.port,
          protocol,
          compression: 'lz4',
          keyspace: `auth_users_py${protocol}`,
          rows: ROWS,
          username: CAROL.username,
          token: CAROL.password,
        });
        expect(out).toMatchObject({ hosts: 1, protocol, rowsPaged: ROWS, typesRoundTrip: true });
      },
      DRIVER_TEST_MS,
    );
  }

  it(
    'gocql: PasswordAuthenticator logs in and runs the scenario',
    async () => {
      const out = await runGocql(gocql, {
        port: usersProxy.address.port,
        proto: 4,
        keyspace: 'auth_users_gocql',
        rows: ROWS,
        credentials: APP,
      });
      expect(out.hosts).toBe(1);
    },
    DRIVER_TEST_MS,
  );

  it(
    'refuses a wrong password and missing credentials with each driver’s own error',
    async () => {
      const port = usersProxy.address.port;
      const wrong = nodeClient(port, dc(), { credentials: { ...APP, password: 'not-it' } });
      expect(await failure(wrong.connect())).toEqual({
        name: 'AuthenticationError',
        message: 'Provided username app and/or password are incorrect',
      });
      await wrong.shutdown();
      const none = nodeClient(port, dc());
      const missing = await failure(none.connect());
      expect(missing.name).toBe('AuthenticationError');
      expect(missing.message).toContain('requires authentication');
      await none.shutdown();
      await expect(
        runPythonScenario({
          host: '127.0.0.1',
          port,
          protocol: 4,
          compression: false,
          keyspace: 'never',
          username: CAROL.username,
          token: 'not-it',
        }),
      ).rejects.toThrow(
        /AuthenticationFailed.*Provided username carol and\/or password are incorrect/s,
      );
      await expect(
        runGocql(gocql, {
          port,
          proto: 4,
          keyspace: 'never',
          credentials: { ...APP, password: 'x' },
        }),
      ).rejects.toThrow(/Provided username app and\/or password are incorrect/);
    },
    DRIVER_TEST_MS,
  );
});

describe('--client-auth passthrough', () => {
  it(
    'Node.js, Python and gocql log in as the cluster’s own user and run the scenario',
    async () => {
      const port = passthroughProxy.address.port;
      await runNodeScenarioOn(proxyTarget(port, dc(), ALICE), 'auth_pass_node', ROWS);
      const py = await runPythonScenario({
        host: '127.0.0.1',
        port,
        protocol: 5,
        compression: 'lz4',
        keyspace: 'auth_pass_py',
        rows: ROWS,
        username: ALICE.username,
        token: ALICE.password,
      });
      expect(py).toMatchObject({ hosts: 1, protocol: 5, rowsPaged: ROWS });
      const go = await runGocql(gocql, {
        port,
        proto: 4,
        keyspace: 'auth_pass_gocql',
        rows: ROWS,
        credentials: ALICE,
      });
      expect(go.hosts).toBe(1);
    },
    DRIVER_TEST_MS,
  );

  it(
    'uses each client’s own credentials upstream: the cluster’s Unauthorized reaches the driver',
    async () => {
      const port = passthroughProxy.address.port;
      const alice = nodeClient(port, dc(), { credentials: ALICE });
      const bob = nodeClient(port, dc(), { credentials: BOB });
      try {
        await alice.connect();
        const ddl = "WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}";
        await alice.execute(`CREATE KEYSPACE IF NOT EXISTS bob_ks ${ddl}`);
        await alice.execute(`CREATE KEYSPACE IF NOT EXISTS alice_ks ${ddl}`);
        await alice.execute('CREATE TABLE IF NOT EXISTS bob_ks.t (k int PRIMARY KEY, v text)');
        await alice.execute('CREATE TABLE IF NOT EXISTS alice_ks.t (k int PRIMARY KEY, v text)');
        await bob.connect();
        await bob.execute("INSERT INTO bob_ks.t (k, v) VALUES (1, 'mine')");
        expect((await bob.execute('SELECT v FROM bob_ks.t WHERE k = 1')).first().get('v')).toBe(
          'mine',
        );
        expect(await failure(bob.execute('SELECT v FROM alice_ks.t WHERE k = 1'))).toEqual({
          name: 'ResponseError',
          code: ErrorCode.UNAUTHORIZED,
          message: 'User bob has no SELECT permission on <table alice_ks.t> or any of its parents',
        });
        expect(
          await failure(
            bob.execute('SELECT v FROM alice_ks.t WHERE k = ?', [1], { prepare: true }),
          ),
        ).toMatchObject({ code: ErrorCode.UNAUTHORIZED });
      } finally {
        await alice.shutdown();
        await bob.shutdown();
      }
    },
    DRIVER_TEST_MS,
  );

  it('passes the cluster’s refusal of a wrong password on, as the driver’s AuthenticationError', async () => {
    const client = nodeClient(passthroughProxy.address.port, dc(), {
      credentials: { ...BOB, password: 'not-it' },
    });
    expect(await failure(client.connect())).toEqual({
      name: 'AuthenticationError',
      message: 'Provided username bob and/or password are incorrect',
    });
    await client.shutdown();
  });
});

describe('logs', () => {
  it('hold the user names of failed logins, and never a password or the token', () => {
    const text = JSON.stringify(stack.logs);
    for (const secret of [APP, CAROL, ALICE, BOB].map((u) => u.password)) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain(stack.sim.info.token);
    const failed = stack.logs.filter((l) => l.msg === 'client authentication failed');
    expect(failed.map((l) => l.user)).toEqual(expect.arrayContaining(['app', 'carol', 'bob']));
  });
});
