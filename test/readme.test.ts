// README.md stays true: its YAML example is a configuration the proxy accepts, every flag it
// mentions exists, every `npm run` script it names is in package.json, and every folder of its map
// is in the repository. (The flag tables themselves: test/scripts/flags-table.test.ts.)

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/parse.js';
import { OPTIONS, renderHelp } from '../src/config/schema.js';
import { Consistency } from '../src/protocol/constants.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(`${ROOT}README.md`, 'utf8');
const packageJson = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
  scripts: Record<string, string>;
};

/** The bodies of the fenced blocks of one language. */
function fenced(language: string): string[] {
  const blocks: string[] = [];
  const pattern = new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\``, 'gm');
  for (const match of readme.matchAll(pattern)) blocks.push(match[1] ?? '');
  return blocks;
}

/**
 * The options a benchmark script accepts: the names in its parseArgs table (`name: { type: ...`),
 * read from its source, so that the README cannot show an option a benchmark has lost.
 */
function benchOptions(file: string): Set<string> {
  const source = readFileSync(`${ROOT}${file}`, 'utf8');
  const names = [...source.matchAll(/^\s+'?([a-z][a-z0-9-]*)'?: \{ type: '(?:string|boolean)'/gm)];
  return new Set(names.map((m) => `--${m[1] ?? ''}`));
}

/** `npm run bench:x` and `npx tsx bench/x.ts` commands of the README, with the script each runs. */
function benchCommands(): { command: string; file: string }[] {
  const commands: { command: string; file: string }[] = [];
  for (const [, span] of readme.matchAll(/`((?:npm run bench:[a-z0-9]+|npx tsx bench\/)[^`]*)`/g)) {
    const command = span ?? '';
    const script = /^npm run (bench:[a-z0-9]+)/.exec(command)?.[1];
    const file =
      script === undefined
        ? /^npx tsx (bench\/[a-z0-9-]+\.ts)/.exec(command)?.[1]
        : /tsx (bench\/[a-z0-9-]+\.ts)/.exec(packageJson.scripts[script] ?? '')?.[1];
    if (file === undefined) throw new Error(`no benchmark script for ${command}`);
    commands.push({ command, file });
  }
  return commands;
}

/** Options of the other programs the README shows: the demo, the simulator, flags-table, and the
 * outside tools (npm, docker, kubectl). The benchmarks' come from their sources (benchOptions). */
const OTHER_FLAGS = new Set([
  // npm run demo, npm run sim, scripts/flags-table.ts
  '--bind',
  '--nodes',
  '--out',
  '--token',
  '--protocol-versions',
  '--port',
  '--region',
  '--authenticator',
  '--user',
  '--schema-delay',
  '--write',
  '--check',
  // npm, docker, kubectl, tsc, prettier
  '--silent',
  '--rm',
  '--from-literal',
  '--from-file',
  '--noEmit',
]);

type Source = 'flags' | 'environment' | 'file' | 'defaults';

/** The order a text gives after "Precedence:" (highest first), as sources. */
function statedPrecedence(text: string, where: string): Source[] {
  const stated = /Precedence: ([^\n]*?)\.(?:\*\*|\n|$)/.exec(text)?.[1];
  if (stated === undefined) throw new Error(`${where} states no order of precedence`);
  return stated.split('>').map((part): Source => {
    if (/flag/i.test(part)) return 'flags';
    if (/environment/i.test(part)) return 'environment';
    if (/file/i.test(part)) return 'file';
    if (/default/i.test(part)) return 'defaults';
    throw new Error(`${where}: '${part.trim()}' is not a source of settings`);
  });
}

/**
 * The order the parser applies: --request-timeout given a different value by each source, the
 * winner is noted and left out, until only the default is left.
 */
function measuredPrecedence(): Source[] {
  const value: Record<Exclude<Source, 'defaults'>, number> = {
    flags: 1000,
    environment: 2000,
    file: 3000,
  };
  const left = new Set(['flags', 'environment', 'file'] as const);
  const order: Source[] = [];
  for (let round = 0; round < 3; round++) {
    const argv = ['--config', 'f.yaml', '--contact-points', '10.0.0.1'];
    if (left.has('flags')) argv.push('--request-timeout', '1s');
    const env = left.has('environment') ? { REQUEST_TIMEOUT: '2s' } : {};
    const file = left.has('file') ? 'request-timeout: 3s\n' : '{}\n';
    const result = parseConfig(argv, env, () => file);
    if (!('config' in result)) throw new Error(JSON.stringify(result));
    const winner = [...left].find((s) => value[s] === result.config.requestTimeoutMs);
    if (winner === undefined) throw new Error(`${result.config.requestTimeoutMs} ms is from none`);
    order.push(winner);
    left.delete(winner);
  }
  order.push('defaults');
  return order;
}

describe('README.md', () => {
  it('shows a YAML configuration the proxy accepts, with the values it says', () => {
    const [yaml, ...others] = fenced('yaml');
    expect(others).toEqual([]);
    expect(yaml).toBeDefined();
    const parsed = parseConfig(['--config', 'proxy.yaml'], {}, (path) =>
      path === 'proxy.yaml' ? (yaml ?? '') : 'AstraCS:abc:def\n',
    );
    if (!('config' in parsed))
      throw new Error(`the README's YAML is refused: ${JSON.stringify(parsed)}`);
    const { config } = parsed;
    expect(config.astraBundle).toBe('/etc/cql-proxy/secure-connect-mydb.zip');
    expect(config.astraToken).toBe('AstraCS:abc:def');
    expect(config.bind).toEqual({ host: '0.0.0.0', port: 9042 });
    expect(config.requestTimeoutMs).toBe(5000);
    expect(config.unsupportedWriteConsistencies).toEqual([
      Consistency.ANY,
      Consistency.ONE,
      Consistency.LOCAL_ONE,
    ]);
    expect(config.healthCheck).toBe(true);
    expect(config.metrics).toBe(true);
    expect(config.peers).toEqual([{ rpcAddress: '10.0.0.2', dataCenter: 'us-east1' }]);
  });

  it('states the order of precedence the parser applies, as --help does', () => {
    const measured = measuredPrecedence();
    expect(measured).toEqual(['flags', 'environment', 'file', 'defaults']);
    expect(statedPrecedence(readme, 'README.md')).toEqual(measured);
    expect(statedPrecedence(renderHelp(), '--help')).toEqual(measured);
  });

  it('mentions only flags that exist', () => {
    const proxyFlags = new Set([...OPTIONS.map((o) => `--${o.name}`), '--help', '--version']);
    // `--cluster-*` in prose stands for the family: it is left out.
    const mentioned = new Set(
      (readme.match(/(?<![\w-])--[a-zA-Z][a-zA-Z0-9-]*\*?/g) ?? []).filter((f) => !f.endsWith('*')),
    );
    const benchFlags = new Set(benchCommands().flatMap(({ file }) => [...benchOptions(file)]));
    const unknown = [...mentioned].filter(
      (f) => !proxyFlags.has(f) && !OTHER_FLAGS.has(f) && !benchFlags.has(f),
    );
    expect(unknown).toEqual([]);
    // And the tables are not the only place the main flags appear.
    expect(mentioned).toContain('--astra-bundle');
    expect(mentioned).toContain('--contact-points');
  });

  it('gives each benchmark command only options that benchmark accepts', () => {
    const commands = benchCommands();
    expect(commands.map((c) => c.file)).toContain('bench/e2e.ts');
    expect(commands.map((c) => c.file)).toContain('bench/proxy-overhead.ts');
    for (const { command, file } of commands) {
      const accepted = benchOptions(file);
      // The script's own options; --workers and the like of the proxy it starts are its own too.
      const given = command.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? [];
      expect(
        given.filter((f) => !accepted.has(f)),
        command,
      ).toEqual([]);
    }
  });

  it('names only npm scripts that package.json has', () => {
    const scripts = [...readme.matchAll(/npm (?:run (?:--silent )?)?([a-z0-9:]+)/g)]
      .map((m) => m[1] ?? '')
      .filter((s) => !['ci', 'run', 'install', 'i', 'pack'].includes(s));
    expect(scripts).toContain('demo');
    for (const script of new Set(scripts)) {
      if (script === 'test' || script === 'start') {
        expect(packageJson.scripts[script], script).toBeDefined();
      } else {
        expect(Object.keys(packageJson.scripts), script).toContain(script);
      }
    }
  });

  it('maps folders that exist', () => {
    const section = readme.slice(readme.indexOf('## Folders'));
    const folders = [...section.matchAll(/^\| `([^`*]+\/)`/gm)].map((m) => m[1] ?? '');
    expect(folders.length).toBeGreaterThan(8);
    for (const folder of folders) expect(existsSync(`${ROOT}${folder}`), folder).toBe(true);
  });
});
