// Astra's SNI proxy: one mutual-TLS port in front of every coordinator. Drivers put the host id of
// the node they want in the TLS server name; the proxy terminates TLS and pipes the plaintext CQL
// bytes to that node over TCP (docs/astra.md §3.1).
//
// Backpressure both ways: pipe() stops reading one leg while the other's write buffer is full, so a
// client that does not read its answers stops the proxy reading the node, and the node then stops
// reading that connection's requests (see node/connection.ts). The proxy itself holds about one
// chunk per direction; peakBufferedBytes lets tests check it.

import { constants } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { createServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { mutualTlsOptions } from './tls/server-tls.js';
import type { ServerTlsMaterial } from './tls/server-tls.js';

export interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Maps a ClientHello's server name to a node; `undefined` closes the connection. The name is
 * `undefined` when the client sent no SNI (IP-literal hosts); what that and the bundle host mean
 * (round-robin over nodes, in the recommended profile) is the caller's decision.
 */
export type SniRoute = (serverName: string | undefined) => NodeAddress | undefined;

export interface SniProxyOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly tls: ServerTlsMaterial;
  readonly route: SniRoute;
}

export interface SniProxy {
  /** `host:port`, as `sni_proxy_address` in the metadata document. */
  readonly address: string;
  readonly port: number;
  /** Connections currently piped to a node. */
  readonly connections: number;
  /** Connections ever piped to a node. */
  readonly totalConnections: number;
  /** Handshakes that failed (no client certificate, unknown CA, ...). */
  readonly rejectedHandshakes: number;
  /** Bytes waiting in the proxy's write buffers now, both directions of every connection. */
  readonly bufferedBytes: number;
  /** The most bytes ever waiting in one write buffer (one direction of one connection). */
  readonly peakBufferedBytes: number;
  /** Destroys every live connection, then resolves once the listener is closed. */
  close(): Promise<void>;
}

export async function startSniProxy(options: SniProxyOptions): Promise<SniProxy> {
  const server = createServer({
    ...mutualTlsOptions(options.tls),
    // Each half of a connection ends on its own: a client's FIN is passed to the node and the
    // node's remaining replies still flow back (and vice versa).
    allowHalfOpen: true,
    // No session tickets, and no session cache listeners: a resumed session would carry the SNI of
    // its first handshake, while Java reuses sessions across host ids unless it prevents it
    // (docs/astra.md §3.1). Every connection then does a full handshake with a fresh SNI.
    secureOptions: constants.SSL_OP_NO_TICKET,
  });
  // Every socket, raw or TLS or upstream, so close() can end tests promptly.
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  let connections = 0;
  let totalConnections = 0;
  let rejectedHandshakes = 0;
  let peakBufferedBytes = 0;
  const pipes = new Set<{ client: TLSSocket; upstream: Socket }>();

  server.on('connection', track);
  server.on('tlsClientError', () => {
    rejectedHandshakes += 1;
  });
  server.on('secureConnection', (client: TLSSocket) => {
    track(client);
    const serverName =
      typeof client.servername === 'string' && client.servername !== ''
        ? client.servername
        : undefined;
    const target = options.route(serverName);
    if (target === undefined) {
      refuse(client);
      return;
    }
    connections += 1;
    totalConnections += 1;
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    track(upstream);
    // CQL is request/response with small frames: Nagle would add latency on both legs.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // pipe() handles backpressure and forwards each side's end() to the other; errors it does not
    // forward, so a failure on either leg (node down, client reset) tears down both.
    const teardown = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    // After a clean end pipe() has already ended the other leg, which may still be flushing (e.g.
    // the last replies to the client): leave it be. Otherwise the other leg has no reason to live.
    client.once('close', (hadError: boolean) => {
      connections -= 1;
      if (hadError || !upstream.writableEnded) upstream.destroy();
    });
    upstream.once('close', (hadError: boolean) => {
      if (hadError || !client.writableEnded) client.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
    // After pipe()'s own 'data' listener, which has just written the chunk.
    const watch = (source: Socket, sink: Socket): void => {
      source.on('data', () => {
        if (sink.writableLength > peakBufferedBytes) peakBufferedBytes = sink.writableLength;
      });
    };
    watch(client, upstream);
    watch(upstream, client);
    const pipe = { client, upstream };
    pipes.add(pipe);
    client.once('close', () => pipes.delete(pipe));
  });

  server.listen(options.port, options.host);
  await once(server, 'listening');
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('SNI proxy: no port');
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    address: `${host}:${bound.port}`,
    port: bound.port,
    get connections() {
      return connections;
    },
    get totalConnections() {
      return totalConnections;
    },
    get rejectedHandshakes() {
      return rejectedHandshakes;
    },
    get bufferedBytes() {
      let total = 0;
      for (const { client, upstream } of pipes)
        total += client.writableLength + upstream.writableLength;
      return total;
    },
    get peakBufferedBytes() {
      return peakBufferedBytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // The callback fires once the listener is closed; an "already closed" error is fine too.
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/**
 * Unknown host id: Astra's behaviour is unknown, so close cleanly (close_notify + FIN); drivers
 * then mark that host down. Incoming bytes are discarded so the client's own FIN is read and the
 * socket closes instead of lingering half-open.
 */
function refuse(client: TLSSocket): void {
  client.on('error', () => client.destroy());
  client.end();
  client.resume();
}
