import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSniProxy } from '../../sim/sni-proxy.js';
import type { SniProxy } from '../../sim/sni-proxy.js';
import {
  makeCertificateAuthority,
  makeClientCertificate,
  makeServerCertificate,
} from '../../sim/tls/certs.js';
import { ProxyError, ProxyErrorCode } from '../../src/errors.js';
import { UpstreamConnection } from '../../src/upstream/connection.js';
import type { UpstreamConnectionOptions } from '../../src/upstream/connection.js';
import { astraEndpoint, contactPointEndpoint, hostPort } from '../../src/upstream/endpoint.js';
import type { Endpoint } from '../../src/upstream/endpoint.js';
import { PASSWORD_AUTHENTICATOR, startFakeNode } from './fake-node.js';
import type { FakeNode } from './fake-node.js';

const HOST_A = '4ac06655-f861-49f9-881e-3fee22e69b94';
const HOST_B = '2af7c253-3394-4a0d-bfac-f1ad81b5154d';
const UNKNOWN_HOST = 'b17b6e2a-3f48-4d6a-81c1-20a0a1f3192a';
const TOKEN = 'AstraCS:endpoint-test-token';

const ca = makeCertificateAuthority();
const serverCert = makeServerCertificate(ca, {
  commonName: '127.0.0.1',
  dnsNames: ['127.0.0.1', 'localhost'],
  ipAddresses: ['127.0.0.1'],
});
const clientCert = makeClientCertificate(ca, 'client');
const otherCa = makeCertificateAuthority('ca.other.test');
const strangerCert = makeClientCertificate(otherCa, 'client');

/** The bundle fields the endpoint reads, as readSecureConnectBundle returns them. */
const bundle = {
  host: '127.0.0.1',
  ca: ca.certPem,
  cert: clientCert.certPem,
  key: clientCert.keyPem,
};

let nodeA: FakeNode;
let nodeB: FakeNode;
let sni: SniProxy;

beforeAll(async () => {
  nodeA = await startFakeNode({
    supported: { NODE: ['a'] },
    authenticator: PASSWORD_AUTHENTICATOR,
    password: TOKEN,
  });
  nodeB = await startFakeNode({
    supported: { NODE: ['b'] },
    authenticator: PASSWORD_AUTHENTICATOR,
    password: TOKEN,
  });
  sni = await startSniProxy({
    host: '127.0.0.1',
    port: 0,
    tls: { ca: ca.certPem, cert: serverCert.certPem, key: serverCert.keyPem },
    route: (name) => {
      if (name === HOST_A) return { host: nodeA.host, port: nodeA.port };
      if (name === HOST_B) return { host: nodeB.host, port: nodeB.port };
      // No SNI (an IP literal target): node A, as a load balancer would pick one.
      if (name === undefined) return { host: nodeA.host, port: nodeA.port };
      return undefined;
    },
  });
});

afterAll(async () => {
  await sni.close();
  await nodeA.close();
  await nodeB.close();
});

function options(endpoint: Endpoint): UpstreamConnectionOptions {
  return {
    endpoint,
    version: 4,
    credentials: { username: 'token', password: TOKEN },
    connectTimeoutMs: 5000,
    heartbeatIntervalMs: 0,
    idleTimeoutMs: 0,
    maxFrameLength: 1 << 20,
  };
}

async function connectError(endpoint: Endpoint): Promise<Error> {
  try {
    const connection = await UpstreamConnection.connect(options(endpoint));
    connection.close();
  } catch (err) {
    return err as Error;
  }
  throw new Error('connect() resolved');
}

