// `npm run sim -- --user name:password[:ks1,ks2]`: the flag parsed by the real CLI (what `npm run
// sim` runs, tsx sim/main.ts), and the users it defines logging in to the nodes it started.

import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Opcode, ResultKind } from '../../src/protocol/constants.js';
import type { SimulatorInfo } from '../../sim/simulator.js';
import { RawClient, errorOf, resultOf } from './node/raw-client.js';

const CLI = ['--import', 'tsx', 'sim/main.ts'];

/** Runs the CLI to completion (bounded by the test timeout), collecting its output. */
async function run(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

describe('--user', () => {
  let child: ChildProcessByStdio<null, Readable, Readable>;
  let exited: Promise<unknown>;
  let info: SimulatorInfo;

  beforeAll(async () => {
    child = spawn(
      process.execPath,
      [...CLI, '--nodes', '1', '--user', 'bob:b0b:default_keyspace', '--user', 'root:r00t'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    exited = once(child, 'exit');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // The JSON line once every listener is up; at most 30 s.
    for (let i = 0; i < 600 && !stdout.includes('\n'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stdout, stderr).toMatch(/\n$/);
    info = JSON.parse(stdout) as SimulatorInfo;
  }, 40_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });

  async function login(username: string, password: string): Promise<RawClient> {
    const client = await RawClient.connect(info.contactPoints[0]!, info.port);
    client.startup(4);
    expect((await client.next()).header.opcode).toBe(Opcode.AUTHENTICATE);
    client.authenticate(4, username, password, 1);
    return client;
  }

  it('defines users who log in: root everywhere, bob only in the keyspaces given', async () => {
    const root = await login('root', 'r00t');
    const bob = await login('bob', 'b0b');
    try {
      expect((await root.next()).header.opcode).toBe(Opcode.AUTH_SUCCESS);
      expect((await bob.next()).header.opcode).toBe(Opcode.AUTH_SUCCESS);
      root.query(
        4,
        "CREATE KEYSPACE other WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 1}",
        2,
      );
      expect(resultOf(await root.next()).kind).toBe(ResultKind.SCHEMA_CHANGE);
      root.query(4, 'CREATE TABLE other.t (k int PRIMARY KEY)', 3);
      expect(resultOf(await root.next()).kind).toBe(ResultKind.SCHEMA_CHANGE);

      bob.query(4, 'CREATE TABLE default_keyspace.t (k int PRIMARY KEY)', 2);
      expect(resultOf(await bob.next()).kind).toBe(ResultKind.SCHEMA_CHANGE);
      bob.query(4, 'SELECT * FROM default_keyspace.t', 3);
      expect(resultOf(await bob.next()).kind).toBe(ResultKind.ROWS);
      bob.query(4, 'SELECT * FROM other.t', 4);
      expect(errorOf(await bob.next())).toEqual({
        code: ErrorCode.UNAUTHORIZED,
        message: 'User bob has no SELECT permission on <table other.t> or any of its parents',
      });
    } finally {
      root.close();
      bob.close();
    }
  });

  it('and nobody else: a wrong password is refused', async () => {
    const client = await login('bob', 'r00t');
    try {
      expect(errorOf(await client.next())).toEqual({
        code: ErrorCode.AUTHENTICATION_ERROR,
        message: 'Provided username bob and/or password are incorrect',
      });
    } finally {
      client.close();
    }
  });
});

describe('--user refused', () => {
  for (const [args, message] of [
    [['--user', 'bob'], '--user must be name:password[:ks1,ks2]'],
    [['--user', 'bob:pw:not-a-keyspace'], '"not-a-keyspace" is not a keyspace name'],
    [['--user', 'token:x'], 'token is the database token'],
    [['--user', 'bob:a', '--user', 'bob:b'], '--user bob is given twice'],
  ] as const) {
    it(`${args.join(' ')}: usage and exit status 2`, async () => {
      const { code, stderr } = await run(['--nodes', '1', ...args]);
      expect(code).toBe(2);
      expect(stderr).toContain(message);
      expect(stderr).toContain('usage: npm run sim');
    }, 60_000);
  }
});
