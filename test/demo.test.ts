// `npm run demo` as a user runs it: `npx tsx scripts/demo.ts` in a child process, bounded in time.
// It must tell the whole story on stdout (simulator, proxy, one host, the protocol version, schema,
// prepared statements, a batch, paging, the guardrail error and the LOCAL_QUORUM write), exit 0,
// never print the token, and on failure exit non-zero with a line that names the step.

import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEADLINE_MS = 90_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo in its own process group, killed as a whole if it outlives the deadline. */
function runDemo(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', 'scripts/demo.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`the demo did not finish within ${DEADLINE_MS} ms:\n${stdout}\n${stderr}`));
    }, DEADLINE_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// The steps, in the order they must appear, one line each.
const STORY: readonly RegExp[] = [
  /^cql-proxy-ts demo: /,
  /simulated Astra DB up: 3 nodes on 127\.0\.0\.1\.\.127\.0\.0\.3 port \d+, region dc1/,
  /proxy up in bundle mode on 127\.0\.0\.1:\d+: 3 Astra nodes through the SNI proxy, upstream protocol v4/,
  /driver connected with contactPoints \['127\.0\.0\.1:\d+'\], localDataCenter 'dc1': sees 1 host \(127\.0\.0\.1:\d+\), protocol v4/,
  /system\.local answered by the proxy: data_center dc1, .*native_protocol_version 4; system\.peers: 0 rows/,
  /CREATE KEYSPACE demo/,
  /CREATE TABLE demo\.readings/,
  /prepared INSERT executed 20 times/,
  /prepared SELECT .* -> value 3\.5/,
  /logged BATCH of 5 prepared INSERTs, then count\(\*\) -> 5/,
  /first page of 8 rows \(ts 0,1,2,3,4,5,6,7\), then the paging state -> 3 pages, 20 rows in all/,
  /INSERT at ONE refused by Astra's guardrail, error intact: \[Invalid 0x2200\] Provided value ONE is not allowed for Write Consistency Level/,
  /the same INSERT at LOCAL_QUORUM succeeds and reads back/,
  /driver, proxy and simulated Astra shut down/,
  /^demo finished in \d+\.\d\ds$/,
];

describe('npm run demo', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it(
    'tells the story step by step, in seconds, and exits 0',
    async () => {
      const run = await runDemo([]);
      expect(run.code, run.stderr).toBe(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(STORY.length);
      STORY.forEach((pattern, i) => expect(lines[i]).toMatch(pattern));
      // Every step line: total time first, the step's own time last.
      for (const line of lines.slice(1, -1)) {
        expect(line).toMatch(/^\[ *\d+\.\d\ds\] .+ {2}\(\d+ ms\)$/);
      }
      // The run's own time is printed (a figure, not asserted: the deadline above bounds it).
      expect(lines.at(-1)).toMatch(/^demo finished in \d+\.\d+s$/);
      // Quiet proxy logs (no info lines), and never the token.
      expect(run.stderr).not.toMatch(/"level":\s*30/);
      expect(run.stdout + run.stderr).not.toMatch(/AstraCS:/);
    },
    DEADLINE_MS + 10_000,
  );

  it(
    'fails with a line naming the step, and exit code 1, when its address is taken',
    async () => {
      const taken = createServer();
      servers.push(taken);
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const { port } = taken.address() as AddressInfo;
      const run = await runDemo(['--bind', `127.0.0.1:${port}`]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/simulated Astra DB up/);
      expect(run.stdout).not.toMatch(/demo finished/);
      expect(run.stderr).toContain(
        `demo failed at step "start the proxy": cannot listen on 127.0.0.1:${port}`,
      );
      expect(run.stderr).toMatch(/hint: choose another address with: npm run demo -- --bind/);
      expect(run.stdout + run.stderr).not.toMatch(/AstraCS:/);
    },
    DEADLINE_MS + 10_000,
  );

  it('refuses an unknown option with its usage and exit code 2', async () => {
    const run = await runDemo(['--nodes', '5']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Unknown option '--nodes'/);
    expect(run.stderr).toMatch(/usage: npm run demo \[-- --bind HOST:PORT\]/);
    expect(run.stdout).toBe('');
  }, 60_000);
});
