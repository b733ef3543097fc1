// Size caps on what Astra's servers send: real servers on loopback stream an answer far larger
// than the cap (100 MiB, lazily, as the client takes it), and the proxy's clients must fail with
// one line naming the cap long before the server has sent it all, so memory never holds the body.
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { MiB } from '../../src/bundle/byte-limit.js';
import {
  MAX_DEVOPS_ANSWER_BYTES,
  downloadSecureConnectBundle,
} from '../../src/bundle/devops-api.js';
import {
  MAX_METADATA_ANSWER_BYTES,
  fetchAstraMetadata,
} from '../../src/bundle/metadata-service.js';
import {
  MAX_BUNDLE_BYTES,
  type SecureConnectBundle,
} from '../../src/bundle/secure-connect-bundle.js';
import { ProxyError, ProxyErrorCode } from '../../src/errors.js';
import {
  makeCertificateAuthority,
  makeClientCertificate,
  makeServerCertificate,
} from '../../sim/tls/certs.js';

const BODY_BYTES = 100 * MiB;
const CHUNK = Buffer.alloc(64 * 1024, 0x20); // spaces: a JSON answer could be padded with them
const TOKEN = 'AstraCS:abcdefghijklmnopqrstuvwx:' + 'f'.repeat(64);
const DATABASE_ID = '3bdf7865-b9af-43d3-b76c-9ed0b57b2c2f';

/** How far one lazily streamed body got. */
interface Stream {
  sent: number;
  finished: boolean;
  /** Resolves when the server's side of the answer closes (sent in full, or dropped by the peer). */
  closed: Promise<void>;
}

/**
 * Sends `total` bytes, a chunk at a time and only as fast as the peer reads (it waits for
 * 'drain'), so the bytes sent are about the bytes the client took: the test can tell a client that
 * stopped early from one that read everything.
 */
function streamLazily(
  res: ServerResponse,
  total: number,
  trickle?: { chunkBytes: number; intervalMs: number },
): Stream {
  const size = trickle?.chunkBytes ?? CHUNK.length;
  const stream: Stream = {
    sent: 0,
    finished: false,
    closed: new Promise((resolve) => res.on('close', resolve)),
  };
  let stopped = false;
  res.on('close', () => {
    stopped = true;
  });
  const pump = (): void => {
    while (!stopped && stream.sent < total) {
      const chunk = CHUNK.subarray(0, Math.min(size, total - stream.sent));
      stream.sent += chunk.length;
      const more = res.write(chunk);
      if (trickle !== undefined) {
        setTimeout(pump, trickle.intervalMs);
        return;
      }
      if (!more) {
        res.once('drain', pump);
        return;
      }
    }
    if (!stopped && stream.sent >= total) {
      stream.finished = true;
      res.end();
    }
  };
  pump();
  return stream;
}

const servers: Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function proxyErrorOf(promise: Promise<unknown>): Promise<ProxyError> {
  try {
    await promise;
  } catch (e) {
    if (ProxyError.isProxyError(e)) return e;
    throw e;
  }
  throw new Error('expected a ProxyError');
}

/** The error, and proof that the client dropped the answer early without holding it. */
async function expectStoppedEarly(
  run: () => Promise<unknown>,
  streams: Stream[],
  code: ProxyErrorCode,
  line: string,
): Promise<void> {
  const heapBefore = process.memoryUsage().arrayBuffers;
  const started = Date.now();
  const error = await proxyErrorOf(run());
  expect(error.code).toBe(code);
  expect(error.message).toBe(line);
  expect(Date.now() - started).toBeLessThan(5000);
  const stream = streams.at(-1);
  expect(stream).toBeDefined();
  if (stream === undefined) return;
  // The client dropped the connection: the server stops without having sent the whole body.
  await stream.closed;
  expect(stream.finished).toBe(false);
  expect(stream.sent).toBeLessThan(BODY_BYTES / 2);
  // Memory held for the answer stays near the cap, nowhere near the 100 MiB the server offered.
  expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(48 * MiB);
}

