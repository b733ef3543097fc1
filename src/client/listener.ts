// The client-facing server socket: plain TCP, or TLS when a certificate and key are given. It
// accepts, counts and closes connections; what happens on a connection is the caller's business.
//
// Connections beyond the limit are closed on arrival: the limit is --max-client-connections, or
// lower when the file descriptor limit leaves less room (descriptors.ts keeps a reserve for the
// upstream connections and the health and metrics server). Accepted sockets get TCP keepalive,
// so a peer that vanished without a FIN is found; a TLS handshake is bounded by the handshake
// timeout.
//
// With a CA, TLS is mutual: a client without a certificate signed by it fails the handshake. A
// failed handshake (no or wrong certificate, an old TLS version, the timeout) is counted in
// `tlsFailures` and logged at info with the client's address and the reason, once per burst.
// New certificates arrive through `tls.updates` (src/tls/client-tls.ts) and are installed with
// setSecureContext: new connections get them, open ones keep theirs.

import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { type TLSSocket, createServer as createTlsServer } from 'node:tls';
import { ProxyError, ProxyErrorCode } from '../errors.js';
import { BurstLog } from './burst-log.js';
import type { ClientTlsConfig } from './config.js';
import {
  clientConnectionsForDescriptors,
  descriptorLimit,
  reservedDescriptors,
} from './descriptors.js';
import { type ClientLog, SILENT_LOG } from './log.js';

/** Why a connection was closed on arrival. */
export type RefusalReason = 'max_connections' | 'descriptors';

export interface ClientListenerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  tls?: ClientTlsConfig;
  /** Connections beyond this many open ones are closed on arrival and counted in `refused`. */
  maxClientConnections?: number;
  /** The soft RLIMIT_NOFILE; read from the system when absent (tests pass one). */
  descriptorLimit?: number;
  /** Bounds a client's TLS handshake; 0 or absent: Node's default (120 s). */
  handshakeTimeoutMs?: number;
  /** TCP keepalive on accepted sockets after this long idle; 0 or absent: off. */
  keepAliveMs?: number;
  log?: ClientLog;
}

export interface ClientListener {
  /** The address actually bound. */
  readonly host: string;
  readonly port: number;
  /** Client connections currently open. */
  readonly connections: number;
  /** Connections closed on arrival because of maxClientConnections. */
  readonly refused: number;
  /** The same, by reason (descriptors: the limit came from descriptors, or accept() ran out). */
  readonly refusedBy: Readonly<Record<RefusalReason, number>>;
  /** The connection limit in force, if any. */
  readonly maxConnections: number | undefined;
  /** Connections accepted since start (refused ones not included). */
  readonly accepted: number;
  /** Bytes read from and written to client sockets since start (TLS records included). */
  readonly bytesRead: number;
  readonly bytesWritten: number;
  /**
   * TLS handshakes that failed since start: no or an untrusted client certificate, a refused TLS
   * version, not TLS at all, or no handshake within the handshake timeout. 0 without TLS.
   */
  readonly tlsFailures: number;
  /** Stops accepting new connections; open ones are left alone (graceful shutdown). */
  stopAccepting(): void;
  /** Stops accepting and destroys every client connection. */
  close(): Promise<void>;
}

const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this machine',
};

/** An error from OpenSSL: Node adds its `reason` (node:crypto, "OpenSSL error codes"). */
type TlsError = NodeJS.ErrnoException & { reason?: string };

/** Failed-handshake log lines are rate-limited per error code, for at most this many codes. */
const MAX_TLS_FAILURE_KINDS = 64;

/** accept() errors that mean the process or the system is out of descriptors. */
const OUT_OF_DESCRIPTORS = new Set(['EMFILE', 'ENFILE']);

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function listenError(err: unknown, host: string, port: number): ProxyError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    (code === undefined ? undefined : LISTEN_ERRORS[code]) ??
    (err instanceof Error ? err.message : String(err));
  return new ProxyError(
    ProxyErrorCode.LISTEN_FAILED,
    `cannot listen on ${hostPort(host, port)}: ${reason}`,
    { cause: err },
  );
}

/**
 * Listens on host:port and calls `onConnection` for every accepted client socket (after the TLS
 * handshake with TLS). Rejects with a LISTEN_FAILED ProxyError when the port cannot be had.
 */
