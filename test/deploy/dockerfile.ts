// A small reader of the repository's Dockerfile for the tests: instructions grouped by stage,
// with line continuations joined, comments dropped, ARG defaults substituted into FROM, and the
// ENV of the final stage (what a container of the image starts with).

import { readFileSync } from 'node:fs';

export const DOCKERFILE_PATH = new URL('../../Dockerfile', import.meta.url);

export interface Instruction {
  keyword: string;
  args: string;
  /** 1-based line of the instruction's first line. */
  line: number;
}

export interface Stage {
  /** The image after ARG defaults are substituted. */
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  text: string;
  /** ARG instructions before the first FROM, with their defaults. */
  globalArgs: Map<string, string>;
  stages: Stage[];
}

function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) return; // comments, also inside a continued instruction
    if (pending === undefined && trimmed === '') return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending ??= { parts: [], line: i + 1 };
    pending.parts.push(part);
    if (continued) return;
    const whole = pending.parts.filter((p) => p !== '').join(' ');
    const m = /^(\S+)\s*(.*)$/.exec(whole);
    if (m !== null) {
      out.push({ keyword: (m[1] ?? '').toUpperCase(), args: m[2] ?? '', line: pending.line });
    }
    pending = undefined;
  });
  return out;
}

/** `${NAME}` and `$NAME` from the given values. */
function substitute(text: string, values: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_all, a: string | undefined, b: string | undefined) => values.get(a ?? b ?? '') ?? '',
  );
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions(text)) {
    const stage = stages[stages.length - 1];
    if (ins.keyword === 'FROM') {
      const [image = '', as, name] = ins.args.split(/\s+/);
      stages.push({
        from: substitute(image, globalArgs),
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        instructions: [],
      });
    } else if (stage === undefined) {
      if (ins.keyword === 'ARG') {
        const [key = '', value = ''] = ins.args.split('=', 2);
        globalArgs.set(key.trim(), value.trim());
      }
    } else {
      stage.instructions.push(ins);
    }
  }
  return { text, globalArgs, stages };
}

export function readDockerfile(): Dockerfile {
  return parseDockerfile(readFileSync(DOCKERFILE_PATH, 'utf8'));
}

/** Words of an ENV line, keeping "double-quoted" values together. */
function envWords(args: string): string[] {
  return [...args.matchAll(/(?:[^\s"]+|"(?:[^"\\]|\\.)*")+/g)].map((m) => m[0]);
}

function unquote(value: string): string {
  return value.replace(/"((?:[^"\\]|\\.)*)"/g, (_all, inner: string) =>
    inner.replace(/\\(.)/g, '$1'),
  );
}

/** The variables ENV sets in a stage, in order (`ENV A=1 B=2` and the legacy `ENV A 1`). */
export function stageEnv(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const ins of stage.instructions) {
    if (ins.keyword !== 'ENV') continue;
    const words = envWords(ins.args);
    if (words[0]?.includes('=') === true) {
      for (const word of words) {
        const eq = word.indexOf('=');
        env.set(word.slice(0, eq), unquote(word.slice(eq + 1)));
      }
    } else {
      const [key = '', ...rest] = words;
      env.set(key, unquote(rest.join(' ')));
    }
  }
  return env;
}

/** The exec form `["a", "b"]` of ENTRYPOINT, CMD or HEALTHCHECK CMD; undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) return undefined;
  return parsed;
}
