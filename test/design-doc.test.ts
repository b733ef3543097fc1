// docs/design.md stays true to the tree: every file or folder it names in backquotes exists, so
// its folder map and the request's path through the files follow the code when files move.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const design = readFileSync(`${ROOT}docs/design.md`, 'utf8');

/** Every path under src/ and sim/, relative to the root, with `/` after folders. */
function tree(): string[] {
  return ['src', 'sim'].flatMap((top) =>
    readdirSync(`${ROOT}${top}`, { recursive: true, withFileTypes: true }).map((entry) => {
      const path = `${entry.parentPath}/${entry.name}`.slice(ROOT.length);
      return entry.isDirectory() ? `${path}/` : path;
    }),
  );
}

/** Backquoted names that look like a file (`x.ts`) or a folder (`x/`), with or without a path. */
function namedPaths(): string[] {
  const names = [...design.matchAll(/`([a-z][\w.-]*(?:\/[\w.-]+)*(?:\.ts|\/))`/g)];
  return [...new Set(names.map((m) => m[1] ?? ''))];
}

describe('docs/design.md', () => {
  it('names only files and folders that exist', () => {
    const paths = tree();
    const named = namedPaths();
    expect(named).toContain('src/client/listener.ts');
    const missing = named.filter((name) =>
      /^(src|sim|test|bench|docs)\//.test(name) || name === 'src/'
        ? !existsSync(`${ROOT}${name}`)
        : // A bare name is relative to the folder being described: some path ends with it.
          !paths.some((p) => p.endsWith(`/${name}`)),
    );
    expect(missing).toEqual([]);
  });
});
