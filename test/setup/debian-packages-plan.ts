// What the test set-up does about the Debian packages the driver tests need, decided from what it
// found on the machine: nothing, install them (root with apt-get), or stop with one line giving the
// exact command. Pure, so that every case is tested without a package manager
// (test/setup/debian-packages.test.ts); test/setup/debian-packages.ts probes and acts.

/** The Python driver with its lz4 and snappy codecs, Go, and gocql's sources (GOPATH mode). */
export const DRIVER_PACKAGES: readonly string[] = [
  'python3-cassandra',
  'python3-lz4',
  'python3-snappy',
  'golang-go',
  'golang-github-gocql-gocql-dev',
];

/** What the set-up found on the machine. */
export interface PackageProbe {
  /** The packages dpkg reports installed; undefined when there is no dpkg-query (not Debian). */
  readonly installed: ReadonlySet<string> | undefined;
  /** Running as root (uid 0): apt-get can install without sudo. */
  readonly root: boolean;
  /** apt-get is on the PATH. */
  readonly aptGet: boolean;
}

export type PackagePlan =
  | { readonly action: 'none' }
  | {
      readonly action: 'install';
      readonly packages: readonly string[];
      /** Run in order, each with DEBIAN_FRONTEND=noninteractive. */
      readonly commands: readonly (readonly string[])[];
    }
  | { readonly action: 'fail'; readonly message: string };

/** The command a person runs to install `packages`. */
export function installCommand(packages: readonly string[], sudo: boolean): string {
  return `${sudo ? 'sudo ' : ''}apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

export function planPackages(needed: readonly string[], probe: PackageProbe): PackagePlan {
  if (probe.installed === undefined) {
    return {
      action: 'fail',
      message:
        `the driver tests need the Debian packages ${needed.join(' ')} and this system has no ` +
        `dpkg-query; on Debian or Ubuntu run: ${installCommand(needed, true)}`,
    };
  }
  const installed = probe.installed;
  const missing = needed.filter((p) => !installed.has(p));
  if (missing.length === 0) return { action: 'none' };
  const what = `the driver tests need Debian packages that are not installed (${missing.join(', ')})`;
  if (!probe.aptGet) {
    return {
      action: 'fail',
      message: `${what} and apt-get is not on the PATH: install them with the system's package manager`,
    };
  }
  if (!probe.root) {
    return { action: 'fail', message: `${what}; run: ${installCommand(missing, true)}` };
  }
  return {
    action: 'install',
    packages: missing,
    commands: [
      ['apt-get', 'update', '-qq'],
      ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing],
    ],
  };
}

/**
 * The installed packages in the output of
 * `dpkg-query -W -f '${Package}\t${db:Status-Status}\n' <packages>`: a package removed with its
 * configuration kept is listed with status `config-files`, not `installed`.
 */
export function parseDpkgStatus(stdout: string): Set<string> {
  const installed = new Set<string>();
  for (const line of stdout.split('\n')) {
    const [name, status] = line.split('\t');
    if (name !== undefined && name !== '' && status?.trim() === 'installed') installed.add(name);
  }
  return installed;
}
