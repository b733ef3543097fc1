// vitest.config.ts's DRIVER_TESTS is complete: every test file that runs the Python driver or
// gocql is in the "drivers" project, the only one whose set-up checks their Debian packages. A
// file outside it would fail on a fresh machine with a driver's error instead of the set-up's one
// line.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DRIVER_TESTS } from '../../vitest.config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What a test file that needs the packages contains: a driver helper, or Debian's Python. */
const USES_DRIVERS = [
  /from '[^']*helpers\/(?:python|gocql|driver-suite)\.js'/,
  /['"]\/usr\/bin\/python3['"]/,
  /\brun\(\s*'go'/,
];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(ROOT, path)] : [];
  });
}

/** The globs of DRIVER_TESTS: `**` any folders, `*` within one name. */
function globRegExp(glob: string): RegExp {
  const source = glob
    .split(/(\*\*\/|\*)/)
    .map((part) =>
      part === '**/'
        ? '(?:[^/]+/)*'
        : part === '*'
          ? '[^/]*'
          : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`);
}

describe('DRIVER_TESTS', () => {
  const globs = DRIVER_TESTS.map(globRegExp);
  const inDrivers = (file: string): boolean => globs.some((g) => g.test(file));
  const files = testFiles(join(ROOT, 'test'));

  it('holds every test file that runs the Python driver or gocql', () => {
    const needing = files.filter((file) => {
      const source = readFileSync(join(ROOT, file), 'utf8');
      return USES_DRIVERS.some((pattern) => pattern.test(source));
    });
    expect(needing.length).toBeGreaterThan(5);
    expect(needing.filter((file) => !inDrivers(file))).toEqual([]);
  });

  it('names only files that exist', () => {
    for (const glob of globs) {
      expect(
        files.some((file) => glob.test(file)),
        glob.source,
      ).toBe(true);
    }
  });

  it('leaves the unit tests out', () => {
    expect(inDrivers('test/protocol/crc.test.ts')).toBe(false);
    expect(inDrivers('test/e2e/cli.test.ts')).toBe(true);
    expect(inDrivers('test/client/drivers.test.ts')).toBe(true);
  });
});