describe('astraEndpoint', () => {
  it('targets the SNI proxy with the host id as server name and the bundle identity', () => {
    const endpoint = astraEndpoint(bundle, { host: '10.0.0.7', port: 29042 }, HOST_A);
    expect(endpoint.key).toBe(`10.0.0.7:29042:${HOST_A}`);
    expect(endpoint.host).toBe('10.0.0.7');
    expect(endpoint.port).toBe(29042);
    expect(endpoint.tls).toMatchObject({
      servername: HOST_A,
      ca: [ca.certPem],
      cert: clientCert.certPem,
      key: clientCert.keyPem,
      rejectUnauthorized: true,
    });
    expect(astraEndpoint(bundle, { host: '::1', port: 1 }, HOST_B).key).toBe(`[::1]:1:${HOST_B}`);
  });

  it('checks the certificate against the bundle host, not the server name', () => {
    const cert = new X509Certificate(serverCert.certPem);
    // What Node's TLS layer hands checkServerIdentity: subject and SANs of the peer certificate.
    const peer = {
      subject: { CN: '127.0.0.1' },
      subjectaltname: cert.subjectAltName,
    } as unknown as PeerCertificate;
    const check = astraEndpoint(bundle, { host: '127.0.0.1', port: 1 }, HOST_A).tls!
      .checkServerIdentity!;
    expect(check(HOST_A, peer)).toBeUndefined();
    const elsewhere = astraEndpoint(
      { ...bundle, host: 'db.elsewhere.test' },
      { host: '127.0.0.1', port: 1 },
      HOST_A,
    ).tls!.checkServerIdentity!;
    expect(elsewhere(HOST_A, peer)).toBeInstanceOf(Error);
  });

  it('reaches the node named by the host id through the SNI proxy', async () => {
    for (const [hostId, name] of [
      [HOST_A, 'a'],
      [HOST_B, 'b'],
    ] as const) {
      const endpoint = astraEndpoint(bundle, { host: '127.0.0.1', port: sni.port }, hostId);
      const connection = await UpstreamConnection.connect(options(endpoint));
      try {
        expect(connection.supported.get('NODE')).toEqual([name]);
        expect(connection.endpoint.key).toBe(`127.0.0.1:${sni.port}:${hostId}`);
        const result = await connection.query('SELECT through_sni');
        expect(result.kind).toBe(2);
      } finally {
        connection.close();
      }
    }
  });

  it('fails to connect with a bundle from another CA', async () => {
    const foreign = {
      host: '127.0.0.1',
      ca: otherCa.certPem,
      cert: strangerCert.certPem,
      key: strangerCert.keyPem,
    };
    const error = await connectError(
      astraEndpoint(foreign, { host: '127.0.0.1', port: sni.port }, HOST_A),
    );
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONNECTION_FAILED);
    expect(error.message).toContain(`127.0.0.1:${sni.port}:${HOST_A}`);
    // Our side refuses the server's chain before the server can refuse our certificate.
    expect(error.message).toMatch(/certificate/);
  });

  it('fails to connect when the certificate does not name the bundle host', async () => {
    const error = await connectError(
      astraEndpoint(
        { ...bundle, host: 'db.elsewhere.test' },
        { host: '127.0.0.1', port: sni.port },
        HOST_A,
      ),
    );
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONNECTION_FAILED);
    expect(error.message).toContain('db.elsewhere.test');
  });

  it('fails to connect to an unknown host id (the SNI proxy closes)', async () => {
    const error = await connectError(
      astraEndpoint(bundle, { host: '127.0.0.1', port: sni.port }, UNKNOWN_HOST),
    );
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONNECTION_FAILED);
  });
});

describe('contactPointEndpoint', () => {
  it('is plain TCP without TLS options', () => {
    expect(contactPointEndpoint('10.1.2.3', 9042)).toEqual({
      key: '10.1.2.3:9042',
      host: '10.1.2.3',
      port: 9042,
    });
    expect(hostPort('::1', 9042)).toBe('[::1]:9042');
  });

  it('builds TLS options: CA, client certificate, server name, verification on by default', () => {
    const endpoint = contactPointEndpoint('cassandra.example', 9142, {
      ca: 'CA',
      cert: 'CERT',
      key: 'KEY',
    });
    expect(endpoint.tls).toEqual({
      ca: ['CA'],
      cert: 'CERT',
      key: 'KEY',
      servername: 'cassandra.example',
      rejectUnauthorized: true,
    });
    const ip = contactPointEndpoint('10.0.0.1', 9142, { rejectUnauthorized: false });
    expect(ip.tls).toEqual({ rejectUnauthorized: false });
    const named = contactPointEndpoint('10.0.0.1', 9142, { serverName: 'node1.example' });
    expect(named.tls).toMatchObject({ servername: 'node1.example', rejectUnauthorized: true });
  });

  it('connects over TLS with a CA and a client certificate', async () => {
    const endpoint = contactPointEndpoint('127.0.0.1', sni.port, {
      ca: ca.certPem,
      cert: clientCert.certPem,
      key: clientCert.keyPem,
    });
    const connection = await UpstreamConnection.connect(options(endpoint));
    try {
      expect(connection.supported.get('NODE')).toEqual(['a']);
    } finally {
      connection.close();
    }
  });

  it('refuses a server whose certificate does not chain to the given CA', async () => {
    const endpoint = contactPointEndpoint('127.0.0.1', sni.port, {
      ca: otherCa.certPem,
      cert: clientCert.certPem,
      key: clientCert.keyPem,
    });
    const error = await connectError(endpoint);
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONNECTION_FAILED);
    expect(error.message).toContain('self-signed certificate in certificate chain');
  });

  it('fails without the client certificate the server requires', async () => {
    const endpoint = contactPointEndpoint('127.0.0.1', sni.port, { ca: ca.certPem });
    const error = await connectError(endpoint);
    expect(ProxyError.isProxyError(error) && error.code).toBe(ProxyErrorCode.CONNECTION_FAILED);
    expect(error.message).toMatch(/certificate required|closed the connection|ECONNRESET/);
  });
});
