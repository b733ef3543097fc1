// The gocql program (drivers/gocql/main.go), built once per test file from Debian's
// golang-github-gocql-gocql-dev sources (GOPATH mode, no network), then run per scenario.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD_TIMEOUT_MS = 180_000;
const RUN_TIMEOUT_MS = 90_000;

export interface GocqlBinary {
  readonly path: string;
  remove(): Promise<void>;
}

/** What main.go prints. */
export interface GocqlReport {
  hosts: number;
  releaseVersion: string;
  rowsPaged: number;
  pages: number;
  counter: number;
  typesRoundTrip: boolean;
  batchRows: number;
  useKeyspace: string;
  protoVersion: number;
}

function run(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout: number },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { ...options, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

export async function buildGocql(): Promise<GocqlBinary> {
  const dir = await mkdtemp(join(tmpdir(), 'gocql-e2e-'));
  const path = join(dir, 'gocql-e2e');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: `${dir}:/usr/share/gocode`,
    GOPROXY: 'off',
    GOFLAGS: '',
  };
  // Go needs a build cache; without a home directory, a private one in the temporary directory.
  if (env.GOCACHE === undefined && env.HOME === undefined && env.XDG_CACHE_HOME === undefined) {
    env.GOCACHE = join(dir, 'cache');
  }
  try {
    await run('go', ['build', '-o', path, './test/e2e/drivers/gocql'], {
      cwd: ROOT,
      env,
      timeout: BUILD_TIMEOUT_MS,
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface GocqlOptions {
  port: number;
  proto: number;
  compression?: 'snappy';
  keyspace: string;
  rows?: number;
  /** Log in as this user (gocql.PasswordAuthenticator). */
  credentials?: { username: string; password: string };
}

export async function runGocql(binary: GocqlBinary, options: GocqlOptions): Promise<GocqlReport> {
  const args = [
    '-host',
    '127.0.0.1',
    '-port',
    String(options.port),
    '-proto',
    String(options.proto),
    '-keyspace',
    options.keyspace,
    '-rows',
    String(options.rows ?? 10_000),
    ...(options.compression === undefined ? [] : ['-compression', options.compression]),
    ...(options.credentials === undefined
      ? []
      : ['-user', options.credentials.username, '-password', options.credentials.password]),
  ];
  const { stdout } = await run(binary.path, args, { timeout: RUN_TIMEOUT_MS });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as GocqlReport;
}
