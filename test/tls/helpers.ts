// Shared by the client TLS tests: certificates made at run time (sim/tls/certs.ts) and written to
// a temporary directory, a TLS client whose every attempt ends in a bounded time with what the
// server showed it, and a log that keeps its lines.

import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, type TLSSocket, connect } from 'node:tls';
import type { ClientLog } from '../../src/client/log.js';
import {
  type CertificateAuthority,
  type IssuedCertificate,
  makeCertificateAuthority,
  makeClientCertificate,
  makeServerCertificate,
} from '../../sim/tls/certs.js';

export const ATTEMPT_MS = 5_000;

export function serverCertificate(ca: CertificateAuthority): IssuedCertificate {
  return makeServerCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
}

export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** The PKI of one test: the CA clients are checked against, the server's pair, a client's pair. */
export interface Pki {
  ca: CertificateAuthority;
  server: IssuedCertificate;
  client: IssuedCertificate;
}

export function makePki(name: string): Pki {
  const ca = makeCertificateAuthority(`ca.${name}.test`);
  return { ca, server: serverCertificate(ca), client: makeClientCertificate(ca, `client-${name}`) };
}

/** A temporary directory with the proxy's cert.pem, key.pem and ca.pem. */
export interface TlsDir {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** Overwrites the files in place, cert then key (then CA), as `cp` would. */
  write(pair: IssuedCertificate, ca?: CertificateAuthority): Promise<void>;
  remove(): Promise<void>;
}

export async function tlsDir(pair: IssuedCertificate, ca: CertificateAuthority): Promise<TlsDir> {
  const dir = await mkdtemp(join(tmpdir(), 'client-tls-'));
  const files = {
    dir,
    certFile: join(dir, 'cert.pem'),
    keyFile: join(dir, 'key.pem'),
    caFile: join(dir, 'ca.pem'),
  };
  const write = async (p: IssuedCertificate, c?: CertificateAuthority): Promise<void> => {
    await writeFile(files.certFile, p.certPem);
    await writeFile(files.keyFile, p.keyPem);
    if (c !== undefined) await writeFile(files.caFile, c.certPem);
  };
  await write(pair, ca);
  return { ...files, write, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** How one TLS connection attempt ended. */
export interface Attempt {
  /** The server answered `probe` (the handshake succeeded and the server kept the connection). */
  admitted: boolean;
  /** The first bytes of that answer. */
  answer?: Buffer;
  /** SHA-256 fingerprint of the certificate the server presented, if the handshake got that far. */
  serverFingerprint?: string;
  protocol?: string;
  error?: string;
  /** Still open when admitted: for tests that go on using it. */
  socket: TLSSocket;
}

/**
 * Connects, sends `probe` once the handshake is done and waits for the first bytes back. A server
 * that refuses the client certificate under TLS 1.3 does so after the client considers the
 * handshake complete, so only an answer proves admission. Ends within ATTEMPT_MS.
 */
export function attempt(
  port: number,
  options: ConnectionOptions,
  probe: Buffer,
  keepOpen = false,
): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
    const result: Attempt = { admitted: false, socket };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS attempt on port ${port} neither answered nor ended in time`));
    }, ATTEMPT_MS);
    const finish = (): void => {
      clearTimeout(timer);
      if (!(keepOpen && result.admitted)) socket.destroy();
      resolve(result);
    };
    socket.once('secureConnect', () => {
      result.serverFingerprint = socket.getPeerCertificate().fingerprint256;
      const protocol = socket.getProtocol();
      if (protocol !== null) result.protocol = protocol;
      socket.write(probe);
    });
    socket.once('data', (chunk: Buffer) => {
      result.admitted = true;
      result.answer = chunk;
      finish();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      result.error ??= err.code ?? err.message;
    });
    socket.once('close', finish);
  });
}

/** Sends `data` on an open connection and waits for the first bytes back. */
export function roundTrip(socket: TLSSocket, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer in time')), ATTEMPT_MS);
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(chunk);
    });
    socket.write(data);
  });
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn';
  msg: string;
  fields: Record<string, unknown>;
}

/** A ClientLog that keeps every line. */
export function recordingLog(): ClientLog & { entries: LogEntry[]; find(msg: string): LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (fields: object, msg: string): void => {
      entries.push({ level, msg, fields: fields as Record<string, unknown> });
    };
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    find: (msg) => entries.filter((e) => e.msg === msg),
  };
}

/** Polls `check` every 20 ms; fails after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 5_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
