// Secrets never appear in an error line: tokens and passwords from flags, the environment, the
// YAML file or a token file, placed where a user might put them by mistake.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DB_ID, run } from './helpers.js';

const CP = ['--contact-points', '10.0.0.1'];

const token = fc.stringMatching(/^AstraCS:[A-Za-z]{10,24}:[0-9a-f]{16,64}$/);
const PASSWORD_CHARS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...' !#$%&()*+,-./:;<=>?@[]^_{|}~"\'\\',
];
/**
 * Values are trimmed, so a secret is what is left after trimming. Left out: a secret starting
 * with `--` where an option may stand (`--debug --s3cret`), which is read, and quoted, as an
 * unknown option name.
 */
const password = fc
  .string({ unit: fc.constantFrom(...PASSWORD_CHARS), minLength: 12, maxLength: 40 })
  .filter((s) => s === s.trim() && !s.startsWith('--'));

type Scenario = (secret: string) => {
  argv: string[];
  env?: Record<string, string>;
  files?: Record<string, string>;
};

/** Each one is an error whatever the secret is. */
const SCENARIOS: Record<string, Scenario> = {
  'token with contact points': (s) => ({ argv: ['-t', s, ...CP] }),
  'token without database id': (s) => ({ argv: ['--astra-token', s] }),
  'token and token file': (s) => ({
    argv: [`--astra-token=${s}`, '--astra-token-file', '/t', '-i', DB_ID],
    files: { '/t': s },
  }),
  'token file with contact points': (s) => ({
    argv: ['--astra-token-file', '/t', ...CP],
    files: { '/t': `${s}\n` },
  }),
  'password and password file': (s) => ({
    argv: [...CP, `--password=${s}`, '--password-file', '/p'],
    files: { '/p': s },
  }),
  'password file and a bad number': (s) => ({
    argv: [...CP, '--password-file', '/p', '--num-conns', 'abc'],
    files: { '/p': `${s}\n` },
  }),
  'ASTRA_TOKEN with CONTACT_POINTS': (s) => ({
    argv: [],
    env: { ASTRA_TOKEN: s, CONTACT_POINTS: '10.0.0.1' },
  }),
  'password and a bad number': (s) => ({
    argv: ['-b', 'x.zip', '-p', s, '--num-conns', 'abc'],
  }),
  'password from the environment and a bad timeout': (s) => ({
    argv: [...CP, '--idle-timeout', '1s'],
    env: { PASSWORD: s },
  }),
  'unquoted password split into words': (s) => ({
    argv: ['-b', 'x.zip', '--password', ...s.split(' ').filter((w) => w !== ''), '--bogus'],
  }),
  'secret after a switch': (s) => ({ argv: ['--debug', s] }),
  'secret as the database id': (s) => ({ argv: ['-t', 'AstraCS:x', '-i', s] }),
  'secret as a value of a switch in the environment': (s) => ({ argv: CP, env: { DEBUG: s } }),
  'quoted token in the file, with contact points': (s) => ({
    argv: ['-f', 'f.yaml'],
    files: { 'f.yaml': `astra-token: ${JSON.stringify(s)}\ncontact-points: 10.0.0.1\n` },
  }),
  'unquoted secret in the file and a bad number': (s) => ({
    argv: ['-f', 'f.yaml'],
    files: { 'f.yaml': `password: ${s}\nnum-conns: abc\n` },
  }),
  'unterminated quote around a secret': (s) => ({
    argv: ['-f', 'f.yaml'],
    files: { 'f.yaml': `astra-token: "${s}\n` },
  }),
  'secret on the line below its key': (s) => ({
    argv: ['-f', 'f.yaml', ...CP],
    files: { 'f.yaml': `password:\n  ${s}\nnum-conns: abc\n` },
  }),
  'secret as a list': (s) => ({
    argv: ['-f', 'f.yaml', ...CP],
    files: { 'f.yaml': `password: [${JSON.stringify(s)}]\n` },
  }),
};

describe('no secret in any error line', () => {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    it(name, () => {
      fc.assert(
        fc.property(fc.oneof(token, password), (secret) => {
          const { argv, env = {}, files = {} } = scenario(secret);
          const result = run(argv, env, files);
          expect(result).toHaveProperty('error');
          expect(JSON.stringify(result)).not.toContain(JSON.stringify(secret).slice(1, -1));
          if ('error' in result) expect(result.error).not.toContain(secret);
        }),
        { numRuns: 150 },
      );
    });
  }
});
