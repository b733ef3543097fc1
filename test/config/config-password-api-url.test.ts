// --password-file beside --password, and --astra-api-url's rule that plain http goes only to a
// loopback address (the token travels as a Bearer header). The one-line errors are in
// config-errors.test.ts.

import { describe, expect, it } from 'vitest';
import { DB_ID, fails, ok } from './helpers.js';

const CP = ['--contact-points', '10.0.0.1'];
const BUNDLE = ['--astra-bundle', 'scb.zip'];

describe('--password-file', () => {
  it('reads the password from the file, trimmed, by flag, environment and YAML key', () => {
    const files = { '/p': '\n  s3cret pass \n', 'f.yaml': 'password-file: /p\n' };
    expect(ok([...CP, '-u', 'cassandra', '--password-file', '/p'], {}, files).password).toBe(
      's3cret pass',
    );
    expect(ok([...CP, '-u', 'cassandra'], { PASSWORD_FILE: '/p' }, files).password).toBe(
      's3cret pass',
    );
    expect(ok([...CP, '-f', 'f.yaml'], {}, files).password).toBe('s3cret pass');
  });

  it('with a token, a username and the password file replace the token login as a pair', () => {
    const files = { '/p': 'client-secret\n' };
    const token = ['-t', 'AstraCS:x', '-i', DB_ID];
    const pair = ok([...token, '-u', 'client-id', '--password-file', '/p'], {}, files);
    expect([pair.username, pair.password]).toStrictEqual(['client-id', 'client-secret']);
    const alone = ok([...token, '--password-file', '/p'], {}, files);
    expect([alone.username, alone.password]).toStrictEqual(['token', 'AstraCS:x']);
  });

  it('is an error when missing or empty, never quoting the file', () => {
    expect(fails([...CP, '--password-file', '/nope'])).toMatch(
      /^cannot read the password file '\/nope' \(--password-file\): ENOENT/,
    );
    const empty = fails([...CP, '--password-file', '/p'], {}, { '/p': ' \t\n' });
    expect(empty).toBe("the password file '/p' (--password-file) is empty");
  });
});

describe('--astra-api-url', () => {
  const url = (value: string): string =>
    ok([...BUNDLE, '--astra-api-url', value], {}, {}).astraApiUrl;

  it('takes https anywhere', () => {
    expect(url('https://api.astra.datastax.com')).toBe('https://api.astra.datastax.com');
    expect(url('https://api.example.com:8443/')).toBe('https://api.example.com:8443');
  });

  it('takes plain http to a loopback address (the simulator, a test server)', () => {
    expect(url('http://127.0.0.1:1234')).toBe('http://127.0.0.1:1234');
    expect(url('http://127.1.2.3:1234/')).toBe('http://127.1.2.3:1234');
    expect(url('http://localhost:8080')).toBe('http://localhost:8080');
    expect(url('http://LOCALHOST:8080')).toBe('http://LOCALHOST:8080');
    expect(url('http://[::1]:8443')).toBe('http://[::1]:8443');
  });

  it('refuses plain http to anything else', () => {
    for (const value of [
      'http://example.com',
      'http://api.astra.datastax.com',
      'http://10.0.0.1:8080',
      'http://128.0.0.1',
      'http://127.0.0.1.nip.io',
      'http://localhost.example.com',
      'http://[::2]:8443',
      'http://0.0.0.0:8080',
    ]) {
      expect(fails([...BUNDLE, '--astra-api-url', value])).toBe(
        `invalid value '${value}' for --astra-api-url: plain http would send the token unencrypted; use https (http only to 127.0.0.0/8, ::1 or localhost)`,
      );
    }
  });
});
