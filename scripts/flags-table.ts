// The README's table of flags, generated from the proxy's own --help text so that the two cannot
// drift apart: `npx tsx scripts/flags-table.ts` prints the tables, `--write` puts them into
// README.md between the `flags:start`/`flags:end` markers, `--check` exits 1 when the README is
// stale. test/scripts/flags-table.test.ts runs the same check in `npm test`.
//
// The help text is read through parseConfig(['--help']), which is exactly what `cql-proxy-ts
// --help` prints (src/main.ts writes parsed.help unchanged).

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { parseConfig } from '../src/config/parse.js';
import { OPTIONS_BY_NAME } from '../src/config/schema.js';

export const START_MARKER = '<!-- flags:start -->';
export const END_MARKER = '<!-- flags:end -->';
export const README = fileURLToPath(new URL('../README.md', import.meta.url));

/** One option as --help shows it. */
export interface HelpFlag {
  group: string;
  /** `--name`, or `peers` for the YAML-only key. */
  long: string;
  short: string | undefined;
  arg: string | undefined;
  env: string | undefined;
  /** --help says "no env": cql-proxy gives this option no environment variable. */
  noEnv: boolean;
  default: string | undefined;
  description: string;
  /** Not a cql-proxy option. */
  ours: boolean;
}

export interface HelpGroup {
  name: string;
  flags: HelpFlag[];
  /** Lines of the group that are remarks, not options, e.g. "(any --cluster-* option ...)". */
  notes: string[];
}

export function helpText(): string {
  const parsed = parseConfig(['--help'], {}, () => '');
  if (!('help' in parsed)) throw new Error('parseConfig(["--help"]) did not return the help text');
  return parsed.help;
}

// "  -b, --astra-bundle <zip>       text  [env ASTRA_BUNDLE; default x]": the flag column is padded
// with spaces, or overflows and is followed by two spaces.
const FLAG_LINE =
  /^ {2}(?:-([A-Za-z]), | {4})--([a-z0-9-]+)(?: (<[^>]+>))? {2,}(.*?)(?: {2}\[([^\]]*)\])?$/;
const YAML_LINE = /^ {2}([a-z-]+) \(YAML only\) {2,}(.*)$/;
const GROUP_LINE = /^([A-Z][A-Za-z ]*):$/;

/** The option groups of the help text, from the first group heading to the blank line after the last. */
export function parseHelp(help: string): HelpGroup[] {
  const groups: HelpGroup[] = [];
  let group: HelpGroup | undefined;
  for (const line of help.split('\n')) {
    const heading = GROUP_LINE.exec(line);
    if (heading?.[1] !== undefined && heading[1] !== 'Examples' && heading[1] !== 'Commands') {
      group = { name: heading[1], flags: [], notes: [] };
      groups.push(group);
      continue;
    }
    if (group === undefined) continue;
    if (line.trim() === '') {
      group = undefined;
      continue;
    }
    const flag = FLAG_LINE.exec(line);
    if (flag !== null) {
      const [, short, name = '', arg, description = '', notes] = flag;
      group.flags.push({
        group: group.name,
        long: `--${name}`,
        short,
        arg,
        ...parseNotes(notes),
        description: description.trim(),
        ours: OPTIONS_BY_NAME.get(name)?.ours === true,
      });
      continue;
    }
    const yaml = YAML_LINE.exec(line);
    if (yaml !== null) {
      group.flags.push({
        group: group.name,
        long: yaml[1] ?? '',
        short: undefined,
        arg: undefined,
        env: undefined,
        noEnv: false,
        default: undefined,
        description: `${(yaml[2] ?? '').trim()} (YAML file only)`,
        ours: false,
      });
      continue;
    }
    if (/^ {2}\(.*\)$/.test(line)) {
      group.notes.push(line.trim().slice(1, -1));
      continue;
    }
    throw new Error(`flags-table: cannot read this --help line: ${JSON.stringify(line)}`);
  }
  return groups;
}

