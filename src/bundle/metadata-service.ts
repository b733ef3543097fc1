// Astra's metadata service: GET https://<config.host>:<config.port>/metadata over mutual TLS
// gives the SNI proxy address and the host ids of the region's nodes
// (docs/astra.md §2). Fetched with a timeout and a few retries, because it is
// the first thing start-up needs and a transient failure should not stop the proxy.

import { request } from 'node:https';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';
import { MiB, formatBytes } from './byte-limit.js';
import { metadataServiceTlsOptions } from '../tls/upstream-tls.js';
import type { SecureConnectBundle } from './secure-connect-bundle.js';

/**
 * Largest metadata service answer read. A real one is a few KiB (the SNI proxy address and the
 * host ids of the region's nodes, about 40 bytes each); the cap keeps a server that never stops
 * sending from filling memory.
 */
export const MAX_METADATA_ANSWER_BYTES = 1 * MiB;

/** Errors that another attempt will not cure: a malformed or oversized answer. */
const final = new WeakSet<object>();

export interface AstraMetadata {
  region: string;
  localDc: string;
  sniProxy: { host: string; port: number };
  /** Host ids of the coordinators of this region: the SNI server names. */
  contactPoints: string[];
}

export interface MetadataFetchOptions {
  timeoutMs: number;
  /** Attempts in all, at least 1. */
  attempts?: number;
  /** Pause before the second attempt; doubles each time. */
  retryDelayMs?: number;
}

export async function fetchAstraMetadata(
  bundle: SecureConnectBundle,
  options: MetadataFetchOptions,
): Promise<AstraMetadata> {
  const attempts = Math.max(1, options.attempts ?? 3);
  let delay = options.retryDelayMs ?? 500;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return parseMetadata(await getMetadata(bundle, options.timeoutMs));
    } catch (err) {
      lastError = err;
      // A malformed or oversized answer will not improve on retry.
      if (typeof err === 'object' && err !== null && final.has(err)) throw err;
      if (attempt < attempts) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
    }
  }
  throw new ProxyError(
    ProxyErrorCode.METADATA_UNAVAILABLE,
    `Astra metadata service https://${hostPort(bundle)}/metadata did not answer after ${attempts} attempts: ${errorMessage(lastError)}`,
    { cause: lastError },
  );
}

function hostPort(bundle: SecureConnectBundle): string {
  return `${bundle.host.includes(':') ? `[${bundle.host}]` : bundle.host}:${bundle.port}`;
}

function getMetadata(bundle: SecureConnectBundle, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, body?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      if (err === undefined) {
        resolve(body ?? '');
      } else {
        reject(err);
        // Drops the connection: nothing more is read from a server that sent too much.
        req.destroy();
      }
    };
    const tooLarge = (): ProxyError => {
      const err = new ProxyError(
        ProxyErrorCode.METADATA_UNAVAILABLE,
        `Astra metadata service https://${hostPort(bundle)}/metadata answer is larger than the ` +
          `${formatBytes(MAX_METADATA_ANSWER_BYTES)} limit`,
      );
      final.add(err);
      return err;
    };
    const noAnswer = (): Error => new Error(`no answer within ${timeoutMs} ms`);
    const req = request(
      {
        host: bundle.host,
        port: bundle.port,
        path: '/metadata',
        method: 'GET',
        headers: { accept: 'application/json' },
        // The certificate is checked against config.json's host, as every driver does.
        ...metadataServiceTlsOptions(bundle),
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        // Content-Length may refuse early; it is never trusted to size a buffer.
        if (Number(res.headers['content-length'] ?? '') > MAX_METADATA_ANSWER_BYTES) {
          finish(tooLarge());
          return;
        }
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (c: Buffer) => {
          total += c.length;
          if (total > MAX_METADATA_ANSWER_BYTES) finish(tooLarge());
          else chunks.push(c);
        });
        res.on('error', (err) => finish(err));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            finish(new Error(`HTTP ${res.statusCode ?? '?'}: ${body.slice(0, 200)}`));
          } else {
            finish(undefined, body);
          }
        });
      },
    );
    // `timeout` notices silence only; the deadline bounds the whole exchange, so a server that
    // sends its answer a byte at a time cannot hold start-up either.
    const deadline = setTimeout(() => finish(noAnswer()), timeoutMs);
    req.on('timeout', () => finish(noAnswer()));
    req.on('error', (err) => finish(err));
    req.end();
  });
}

function malformed(detail: string): ProxyError {
  const err = new ProxyError(
    ProxyErrorCode.METADATA_UNAVAILABLE,
    `Astra metadata service answer is malformed: ${detail}`,
  );
  final.add(err);
  return err;
}

/** Validates the JSON shape of docs/astra.md §2.2. */
export function parseMetadata(body: string): AstraMetadata {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw malformed('not JSON');
  }
  if (typeof doc !== 'object' || doc === null) throw malformed('not a JSON object');
  const root = doc as Record<string, unknown>;
  const info = root.contact_info;
  if (typeof info !== 'object' || info === null) throw malformed('no contact_info');
  const contact = info as Record<string, unknown>;
  const sni = contact.sni_proxy_address;
  if (typeof sni !== 'string') throw malformed('no contact_info.sni_proxy_address');
  const sniProxy = parseHostPort(sni);
  if (sniProxy === undefined) throw malformed(`sni_proxy_address "${sni}" is not host:port`);
  const points = contact.contact_points;
  if (
    !Array.isArray(points) ||
    points.length === 0 ||
    !points.every((p) => typeof p === 'string')
  ) {
    throw malformed('contact_info.contact_points is not a non-empty list of host ids');
  }
  const localDc = typeof contact.local_dc === 'string' ? contact.local_dc : undefined;
  const region = typeof root.region === 'string' ? root.region : localDc;
  if (region === undefined) throw malformed('neither region nor contact_info.local_dc is given');
  return { region, localDc: localDc ?? region, sniProxy, contactPoints: points };
}

/** `host:port` or `[v6]:port`. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}
