// vitest globalSetup of the "drivers" project (vitest.config.ts): before the first test that runs
// the Python driver or gocql, make sure their Debian packages are there. dpkg-query answers in a
// few milliseconds and needs no network when they are; as root with apt-get the set-up installs
// what is missing (one progress line on stderr); otherwise the run stops at once with one line
// giving the exact command. So `npm test` works on a fresh Debian machine after `npm ci` alone.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import {
  DRIVER_PACKAGES,
  installCommand,
  parseDpkgStatus,
  planPackages,
  type PackageProbe,
} from './debian-packages-plan.js';

/** apt-get update and install each get this long (a slow mirror, a few hundred MB for Go). */
const APT_TIMEOUT_MS = 15 * 60_000;
const PROBE_TIMEOUT_MS = 30_000;

interface RunResult {
  /** Exit code, or undefined when the program is not there (ENOENT). */
  readonly code: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  command: string,
  args: readonly string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') resolve({ code: undefined, stdout, stderr });
      else reject(err);
    });
    // A null code means a signal ended it (the timeout sends SIGTERM): a failure all the same.
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function onPath(program: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

async function probe(packages: readonly string[]): Promise<PackageProbe> {
  // Exits 1 when a package is unknown to dpkg, still listing the others.
  const query = await run(
    'dpkg-query',
    ['-W', '-f', '${Package}\\t${db:Status-Status}\\n', ...packages],
    PROBE_TIMEOUT_MS,
  );
  return {
    installed: query.code === undefined ? undefined : parseDpkgStatus(query.stdout),
    root: process.getuid?.() === 0,
    aptGet: onPath('apt-get'),
  };
}

/**
 * Stops the run with one line on stderr. A thrown error would reach the same exit code, but vitest
 * then also prints "No test files found" and each project's globs, which hide the one line that
 * matters. Nothing has started yet when a globalSetup runs: there is nothing to clean up.
 */
function stop(message: string): never {
  process.stderr.write(`test set-up: ${message}\n`);
  process.exit(1);
}

function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .at(-1) ?? ''
  );
}

export default async function setup(): Promise<void> {
  const plan = planPackages(DRIVER_PACKAGES, await probe(DRIVER_PACKAGES));
  if (plan.action === 'none') return;
  if (plan.action === 'fail') stop(plan.message);

  const started = Date.now();
  process.stderr.write(
    `test set-up: installing the Debian packages the driver tests need with apt-get ` +
      `(${plan.packages.join(' ')}); this can take a few minutes\n`,
  );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const command of plan.commands) {
    const [program = 'apt-get', ...args] = command;
    const result = await run(program, args, APT_TIMEOUT_MS, env);
    if (result.code !== 0) {
      stop(
        `\`${command.join(' ')}\` failed (exit ${result.code ?? 'ENOENT'}): ` +
          `${lastLine(result.stderr) || lastLine(result.stdout)}; ` +
          `run it yourself: ${installCommand(plan.packages, false)}`,
      );
    }
  }
  const after = planPackages(DRIVER_PACKAGES, await probe(DRIVER_PACKAGES));
  if (after.action !== 'none') {
    stop(`apt-get finished but packages are still missing: ${plan.packages.join(' ')}`);
  }
  process.stderr.write(
    `test set-up: installed ${plan.packages.length} packages in ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
}
