// Token mode: the proxy downloads the Secure Connect Bundle itself through Astra's DevOps API
// (docs/astra.md §5): POST /v2/databases/{id}/secureBundleURL?all=true with the
// token as a Bearer credential returns pre-signed download URLs; a plain GET of the first one
// returns the zip. `all=true` always answers a JSON array (cql-proxy issue #131).

import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';
import { MiB, formatBytes, readBodyWithLimit } from './byte-limit.js';
import { MAX_BUNDLE_BYTES } from './secure-connect-bundle.js';

/**
 * Largest DevOps API answer read (the JSON list of download URLs, or an error document). A real
 * one is under 4 KiB (four pre-signed URLs); the cap keeps a wrong --astra-api-url, or a server
 * that never stops sending, from filling memory. The downloaded zip is capped at
 * MAX_BUNDLE_BYTES.
 */
export const MAX_DEVOPS_ANSWER_BYTES = 1 * MiB;

export interface BundleDownloadOptions {
  apiUrl: string;
  token: string;
  databaseId: string;
  timeoutMs: number;
}

export async function downloadSecureConnectBundle(options: BundleDownloadOptions): Promise<Buffer> {
  const base = options.apiUrl.replace(/\/+$/, '');
  const url = `${base}/v2/databases/${encodeURIComponent(options.databaseId)}/secureBundleURL?all=true`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    throw new ProxyError(
      ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
      `cannot reach the Astra DevOps API at ${base}: ${causeMessage(err)}`,
      { cause: err },
    );
  }
  const text = (
    await readBody(
      response,
      MAX_DEVOPS_ANSWER_BYTES,
      `the Astra DevOps API answer is larger than the ${formatBytes(MAX_DEVOPS_ANSWER_BYTES)} limit`,
      `cannot read the Astra DevOps API answer from ${base}`,
    )
  ).toString('utf8');
  if (response.status === 401 || response.status === 403) {
    throw new ProxyError(
      ProxyErrorCode.TOKEN_REJECTED,
      `the Astra DevOps API rejected the token (HTTP ${response.status}${apiMessage(text)}); check --astra-token`,
    );
  }
  if (response.status === 404) {
    throw new ProxyError(
      ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
      `the Astra DevOps API knows no database ${options.databaseId} (HTTP 404${apiMessage(text)}); check --astra-database-id`,
    );
  }
  if (response.status !== 200) {
    throw new ProxyError(
      ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
      `unable to generate bundle URLs, the Astra DevOps API answered HTTP ${response.status}${apiMessage(text)}`,
    );
  }
  const downloadUrl = firstDownloadUrl(text);
  checkDownloadUrl(downloadUrl);
  let zip: Response;
  try {
    zip = await fetch(downloadUrl, { signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (err) {
    throw new ProxyError(
      ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
      `cannot download the secure connect bundle: ${causeMessage(err)}`,
      { cause: err },
    );
  }
  if (zip.status !== 200) {
    throw new ProxyError(
      ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
      `cannot download the secure connect bundle: HTTP ${zip.status}`,
    );
  }
  return readBody(
    zip,
    MAX_BUNDLE_BYTES,
    `the downloaded secure connect bundle is larger than the ${formatBytes(MAX_BUNDLE_BYTES)} limit`,
    'cannot download the secure connect bundle',
  );
}

/** The body within `limit` bytes; a timeout or a dropped connection while reading is named too. */
async function readBody(
  response: Response,
  limit: number,
  tooLarge: string,
  failed: string,
): Promise<Buffer> {
  const tooLargeError = new ProxyError(ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED, tooLarge);
  try {
    return await readBodyWithLimit(response, limit, () => tooLargeError);
  } catch (err) {
    if (err === tooLargeError) throw err;
    throw new ProxyError(ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED, `${failed}: ${causeMessage(err)}`, {
      cause: err,
    });
  }
}

function firstDownloadUrl(text: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  const first: unknown = Array.isArray(doc) ? doc[0] : doc;
  const url =
    typeof first === 'object' && first !== null
      ? (first as Record<string, unknown>).downloadURL
      : undefined;
  if (typeof url !== 'string' || url === '') {
    throw new ProxyError(
      ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
      'the Astra DevOps API answer holds no downloadURL',
    );
  }
  return url;
}

/**
 * The bundle holds the client certificate's private key: it is fetched over https only (plain
 * http only from a loopback address, as tests and local simulators use). The URL is pre-signed,
 * so it is never quoted in the error.
 */
function checkDownloadUrl(text: string): void {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  const host = url?.hostname.replace(/^\[|\]$/g, '') ?? '';
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (url?.protocol === 'https:' || (url?.protocol === 'http:' && loopback)) return;
  throw new ProxyError(
    ProxyErrorCode.BUNDLE_DOWNLOAD_FAILED,
    'the Astra DevOps API gave a bundle download URL that is not https; the bundle holds the ' +
      'client key, so it is not downloaded',
  );
}

/** `: <first error message>` from an API error body `{"errors":[{"message":...}]}`, or ''. */
function apiMessage(text: string): string {
  try {
    const doc = JSON.parse(text) as { errors?: { message?: unknown }[] };
    const message = doc.errors?.[0]?.message;
    return typeof message === 'string' ? `: ${message}` : '';
  } catch {
    return '';
  }
}

/** fetch wraps network errors as "fetch failed" with the useful part in `cause`. */
function causeMessage(err: unknown): string {
  if (err instanceof Error && err.cause !== undefined)
    return `${err.message} (${errorMessage(err.cause)})`;
  return errorMessage(err);
}
