// The Dockerfile and .dockerignore, checked without a container engine: lint (dockerfile-utils,
// every rule as an error), the shape of the two stages, the environment the image starts with
// (parsed by the proxy's own configuration parser), the HEALTHCHECK command run against a local
// HTTP server, and the build context the whitelist lets through.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationSeverity, validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { parseConfig } from '../../src/config/parse.js';
import { OPTIONS, OPTIONS_BY_NAME } from '../../src/config/schema.js';
import { execForm, parseDockerfile, readDockerfile, stageEnv, type Stage } from './dockerfile.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readDockerfile();

const ALL_ERRORS = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

function stage(index: number): Stage {
  const s = dockerfile.stages.at(index);
  if (s === undefined) throw new Error(`no stage ${index}`);
  return s;
}

function args(s: Stage, keyword: string): string[] {
  return s.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

function noFile(path: string): string {
  throw new Error(`no file ${path}`);
}

/** The configuration the runtime stage's environment makes, with a cluster given at run time. */
function imageConfig(): Config {
  const env = Object.fromEntries(stageEnv(stage(-1)));
  const result = parseConfig([], { ...env, CONTACT_POINTS: '10.0.0.1' }, noFile);
  if (!('config' in result)) throw new Error(JSON.stringify(result));
  return result.config;
}

function only(s: Stage, keyword: string): string {
  const all = args(s, keyword);
  expect(all, `one ${keyword}`).toHaveLength(1);
  return all[0] ?? '';
}

describe('Dockerfile lint', () => {
  it('has no diagnostic from dockerfile-utils, with every rule raised to an error', () => {
    expect(validate(dockerfile.text, ALL_ERRORS)).toStrictEqual([]);
  });

  it('the linter is live: it reports broken instructions', () => {
    const broken = `${dockerfile.text}\nEXPOSE port\nHEALTHCHECK CMD\nUSER\n`;
    const messages = validate(broken, ALL_ERRORS).map((d) => d.message);
    expect(messages).toContain('Invalid containerPort: port');
    expect(messages).toContain('Missing command after HEALTHCHECK CMD');
    expect(messages).toContain('Instruction has no arguments');
  });
});

describe('Dockerfile stages', () => {
  const build = stage(0);
  const runtime = stage(-1);

  it('is multi-stage: a named build stage, then the runtime stage', () => {
    expect(dockerfile.stages).toHaveLength(2);
    expect(build.name).toBe('build');
    expect(runtime.name).toBeUndefined();
  });

  it('both stages use an official Node 20+ image on Debian (glibc, for the native codecs)', () => {
    for (const s of dockerfile.stages) {
      const m = /^node:(\d+)(?:\.\d+)*-(bookworm|trixie)(-slim)?$/.exec(s.from);
      expect(m, s.from).not.toBeNull();
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(20);
    }
    expect(runtime.from).toBe(build.from);
    expect(runtime.from).toMatch(/-slim$/);
    // package.json's engines must accept the image's major version.
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toMatch(/^>=20(\.\d+)*$/);
  });

  it('the build stage installs with the lockfile, builds, runs the unit tests, then prunes', () => {
    const runs = args(build, 'RUN');
    const step = (pattern: RegExp): number => runs.findIndex((r) => pattern.test(r));
    const ci = step(/^npm ci\b/);
    const compile = step(/^npm run build$/);
    const test = step(/^npx vitest run test\/protocol test\/config$/);
    const prune = step(/^npm prune --omit=dev$/);
    expect(
      [ci, compile, test, prune].every((i) => i >= 0),
      runs.join(' | '),
    ).toBe(true);
    expect(ci).toBeLessThan(compile);
    expect(compile).toBeLessThan(test);
    expect(test).toBeLessThan(prune);
  });

  it('the runtime stage copies only package.json, production node_modules and dist from the build', () => {
    const copies = args(runtime, 'COPY');
    expect(copies).toStrictEqual([
      '--from=build /app/package.json ./',
      '--from=build /app/node_modules ./node_modules',
      '--from=build /app/dist ./dist',
    ]);
    expect(args(runtime, 'ADD')).toStrictEqual([]);
    expect(args(runtime, 'RUN')).toStrictEqual([]);
  });

  it('runs as the unprivileged node user, set before the entry point', () => {
    const user = only(runtime, 'USER');
    expect(user).toBe('node');
    const at = (keyword: string): number =>
      runtime.instructions.findIndex((i) => i.keyword === keyword);
    expect(at('USER')).toBeLessThan(at('ENTRYPOINT'));
  });

  // What the image's environment means is read by the proxy's own parser, not compared with
  // copies of its ENV lines.
  it('listens on every interface with health checks on, and exposes the ports it listens on', () => {
    const config = imageConfig();
    expect(config.bind.host).toBe('0.0.0.0');
    expect(config.httpBind.host).toBe('0.0.0.0');
    expect(config.healthCheck).toBe(true);
    expect(only(runtime, 'EXPOSE').split(/\s+/)).toStrictEqual([
      String(config.bind.port),
      String(config.httpBind.port),
    ]);
  });

  it('sets only settings of the proxy (and NODE_ENV) in its environment', () => {
    const known = new Set(OPTIONS.flatMap((o) => (o.env === undefined ? [] : [o.env])));
    for (const s of dockerfile.stages) {
      for (const key of stageEnv(s).keys()) {
        if (key !== 'NODE_ENV') expect(known, key).toContain(key);
      }
    }
  });

  it('bakes in no secret: no setting marked secret, nor the file it is read from, in ENV or ARG', () => {
    // From the option table: a setting added with `secret: true` is covered here at once.
    const secretVariables = OPTIONS.filter((o) => o.secret === true)
      .flatMap((o) => [o, OPTIONS_BY_NAME.get(`${o.name}-file`)])
      .flatMap((o) => (o?.env === undefined ? [] : [o.env]));
    expect(secretVariables.length).toBeGreaterThan(0);
    const argNames = (s: Stage): string[] => args(s, 'ARG').map((a) => a.split('=')[0] ?? '');
    const baked = [
      ...dockerfile.stages.flatMap((s) => [...stageEnv(s).keys(), ...argNames(s)]),
      ...dockerfile.globalArgs.keys(),
    ];
    for (const name of secretVariables) expect(baked).not.toContain(name);
  });

  it('the entry point is node on the compiled main, in exec form (signals reach node)', () => {
    expect(execForm(only(runtime, 'ENTRYPOINT'))).toStrictEqual(['node', 'dist/main.js']);
    expect(args(runtime, 'CMD')).toStrictEqual([]);
    expect(existsSync(join(ROOT, 'src/main.ts'))).toBe(true);
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
  });

  it("the image's environment is a valid configuration once a mode is given, and no more", () => {
    imageConfig();
    // Nothing in the image chooses a cluster or holds a credential: it needs the operator's.
    const alone = parseConfig([], Object.fromEntries(stageEnv(runtime)), noFile);
    if (!('error' in alone)) throw new Error(`accepted: ${JSON.stringify(alone)}`);
    expect(alone.exitCode).toBe(2);
    expect(alone.error).toMatch(/--contact-points/);
  });

  it('the reader follows continuations, comments, legacy ENV and ARG substitution', () => {
    const d = parseDockerfile(
      [
        'ARG BASE=node:22-bookworm-slim',
        'from ${BASE} as b',
        'RUN a \\',
        '  # a comment inside',
        '  && b',
        'FROM $BASE',
        'ENV A=1 B="two words" \\',
        '    C=3',
        'ENV LEGACY some value',
      ].join('\n'),
    );
    expect(d.stages.map((s) => [s.from, s.name])).toStrictEqual([
      ['node:22-bookworm-slim', 'b'],
      ['node:22-bookworm-slim', undefined],
    ]);
    expect(d.stages[0]?.instructions).toStrictEqual([{ keyword: 'RUN', args: 'a && b', line: 3 }]);
    const env = d.stages[1] === undefined ? undefined : Object.fromEntries(stageEnv(d.stages[1]));
    expect(env).toStrictEqual({ A: '1', B: 'two words', C: '3', LEGACY: 'some value' });
  });
});

describe('HEALTHCHECK', () => {
  const healthcheck = only(stage(-1), 'HEALTHCHECK');
  const match = /^((?:--\S+\s+)*)CMD\s+(.*)$/s.exec(healthcheck);
  const command = execForm(match?.[2] ?? '') ?? [];
  const script = command[2] ?? '';

  let server: Server;
  let port = 0;
  let liveness = 200;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/liveness' ? liveness : 404;
      res.end(req.url === '/liveness' && liveness === 200 ? 'ok' : '');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((done) => server.close(() => done()));
  });

  /** Runs the check as Docker would, with the image's HTTP_BIND pointing at our server. */
  function check(httpBind: string): Promise<number> {
    return new Promise((done) => {
      const child = execFile(
        process.execPath,
        command.slice(1),
        { env: { PATH: process.env.PATH ?? '', HTTP_BIND: httpBind }, timeout: 10_000 },
        () => done(child.exitCode ?? -1),
      );
    });
  }

  it('is node -e in exec form (no shell and no curl in a slim image), with options', () => {
    expect(command.slice(0, 2)).toStrictEqual(['node', '-e']);
    expect(script).toContain('/liveness');
    // HTTP_BIND without a port (an IP alone) means the proxy's default port.
    expect(script).toContain("'8000'");
    const options = match?.[1] ?? '';
    for (const option of ['--interval=', '--timeout=', '--start-period=', '--retries=']) {
      expect(options).toContain(option);
    }
  });

  it('exits 0 when /liveness answers 200, on the port of HTTP_BIND', async () => {
    liveness = 200;
    expect(await check(`0.0.0.0:${port}`)).toBe(0);
  });

  it('exits 1 when /liveness answers an error', async () => {
    liveness = 503;
    expect(await check(`0.0.0.0:${port}`)).toBe(1);
    liveness = 200;
  });

  it('exits 1 when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    expect(await check(`0.0.0.0:${freePort}`)).toBe(1);
  });
});

