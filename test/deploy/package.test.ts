// The npm package, installed like any Node tool: `npm pack` (its prepack builds dist/ afresh)
// gives a tarball of dist/, the README, the licence and package.json only; `npm install -g` of
// that tarball into a temporary prefix gives a `cql-proxy-ts` command, which answers --help and
// --version, directly and through npx.
//
// The pack runs in a copy of the sources, so the repository's own dist/ is never rebuilt under
// another process's feet. The install needs no network: the dependencies come from a registry on
// 127.0.0.1 that serves the lockfile's versions out of the npm cache `npm ci` filled
// (test/deploy/local-registry.ts).

import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cachedTarballPath,
  productionPackages,
  startLocalRegistry,
  type LocalRegistry,
} from './local-registry.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};
/** What `npm pack` may read: the package's files, what builds dist/, and what could exclude. */
const PACK_INPUTS = [
  'package.json',
  'README.md',
  'LICENSE',
  '.gitignore',
  'tsconfig.json',
  'tsconfig.build.json',
  'src',
];
/** Each npm step; the pack compiles the sources, which takes a while on a busy machine. */
const STEP_TIMEOUT_MS = 150_000;

interface Output {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a program with npm's settings from `npm test` (npm_config_*, npm_package_*) removed, so
 * only the flags given apply.
 */
function run(
  file: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<Output> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key)) env[key] = value;
  }
  Object.assign(env, { npm_config_update_notifier: 'false' }, options.env);
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env, timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err === null) resolve({ stdout, stderr });
        // err.message holds stderr; tsc, run by the pack's prepack, reports on stdout.
        else reject(new Error(`${err.message}\n${stdout.split('\n').slice(-30).join('\n')}`));
      },
    );
  });
}

interface PackResult {
  readonly filename: string;
  readonly version: string;
  readonly files: readonly { path: string }[];
}

let work: string;
let registry: LocalRegistry | undefined;
let packed: PackResult;
let tarball: string;
let prefix: string;
let command: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cql-proxy-package-'));
  const sources = join(work, 'sources');
  for (const input of PACK_INPUTS) {
    cpSync(join(ROOT, input), join(sources, input), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(sources, 'node_modules'), 'dir');

  const pack = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: sources });
  const results = JSON.parse(pack.stdout) as PackResult[];
  expect(results).toHaveLength(1);
  packed = results[0]!;
  tarball = join(work, packed.filename);

  const npmCache = (await run('npm', ['config', 'get', 'cache'], { cwd: work })).stdout.trim();
  registry = await startLocalRegistry(join(ROOT, 'package-lock.json'), join(npmCache, '_cacache'));
  prefix = join(work, 'prefix');
  try {
    await run(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--registry',
        registry.url,
        // A cache of its own: the real one only lends its tarballs, through the registry.
        '--cache',
        join(work, 'npm-cache'),
        '--no-audit',
        '--no-fund',
        tarball,
      ],
      { cwd: work },
    );
  } catch (err) {
    const uncached = registry.uncached;
    if (uncached.length === 0) throw err;
    throw new Error(
      `the npm cache holds no tarball of ${uncached.join(', ')}: run \`npm ci\` first`,
      { cause: err },
    );
  }
  command = join(prefix, 'bin', PACKAGE.name);
}, 4 * STEP_TIMEOUT_MS);

afterAll(async () => {
  await registry?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships dist/, the README, the licence and package.json, nothing else', () => {
    expect(packed.version).toBe(PACKAGE.version);
    const paths = packed.files.map((f) => f.path);
    const outside = paths.filter(
      (p) => !p.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(p),
    );
    expect(outside).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
    expect(paths).toContain(PACKAGE.bin[PACKAGE.name]);
    // Every source file is compiled: the build ran before the pack, and in full.
    expect(paths.filter((p) => p.endsWith('.js')).length).toBeGreaterThan(50);
    expect(paths.some((p) => p.endsWith('.ts'))).toBe(false);
  });

  it('names the program as its own command, run by node', () => {
    expect(PACKAGE.bin).toEqual({ [PACKAGE.name]: 'dist/main.js' });
    const main = readFileSync(join(ROOT, 'src/main.ts'), 'utf8');
    expect(main.split('\n')[0]).toBe('#!/usr/bin/env node');
  });
});

