// Shared by the config tests: parseConfig over an in-memory file system, and assertions that the
// result is a config or one error line with exit code 2.

import { expect } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { parseConfig, type ParseConfigResult } from '../../src/config/parse.js';

export const DB_ID = '3f1c2e6a-0d4b-4a8e-9d7e-5b8f0c1a2b3c';

export function run(
  argv: string[],
  env: Record<string, string | undefined> = {},
  files: Record<string, string> = {},
): ParseConfigResult {
  return parseConfig(argv, env, (path) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  });
}

export function ok(
  argv: string[],
  env: Record<string, string | undefined> = {},
  files: Record<string, string> = {},
): Config {
  const result = run(argv, env, files);
  if (!('config' in result)) throw new Error(`expected a config, got ${JSON.stringify(result)}`);
  return result.config;
}

export function fails(
  argv: string[],
  env: Record<string, string | undefined> = {},
  files: Record<string, string> = {},
): string {
  const result = run(argv, env, files);
  if (!('error' in result)) throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  expect(result.exitCode).toBe(2);
  expect(result.error).not.toContain('\n');
  return result.error;
}
