import { Agent, request } from 'node:https';
import type { RequestOptions } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSecureConnectBundle } from '../../sim/bundle.js';
import { makeMetadataDocument, startMetadataService } from '../../sim/metadata-service.js';
import type { MetadataDocument, MetadataService } from '../../sim/metadata-service.js';
import {
  makeCertificateAuthority,
  makeClientCertificate,
  makeServerCertificate,
} from '../../sim/tls/certs.js';

const HOST_IDS = [
  'a2e24181-d732-402a-ab06-894a8b2f6094',
  'ce00ba58-a377-4022-ba09-00394ee66cfb',
  '9e339fe3-2bf2-45ce-a660-76951f39a8e8',
];

const ca = makeCertificateAuthority();
const server = makeServerCertificate(ca, {
  commonName: '127.0.0.1',
  dnsNames: ['127.0.0.1', 'localhost'],
  ipAddresses: ['127.0.0.1'],
});
const client = makeClientCertificate(ca, 'client');
const otherCa = makeCertificateAuthority('ca.other.test');
const strangerClient = makeClientCertificate(otherCa, 'client');
const strangerServer = makeServerCertificate(otherCa, {
  commonName: '127.0.0.1',
  dnsNames: ['127.0.0.1'],
  ipAddresses: ['127.0.0.1'],
});

interface Reply {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** One request on a fresh connection (agent: false), so each test does its own handshake. */
function fetchOnce(url: string, options: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const mutualTls = { ca: ca.certPem, cert: client.certPem, key: client.keyPem };

describe('startMetadataService', () => {
  let service: MetadataService;
  let failure: Error | undefined;
  let document: MetadataDocument = makeMetadataDocument({
    localDc: 'dc1',
    contactPoints: HOST_IDS,
    sniProxyAddress: '127.0.0.1:29042',
  });

  beforeAll(async () => {
    service = await startMetadataService({
      host: '127.0.0.1',
      port: 0,
      tls: { ca: ca.certPem, cert: server.certPem, key: server.keyPem },
      metadata: () => {
        if (failure !== undefined) throw failure;
        return document;
      },
    });
  });
  afterAll(async () => {
    await service.close();
  });

  it('listens on a picked port and reports the URL drivers build', () => {
    expect(service.port).toBeGreaterThan(0);
    expect(service.url).toBe(`https://127.0.0.1:${service.port}/metadata`);
  });

  it("answers GET /metadata to the bundle's client certificate with Astra's JSON", async () => {
    const before = service.requests;
    // Default identity check against the IP literal: passes thanks to the IP SAN.
    const reply = await fetchOnce(service.url, mutualTls);
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe('application/json');
    expect(reply.body).toBe(
      '{"version":1,"region":"dc1","contact_info":{"type":"sni_proxy","local_dc":"dc1",' +
        `"contact_points":${JSON.stringify(HOST_IDS)},"sni_proxy_address":"127.0.0.1:29042"}}`,
    );
    expect(service.requests).toBe(before + 1);
  });

  it('also passes an identity check against localhost (Java may reverse-resolve 127.0.0.1)', async () => {
    const reply = await fetchOnce(service.url, { ...mutualTls, servername: 'localhost' });
    expect(reply.status).toBe(200);
  });

  it('accepts the PKCS#12 identity from the bundle (what the C# driver presents)', async () => {
    const bundle = makeSecureConnectBundle({
      ca,
      metadataPort: service.port,
      sniPort: 29042,
      keyspace: 'ks',
      localDc: 'dc1',
    });
    const reply = await fetchOnce(service.url, {
      ca: bundle.files['ca.crt'],
      pfx: bundle.files['cert.pfx'],
      passphrase: bundle.passwords.pfxCert,
    });
    expect(reply.status).toBe(200);
  });

  it('asks the callback on every request, so topology changes show up', async () => {
    document = makeMetadataDocument({
      localDc: 'dc1',
      contactPoints: HOST_IDS.slice(0, 1),
      sniProxyAddress: '127.0.0.1:29042',
    });
    const reply = await fetchOnce(service.url, mutualTls);
    const parsed = JSON.parse(reply.body) as MetadataDocument;
    expect(parsed.contact_info.contact_points).toEqual(HOST_IDS.slice(0, 1));
  });

  it('answers 500 JSON when the document callback throws', async () => {
    const before = service.requests;
    failure = new Error('unhealthy');
    try {
      const reply = await fetchOnce(service.url, mutualTls);
      expect(reply.status).toBe(500);
      expect(reply.contentType).toBe('application/json');
      expect(JSON.parse(reply.body)).toEqual({ message: 'unhealthy' });
      expect(service.requests).toBe(before);
    } finally {
      failure = undefined;
    }
  });

  it('refuses a client without a certificate', async () => {
    const before = service.requests;
    await expect(fetchOnce(service.url, { ca: ca.certPem })).rejects.toThrow();
    expect(service.requests).toBe(before);
  });

  it('refuses a client certificate from another CA', async () => {
    const before = service.requests;
    await expect(
      fetchOnce(service.url, {
        ca: ca.certPem,
        cert: strangerClient.certPem,
        key: strangerClient.keyPem,
      }),
    ).rejects.toThrow();
    expect(service.requests).toBe(before);
  });

  it('is refused by a client that trusts only another CA (the server cert chains to ca.crt)', async () => {
    await expect(
      fetchOnce(service.url, { ...mutualTls, ca: strangerServer.certPem }),
    ).rejects.toThrow(/self-signed|unable to verify|certificate/i);
  });

  it('answers 404 JSON for other paths and 405 for other methods', async () => {
    const base = service.url.replace(/\/metadata$/, '');
    const notFound = await fetchOnce(`${base}/metadata/extra`, mutualTls);
    expect(notFound.status).toBe(404);
    expect(notFound.contentType).toBe('application/json');
    expect(JSON.parse(notFound.body)).toHaveProperty('message');
    const root = await fetchOnce(`${base}/`, mutualTls);
    expect(root.status).toBe(404);
    const post = await fetchOnce(service.url, { ...mutualTls, method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.contentType).toBe('application/json');
  });

  it('ignores a query string, as drivers send none', async () => {
    const reply = await fetchOnce(`${service.url}?x=1`, mutualTls);
    expect(reply.status).toBe(200);
  });
});

describe('startMetadataService: close', () => {
  it('closes promptly even with a keep-alive connection open', async () => {
    const service = await startMetadataService({
      host: '127.0.0.1',
      port: 0,
      tls: { ca: ca.certPem, cert: server.certPem, key: server.keyPem },
      metadata: () =>
        makeMetadataDocument({
          localDc: 'dc1',
          contactPoints: HOST_IDS,
          sniProxyAddress: '127.0.0.1:1',
        }),
    });
    const agent = new Agent({ keepAlive: true });
    const reply = await fetchOnce(service.url, { ...mutualTls, agent });
    expect(reply.status).toBe(200);
    const started = Date.now();
    await service.close();
    expect(Date.now() - started).toBeLessThan(4000);
    agent.destroy();
    await expect(fetchOnce(service.url, mutualTls)).rejects.toThrow(/ECONNREFUSED/);
  });
});
