import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProxyError } from '../../src/errors.js';
import { readClusterTls } from '../../src/tls/cluster-tls-files.js';

const dir = mkdtempSync(join(tmpdir(), 'cluster-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readClusterTls', () => {
  it('is plain TCP without cluster TLS settings', async () => {
    expect(await readClusterTls(undefined)).toBeUndefined();
  });

  it('reads each PEM file and carries the server name and the insecure switch', async () => {
    const ca = join(dir, 'ca.pem');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    writeFileSync(ca, 'CA PEM');
    writeFileSync(cert, 'CERT PEM');
    writeFileSync(key, 'KEY PEM');
    expect(
      await readClusterTls({
        caFile: ca,
        certFile: cert,
        keyFile: key,
        serverName: 'db.example',
        insecure: true,
      }),
    ).toEqual({
      ca: 'CA PEM',
      cert: 'CERT PEM',
      key: 'KEY PEM',
      serverName: 'db.example',
      rejectUnauthorized: false,
    });
    expect(await readClusterTls({ caFile: ca })).toEqual({ ca: 'CA PEM' });
  });

  it('names the flag and the path of a file it cannot read', async () => {
    const missing = join(dir, 'absent.pem');
    const err = await readClusterTls({ certFile: missing }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as Error).message).toMatch(
      new RegExp(`^cannot read --cluster-cert-file ${missing.replace(/[.]/g, '\\.')}: `),
    );
  });
});
