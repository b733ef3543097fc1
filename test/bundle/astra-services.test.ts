// The proxy's Astra clients (metadata service, DevOps API) against the simulator's servers.
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadSecureConnectBundle } from '../../src/bundle/devops-api.js';
import {
  fetchAstraMetadata,
  parseHostPort,
  parseMetadata,
} from '../../src/bundle/metadata-service.js';
import {
  readSecureConnectBundle,
  type SecureConnectBundle,
} from '../../src/bundle/secure-connect-bundle.js';
import { ProxyError, ProxyErrorCode } from '../../src/errors.js';
import { makeSecureConnectBundle } from '../../sim/bundle.js';
import { startDevopsApi, type DevopsApi } from '../../sim/devops-api.js';
import {
  makeMetadataDocument,
  startMetadataService,
  type MetadataService,
} from '../../sim/metadata-service.js';
import { makeCertificateAuthority, makeServerCertificate } from '../../sim/tls/certs.js';

const ca = makeCertificateAuthority();
const server = makeServerCertificate(ca, {
  commonName: '127.0.0.1',
  dnsNames: ['127.0.0.1', 'localhost'],
  ipAddresses: ['127.0.0.1'],
});
const hostIds = ['a2e24181-d732-402a-ab06-894a8b2f6094', 'ce00ba58-a377-4022-ba09-00394ee66cfb'];

let metadata: MetadataService;
let devops: DevopsApi;
let bundle: SecureConnectBundle;
let zip: Buffer;
const TOKEN = 'AstraCS:abcdefghijklmnopqrstuvwx:' + 'f'.repeat(64);
const DATABASE_ID = '3bdf7865-b9af-43d3-b76c-9ed0b57b2c2f';

async function expectProxyError(
  promise: Promise<unknown>,
  code: string,
  message: RegExp,
): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(ProxyError.isProxyError(error)).toBe(true);
  expect((error as ProxyError).code).toBe(code);
  expect((error as ProxyError).message).toMatch(message);
}

beforeAll(async () => {
  metadata = await startMetadataService({
    host: '127.0.0.1',
    port: 0,
    tls: { ca: ca.certPem, cert: server.certPem, key: server.keyPem },
    metadata: () =>
      makeMetadataDocument({
        localDc: 'us-east1',
        contactPoints: hostIds,
        sniProxyAddress: '127.0.0.1:29042',
      }),
  });
  const made = makeSecureConnectBundle({
    ca,
    metadataPort: metadata.port,
    sniPort: 29042,
    keyspace: 'ks',
    localDc: 'us-east1',
  });
  zip = made.zip;
  bundle = readSecureConnectBundle(zip, 'sim');
  devops = await startDevopsApi({
    host: '127.0.0.1',
    port: 0,
    databases: new Map([
      [DATABASE_ID, { token: TOKEN, bundle: () => zip, datacenterId: `${DATABASE_ID}-1` }],
    ]),
  });
});

afterAll(async () => {
  await metadata.close();
  await devops.close();
});

