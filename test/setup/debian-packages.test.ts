// The test set-up's decision about the driver tests' Debian packages, in each situation it can
// meet: all there, missing as root with apt-get, missing without root, no apt-get, not Debian.

import { describe, expect, it } from 'vitest';
import { DRIVER_PACKAGES, parseDpkgStatus, planPackages } from './debian-packages-plan.js';

const ALL = new Set(DRIVER_PACKAGES);
const SOME = new Set(['python3-cassandra', 'python3-lz4', 'golang-go']);

describe('planPackages', () => {
  it('does nothing when every package is installed, whoever runs it', () => {
    for (const root of [true, false]) {
      for (const aptGet of [true, false]) {
        expect(planPackages(DRIVER_PACKAGES, { installed: ALL, root, aptGet })).toEqual({
          action: 'none',
        });
      }
    }
  });

  it('installs only the missing packages as root with apt-get, after an update', () => {
    expect(planPackages(DRIVER_PACKAGES, { installed: SOME, root: true, aptGet: true })).toEqual({
      action: 'install',
      packages: ['python3-snappy', 'golang-github-gocql-gocql-dev'],
      commands: [
        ['apt-get', 'update', '-qq'],
        [
          'apt-get',
          'install',
          '-y',
          '-qq',
          '--no-install-recommends',
          'python3-snappy',
          'golang-github-gocql-gocql-dev',
        ],
      ],
    });
  });

  it('stops with the exact sudo command when not root', () => {
    const plan = planPackages(DRIVER_PACKAGES, { installed: SOME, root: false, aptGet: true });
    expect(plan).toEqual({
      action: 'fail',
      message:
        'the driver tests need Debian packages that are not installed (python3-snappy, ' +
        'golang-github-gocql-gocql-dev); run: sudo apt-get install -y --no-install-recommends ' +
        'python3-snappy golang-github-gocql-gocql-dev',
    });
  });

  it('stops without a command it cannot run when apt-get is missing', () => {
    const plan = planPackages(DRIVER_PACKAGES, { installed: SOME, root: true, aptGet: false });
    expect(plan.action).toBe('fail');
    if (plan.action !== 'fail') return;
    expect(plan.message).toContain('(python3-snappy, golang-github-gocql-gocql-dev)');
    expect(plan.message).toContain('apt-get is not on the PATH');
    expect(plan.message).not.toContain('\n');
  });

  it('names every package and the Debian command on a system without dpkg', () => {
    const plan = planPackages(DRIVER_PACKAGES, { installed: undefined, root: true, aptGet: false });
    expect(plan).toEqual({
      action: 'fail',
      message:
        'the driver tests need the Debian packages python3-cassandra python3-lz4 python3-snappy ' +
        'golang-go golang-github-gocql-gocql-dev and this system has no dpkg-query; on Debian or ' +
        'Ubuntu run: sudo apt-get install -y --no-install-recommends python3-cassandra ' +
        'python3-lz4 python3-snappy golang-go golang-github-gocql-gocql-dev',
    });
  });
});

describe('parseDpkgStatus', () => {
  it('keeps installed packages only, not those removed with their configuration kept', () => {
    const stdout =
      'python3-cassandra\tinstalled\ngolang-go\tconfig-files\npython3-lz4\tinstalled\n';
    expect(parseDpkgStatus(stdout)).toEqual(new Set(['python3-cassandra', 'python3-lz4']));
  });

  it('reads nothing from empty output (no package known to dpkg)', () => {
    expect(parseDpkgStatus('')).toEqual(new Set());
  });
});