describe('DevOps API answers are read with a byte limit', () => {
  /** An API whose /v2 answer and /zip download each come from the given handlers. */
  async function api(handlers: {
    answer: (req: IncomingMessage, res: ServerResponse, base: string) => void;
    zip?: (req: IncomingMessage, res: ServerResponse) => void;
  }): Promise<string> {
    let base = '';
    const server = createHttpServer((req, res) => {
      if (req.url?.startsWith('/v2/') === true) handlers.answer(req, res, base);
      else if (req.url === '/zip' && handlers.zip !== undefined) handlers.zip(req, res);
      else res.writeHead(404).end();
    });
    base = `http://127.0.0.1:${await listen(server)}`;
    return base;
  }

  const download = (apiUrl: string, timeoutMs = 10_000): Promise<Buffer> =>
    downloadSecureConnectBundle({ apiUrl, token: TOKEN, databaseId: DATABASE_ID, timeoutMs });

  it('refuses an endless URL answer without Content-Length', async () => {
    const streams: Stream[] = [];
    const url = await api({
      answer: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        streams.push(streamLazily(res, BODY_BYTES));
      },
    });
    await expectStoppedEarly(
      () => download(url),
      streams,
      ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
      'the Astra DevOps API answer is larger than the 1 MiB limit',
    );
    expect(MAX_DEVOPS_ANSWER_BYTES).toBe(1 * MiB);
  });

  it('refuses a URL answer whose Content-Length is over the limit, before reading it', async () => {
    const streams: Stream[] = [];
    const url = await api({
      answer: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY_BYTES });
        streams.push(streamLazily(res, BODY_BYTES));
      },
    });
    await expectStoppedEarly(
      () => download(url),
      streams,
      ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
      'the Astra DevOps API answer is larger than the 1 MiB limit',
    );
  });

  it('refuses an error answer that never ends, rather than quote it', async () => {
    const streams: Stream[] = [];
    const url = await api({
      answer: (_req, res) => {
        res.writeHead(401, { 'content-type': 'application/json' });
        streams.push(streamLazily(res, BODY_BYTES));
      },
    });
    await expectStoppedEarly(
      () => download(url),
      streams,
      ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
      'the Astra DevOps API answer is larger than the 1 MiB limit',
    );
  });

  for (const withLength of [false, true]) {
    it(`refuses a bundle download over ${MAX_BUNDLE_BYTES / MiB} MiB (${withLength ? 'with' : 'without'} Content-Length)`, async () => {
      const streams: Stream[] = [];
      const url = await api({
        answer: (_req, res, base) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify([{ downloadURL: `${base}/zip` }]));
        },
        zip: (_req, res) => {
          res.writeHead(
            200,
            withLength
              ? { 'content-type': 'application/zip', 'content-length': BODY_BYTES }
              : { 'content-type': 'application/zip' },
          );
          streams.push(streamLazily(res, BODY_BYTES));
        },
      });
      await expectStoppedEarly(
        () => download(url),
        streams,
        ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
        'the downloaded secure connect bundle is larger than the 16 MiB limit',
      );
    });
  }

  it('still takes a bundle just under the limit', async () => {
    const zip = Buffer.alloc(MAX_BUNDLE_BYTES, 7);
    const url = await api({
      answer: (_req, res, base) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify([{ downloadURL: `${base}/zip` }]));
      },
      zip: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/zip' });
        res.end(zip);
      },
    });
    expect((await download(url)).equals(zip)).toBe(true);
  });

  it('gives up on an answer that trickles past the timeout, naming the API', async () => {
    const streams: Stream[] = [];
    const url = await api({
      answer: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        streams.push(streamLazily(res, 1000, { chunkBytes: 1, intervalMs: 50 }));
      },
    });
    const started = Date.now();
    const error = await proxyErrorOf(download(url, 300));
    expect(error.code).toBe(ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED);
    expect(error.message).toMatch(
      new RegExp(`^cannot read the Astra DevOps API answer from ${url}: .*(abort|timeout)`, 'i'),
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('the metadata service answer is read with a byte limit', () => {
  const ca = makeCertificateAuthority();
  const serverCert = makeServerCertificate(ca, {
    commonName: '127.0.0.1',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  const client = makeClientCertificate(ca, 'client');

  /** An https metadata service on loopback; counts the requests it gets. */
  async function service(
    handler: (res: ServerResponse) => void,
  ): Promise<{ bundle: SecureConnectBundle; requests: () => number }> {
    let requests = 0;
    const server = createHttpsServer(
      { ca: ca.certPem, cert: serverCert.certPem, key: serverCert.keyPem },
      (_req, res) => {
        requests++;
        handler(res);
      },
    );
    const port = await listen(server);
    const bundle: SecureConnectBundle = {
      host: '127.0.0.1',
      port,
      ca: ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
      keyspace: undefined,
      localDc: undefined,
    };
    return { bundle, requests: () => requests };
  }

  for (const withLength of [false, true]) {
    it(`refuses an endless answer at once, without retrying (${withLength ? 'with' : 'without'} Content-Length)`, async () => {
      const streams: Stream[] = [];
      const { bundle, requests } = await service((res) => {
        res.writeHead(
          200,
          withLength
            ? { 'content-type': 'application/json', 'content-length': BODY_BYTES }
            : { 'content-type': 'application/json' },
        );
        streams.push(streamLazily(res, BODY_BYTES));
      });
      await expectStoppedEarly(
        () => fetchAstraMetadata(bundle, { timeoutMs: 10_000, attempts: 3, retryDelayMs: 10 }),
        streams,
        ProxyErrorCode.METADATA_UNAVAILABLE,
        `Astra metadata service https://127.0.0.1:${bundle.port}/metadata answer is larger than the 1 MiB limit`,
      );
      expect(requests()).toBe(1);
      expect(MAX_METADATA_ANSWER_BYTES).toBe(1 * MiB);
    });
  }

  it('bounds the whole exchange by the timeout, not only silences', async () => {
    const { bundle } = await service((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      streamLazily(res, 10_000, { chunkBytes: 1, intervalMs: 20 }); // never silent for 300 ms
    });
    const started = Date.now();
    const error = await proxyErrorOf(fetchAstraMetadata(bundle, { timeoutMs: 300, attempts: 1 }));
    expect(error.message).toBe(
      `Astra metadata service https://127.0.0.1:${bundle.port}/metadata did not answer after 1 attempts: no answer within 300 ms`,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