export async function startClientListener(
  options: ClientListenerOptions,
  onConnection: (socket: Socket) => void,
): Promise<ClientListener> {
  const log = options.log ?? SILENT_LOG;
  /** Open client sockets, and when each connected (ms). */
  const open = new Map<Socket, number>();
  const refusedBy: Record<RefusalReason, number> = { max_connections: 0, descriptors: 0 };
  let refused = 0;
  let accepted = 0;
  let tlsFailures = 0;
  let detachTls: (() => void) | undefined;
  // Bytes of connections already closed; open ones are read off their sockets when asked, so
  // counting costs nothing per chunk.
  let closedBytesRead = 0;
  let closedBytesWritten = 0;
  let server: Server;

  const keepAliveMs = options.keepAliveMs ?? 0;
  const accept = (socket: Socket): void => {
    // Requests are small and answered at once: Nagle would hold them back for nothing.
    socket.setNoDelay(true);
    if (keepAliveMs > 0) socket.setKeepAlive(true, keepAliveMs);
    onConnection(socket);
  };

  if (options.tls !== undefined) {
    const tls = options.tls;
    const handshakeTimeout =
      options.handshakeTimeoutMs !== undefined && options.handshakeTimeoutMs > 0
        ? { handshakeTimeout: options.handshakeTimeoutMs }
        : {};
    const tlsServer = createTlsServer({
      cert: tls.cert,
      key: tls.key,
      ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
      // Mutual TLS (Node's tls.createServer): ask every client for a certificate and end the
      // handshake unless it chains to `ca`. These are server options, not part of the secure
      // context, so a reload (setSecureContext) keeps them.
      ...(tls.ca === undefined ? {} : { ca: tls.ca, requestCert: true, rejectUnauthorized: true }),
      ...handshakeTimeout,
    });
    tlsServer.on('secureConnection', (socket: TLSSocket) => accept(socket));
    // A scanner or a misconfigured fleet can fail thousands of handshakes a second: the count is
    // exact in tlsFailures, the log has one line per burst (burst-log.ts) for each kind of
    // failure, so a burst of one kind does not hide the first of another.
    const failureLogs = new Map<string, BurstLog>();
    const peers = new WeakMap<TLSSocket, string>();
    const peerOf = (socket: TLSSocket): string | undefined =>
      socket.remoteAddress === undefined
        ? undefined
        : hostPort(socket.remoteAddress, socket.remotePort ?? 0);
    if (tls.ca !== undefined) {
      // A client certificate that does not verify is refused after the handshake: Node destroys
      // the socket, then reports it as a "socket hang up" whose socket no longer knows its peer.
      // The key log event is the one server event that hands over every socket during its
      // handshake (Node's tls docs read remoteAddress there too); the address is noted then.
      // The key material itself is not looked at.
      tlsServer.on('keylog', (_line: Buffer, socket: TLSSocket) => {
        if (!peers.has(socket)) {
          const peer = peerOf(socket);
          if (peer !== undefined) peers.set(socket, peer);
        }
      });
    }
    tlsServer.on('tlsClientError', (err: TlsError, socket: TLSSocket) => {
      tlsFailures++;
      // Node destroys the socket after most handshake errors, but not after the handshake
      // timeout: that only emits this event (tls.createServer's handshakeTimeout), and without
      // this the connection would stay open for as long as the client cares to keep it.
      socket.destroy();
      // Set when the certificate was refused (an X.509 code such as CERT_HAS_EXPIRED); typed as
      // an Error by @types/node, a string in fact.
      const rejected: unknown = socket.authorizationError;
      const refusal = typeof rejected === 'string' ? rejected : undefined;
      const code = refusal ?? err.code ?? 'unknown';
      let burst = failureLogs.get(code);
      if (burst === undefined) {
        burst = new BurstLog(log, 'info', 'client TLS handshake failed');
        // OpenSSL's reason codes are a fixed set, but bound the map all the same.
        if (failureLogs.size < MAX_TLS_FAILURE_KINDS) failureLogs.set(code, burst);
      }
      burst.note({
        remote: peerOf(socket) ?? peers.get(socket) ?? '?',
        // OpenSSL's own words ("peer did not return a certificate"), without its source line.
        reason:
          refusal === undefined
            ? (err.reason ?? err.message)
            : `client certificate not trusted (${refusal})`,
        code,
      });
    });
    detachTls = tls.updates?.attach(tlsServer, tls);
    server = tlsServer;
  } else {
    server = createServer();
    server.on('connection', accept);
  }
  // 'connection' also fires on a TLS server, with the TCP socket: tracking these lets close()
  // end connections still in their TLS handshake too.
  // One 'close' listener for all sockets (called with the socket as `this`), not a closure per
  // connection: with thousands of idle clients, per-connection objects are the memory.
  function onSocketClose(this: Socket): void {
    const since = open.get(this);
    if (since === undefined) return;
    open.delete(this);
    closedBytesRead += this.bytesRead;
    closedBytesWritten += this.bytesWritten;
    log.debug(
      {
        // The peer's address was read on connection, and Node keeps it after the close.
        remote: hostPort(this.remoteAddress ?? '?', this.remotePort ?? 0),
        durationMs: Date.now() - since,
        bytesIn: this.bytesRead,
        bytesOut: this.bytesWritten,
      },
      'client disconnected',
    );
  }
  server.on('connection', (socket: Socket) => {
    open.set(socket, Date.now());
    accepted++;
    log.debug(
      { remote: hostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0) },
      'client connected',
    );
    socket.on('close', onSocketClose);
  });
  const fdLimit = options.descriptorLimit ?? descriptorLimit();
  const fdMax = clientConnectionsForDescriptors(fdLimit);
  const flagMax = options.maxClientConnections;
  const limitedByDescriptors = fdMax !== undefined && (flagMax === undefined || fdMax < flagMax);
  const maxConnections = limitedByDescriptors ? fdMax : flagMax;
  const limitReason: RefusalReason = limitedByDescriptors ? 'descriptors' : 'max_connections';
  if (limitedByDescriptors && fdLimit !== undefined) {
    log.info(
      {
        descriptorLimit: fdLimit,
        reserved: reservedDescriptors(fdLimit),
        maxClientConnections: maxConnections,
        configured: flagMax,
      },
      'client connections limited by the file descriptor limit',
    );
  }
  // One warning per burst, not one per refused connection: a connection storm must not become a
  // log storm. The count is exact in the metrics either way.
  const refusalLogs: Record<RefusalReason, BurstLog> = {
    max_connections: new BurstLog(log, 'warn', 'client connection refused: too many connections'),
    descriptors: new BurstLog(
      log,
      'warn',
      'client connection refused: file descriptors are running out',
    ),
  };
  const refuse = (reason: RefusalReason, fields: object): void => {
    refused++;
    refusedBy[reason]++;
    refusalLogs[reason].note({ max: maxConnections, descriptorLimit: fdLimit, ...fields });
  };
  if (maxConnections !== undefined) {
    server.maxConnections = maxConnections;
    server.on('drop', (data) => refuse(limitReason, { remote: data?.remoteAddress }));
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      detachTls?.();
      reject(listenError(err, options.host, options.port));
    };
    server.once('error', onError);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err: NodeJS.ErrnoException) => {
    // libuv already closed the connection it could not give a descriptor (its EMFILE reserve).
    if (err.code !== undefined && OUT_OF_DESCRIPTORS.has(err.code)) {
      refuse('descriptors', { err: err.code });
      return;
    }
    log.warn({ err: err.message }, 'client listener error');
  });

  const address = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const stopAccepting = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      // The callback comes once every connection is gone too.
      server.close(() => resolve());
    }));
  let closing: Promise<void> | undefined;
  return {
    host: address.address,
    port: address.port,
    get connections() {
      return open.size;
    },
    get refused() {
      return refused;
    },
    refusedBy,
    maxConnections,
    get accepted() {
      return accepted;
    },
    get bytesRead() {
      let n = closedBytesRead;
      for (const socket of open.keys()) n += socket.bytesRead;
      return n;
    },
    get bytesWritten() {
      let n = closedBytesWritten;
      for (const socket of open.keys()) n += socket.bytesWritten;
      return n;
    },
    get tlsFailures() {
      return tlsFailures;
    },
    stopAccepting() {
      void stopAccepting();
    },
    close() {
      closing ??= (async () => {
        detachTls?.();
        const done = stopAccepting();
        for (const socket of open.keys()) socket.destroy();
        await done;
      })();
      return closing;
    },
  };
}
