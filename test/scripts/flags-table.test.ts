// scripts/flags-table.ts: the --help parser behind the README's flag tables, and the check that the
// README's tables say what --help says (so they cannot drift).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/config/schema.js';
import {
  END_MARKER,
  README,
  START_MARKER,
  helpText,
  normalise,
  parseHelp,
  readmeBlock,
  readmeIsCurrent,
  renderTables,
} from '../../scripts/flags-table.js';

describe('parseHelp', () => {
  const groups = parseHelp(helpText());
  const flags = groups.flatMap((g) => g.flags);
  const byLong = new Map(flags.map((f) => [f.long, f]));

  it('finds the six option groups of --help in order', () => {
    expect(groups.map((g) => g.name)).toEqual([
      'Astra',
      'Cluster',
      'Listener',
      'Limits',
      'Timeouts',
      'Operations',
    ]);
  });

  it('reads every option of the schema with its short name, environment variable and default', () => {
    for (const option of OPTIONS) {
      const flag = byLong.get(`--${option.name}`);
      expect(flag, option.name).toBeDefined();
      expect(flag?.short, option.name).toBe(option.short);
      expect(flag?.env, option.name).toBe(option.env);
      expect(flag?.noEnv, option.name).toBe(option.env === undefined);
      expect(flag?.default, option.name).toBe(option.default);
      expect(flag?.arg, option.name).toBe(option.arg);
      expect(flag?.description, option.name).toBe(option.help);
      expect(flag?.ours, option.name).toBe(option.ours === true);
      expect(flag?.group, option.name).toBe(option.group);
    }
  });

  it('keeps the YAML-only peers key, --help, --version and the group remarks', () => {
    expect(byLong.get('peers')?.description).toMatch(/YAML file only/);
    expect(byLong.has('--help')).toBe(true);
    expect(byLong.has('--version')).toBe(true);
    expect(flags).toHaveLength(OPTIONS.length + 3);
    expect(groups.find((g) => g.name === 'Cluster')?.notes).toEqual([
      'any --cluster-* option turns TLS to the contact points on',
    ]);
  });

  it('reads a line whose flag overflows its column', () => {
    const [group] = parseHelp(
      'Cluster:\n      --a-very-long-flag-name <levels>  text here  [env X; default 1s]\n',
    );
    expect(group?.flags[0]).toMatchObject({
      long: '--a-very-long-flag-name',
      arg: '<levels>',
      env: 'X',
      default: '1s',
      description: 'text here',
    });
  });

  it('refuses a line it cannot read rather than leave an option out', () => {
    expect(() => parseHelp('Astra:\n  --broken flag line\n')).toThrow(
      /cannot read this --help line/,
    );
    expect(() => parseHelp('Astra:\n  -x, --thing <v>  text  [env X; colour red]\n')).toThrow(
      /unknown note/,
    );
  });
});

describe('renderTables', () => {
  it('writes one row per flag, escaping pipes, marking new flags and options without env', () => {
    const markdown = renderTables([
      {
        name: 'G',
        notes: ['a remark'],
        flags: [
          {
            group: 'G',
            long: '--x',
            short: 'x',
            arg: '<a|b>',
            env: 'X',
            noEnv: false,
            default: '1',
            description: 'one | two',
            ours: true,
          },
          {
            group: 'G',
            long: '--y',
            short: undefined,
            arg: undefined,
            env: undefined,
            noEnv: true,
            default: undefined,
            description: 'why',
            ours: false,
          },
        ],
      },
    ]);
    expect(normalise(markdown)).toEqual([
      '**G**',
      'Flag | Environment | Default | Meaning',
      '`-x`, `--x <a\\|b>` | `X` | `1` | one \\| two _(new)_',
      '`--y` | none |  | why',
      'A remark.',
    ]);
  });
});

describe('README.md', () => {
  const readme = readFileSync(README, 'utf8');

  it('holds the flag tables between the markers', () => {
    expect(readme).toContain(START_MARKER);
    expect(readme).toContain(END_MARKER);
    expect(readmeBlock(readme)).toContain('`--astra-bundle <zip>`');
  });

  it('has flag tables equal to what --help says (regenerate: npx tsx scripts/flags-table.ts --write)', () => {
    const tables = renderTables(parseHelp(helpText()));
    expect(normalise(readmeBlock(readme) ?? '')).toEqual(normalise(tables));
    expect(readmeIsCurrent(readme, tables)).toBe(true);
  });

  it('would notice a changed default', () => {
    const tables = renderTables(parseHelp(helpText()));
    // The --bind row's default, as cql-proxy has it.
    const stale = readme.replace(
      /(`--bind <addr>`\s*\|[^|]*\|\s*)`127\.0\.0\.1:9042`/,
      '$1`:9042`',
    );
    expect(stale).not.toBe(readme);
    expect(readmeIsCurrent(stale, tables)).toBe(false);
    expect(readmeIsCurrent('no markers here', tables)).toBe(false);
  });
});