describe('npm install -g of the tarball', () => {
  it('installs the package with its production dependencies only', () => {
    const installed = join(prefix, 'lib', 'node_modules', PACKAGE.name);
    expect(readdirSync(installed).sort()).toEqual(
      ['LICENSE', 'README.md', 'dist', 'node_modules', 'package.json'].sort(),
    );
    const dependencies = readdirSync(join(installed, 'node_modules'));
    expect(dependencies).toEqual(expect.arrayContaining(['yargs', 'pino', 'prom-client']));
    for (const devOnly of ['typescript', 'vitest', 'cassandra-driver', 'tsx']) {
      expect(dependencies).not.toContain(devOnly);
    }
  });

  it('gives a cql-proxy-ts command that prints its version', async () => {
    const { stdout } = await run(command, ['--version'], { cwd: work });
    expect(stdout).toBe(`${PACKAGE.name} ${PACKAGE.version}\n`);
  });

  it('gives a cql-proxy-ts command that prints its help', async () => {
    const { stdout } = await run(command, ['--help'], { cwd: work });
    expect(stdout.startsWith(`Usage: ${PACKAGE.name} [options]\n`)).toBe(true);
    expect(stdout).toContain('--astra-bundle');
    expect(stdout).toContain('--contact-points');
  });

  it('runs through npx from the prefix it was installed in', async () => {
    // `--no`: fail rather than fetch the package from a registry; `--`: the flag is the program's.
    const { stdout } = await run('npx', ['--no', '--', PACKAGE.name, '--version'], {
      cwd: work,
      env: { npm_config_prefix: prefix },
    });
    expect(stdout).toBe(`${PACKAGE.name} ${PACKAGE.version}\n`);
  });
});

describe('the local registry', () => {
  it('serves the production packages of a lockfile, nested and scoped ones by their names', () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'app', version: '1.0.0' },
        'node_modules/a': { version: '1.0.0', integrity: 'sha512-AAAA', dependencies: { b: '^2' } },
        'node_modules/a/node_modules/b': { version: '2.1.0', integrity: 'sha512-BBBB' },
        'node_modules/b': { version: '3.0.0', integrity: 'sha512-CCCC', os: ['linux'] },
        'node_modules/@s/c': { version: '0.1.0', integrity: 'sha512-DDDD', optional: true },
        'node_modules/alias': { name: 'real', version: '4.0.0', integrity: 'sha512-EEEE' },
        'node_modules/tool': { version: '5.0.0', integrity: 'sha512-FFFF', dev: true },
      },
    };
    const packages = productionPackages(JSON.stringify(lock));
    expect([...packages.keys()].sort()).toEqual(['@s/c', 'a', 'b', 'real']);
    expect([...(packages.get('b')?.keys() ?? [])].sort()).toEqual(['2.1.0', '3.0.0']);
    expect(packages.get('b')?.get('3.0.0')?.manifest).toEqual({
      name: 'b',
      version: '3.0.0',
      os: ['linux'],
    });
    expect(packages.get('a')?.get('1.0.0')?.manifest.dependencies).toEqual({ b: '^2' });
  });

  it('finds a tarball in the npm cache by its integrity (cacache content-v2)', () => {
    const integrity = `sha512-${Buffer.from('0123456789abcdef', 'hex').toString('base64')}`;
    expect(cachedTarballPath('/cache/_cacache', integrity)).toBe(
      join('/cache/_cacache', 'content-v2', 'sha512', '01', '23', '456789abcdef'),
    );
  });
});
