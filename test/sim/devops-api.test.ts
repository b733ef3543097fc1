import { randomBytes } from 'node:crypto';
import AdmZip from 'adm-zip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_URL_TTL_MS, startDevopsApi } from '../../sim/devops-api.js';
import type { CredsUrl, DevopsApi, DevopsDatabase } from '../../sim/devops-api.js';

const DB_1 = 'd04d1eb2-6a52-483e-ab16-faaad3d077a9';
const DB_2 = '70bf8560-105f-11ec-a3ea-0800200c9a66';
const TOKEN_1 = 'AstraCS:one:0123456789abcdef';
const TOKEN_2 = 'AstraCS:two:fedcba9876543210';
const TTL_MS = 60_000;

function zipWith(name: string, content: string): Buffer {
  const zip = new AdmZip();
  zip.addFile(name, Buffer.from(content));
  return zip.toBuffer();
}

interface Reply {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: Buffer;
}

async function call(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: Buffer.from(await response.arrayBuffer()),
  };
}

function json(reply: Reply): unknown {
  return JSON.parse(reply.body.toString('utf8'));
}

function errorsOf(reply: Reply): string[] {
  const body = json(reply) as { errors: { message: string }[] };
  return body.errors.map((e) => e.message);
}

describe('startDevopsApi', () => {
  let api: DevopsApi;
  let clock = 1_700_000_000_000;
  let bundleOne = zipWith('config.json', '{"host":"127.0.0.1"}');
  let downloads = 0;
  const databases = new Map<string, DevopsDatabase>([
    [
      DB_1,
      {
        token: TOKEN_1,
        bundle: () => {
          downloads += 1;
          return bundleOne;
        },
        datacenterId: `${DB_1}-1`,
      },
    ],
    [DB_2, { token: TOKEN_2, bundle: () => randomBytes(10), datacenterId: `${DB_2}-1` }],
  ]);

  const secureBundleUrl = (id: string, query = ''): string =>
    `${api.url}/v2/databases/${id}/secureBundleURL${query}`;
  const post = (url: string, token?: string): Promise<Reply> =>
    call(url, {
      method: 'POST',
      headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
    });

  beforeAll(async () => {
    api = await startDevopsApi({
      host: '127.0.0.1',
      port: 0,
      databases,
      urlTtlMs: TTL_MS,
      now: () => clock,
    });
  });
  afterAll(async () => {
    await api.close();
  });

  it('serves plain HTTP on a picked loopback port', () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers 401 "JWT not valid" without a token, with an unknown token, or with another scheme', async () => {
    for (const reply of [
      await post(secureBundleUrl(DB_1)),
      await post(secureBundleUrl(DB_1), 'AstraCS:nope'),
      await call(secureBundleUrl(DB_1), {
        method: 'POST',
        headers: { Authorization: `Basic ${TOKEN_1}` },
      }),
    ]) {
      expect(reply.status).toBe(401);
      expect(reply.contentType).toBe('application/json');
      expect(errorsOf(reply)).toEqual(['JWT not valid']);
    }
  });

  it('refuses a valid token for another database with 401', async () => {
    const reply = await post(secureBundleUrl(DB_1), TOKEN_2);
    expect(reply.status).toBe(401);
    expect(errorsOf(reply)).toHaveLength(1);
  });

  it('answers 404 in the same error shape for an unknown database', async () => {
    const reply = await post(secureBundleUrl('00000000-0000-0000-0000-000000000000'), TOKEN_1);
    expect(reply.status).toBe(404);
    expect(reply.contentType).toBe('application/json');
    expect(errorsOf(reply)[0]).toMatch(/not found/);
  });

  it('answers one CredsURL object without all=true (and with all=false)', async () => {
    for (const query of ['', '?all=false']) {
      const reply = await post(secureBundleUrl(DB_1, query), TOKEN_1);
      expect(reply.status).toBe(200);
      expect(reply.contentType).toBe('application/json');
      const creds = json(reply) as CredsUrl;
      expect(Array.isArray(creds)).toBe(false);
      expect(Object.keys(creds).sort()).toEqual(
        [
          'customDomainBundles',
          'datacenterID',
          'datcenterID',
          'downloadURL',
          'downloadURLInternal',
          'downloadURLMigrationProxy',
          'downloadURLMigrationProxyInternal',
        ].sort(),
      );
      expect(creds.datacenterID).toBe(`${DB_1}-1`);
      expect(creds.datcenterID).toBe(`${DB_1}-1`);
      expect(creds.customDomainBundles).toEqual([]);
      for (const url of [
        creds.downloadURL,
        creds.downloadURLInternal,
        creds.downloadURLMigrationProxy,
        creds.downloadURLMigrationProxyInternal,
      ]) {
        expect(url.startsWith(`${api.url}/download/`)).toBe(true);
      }
    }
  });

  it('answers an array of CredsURL with all=true (what cql-proxy asks for)', async () => {
    const reply = await post(secureBundleUrl(DB_1, '?all=true'), TOKEN_1);
    expect(reply.status).toBe(200);
    const list = json(reply) as CredsUrl[];
    expect(Array.isArray(list)).toBe(true);
    expect(list).toHaveLength(1);
    expect(list[0]?.datacenterID).toBe(`${DB_1}-1`);
  });

  it('serves the zip at downloadURL without any auth, until the TTL runs out', async () => {
    const creds = json(await post(secureBundleUrl(DB_1), TOKEN_1)) as CredsUrl;
    const before = downloads;
    const reply = await call(creds.downloadURL);
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe('application/zip');
    expect(reply.body.equals(bundleOne)).toBe(true);
    expect(new AdmZip(reply.body).getEntry('config.json')?.getData().toString()).toBe(
      '{"host":"127.0.0.1"}',
    );
    expect(downloads).toBe(before + 1);
    // The bundle is read at download time: a rebuilt bundle is what the next download gets.
    bundleOne = zipWith('config.json', '{"host":"changed"}');
    const again = await call(creds.downloadURLInternal);
    expect(again.body.equals(bundleOne)).toBe(true);

    clock += TTL_MS - 1;
    expect((await call(creds.downloadURL)).status).toBe(200);
    clock += 1;
    const expired = await call(creds.downloadURL);
    expect(expired.status).toBe(403);
    expect(errorsOf(expired)).toEqual(['Request has expired']);
  });

  it('forgets expired URLs after another TTL (404 then)', async () => {
    const creds = json(await post(secureBundleUrl(DB_1), TOKEN_1)) as CredsUrl;
    clock += 2 * TTL_MS;
    // Pruning happens when URLs are issued.
    expect((await post(secureBundleUrl(DB_1), TOKEN_1)).status).toBe(200);
    expect((await call(creds.downloadURL)).status).toBe(404);
  });

  it('answers 404 for an unknown download nonce and for unknown routes', async () => {
    expect((await call(`${api.url}/download/not-a-nonce`)).status).toBe(404);
    for (const path of [
      '/',
      '/v2/databases',
      `/v2/databases/${DB_1}`,
      '/v2/databases//secureBundleURL',
    ]) {
      const reply = await call(`${api.url}${path}`);
      expect(reply.status).toBe(404);
      expect(errorsOf(reply)).toHaveLength(1);
    }
  });

  it('answers 405 for the wrong method on a known route', async () => {
    const get = await call(secureBundleUrl(DB_1), {
      headers: { Authorization: `Bearer ${TOKEN_1}` },
    });
    expect(get.status).toBe(405);
    expect(errorsOf(get)).toHaveLength(1);
    const creds = json(await post(secureBundleUrl(DB_1), TOKEN_1)) as CredsUrl;
    expect((await call(creds.downloadURL, { method: 'POST' })).status).toBe(405);
  });

  it('answers 500 in the error shape when the bundle cannot be built', async () => {
    const broken = new Map<string, DevopsDatabase>([
      [
        'db',
        {
          token: 't',
          bundle: () => {
            throw new Error('bundle unavailable');
          },
          datacenterId: 'db-1',
        },
      ],
    ]);
    const local = await startDevopsApi({ host: '127.0.0.1', port: 0, databases: broken });
    try {
      const reply = await call(`${local.url}/v2/databases/db/secureBundleURL`, {
        method: 'POST',
        headers: { Authorization: 'Bearer t' },
      });
      const download = await call((json(reply) as CredsUrl).downloadURL);
      expect(download.status).toBe(500);
      expect(errorsOf(download)).toEqual(['bundle unavailable']);
    } finally {
      await local.close();
    }
  });

  it('decodes a percent-encoded database id', async () => {
    const encoded = DB_2.replace('-', '%2D');
    expect((await post(secureBundleUrl(encoded), TOKEN_2)).status).toBe(200);
  });
});

describe('startDevopsApi: defaults', () => {
  it('gives URLs about five minutes by default', async () => {
    expect(DEFAULT_URL_TTL_MS).toBe(300_000);
    let clock = 0;
    const api = await startDevopsApi({
      host: '127.0.0.1',
      port: 0,
      databases: new Map([
        ['db', { token: 't', bundle: () => Buffer.from('zip'), datacenterId: 'db-1' }],
      ]),
      now: () => clock,
    });
    try {
      const reply = await call(`${api.url}/v2/databases/db/secureBundleURL`, {
        method: 'POST',
        headers: { Authorization: 'Bearer t' },
      });
      const creds = json(reply) as CredsUrl;
      clock = DEFAULT_URL_TTL_MS - 1;
      expect((await call(creds.downloadURL)).status).toBe(200);
      clock = DEFAULT_URL_TTL_MS;
      expect((await call(creds.downloadURL)).status).toBe(403);
    } finally {
      await api.close();
    }
  });
});
