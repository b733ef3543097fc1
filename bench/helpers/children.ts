// The child processes of the load benchmarks (the simulator, the byte pipe, the proxy), each run
// as a user runs it: `node --import tsx <script> ...`. Each leads its own process group, so that
// stopping it also stops what it forked (a proxy's --workers) and nothing outlives the benchmark,
// however it ends.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** The stdout line that said the child was ready. */
  readonly readyLine: string;
}

/** How long a child may take to say it is ready (tsx compiles on the way). */
const START_TIMEOUT_MS = 60_000;
/** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;

const started: ChildProcess[] = [];

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

process.on('exit', () => {
  for (const child of started) signalGroup(child, 'SIGKILL');
});

/**
 * Starts `node [nodeArgs] --import tsx <args>` and resolves once a line of its stdout passes
 * `readyWhen`; rejects if it exits or stays silent too long (with the end of its output).
 */
export function startChild(
  args: readonly string[],
  readyWhen: (line: string) => boolean,
  nodeArgs: readonly string[] = [],
): Promise<Child> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    let ready = false;
    const tail = (): string => output.slice(-2000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (ready) return;
      output += chunk.toString();
      const line = output.split('\n').find(readyWhen);
      if (line !== undefined && child.pid !== undefined) {
        ready = true;
        resolve({ process: child, pid: child.pid, readyLine: line });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (!ready) output += chunk.toString();
    });
    child.on('exit', (code) =>
      reject(new Error(`${args.join(' ')} exited with ${code}: ${tail()}`)),
    );
    setTimeout(
      () => reject(new Error(`${args.join(' ')} did not start: ${tail()}`)),
      START_TIMEOUT_MS,
    ).unref();
  });
}

/** SIGTERM to the child's group, SIGKILL if it has not exited a few seconds later. */
export async function stopChild(child: Child): Promise<void> {
  const proc = child.process;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  signalGroup(proc, 'SIGTERM');
  const killer = setTimeout(() => signalGroup(proc, 'SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(killer);
  // Its workers may outlive the primary by a moment: make sure the group is gone.
  signalGroup(proc, 'SIGKILL');
}

/** A port free on 127.0.0.1 a moment ago (the child that gets it binds it at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  return port;
}

/** The byte pipe of bench/helpers/byte-pipe.ts in front of one node, on a port of its own. */
export async function startBytePipe(node: {
  host: string;
  port: number;
}): Promise<Child & { port: number }> {
  const port = await freePort();
  const child = await startChild(
    ['bench/helpers/byte-pipe.ts', String(port), node.host, String(node.port)],
    (l) => l.includes('pipe is ready'),
  );
  return { ...child, port };
}

/** The proxy (src/main.ts) with `args` (the upstream, --workers...), on a port of its own. */
export async function startProxy(
  args: readonly string[],
  nodeArgs: readonly string[] = [],
): Promise<Child & { port: number }> {
  const port = await freePort();
  const child = await startChild(
    ['src/main.ts', ...args, '--bind', `127.0.0.1:${port}`],
    (l) => l.includes('proxy is ready'),
    nodeArgs,
  );
  return { ...child, port };
}

/** The proxy's arguments for one node of the simulator as its contact point, with its token. */
export function upstreamArgs(node: { host: string; port: number }, token: string): string[] {
  return [
    '--contact-points',
    node.host,
    '--port',
    String(node.port),
    '--username',
    'token',
    '--password',
    token,
  ];
}
