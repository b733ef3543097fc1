// --workers N: what each worker gets of the process-wide client limits (src/ops/workers.ts).

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import type { Config } from '../../src/config/config.js';
import { restartDelayMs } from '../../src/ops/workers-primary.js';
import { workerConfig } from '../../src/ops/workers.js';

function config(argv: string[]): Config {
  const parsed = parseConfig(['--contact-points', '127.0.0.1', ...argv], {}, () => '');
  if (!('config' in parsed)) throw new Error(JSON.stringify(parsed));
  return parsed.config;
}

describe('workerConfig', () => {
  it('gives each of N workers 1/N of --max-client-connections and of --memory-budget', () => {
    const c = workerConfig(
      config(['--workers', '4', '--max-client-connections', '1000', '--memory-budget', '64MiB']),
    );
    expect(c.maxClientConnections).toBe(250);
    expect(c.memoryBudget).toBe(16 * 1024 * 1024);
  });

  it('leaves an auto memory budget to each worker (a quarter of its own heap)', () => {
    expect(workerConfig(config(['--workers', '2'])).memoryBudget).toBeUndefined();
  });

  it('never goes below one connection', () => {
    expect(
      workerConfig(config(['--workers', '3', '--max-client-connections', '2']))
        .maxClientConnections,
    ).toBe(1);
  });

  it('takes auto as one worker per CPU', () => {
    expect(config(['--workers', 'auto']).workers).toBeGreaterThanOrEqual(1);
    expect(config([]).workers).toBe(1);
  });
});

describe('restartDelayMs', () => {
  it('restarts at once, then backs off by doubling up to 30 s while the worker keeps dying', () => {
    expect([1, 2, 3, 4, 5, 8, 20].map(restartDelayMs)).toEqual([
      0, 500, 1000, 2000, 4000, 30_000, 30_000,
    ]);
  });
});
