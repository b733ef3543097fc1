// The logger: JSON lines, secrets redacted wherever the usual names sit, and the format choice
// (pretty only on a terminal and only when pino-pretty is installed; it is not a dependency).

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
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
    const fields = [
      'password',
      'token',
      'astraToken',
      'credentials',
      'key',
      'keyPem',
      'privateKey',
      'passphrase',
      'pfx',
      'authorization',
      'keyStorePassword',
      'trustStorePassword',
      'pfxCertPassword',
    ];
    for (const f of fields) {
      log.logger.info({ [f]: secret }, 'top');
      log.logger.child({ component: 'x' }).warn({ config: { [f]: secret } }, 'nested');
    }
    log.logger.info({ credentials: { username: 'token', password: secret } }, 'object');
    log.logger.info({ headers: { authorization: `Bearer ${secret}` } }, 'headers');
    expect(log.text()).not.toContain(secret);
    expect(log.lines()).toHaveLength(fields.length * 2 + 2);
    expect(log.lines()[0]).toMatchObject({ password: '[redacted]' });
    expect(log.lines()[1]).toMatchObject({ config: { password: '[redacted]' }, component: 'x' });
  });
});

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
