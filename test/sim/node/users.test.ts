// The simulator's accounts (sim/node/users.ts): the directory every node checks SASL PLAIN against,
// the JSON body of `POST /users` and the CLI's `--user name:password[:ks1,ks2]`.

import { describe, expect, it } from 'vitest';
import { UserDirectory, UserError, parseUser, parseUserFlag } from '../../../sim/node/users.js';

const TOKEN = 'AstraCS:abc:0123';

describe('UserDirectory', () => {
  it('accepts token with the token, and each user with its own password only', () => {
    const users = new UserDirectory(TOKEN, [
      { username: 'root', password: 'r00t' },
      { username: 'bob', password: 'b0b', keyspaces: ['ks1'] },
    ]);
    expect(users.authenticate('token', TOKEN)).toBe(true);
    expect(users.authenticate('root', 'r00t')).toBe(true);
    expect(users.authenticate('bob', 'b0b')).toBe(true);
    expect(users.authenticate('bob', 'r00t')).toBe(false);
    expect(users.authenticate('token', 'b0b')).toBe(false);
    expect(users.authenticate('alice', 'b0b')).toBe(false);
    expect(users.role('token')).toEqual({ name: 'token', keyspaces: undefined });
    expect(users.role('root')).toEqual({ name: 'root', keyspaces: undefined });
    expect(users.role('bob')).toEqual({ name: 'bob', keyspaces: new Set(['ks1']) });
    expect(users.list()).toEqual([
      { username: 'token', keyspaces: null },
      { username: 'root', keyspaces: null },
      { username: 'bob', keyspaces: ['ks1'] },
    ]);
  });

  it('replaces and deletes users; a deleted user keeps a role with no keyspace', () => {
    const users = new UserDirectory(TOKEN);
    expect(users.set({ username: 'bob', password: 'one' })).toBe(false);
    expect(users.set({ username: 'bob', password: 'two', keyspaces: ['ks2'] })).toBe(true);
    expect(users.authenticate('bob', 'one')).toBe(false);
    expect(users.authenticate('bob', 'two')).toBe(true);
    expect(users.role('bob').keyspaces).toEqual(new Set(['ks2']));
    expect(users.delete('bob')).toBe(true);
    expect(users.delete('bob')).toBe(false);
    expect(users.authenticate('bob', 'two')).toBe(false);
    expect(users.role('bob')).toEqual({ name: 'bob', keyspaces: new Set() });
  });

  it('refuses to replace or delete token, duplicates, empty fields and bad keyspace names', () => {
    expect(() => new UserDirectory(TOKEN, [{ username: 'token', password: 'x' }])).toThrow(
      UserError,
    );
    expect(
      () =>
        new UserDirectory(TOKEN, [
          { username: 'bob', password: 'x' },
          { username: 'bob', password: 'y' },
        ]),
    ).toThrow('user bob is given twice');
    const users = new UserDirectory(TOKEN);
    expect(() => users.delete('token')).toThrow(UserError);
    expect(() => users.set({ username: '', password: 'x' })).toThrow(UserError);
    expect(() => users.set({ username: 'a\0b', password: 'x' })).toThrow(UserError);
    expect(() => users.set({ username: 'bob', password: '' })).toThrow(UserError);
    expect(() => users.set({ username: 'bob', password: 'x', keyspaces: ['a-b'] })).toThrow(
      '"a-b" is not a keyspace name',
    );
    expect(users.authenticate('token', TOKEN)).toBe(true);
  });
});

describe('parseUser (POST /users)', () => {
  it('takes username, password and optional keyspaces (null or absent: every keyspace)', () => {
    expect(parseUser({ username: 'bob', password: 'pw' })).toEqual({
      username: 'bob',
      password: 'pw',
    });
    expect(parseUser({ username: 'bob', password: 'pw', keyspaces: null })).toEqual({
      username: 'bob',
      password: 'pw',
    });
    expect(parseUser({ username: 'bob', password: 'p:w', keyspaces: ['ks1', 'ks2'] })).toEqual({
      username: 'bob',
      password: 'p:w',
      keyspaces: ['ks1', 'ks2'],
    });
  });

  for (const [body, message] of [
    [[], 'a user is a JSON object'],
    [{ username: 'bob' }, '"password" must be a string'],
    [{ password: 'x' }, '"username" must be a string'],
    [{ username: 'bob', password: 'x', keyspaces: 'ks1' }, '"keyspaces" must be an array'],
    [{ username: 'bob', password: 'x', keyspaces: [1] }, '"keyspaces" must be an array'],
    [{ username: 'bob', password: 'x', role: 'admin' }, 'unknown field "role"'],
  ] as const) {
    it(`refuses ${JSON.stringify(body)}`, () => {
      expect(() => parseUser(body)).toThrow(message);
    });
  }
});

describe('parseUserFlag (--user)', () => {
  it('reads name:password, name:password:ks1,ks2 and name:password: (no keyspace)', () => {
    expect(parseUserFlag('root:s3cret')).toEqual({ username: 'root', password: 's3cret' });
    expect(parseUserFlag('bob:pw:ks1,ks2')).toEqual({
      username: 'bob',
      password: 'pw',
      keyspaces: ['ks1', 'ks2'],
    });
    expect(parseUserFlag('eve:pw:')).toEqual({ username: 'eve', password: 'pw', keyspaces: [] });
  });

  for (const text of ['bob', 'bob:a:b:c', ':pw', 'bob:', 'bob:pw:ks-1', 'token:x']) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      expect(() => parseUserFlag(text)).toThrow(UserError);
    });
  }
});
