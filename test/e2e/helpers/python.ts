// The Debian Python driver (python3-cassandra) as a child process: drivers/python/scenario.py runs
// the scenario and prints one JSON line, or, in watch mode, waits for a table to appear in its
// schema metadata (which only SCHEMA_CHANGE events through the proxy can make happen).

import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../drivers/python/scenario.py', import.meta.url));
const RUN_TIMEOUT_MS = 90_000;
const WATCH_TIMEOUT_MS = 30_000;

export interface PythonOptions {
  host: string;
  port: number;
  protocol: number;
  /** 'lz4' | 'snappy', or false for none. */
  compression: string | false;
  keyspace: string;
  rows?: number;
  /** Connect with the driver's own Astra support (cloud bundle) instead of host/port. */
  bundle?: string;
  /** Password of user `token` (the simulator's auth, bundle or contact points). */
  token?: string;
  /** Another user than `token`, logging in with `token` as its password (client auth tests). */
  username?: string;
}

/** What scenario.py prints. */
export interface PythonReport {
  hosts: number;
  protocol: number;
  releaseVersion: string;
  compressed: boolean;
  /** v5: [checksummed segments, segments compressed]; null before v5. */
  segments: [boolean, boolean] | null;
  typesRoundTrip: boolean;
  counter: number;
  /** Length of a 300,000-character text read back (-1 if it came back different). */
  largeValue: number;
  rowsPaged: number;
  pages: number;
  batchRows: number;
  useKeyspace: string;
  metadataTables: string[];
}

function lastJsonLine(stdout: string): unknown {
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as unknown;
}

export function runPythonScenario(options: PythonOptions): Promise<PythonReport> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [SCRIPT, JSON.stringify(options)],
      { timeout: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(new Error(`python driver failed: ${err.message}\n${stderr}`));
          return;
        }
        try {
          resolve(lastJsonLine(stdout) as PythonReport);
        } catch {
          reject(new Error(`python driver printed no JSON line:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

export interface PythonWatcher {
  /** Connected through the proxy, with its schema metadata loaded. */
  readonly ready: Promise<void>;
  /** The watched table showed up in the driver's metadata. */
  readonly seen: Promise<string>;
  kill(): void;
}

/** Starts a Python client that waits for `keyspace.table` to appear in its metadata. */
export function watchForTable(
  options: Omit<PythonOptions, 'rows'> & { table: string },
): PythonWatcher {
  const { table, ...rest } = options;
  const child = spawn(PYTHON, [SCRIPT, JSON.stringify({ ...rest, watch_table: table })], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), WATCH_TIMEOUT_MS);
  let markReady: () => void = () => undefined;
  let markSeen: (table: string) => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    fail = reject;
  });
  const seen = new Promise<string>((resolve, reject) => {
    markSeen = resolve;
    const previous = fail;
    fail = (err) => {
      previous(err);
      reject(err);
    };
  });
  // Whoever awaits only one of them must not leave the other rejected and unhandled.
  ready.catch(() => undefined);
  seen.catch(() => undefined);
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line) as { ready?: boolean; seen?: string };
    if (message.ready === true) markReady();
    if (message.seen !== undefined) markSeen(message.seen);
  });
  child.on('exit', (code, signal) => {
    clearTimeout(timer);
    fail(new Error(`python watcher exited (${code ?? signal}) before seeing ${table}: ${stderr}`));
  });
  return {
    ready,
    seen,
    kill: () => {
      clearTimeout(timer);
      child.kill('SIGKILL');
    },
  };
}

export type GuardrailOutcome = { written: true } | { error: string; message: string };

/**
 * One write at `consistency` (a level name) into `keyspace`.kv through the Python driver
 * (scenario.py guardrail mode). The error message is the driver's text around the server's.
 */
export function runPythonGuardrail(options: {
  host: string;
  port: number;
  keyspace: string;
  consistency: string;
}): Promise<GuardrailOutcome> {
  const { consistency, ...rest } = options;
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [SCRIPT, JSON.stringify({ ...rest, protocol: 4, guardrail: consistency })],
      { timeout: RUN_TIMEOUT_MS },
      (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`python driver failed: ${err.message}\n${stderr}`));
        else resolve(lastJsonLine(stdout) as GuardrailOutcome);
      },
    );
  });
}

export interface PreparedProbe {
  /** The statement is prepared and was executed `runs` times. */
  readonly ready: Promise<void>;
  /** Runs it `runs` more times; resolves with how often the driver had to re-prepare it. */
  runAgain(): Promise<number>;
  kill(): void;
}

/**
 * A Python client that prepares `query` (one text bind marker) and executes it, then waits for
 * runAgain() (scenario.py prepared_probe mode).
 */
export function pythonPreparedProbe(
  options: Omit<PythonOptions, 'rows' | 'keyspace'> & { query: string; runs: number },
): PreparedProbe {
  const { query, runs, ...rest } = options;
  const child = spawn(
    PYTHON,
    [SCRIPT, JSON.stringify({ ...rest, rows: runs, prepared_probe: query })],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), WATCH_TIMEOUT_MS);
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const line = (field: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.find((l) => field in l);
        if (found !== undefined) resolve(found);
        else waiters.push(check);
      };
      check();
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`python probe exited before "${field}": ${stderr}`));
      });
    });
  const ready = line('ready').then(() => undefined);
  ready.catch(() => undefined);
  return {
    ready,
    runAgain: async () => {
      child.stdin.write('go\n');
      return Number((await line('reprepared')).reprepared);
    },
    kill: () => {
      clearTimeout(timer);
      child.kill('SIGKILL');
    },
  };
}