describe('fetchAstraMetadata', () => {
  it('gets the SNI proxy and host ids over mutual TLS', async () => {
    const md = await fetchAstraMetadata(bundle, { timeoutMs: 5000 });
    expect(md).toEqual({
      region: 'us-east1',
      localDc: 'us-east1',
      sniProxy: { host: '127.0.0.1', port: 29042 },
      contactPoints: hostIds,
    });
  });

  it('refuses a server whose certificate the bundle CA did not sign', async () => {
    const other = makeCertificateAuthority();
    await expectProxyError(
      fetchAstraMetadata({ ...bundle, ca: other.certPem }, { timeoutMs: 2000, attempts: 1 }),
      ProxyErrorCode.METADATA_UNAVAILABLE,
      /did not answer after 1 attempts: .*(certificate|self.signed)/i,
    );
  });

  it('retries, then names the address when nothing listens', async () => {
    const port = await unusedPort();
    const started = Date.now();
    await expectProxyError(
      fetchAstraMetadata({ ...bundle, port }, { timeoutMs: 1000, attempts: 3, retryDelayMs: 20 }),
      ProxyErrorCode.METADATA_UNAVAILABLE,
      new RegExp(
        `https://127\\.0\\.0\\.1:${port}/metadata did not answer after 3 attempts: .*ECONNREFUSED`,
      ),
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('times out on a server that never answers', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      await expectProxyError(
        fetchAstraMetadata({ ...bundle, port }, { timeoutMs: 200, attempts: 1 }),
        ProxyErrorCode.METADATA_UNAVAILABLE,
        /no answer within 200 ms/,
      );
    } finally {
      silent.close();
    }
  });

  it('validates the document', () => {
    expect(() => parseMetadata('nope')).toThrow(/not JSON/);
    expect(() => parseMetadata('{}')).toThrow(/no contact_info/);
    expect(() => parseMetadata('{"contact_info":{"sni_proxy_address":"h"}}')).toThrow(
      /not host:port/,
    );
    expect(() =>
      parseMetadata(
        '{"region":"r","contact_info":{"sni_proxy_address":"h:1","contact_points":[]}}',
      ),
    ).toThrow(/non-empty list/);
    expect(parseHostPort('[::1]:9042')).toEqual({ host: '::1', port: 9042 });
    expect(parseHostPort('host:0')).toBeUndefined();
  });
});

describe('downloadSecureConnectBundle', () => {
  it('downloads the bundle with the token', async () => {
    const got = await downloadSecureConnectBundle({
      apiUrl: devops.url,
      token: TOKEN,
      databaseId: DATABASE_ID,
      timeoutMs: 5000,
    });
    expect(got).toEqual(zip);
  });

  it('says clearly that the token was rejected, without echoing it', async () => {
    const wrong = 'AstraCS:wrong:' + '0'.repeat(64);
    let message = '';
    try {
      await downloadSecureConnectBundle({
        apiUrl: devops.url,
        token: wrong,
        databaseId: DATABASE_ID,
        timeoutMs: 5000,
      });
    } catch (e) {
      expect((e as ProxyError).code).toBe(ProxyErrorCode.TOKEN_REJECTED);
      message = (e as Error).message;
    }
    expect(message).toMatch(/rejected the token \(HTTP 401/);
    expect(message).not.toContain(wrong);
  });

  it('names an unknown database', async () => {
    await expectProxyError(
      downloadSecureConnectBundle({
        apiUrl: devops.url,
        token: TOKEN,
        databaseId: 'nope',
        timeoutMs: 5000,
      }),
      ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
      /knows no database nope \(HTTP 404/,
    );
  });

  it('refuses a download URL that is not https, without fetching or quoting it', async () => {
    const api = createHttpServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ downloadURL: 'http://bundles.example.invalid/b.zip?sig=s3cr3t' }]));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const { port } = api.address() as AddressInfo;
    try {
      let message = '';
      try {
        await downloadSecureConnectBundle({
          apiUrl: `http://127.0.0.1:${port}`,
          token: TOKEN,
          databaseId: DATABASE_ID,
          timeoutMs: 5000,
        });
      } catch (e) {
        expect((e as ProxyError).code).toBe(ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED);
        message = (e as Error).message;
      }
      expect(message).toBe(
        'the Astra DevOps API gave a bundle download URL that is not https; the bundle holds the client key, so it is not downloaded',
      );
    } finally {
      await new Promise<void>((resolve) => api.close(() => resolve()));
    }
  });

  it('names an API that cannot be reached', async () => {
    const port = await unusedPort();
    await expectProxyError(
      downloadSecureConnectBundle({
        apiUrl: `http://127.0.0.1:${port}`,
        token: TOKEN,
        databaseId: DATABASE_ID,
        timeoutMs: 2000,
      }),
      ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
      /cannot reach the Astra DevOps API at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    );
  });
});

async function unusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
