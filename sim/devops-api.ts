// The slice of Astra's DevOps API that turns a token into a bundle (docs/astra.md §5):
// `POST /v2/databases/{id}/secureBundleURL[?all=true]` with `Authorization: Bearer <token>`
// answers short-lived download URLs, and `GET <downloadURL>` (no auth, like a pre-signed storage
// URL) serves the zip. Plain HTTP: the proxy's --astra-api-url and the tests point at it.

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http-json.js';

export interface DevopsDatabase {
  /** The application token (`AstraCS:...`) allowed to fetch this database's bundle. */
  readonly token: string;
  /** Called when a download URL is used, so the zip may change between downloads; throwing answers 500. */
  readonly bundle: () => Buffer;
  /** e.g. `<databaseId>-1`. */
  readonly datacenterId: string;
}

export interface DevopsApiOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Keyed by database id. */
  readonly databases: ReadonlyMap<string, DevopsDatabase>;
  /** Lifetime of a download URL; Astra documents "about 5 minutes". */
  readonly urlTtlMs?: number;
  /** Clock, injectable so tests can expire URLs without waiting. */
  readonly now?: () => number;
}

export interface DevopsApi {
  /** Base URL, e.g. `http://127.0.0.1:40123` (what --astra-api-url takes). */
  readonly url: string;
  close(): Promise<void>;
}

/** Schema `CredsURL` of the DevOps API (astra-client-go openapi/astra-devops-api.yaml). */
export interface CredsUrl {
  readonly downloadURL: string;
  readonly downloadURLInternal: string;
  readonly downloadURLMigrationProxy: string;
  readonly downloadURLMigrationProxyInternal: string;
  readonly datacenterID: string;
  /** Intentionally misspelled in the real API; clients may read either. */
  readonly datcenterID: string;
  readonly customDomainBundles: readonly CustomDomainBundle[];
}

export interface CustomDomainBundle {
  readonly domain: string;
  readonly cqlFQDN: string;
  readonly apiFQDN: string;
  readonly dashboardFQDN: string;
  readonly downloadURL: string;
}

export const DEFAULT_URL_TTL_MS = 5 * 60_000;
const BUNDLE_URL_PATH = /^\/v2\/databases\/([^/]+)\/secureBundleURL$/;
const DOWNLOAD_PREFIX = '/download/';
const NONCE_BYTES = 24;
/** cassio recognises "jwt not valid" as a bad token (docs/astra.md §5). */
const BAD_TOKEN_MESSAGE = 'JWT not valid';

interface IssuedUrl {
  readonly database: DevopsDatabase;
  readonly expiresAt: number;
}

export async function startDevopsApi(options: DevopsApiOptions): Promise<DevopsApi> {
  const ttl = options.urlTtlMs ?? DEFAULT_URL_TTL_MS;
  const now = options.now ?? Date.now;
  const issued = new Map<string, IssuedUrl>();
  let baseUrl = '';

  const issueUrl = (database: DevopsDatabase): string => {
    const nonce = randomBytes(NONCE_BYTES).toString('base64url');
    issued.set(nonce, { database, expiresAt: now() + ttl });
    return `${baseUrl}${DOWNLOAD_PREFIX}${nonce}`;
  };

  const credsUrl = (database: DevopsDatabase): CredsUrl => ({
    downloadURL: issueUrl(database),
    downloadURLInternal: issueUrl(database),
    downloadURLMigrationProxy: issueUrl(database),
    downloadURLMigrationProxyInternal: issueUrl(database),
    datacenterID: database.datacenterId,
    datcenterID: database.datacenterId,
    customDomainBundles: [],
  });

  const secureBundleUrl = (
    request: IncomingMessage,
    response: ServerResponse,
    id: string,
    all: boolean,
  ): void => {
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      sendErrors(response, 405, `method ${request.method ?? ''} not allowed`);
      return;
    }
    const token = bearerToken(request);
    const database = options.databases.get(id);
    // A token no database knows is refused before the id is looked at, so ids cannot be probed.
    if (token === undefined || !knownToken(options.databases, token)) {
      sendErrors(response, 401, BAD_TOKEN_MESSAGE);
    } else if (database === undefined) {
      sendErrors(response, 404, `database ${id} not found`);
    } else if (database.token !== token) {
      sendErrors(response, 401, `token is not authorized for database ${id}`);
    } else {
      pruneExpired(issued, now(), ttl);
      sendJson(response, 200, all ? [credsUrl(database)] : credsUrl(database));
    }
  };

  const download = (request: IncomingMessage, response: ServerResponse, nonce: string): void => {
    if (request.method !== 'GET') {
      response.setHeader('Allow', 'GET');
      sendErrors(response, 405, `method ${request.method ?? ''} not allowed`);
      return;
    }
    const entry = issued.get(nonce);
    if (entry === undefined) {
      sendErrors(response, 404, 'no such object');
    } else if (now() >= entry.expiresAt) {
      // What a pre-signed storage URL answers once expired.
      sendErrors(response, 403, 'Request has expired');
    } else {
      let zip: Buffer;
      try {
        zip = entry.database.bundle();
      } catch (error) {
        sendErrors(response, 500, error instanceof Error ? error.message : String(error));
        return;
      }
      response.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': zip.length });
      response.end(zip);
    }
  };

  const server = createServer((request, response) => {
    // Bodies are ignored (the real endpoint takes none); drain so keep-alive keeps working.
    request.resume();
    const url = new URL(request.url ?? '/', 'http://devops.invalid');
    const bundleMatch = BUNDLE_URL_PATH.exec(url.pathname);
    const id = bundleMatch?.[1] === undefined ? undefined : decodePathSegment(bundleMatch[1]);
    if (id !== undefined) {
      secureBundleUrl(request, response, id, url.searchParams.get('all') === 'true');
    } else if (url.pathname.startsWith(DOWNLOAD_PREFIX)) {
      download(request, response, url.pathname.slice(DOWNLOAD_PREFIX.length));
    } else {
      sendErrors(response, 404, `no such resource: ${url.pathname}`);
    }
  });

  server.listen(options.port, options.host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('DevOps API: no port');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${host}:${address.port}`;
  return {
    url: baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function bearerToken(request: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

function knownToken(databases: ReadonlyMap<string, DevopsDatabase>, token: string): boolean {
  for (const database of databases.values()) if (database.token === token) return true;
  return false;
}

/** Expired URLs stay one more TTL to answer 403 rather than 404, then are forgotten. */
function pruneExpired(issued: Map<string, IssuedUrl>, now: number, ttl: number): void {
  for (const [nonce, entry] of issued) if (now >= entry.expiresAt + ttl) issued.delete(nonce);
}

function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The DevOps API's error shape: `{"errors":[{"message": "..."}]}`. */
function sendErrors(response: ServerResponse, status: number, message: string): void {
  sendJson(response, status, { errors: [{ message }] });
}