function parseNotes(notes: string | undefined): {
  env: string | undefined;
  noEnv: boolean;
  default: string | undefined;
} {
  let env: string | undefined;
  let noEnv = false;
  let defaultValue: string | undefined;
  for (const part of (notes ?? '').split(';')) {
    const note = part.trim();
    if (note === '') continue;
    if (note === 'no env') noEnv = true;
    else if (note.startsWith('env ')) env = note.slice('env '.length);
    else if (note.startsWith('default ')) defaultValue = note.slice('default '.length);
    else throw new Error(`flags-table: unknown note in --help: ${JSON.stringify(note)}`);
  }
  return { env, noEnv, default: defaultValue };
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

function code(text: string): string {
  return `\`${text}\``;
}

/** Markdown: one table per group, with its remarks under it. */
export function renderTables(groups: readonly HelpGroup[]): string {
  const out: string[] = [];
  for (const group of groups) {
    out.push(`**${group.name}**`, '');
    out.push('| Flag | Environment | Default | Meaning |', '| --- | --- | --- | --- |');
    for (const f of group.flags) {
      const flag =
        (f.short === undefined ? '' : `${code(`-${f.short}`)}, `) +
        code(f.arg === undefined ? f.long : `${f.long} ${f.arg}`);
      out.push(
        `| ${cell(flag)} | ${f.env === undefined ? (f.noEnv ? 'none' : '') : code(f.env)} | ` +
          `${f.default === undefined ? '' : code(f.default)} | ` +
          `${cell(f.description)}${f.ours ? ' _(new)_' : ''} |`,
      );
    }
    out.push('');
    for (const note of group.notes)
      out.push(`${note[0]?.toUpperCase() ?? ''}${note.slice(1)}.`, '');
  }
  return out.join('\n').trimEnd();
}

/** The text between the markers of `readme`, or undefined when a marker is missing. */
export function readmeBlock(readme: string): string | undefined {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start === -1 || end === -1 || end < start) return undefined;
  return readme.slice(start + START_MARKER.length, end);
}

/**
 * The markdown reduced to what it says: table rows as lists of trimmed cells (separator rows
 * dropped), other lines trimmed, blank lines dropped. Prettier's column alignment is not content.
 */
export function normalise(markdown: string): string[] {
  const lines: string[] = [];
  for (const raw of markdown.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('|')) {
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim());
      if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
      lines.push(cells.join(' | '));
    } else {
      lines.push(line);
    }
  }
  return lines;
}

export function readmeIsCurrent(readme: string, tables: string): boolean {
  const block = readmeBlock(readme);
  return block !== undefined && normalise(block).join('\n') === normalise(tables).join('\n');
}

async function writeReadme(tables: string): Promise<void> {
  const readme = readFileSync(README, 'utf8');
  if (readmeBlock(readme) === undefined) {
    throw new Error(`README.md lacks the ${START_MARKER} ... ${END_MARKER} markers`);
  }
  const start = readme.indexOf(START_MARKER) + START_MARKER.length;
  const updated = `${readme.slice(0, start)}\n\n${tables}\n\n${readme.slice(readme.indexOf(END_MARKER))}`;
  const options = (await resolveConfig(README)) ?? {};
  writeFileSync(README, await format(updated, { ...options, filepath: README }));
}

async function main(): Promise<number> {
  const tables = renderTables(parseHelp(helpText()));
  const mode = process.argv[2];
  if (mode === '--write') {
    await writeReadme(tables);
    return 0;
  }
  if (mode === '--check') {
    if (readmeIsCurrent(readFileSync(README, 'utf8'), tables)) return 0;
    process.stderr.write(
      'README.md flag tables differ from --help: run npx tsx scripts/flags-table.ts --write\n',
    );
    return 1;
  }
  if (mode !== undefined) {
    process.stderr.write('usage: npx tsx scripts/flags-table.ts [--write | --check]\n');
    return 2;
  }
  process.stdout.write(`${tables}\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `flags-table: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
