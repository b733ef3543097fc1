// The processes a hostile-clients run drives: the simulator and the proxy, each a child process in
// its own process group (so the proxy's RSS and descriptors are its own), plus what is read about
// them from /proc: resident memory, descriptor count, and an RSS cap that kills a runaway proxy.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

const children = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Kills every child still running: on exit, and on Ctrl-C. */
export function killAllChildren(): void {
  for (const child of children) killGroup(child, 'SIGKILL');
}
process.on('exit', killAllChildren);

/** A port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What `npm run sim` prints (the fields used here). */
export interface SimInfo {
  readonly token: string;
  readonly port: number;
  readonly contactPoints: readonly string[];
  readonly adminUrl: string;
}

export interface SimProcess {
  readonly info: SimInfo;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts `sim/main.ts` with tsx in `cwd`; resolves once it printed its JSON line. */
export async function startSimulator(cwd: string, nodes: number): Promise<SimProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'sim/main.ts', '--nodes', String(nodes), '--protocol-versions', '3,4'],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error('the simulator did not start in 60 s')),
      60_000,
    );
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the simulator exited with ${code}: ${stderr}`));
    });
  });
  return {
    info: JSON.parse(line) as SimInfo,
    pid: child.pid ?? -1,
    stop: async () => {
      killGroup(child, 'SIGTERM');
      if (child.exitCode === null && child.signalCode === null) {
        await Promise.race([once(child, 'exit'), sleep(3_000)]);
      }
      killGroup(child, 'SIGKILL');
      children.delete(child);
    },
  };
}

/** One JSON log line of the proxy. */
export type LogLine = Record<string, unknown> & { level?: number; msg?: string };

export interface ProxyOptions {
  /** dist/main.js of the build under test. */
  readonly proxyPath: string;
  readonly sim: SimInfo;
  readonly extraArgs?: readonly string[];
  /** Start under `prlimit --nofile=N:N`. */
  readonly nofile?: number;
}

/** The proxy under test, as a child process. */
export class ProxyProcess {
  readonly logs: LogLine[] = [];
  /** Log lines beyond the ones kept. */
  droppedLogs = 0;
  /** Lines on stdout that were not JSON, and stderr. */
  otherOutput = '';
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;

  private readonly child: ChildProcess;
  readonly port: number;
  readonly httpPort: number;

  private constructor(child: ChildProcess, port: number, httpPort: number) {
    this.child = child;
    this.port = port;
    this.httpPort = httpPort;
    let partial = '';
    child.stdout?.on('data', (c: Buffer) => {
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') continue;
        if (this.logs.length >= 50_000) {
          this.droppedLogs++;
          continue;
        }
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.otherOutput = (this.otherOutput + line + '\n').slice(-4000);
        }
      }
    });
    child.stderr?.on('data', (c: Buffer) => {
      this.otherOutput = (this.otherOutput + c.toString()).slice(-4000);
    });
    child.once('exit', (code, signal) => {
      this.exit = { code, signal, at: Date.now() };
      children.delete(child);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** Starts the proxy in contact-points mode against the simulator; resolves once it is ready. */
  static async start(options: ProxyOptions): Promise<ProxyProcess> {
    const port = await freePort();
    const httpPort = await freePort();
    const args = [
      options.proxyPath,
      '--contact-points',
      options.sim.contactPoints.join(','),
      '--port',
      String(options.sim.port),
      '--username',
      'token',
      '--password',
      options.sim.token,
      '--bind',
      `127.0.0.1:${port}`,
      '--http-bind',
      `127.0.0.1:${httpPort}`,
      '--health-check',
      '--metrics',
      '--log-level',
      'info',
      ...(options.extraArgs ?? []),
    ];
    const [command, argv] =
      options.nofile === undefined
        ? [process.execPath, args]
        : [
            'prlimit',
            [`--nofile=${options.nofile}:${options.nofile}`, '--', process.execPath, ...args],
          ];
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.add(child);
    const proxy = new ProxyProcess(child, port, httpPort);
    const deadline = Date.now() + 30_000;
    while (!proxy.logs.some((l) => l.msg === 'proxy is ready')) {
      if (!proxy.alive) {
        throw new Error(`the proxy exited (${JSON.stringify(proxy.exit)}): ${proxy.otherOutput}`);
      }
      if (Date.now() > deadline) {
        proxy.kill();
        throw new Error(`the proxy was not ready in 30 s: ${proxy.otherOutput}`);
      }
      await sleep(50);
    }
    return proxy;
  }

  /** Resident set in bytes, or undefined once the process is gone. */
  rss(): number | undefined {
    return statusField(this.pid, 'VmRSS');
  }

  /** The kernel's high-water mark of the resident set. */
  peakRss(): number | undefined {
    return statusField(this.pid, 'VmHWM');
  }

  /** Virtual memory size: what was allocated, touched or not. */
  vmSize(): number | undefined {
    return statusField(this.pid, 'VmSize');
  }

  /** The kernel's high-water mark of the virtual memory size. */
  vmPeak(): number | undefined {
    return statusField(this.pid, 'VmPeak');
  }

  /** Entries of /proc/<pid>/fd. */
  fds(): number | undefined {
    try {
      return readdirSync(`/proc/${this.pid}/fd`).length;
    } catch {
      return undefined;
    }
  }

  /** Warn (40) and above. */
  warnings(): LogLine[] {
    return this.logs.filter((l) => (l.level ?? 0) >= 40);
  }

  kill(): void {
    killGroup(this.child, 'SIGKILL');
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    killGroup(this.child, 'SIGKILL');
    await Promise.race([once(this.child, 'exit'), sleep(3_000)]);
  }
}

function statusField(pid: number, field: string): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Samples the proxy's RSS every 100 ms, keeps the peak, and kills the proxy once it passes `cap`
 * bytes: a scenario in which the proxy grows without bound still ends, with the cap as its figure.
 */
export class RssWatch {
  peak = 0;
  /** Seconds since `since` at which the cap was passed. */
  cappedAt: number | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly since = Date.now();

  private readonly proxy: ProxyProcess;
  readonly cap: number;

  constructor(proxy: ProxyProcess, cap: number) {
    this.proxy = proxy;
    this.cap = cap;
    this.timer = setInterval(() => this.sample(), 100);
    this.sample();
  }

  private sample(): void {
    const rss = this.proxy.rss();
    if (rss === undefined) return;
    if (rss > this.peak) this.peak = rss;
    if (rss > this.cap && this.cappedAt === undefined) {
      this.cappedAt = (Date.now() - this.since) / 1000;
      this.proxy.kill();
    }
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

/** The sum of every sample of a Prometheus metric in `text`, or undefined if it is absent. */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{'))
      continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** GET with a deadline: the status and body, or why there was none. */
export async function httpGet(
  url: string,
  timeoutMs: number,
): Promise<{ status: number; body: string; ms: number } | { error: string; ms: number }> {
  const t0 = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    return { status: response.status, body, ms: performance.now() - t0 };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    const name = err instanceof Error ? err.name : String(err);
    return {
      error: cause ?? (name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : name),
      ms: performance.now() - t0,
    };
  }
}
