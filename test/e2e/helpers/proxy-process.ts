// The proxy as its own process (`node --import tsx src/main.ts`), so that its memory and file
// descriptors can be measured apart from the test's: RSS from /proc/<pid>/status, descriptors
// from /proc/<pid>/fd. Optionally under a lower descriptor limit (`ulimit -n` before exec).
// Listens on 127.0.0.1 ports it picks; killed if it outlives its test.

import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { waitFor } from './stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** However a test goes, its proxy is gone after this long. */
const LIFETIME_MS = 120_000;

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface ProxyProcess {
  readonly pid: number;
  readonly port: number;
  readonly httpUrl: string;
  lines(): LogLine[];
  find(msg: string): LogLine[];
  /** Resident set size in bytes, now. */
  rss(): number;
  /** Open file descriptors, now. */
  descriptors(): number;
  stop(): Promise<void>;
}

export async function startProxyProcess(
  args: readonly string[],
  options: { descriptorLimit?: number } = {},
): Promise<ProxyProcess> {
  const nodeArgs = [
    '--import',
    'tsx',
    'src/main.ts',
    '--bind',
    '127.0.0.1:0',
    '--http-bind',
    '127.0.0.1:0',
    '--health-check',
    '--metrics',
    '--log-level',
    'info',
    ...args,
  ];
  const child: ChildProcessByStdio<null, Readable, Readable> =
    options.descriptorLimit === undefined
      ? spawn(process.execPath, nodeArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(
          '/bin/sh',
          [
            '-c',
            `ulimit -n ${options.descriptorLimit} && exec "$0" "$@"`,
            process.execPath,
            ...nodeArgs,
          ],
          { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
        );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const killer = setTimeout(() => child.kill('SIGKILL'), LIFETIME_MS);
  killer.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = (): LogLine[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  const find = (msg: string): LogLine[] => lines().filter((l) => l.msg === msg);
  try {
    await waitFor(
      () => find('proxy is ready').length > 0 || child.exitCode !== null,
      60_000,
      'the proxy to start',
    );
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const [ready] = find('proxy is ready');
  const [http] = find('health and metrics are listening');
  if (ready === undefined || http === undefined || child.pid === undefined) {
    child.kill('SIGKILL');
    throw new Error(`the proxy did not start:\n${out}\n${err}`);
  }
  const pid = child.pid;
  return {
    pid,
    port: Number(String(ready.listen).split(':').pop()),
    httpUrl: `http://127.0.0.1:${String(http.http).split(':').pop()}`,
    lines,
    find,
    rss: () => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
      return Number(kb) * 1024;
    },
    descriptors: () => readdirSync(`/proc/${pid}/fd`).length,
    stop: async () => {
      clearTimeout(killer);
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Samples `read` every `everyMs` until stop() is called; returns the largest value seen. */
export function sampleMax(read: () => number, everyMs = 50): { stop(): number } {
  let max = read();
  const timer = setInterval(() => {
    max = Math.max(max, read());
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(max, read());
    },
  };
}
