// A read-only npm registry on 127.0.0.1 for installing the packed tarball without the network: it
// answers for the production dependencies of package-lock.json, with their manifests from the
// lockfile and their tarballs from the local npm cache, where `npm ci` left them. `npm install -g`
// of a tarball reads no lockfile and resolves every dependency by name, and the cache holds
// tarballs (by integrity) but no registry documents, so `--offline` alone cannot install it.
//
// The registry answers only what npm asks for an install: a package document
// (`GET /<name>`, a scoped name as `@scope%2fname`) and a tarball (`GET /-/tarball/<hex>.tgz`).

import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** One entry of package-lock.json's `packages` (lockfile version 2 and 3). */
interface LockEntry {
  name?: string;
  version?: string;
  integrity?: string;
  dev?: boolean;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  hasInstallScript?: boolean;
}

/** The fields of a lock entry that are also the fields of a registry manifest. */
const MANIFEST_FIELDS = [
  'dependencies',
  'optionalDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'bin',
  'engines',
  'os',
  'cpu',
  'libc',
  'hasInstallScript',
] as const;

interface Version {
  readonly manifest: Record<string, unknown>;
  readonly integrity: string;
  /** At the top of node_modules: the version `npm ci` chose for ranges that allow several. */
  readonly hoisted: boolean;
}

export interface LocalRegistry {
  /** http://127.0.0.1:<port>/ */
  readonly url: string;
  /** Package names asked for whose tarball the npm cache does not hold. */
  readonly uncached: readonly string[];
  close(): Promise<void>;
}

/** `node_modules/a/node_modules/@s/b` → `@s/b`, unless the entry names itself (an alias). */
function packageName(path: string, entry: LockEntry): string {
  const marker = 'node_modules/';
  return entry.name ?? path.slice(path.lastIndexOf(marker) + marker.length);
}

/** Where cacache (npm's cache, content-v2) keeps the content of an `sha512-<base64>` integrity. */
export function cachedTarballPath(cacheDir: string, integrity: string): string {
  const dash = integrity.indexOf('-');
  const algorithm = integrity.slice(0, dash);
  const hex = Buffer.from(integrity.slice(dash + 1), 'base64').toString('hex');
  return join(cacheDir, 'content-v2', algorithm, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}

function hexOf(integrity: string): string {
  return Buffer.from(integrity.slice(integrity.indexOf('-') + 1), 'base64').toString('hex');
}

/** The production packages of a lockfile, by name and version. */
export function productionPackages(lockfile: string): Map<string, Map<string, Version>> {
  const lock = JSON.parse(lockfile) as { packages?: Record<string, LockEntry> };
  const byName = new Map<string, Map<string, Version>>();
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (path === '' || entry.dev === true || entry.link === true) continue;
    if (entry.version === undefined || entry.integrity === undefined) continue;
    const name = packageName(path, entry);
    const manifest: Record<string, unknown> = { name, version: entry.version };
    for (const field of MANIFEST_FIELDS) {
      if (entry[field] !== undefined) manifest[field] = entry[field];
    }
    const versions = byName.get(name) ?? new Map<string, Version>();
    const hoisted = path === `node_modules/${name}`;
    versions.set(entry.version, { manifest, integrity: entry.integrity, hoisted });
    byName.set(name, versions);
  }
  return byName;
}

export async function startLocalRegistry(
  lockfile: string,
  npmCacheDir: string,
): Promise<LocalRegistry> {
  const packages = productionPackages(readFileSync(lockfile, 'utf8'));
  const tarballs = new Map<string, { name: string; path: string }>();
  for (const [name, versions] of packages) {
    for (const { integrity } of versions.values()) {
      tarballs.set(hexOf(integrity), { name, path: cachedTarballPath(npmCacheDir, integrity) });
    }
  }
  const uncached = new Set<string>();
  let base = '';

  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const tarball = /^\/-\/tarball\/([0-9a-f]+)\.tgz$/.exec(path);
    if (tarball !== null) {
      const found = tarballs.get(tarball[1] ?? '');
      if (found === undefined || !existsSync(found.path)) {
        if (found !== undefined) uncached.add(found.name);
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      createReadStream(found.path).pipe(res);
      return;
    }
    const versions = packages.get(path.slice(1));
    if (versions === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const document = {
      name: path.slice(1),
      'dist-tags': {
        latest: [...versions].find(([, v]) => v.hoisted)?.[0] ?? [...versions.keys()].at(-1),
      },
      versions: Object.fromEntries(
        [...versions].map(([version, { manifest, integrity }]) => [
          version,
          { ...manifest, dist: { integrity, tarball: `${base}-/tarball/${hexOf(integrity)}.tgz` } },
        ]),
      ),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: base,
    get uncached() {
      return [...uncached];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
