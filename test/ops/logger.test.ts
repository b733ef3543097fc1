// The logger: JSON lines, secrets redacted wherever the usual names sit, and the format choice
// (pretty only on a terminal and only when pino-pretty is installed; it is not a dependency).

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { parseConfig } from '../../src/config/parse.js';
import { OPTIONS, OPTIONS_BY_NAME } from '../../src/config/schema.js';
import { chooseLogFormat } from '../../src/ops/logger.js';
import { captureLog } from './helpers.js';

describe('createLogger', () => {
  it('writes one JSON object per line, without pid or hostname', () => {
    const log = captureLog('info');
    log.logger.info({ port: 9042 }, 'proxy is listening');
    log.logger.debug('not at info');
    const lines = log.text().split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, port: 9042, msg: 'proxy is listening' });
    expect(line.time).toEqual(expect.any(Number));
    expect(line).not.toHaveProperty('pid');
    expect(line).not.toHaveProperty('hostname');
  });

  it('redacts secrets at the top of a line and one level down, children included', () => {
    const log = captureLog('trace');
    const secret = 'S3cr3t-value';
    log.logger.info({ password: secret }, 'top');
    log.logger.child({ component: 'x' }).warn({ config: { password: secret } }, 'nested');
    log.logger.info({ credentials: { username: 'token', password: secret } }, 'object');
    log.logger.info({ headers: { authorization: `Bearer ${secret}` } }, 'headers');
    expect(log.text()).not.toContain(secret);
    expect(log.lines()).toHaveLength(4);
    expect(log.lines()[0]).toMatchObject({ password: '[redacted]' });
    expect(log.lines()[1]).toMatchObject({ config: { password: '[redacted]' }, component: 'x' });
  });

  // Derived from the option table, not a copy of the logger's list: a new setting marked secret
  // fails here until the configuration it produces logs without it.
  it.each(secretSettings())(
    'never prints the value of %s in a logged configuration, at the top or under `config`',
    (_name, config, marker) => {
      // The marker made it into the configuration (else this would prove nothing).
      expect(JSON.stringify(config)).toContain(marker);
      const log = captureLog('trace');
      log.logger.info(config, 'configuration');
      log.logger.child({ component: 'x' }).info({ config }, 'configuration');
      expect(log.lines()).toHaveLength(2);
      expect(log.text()).not.toContain(marker);
    },
  );
});

/** What a secret option needs beside it to make a valid configuration (default: a cluster). */
const CLUSTER = ['--contact-points', '10.0.0.1'];
const NEEDS: Readonly<Record<string, readonly string[]>> = {
  'astra-token': ['--astra-database-id', '3f1c2e6a-0d4b-4a8e-9d7e-5b8f0c1a2b3c'],
  'client-password': [...CLUSTER, '--client-username', 'someone'],
};

/**
 * For every option marked secret, and the `-file` option that reads the same secret from a file,
 * a configuration built by the real parser with a value of its own in that setting.
 */
function secretSettings(): [string, Config, string][] {
  const out: [string, Config, string][] = [];
  const secretOptions = OPTIONS.filter((o) => o.secret === true);
  if (secretOptions.length === 0) throw new Error('no option is marked secret');
  for (const o of secretOptions) {
    const needs = NEEDS[o.name] ?? CLUSTER;
    const marker = `marker-${o.name}-${'x'.repeat(8)}`;
    out.push([`--${o.name}`, parsed([`--${o.name}`, marker, ...needs]), marker]);
    const file = OPTIONS_BY_NAME.get(`${o.name}-file`);
    if (file !== undefined) {
      const fromFile = `file-${marker}`;
      const argv = [`--${file.name}`, '/run/secrets/x', ...needs];
      out.push([`--${file.name}`, parsed(argv, () => `${fromFile}\n`), fromFile]);
    }
  }
  return out;
}

function parsed(argv: string[], readFile: (path: string) => string = () => ''): Config {
  const result = parseConfig(argv, {}, readFile);
  if (!('config' in result)) throw new Error(`${argv.join(' ')}: ${JSON.stringify(result)}`);
  return result.config;
}

describe('chooseLogFormat', () => {
  it('is JSON unless a terminal (or an explicit request) meets an installed pino-pretty', () => {
    const cases: [Parameters<typeof chooseLogFormat>, string][] = [
      [['auto', false, false], 'json'],
      [['auto', true, false], 'json'],
      [['auto', false, true], 'json'],
      [['auto', true, true], 'pretty'],
      [['pretty', false, true], 'pretty'],
      [['pretty', true, false], 'json'],
      [['json', true, true], 'json'],
    ];
    for (const [args, expected] of cases)
      expect([args, chooseLogFormat(...args)]).toStrictEqual([args, expected]);
  });

  it('pino-pretty is indeed not installed here, so a terminal gets JSON', () => {
    expect(() => createRequire(import.meta.url).resolve('pino-pretty')).toThrow();
  });
});