// --- .dockerignore

interface IgnoreRule {
  negate: boolean;
  pattern: RegExp;
}

/** Docker's rules: Go filepath.Match plus `**`; a pattern also covers what is under a match. */
function ignoreRules(text: string): IgnoreRule[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const body = (negate ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
      let source = '';
      for (let i = 0; i < body.length; i++) {
        const ch = body[i] ?? '';
        if (body.startsWith('**/', i)) {
          source += '(?:.*/)?';
          i += 2;
        } else if (body.startsWith('**', i)) {
          source += '.*';
          i += 1;
        } else if (ch === '*') source += '[^/]*';
        else if (ch === '?') source += '[^/]';
        else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, pattern: new RegExp(`^${source}$`) };
    });
}

function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((p) => rule.pattern.test(p))) ignored = !rule.negate;
  }
  return ignored;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('.dockerignore', () => {
  const rules = ignoreRules(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
  const build = stage(0);
  const contextSources = args(build, 'COPY')
    .filter((a) => !a.startsWith('--from'))
    .flatMap((a) => a.split(/\s+/).slice(0, -1));

  it('leaves out installed and built output, coverage, git, logs and secrets', () => {
    for (const path of [
      'node_modules/yaml/package.json',
      'dist/main.js',
      'coverage/index.html',
      '.git/config',
      'proxy.log',
      'secure-connect-mydb.zip',
      'src/secure-connect-mydb.zip',
      'test/config/key.pem',
      '.env',
      'src/node_modules/x.js',
      'test/e2e/cli.test.ts',
      'bench/e2e.ts',
      'examples/kubernetes/sidecar.yaml',
    ]) {
      expect(isIgnored(rules, path), path).toBe(true);
    }
  });

  it('lets through every file the build stage copies, and the lockfile', () => {
    expect(contextSources).toContain('package-lock.json');
    for (const source of contextSources) {
      const path = join(ROOT, source);
      expect(existsSync(path), source).toBe(true);
      const files = statSync(path).isDirectory() ? filesUnder(path) : [path];
      for (const file of files) {
        expect(isIgnored(rules, relative(ROOT, file)), relative(ROOT, file)).toBe(false);
      }
    }
  });

  it('the tests run in the image import nothing outside what the build stage copies', () => {
    const copied = contextSources.map((s) => resolve(ROOT, s));
    const testFiles = contextSources
      .filter((s) => s.startsWith('test/'))
      .flatMap((s) => filesUnder(join(ROOT, s)));
    expect(testFiles.length).toBeGreaterThan(10);
    for (const file of testFiles) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = resolve(dirname(file), (m[1] ?? '').replace(/\.js$/, '.ts'));
        const inside = copied.some((c) => target === c || target.startsWith(`${c}/`));
        expect(inside, `${relative(ROOT, file)} imports ${m[1] ?? ''}`).toBe(true);
      }
    }
  });

  it('the matcher follows Docker: last match wins, a directory covers its files', () => {
    const r = ignoreRules('*\n!src/\n**/*.zip\n# comment\n!keep.zip\n');
    expect(isIgnored(r, 'README.md')).toBe(true);
    expect(isIgnored(r, 'src/a/b.ts')).toBe(false);
    expect(isIgnored(r, 'src/a/b.zip')).toBe(true);
    expect(isIgnored(r, 'keep.zip')).toBe(false);
  });
});
