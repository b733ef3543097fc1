// TLS toward contact points from PEM files named on the command line (--cluster-ca-file,
// --cluster-cert-file, --cluster-key-file), read once at start-up. A file that cannot be read
// stops start-up with one line naming the flag and the path.

import { readFile } from 'node:fs/promises';
import type { Config } from '../config/config.js';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';
import type { ContactPointTls } from './upstream-tls.js';

/** The contact points' TLS settings, or undefined for plain TCP. */
export async function readClusterTls(
  files: Config['clusterTls'],
): Promise<ContactPointTls | undefined> {
  if (files === undefined) return undefined;
  const ca = await readPem(files.caFile, '--cluster-ca-file');
  const cert = await readPem(files.certFile, '--cluster-cert-file');
  const key = await readPem(files.keyFile, '--cluster-key-file');
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(files.serverName === undefined ? {} : { serverName: files.serverName }),
    ...(files.insecure === true ? { rejectUnauthorized: false } : {}),
  };
}

async function readPem(path: string | undefined, what: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ProxyError(
      ProxyErrorCode.CONFIG_INVALID,
      `cannot read ${what} ${path}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}
