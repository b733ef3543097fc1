// The command line (src/main.ts) as a person runs it, in a child process: start-up failures (a
// missing bundle, a file that is not a bundle, a token the DevOps API rejects, a port in use) stop
// it with one readable line on stderr and a non-zero exit; a good start logs one "proxy is ready"
// line, serves a driver, and exits 0 on SIGTERM.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../sim/simulator.js';
import { nodeClient } from './helpers/node-driver.js';
import { targetArgs, withDeadline } from './helpers/stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src', 'main.ts');
const RUN_TIMEOUT_MS = 30_000;

interface Cli {
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string>;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the first stdout line whose `msg` is `message`, parsed. */
  logLine(message: string): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): void;
}

/** `node --import tsx src/main.ts <args>`: the same program `npx tsx src/main.ts` runs. */
function startCli(args: string[]): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    for (const w of watchers) w();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const find = (message: string): Record<string, unknown> | undefined => {
    for (const line of stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.msg === message) return parsed;
    }
    return undefined;
  };
  return {
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    logLine: (message) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const line = find(message);
          if (line !== undefined) resolve(line);
        };
        watchers.push(check);
        check();
        void exited.then(() =>
          reject(new Error(`exited before logging "${message}": ${stderr}${stdout}`)),
        );
      }),
    kill: (signal) => child.kill(signal),
  };
}

/** Runs the CLI to its end: it must fail on its own, within the deadline. */
async function runToFailure(
  args: string[],
): Promise<{ code: number | string; stderrLines: string[] }> {
  const cli = startCli(args);
  const code = await withDeadline(cli.exited, RUN_TIMEOUT_MS + 5_000, 'the proxy exiting');
  const stderrLines = cli
    .stderr()
    .split('\n')
    .filter((l) => l !== '');
  return { code, stderrLines };
}

/** One line, prefixed with the program name, no stack trace. */
function expectOneReadableLine(lines: string[], pattern: RegExp): void {
  expect(lines, lines.join('\n')).toHaveLength(1);
  expect(lines[0]).toMatch(/^cql-proxy-ts: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines[0]).not.toMatch(/\s+at \S+ \(/);
}

let sim: Simulator;
let scratch: string;

beforeAll(async () => {
  [sim, scratch] = await Promise.all([startSimulator({}), mkdtemp(join(tmpdir(), 'cli-e2e-'))]);
}, 60_000);

afterAll(async () => {
  await sim?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe('start-up failures: one line on stderr, non-zero exit', () => {
  it('a bundle path that does not exist', async () => {
    const missing = join(scratch, 'no-such-bundle.zip');
    const { code, stderrLines } = await runToFailure([
      '--astra-bundle',
      missing,
      '--astra-token',
      sim.info.token,
      '--bind',
      '127.0.0.1:0',
    ]);
    expect(code).not.toBe(0);
    expectOneReadableLine(
      stderrLines,
      new RegExp(`secure connect bundle ${missing}.*no such file`),
    );
  });

  it('a file that is not a bundle', async () => {
    const bogus = join(scratch, 'not-a-bundle.zip');
    await writeFile(bogus, 'this is not a zip file\n');
    const { code, stderrLines } = await runToFailure([
      '--astra-bundle',
      bogus,
      '--bind',
      '127.0.0.1:0',
    ]);
    expect(code).not.toBe(0);
    expectOneReadableLine(stderrLines, new RegExp(`${bogus}.*not a zip`));
  });

  it('a token the DevOps API rejects (token mode)', async () => {
    const wrong = 'AstraCS:notTheRightToken:0123456789abcdef';
    const { code, stderrLines } = await runToFailure([
      '--astra-token',
      wrong,
      '--astra-database-id',
      sim.info.databaseId,
      '--astra-api-url',
      sim.info.devopsApiUrl,
      '--bind',
      '127.0.0.1:0',
    ]);
    expect(code).not.toBe(0);
    expectOneReadableLine(stderrLines, /rejected the token.*401/);
    // The secret itself is never printed.
    expect(stderrLines[0]).not.toContain(wrong);
  });

  it('a port already in use', async () => {
    const holder: Server = createServer();
    holder.listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const address = holder.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      const { code, stderrLines } = await runToFailure([
        ...targetArgs('contact-points', sim.info),
        '--bind',
        `127.0.0.1:${address.port}`,
      ]);
      expect(code).not.toBe(0);
      expectOneReadableLine(stderrLines, new RegExp(`127\\.0\\.0\\.1:${address.port}.*in use`));
    } finally {
      holder.close();
    }
  });
});

describe('a good start', () => {
  it('logs one "proxy is ready" line, serves a driver, exits 0 on SIGTERM', async () => {
    const cli = startCli([...targetArgs('astra-bundle', sim.info), '--bind', '127.0.0.1:0']);
    try {
      const ready = await withDeadline(cli.logLine('proxy is ready'), RUN_TIMEOUT_MS, 'ready line');
      expect(ready).toMatchObject({ mode: 'astra-bundle', protocolVersion: 'v4' });
      const listen = String(ready.listen);
      expect(listen).toMatch(/^127\.0\.0\.1:\d+$/);
      const client = nodeClient(Number(listen.split(':')[1]), sim.info.region);
      try {
        await client.connect();
        const row = (await client.execute('SELECT release_version FROM system.local')).first();
        expect(row.get('release_version')).toBe('4.0.0.6816');
      } finally {
        await client.shutdown();
      }
      cli.kill('SIGTERM');
      expect(await withDeadline(cli.exited, 10_000, 'the proxy stopping')).toBe(0);
      const readyLines = cli
        .stdout()
        .split('\n')
        .filter((l) => l.includes('"proxy is ready"'));
      expect(readyLines).toHaveLength(1);
      expect(cli.stderr()).toBe('');
      // The token is redacted or absent from every log line.
      expect(cli.stdout()).not.toContain(sim.info.token);
    } finally {
      cli.kill('SIGKILL');
    }
  });
});
