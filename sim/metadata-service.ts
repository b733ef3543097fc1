// Astra's metadata service: the HTTPS endpoint at `config.json` host:port that every driver calls
// once, with the bundle's client certificate, to learn the SNI proxy address, the local DC and the
// host ids to use as contact points (docs/astra.md §2).

import { once } from 'node:events';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { mutualTlsOptions } from './tls/server-tls.js';
import type { ServerTlsMaterial } from './tls/server-tls.js';
import { sendJson } from './http-json.js';

/**
 * docs/astra.md §2.2; field names as cql-proxy's `astraMetadata`/`contactInfo` structs decode
 * them.
 */
export interface MetadataDocument {
  readonly version: number;
  readonly region: string;
  readonly contact_info: {
    readonly type: 'sni_proxy';
    readonly local_dc: string;
    /** Host ids (lowercase dashed UUIDs) of the local DC's coordinators, not addresses. */
    readonly contact_points: readonly string[];
    /** `host:port`; Java and Node refuse it without the port. */
    readonly sni_proxy_address: string;
  };
}

export interface MetadataServiceOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly tls: ServerTlsMaterial;
  /**
   * Called per request, so topology changes show up on the next fetch (cql-proxy re-fetches).
   * Throwing answers 500.
   */
  readonly metadata: () => MetadataDocument;
}

export interface MetadataService {
  /** The full URL drivers build from config.json: `https://host:port/metadata`. */
  readonly url: string;
  readonly port: number;
  /** Successful `GET /metadata` answers so far. */
  readonly requests: number;
  close(): Promise<void>;
}

export const METADATA_PATH = '/metadata';

/**
 * Builds the document as Astra sends it. Keep region == local_dc == the nodes' data_center:
 * cql-proxy drops peers whose DC differs from `region`, Node checks `local_dc` (docs/astra.md §8).
 */
export function makeMetadataDocument(args: {
  readonly localDc: string;
  readonly contactPoints: readonly string[];
  readonly sniProxyAddress: string;
}): MetadataDocument {
  return {
    version: 1,
    region: args.localDc,
    contact_info: {
      type: 'sni_proxy',
      local_dc: args.localDc,
      contact_points: [...args.contactPoints],
      sni_proxy_address: args.sniProxyAddress,
    },
  };
}

export async function startMetadataService(
  options: MetadataServiceOptions,
): Promise<MetadataService> {
  let requests = 0;
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    // No body is expected; drain whatever arrives so the connection stays usable.
    request.resume();
    const path = new URL(request.url ?? '/', 'https://metadata.invalid').pathname;
    if (path !== METADATA_PATH) {
      sendJson(response, 404, { message: `no such resource: ${path}` });
    } else if (request.method !== 'GET') {
      response.setHeader('Allow', 'GET');
      sendJson(response, 405, { message: `method ${request.method ?? ''} not allowed` });
    } else {
      let document: MetadataDocument;
      try {
        document = options.metadata();
      } catch (error) {
        // Lets a test simulate an unhealthy service: drivers must report a failed fetch.
        sendJson(response, 500, {
          message: error instanceof Error ? error.message : String(error),
        });
        return;
      }
      requests += 1;
      sendJson(response, 200, document);
    }
  };
  const server = createServer(mutualTlsOptions(options.tls), handle);
  // Raw sockets, tracked from accept so close() also ends connections still in their handshake.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('metadata service: no port');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `https://${host}:${address.port}${METADATA_PATH}`,
    port: address.port,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // The callback fires once every connection is gone; an "already closed" error is fine too.
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };
}
