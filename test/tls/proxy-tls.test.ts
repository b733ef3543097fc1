// Client certificates and rotation through a whole proxy (startProxy, configured by the real flag
// parser) in front of the simulator: a raw TLS socket doing the CQL STARTUP and the Node.js
// cassandra-driver with sslOptions get in with a certificate of --proxy-ca-file and not
// without; reloadTls() (what SIGHUP calls, src/main.ts) puts rotated files in service while the
// driver's open connection keeps working.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import cassandra from 'cassandra-driver';
import type { ConnectionOptions } from 'node:tls';
import { Opcode } from '../../src/protocol/constants.js';
import { startupFrame } from '../client/test-connection.js';
import { type Stack, scrape, startStack } from '../ops/helpers.js';
import {
  type Pki,
  type TlsDir,
  attempt,
  fingerprint,
  makePki,
  serverCertificate,
  tlsDir,
  waitFor,
} from './helpers.js';

const pki: Pki = makePki('proxy');
const stranger: Pki = makePki('proxy-stranger');
const STARTUP = startupFrame(4, 1);

let dir: TlsDir;
let stack: Stack;

beforeAll(async () => {
  dir = await tlsDir(pki.server, pki.ca);
  stack = await startStack({
    proxyArgs: [
      '--proxy-cert-file',
      dir.certFile,
      '--proxy-key-file',
      dir.keyFile,
      '--proxy-ca-file',
      dir.caFile,
      '--metrics',
    ],
  });
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await dir?.remove();
});

function driver(sslOptions: ConnectionOptions): cassandra.Client {
  return new cassandra.Client({
    contactPoints: [`127.0.0.1:${stack.port}`],
    localDataCenter: 'dc1',
    isMetadataSyncEnabled: false,
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: 1 } },
    socketOptions: { readTimeout: 10_000, connectTimeout: 5_000 },
    sslOptions,
  });
}

const withCert = (p: Pki): ConnectionOptions => ({
  ca: pki.ca.certPem,
  cert: p.client.certPem,
  key: p.client.keyPem,
});

/** The opcode of the frame the proxy answers STARTUP with; undefined if refused. */
async function startup(options: ConnectionOptions): Promise<number | undefined> {
  const a = await attempt(stack.port, options, STARTUP);
  // The 9-byte header comes in one piece: the proxy writes a frame with one write.
  return a.answer?.readUInt8(4);
}

describe('mutual TLS through the proxy', () => {
  it('a raw TLS socket with a certificate of the CA gets READY to its STARTUP', async () => {
    expect(await startup(withCert(pki))).toBe(Opcode.READY);
  });

  it('refuses a raw TLS socket without a certificate, or with one of another CA', async () => {
    const before = stack.log.find('client TLS handshake failed').length;
    expect(await startup({ ca: pki.ca.certPem })).toBeUndefined();
    expect(await startup(withCert(stranger))).toBeUndefined();
    await waitFor(
      () => stack.log.find('client TLS handshake failed').length >= before + 2,
      'the refusals logged',
    );
    const lines = stack.log.find('client TLS handshake failed').slice(before);
    expect(lines.map((l) => l.code)).toEqual([
      'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ]);
    for (const line of lines) {
      expect(line).toMatchObject({ level: 30, component: 'client' });
      expect(line.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    const metrics = await scrape(stack.httpUrl);
    expect(metrics.value('cqlproxy_client_tls_handshake_failures_total')).toBeGreaterThanOrEqual(2);
  });

  it('the Node.js cassandra-driver connects with sslOptions { ca, cert, key } and queries', async () => {
    const client = driver(withCert(pki));
    try {
      await client.connect();
      const rs = await client.execute('SELECT release_version FROM system.local');
      expect(rs.rows).toHaveLength(1);
    } finally {
      await client.shutdown();
    }
  });

  it('the driver without a client certificate cannot connect', async () => {
    const client = driver({ ca: pki.ca.certPem });
    try {
      await expect(client.connect()).rejects.toThrow(/All host\(s\) tried for query failed/);
    } finally {
      await client.shutdown();
    }
  });
});

describe('rotation through the proxy', () => {
  it('reloadTls() serves a rotated certificate to new connections; the open driver keeps going', async () => {
    const client = driver(withCert(pki));
    try {
      await client.connect();
      const before = await attempt(stack.port, withCert(pki), STARTUP);
      expect(before.serverFingerprint).toBe(fingerprint(pki.server.certPem));

      const renewed = serverCertificate(pki.ca);
      await dir.write(renewed);
      // The file watch may already have installed it; the explicit reload installs it anyway.
      expect(await stack.proxy.reloadTls()).toBe(true);
      const after = await attempt(stack.port, withCert(pki), STARTUP);
      expect([after.admitted, after.serverFingerprint]).toEqual([
        true,
        fingerprint(renewed.certPem),
      ]);

      const rs = await client.execute('SELECT release_version FROM system.local');
      expect(rs.rows).toHaveLength(1);
      const reloaded = stack.log.find('client TLS certificates reloaded');
      expect(reloaded.at(-1)).toMatchObject({
        level: 30,
        component: 'tls',
        certFile: dir.certFile,
        keyFile: dir.keyFile,
        caFile: dir.caFile,
        fingerprint256: fingerprint(renewed.certPem),
      });
    } finally {
      await client.shutdown();
    }
  });
});
