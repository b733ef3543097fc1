// Certificate rotation without a restart (src/tls/client-tls.ts): new certificate, key and CA
// files reach new connections, by the directory watch and by an explicit reload (what SIGHUP
// calls), while connections already open keep going; files that cannot be used leave the old
// certificates in place with one warning. Real sockets on 127.0.0.1, files in a temporary
// directory, every wait bounded and waiting for an event, never for time to pass.

import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startClientListener } from '../../src/client/listener.js';
import { ProxyError, ProxyErrorCode } from '../../src/errors.js';
import { type ClientTls, type ClientTlsOptions, loadClientTls } from '../../src/tls/client-tls.js';
import { handleReloadSignal } from '../../src/tls/reload-signal.js';
import {
  type Pki,
  type TlsDir,
  attempt,
  fingerprint,
  makePki,
  recordingLog,
  roundTrip,
  serverCertificate,
  tlsDir,
  waitFor,
} from './helpers.js';

const PING = Buffer.from('ping');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const first = makePki('first');
const second = makePki('second');

interface Served {
  dir: TlsDir;
  tls: ClientTls;
  port: number;
  log: ReturnType<typeof recordingLog>;
}

/** An echo listener with mutual TLS from files of `pki`, reloadable. */
async function serve(pki: Pki, options: ClientTlsOptions = {}): Promise<Served> {
  const dir = await tlsDir(pki.server, pki.ca);
  cleanups.push(() => dir.remove());
  const log = recordingLog();
  const tls = await loadClientTls(
    { certFile: dir.certFile, keyFile: dir.keyFile, caFile: dir.caFile },
    { log, debounceMs: 200, ...options },
  );
  cleanups.push(() => tls.close());
  const listener = await startClientListener(
    { host: '127.0.0.1', port: 0, tls: tls.config, log },
    (socket) => socket.on('data', (chunk: Buffer) => socket.write(chunk)),
  );
  cleanups.push(() => listener.close());
  return { dir, tls, port: listener.port, log };
}

/** A client of `pki`'s CA with its client certificate, trusting both servers' CAs. */
function clientOf(pki: Pki) {
  return {
    ca: first.ca.certPem + second.ca.certPem,
    cert: pki.client.certPem,
    key: pki.client.keyPem,
  };
}

async function servedFingerprint(port: number, pki: Pki): Promise<string | undefined> {
  const a = await attempt(port, clientOf(pki), PING);
  return a.admitted ? a.serverFingerprint : undefined;
}

describe('rotation by the file watch', () => {
  it('serves new certificate, key and CA to new connections; open connections keep going', async () => {
    const s = await serve(first);
    const open = await attempt(s.port, clientOf(first), PING, true);
    cleanups.push(() => void open.socket.destroy());
    expect(open.serverFingerprint).toBe(fingerprint(first.server.certPem));

    await s.dir.write(second.server, second.ca);
    await waitFor(
      async () => (await servedFingerprint(s.port, second)) === fingerprint(second.server.certPem),
      'the new certificate served to a client of the new CA',
    );
    // The client CA rotated too: the old CA's clients are refused now.
    expect((await attempt(s.port, clientOf(first), PING)).admitted).toBe(false);
    // The connection opened before keeps its session and is still served.
    expect((await roundTrip(open.socket, Buffer.from('still here'))).toString()).toBe('still here');
    expect(open.socket.getPeerCertificate().fingerprint256).toBe(fingerprint(first.server.certPem));

    const reloaded = s.log.find('client TLS certificates reloaded');
    expect(reloaded).toHaveLength(1);
    expect(reloaded[0]?.level).toBe('info');
    expect(reloaded[0]?.fields).toMatchObject({
      trigger: 'file change',
      certFile: s.dir.certFile,
      keyFile: s.dir.keyFile,
      caFile: s.dir.caFile,
      fingerprint256: fingerprint(second.server.certPem),
    });
    expect(s.tls.reloads).toBe(1);
  });

  it('follows a Kubernetes Secret volume, whose ..data symlink is swapped', async () => {
    // The layout kubelet writes (its atomic writer): files are links through ..data to a
    // timestamped directory, and an update renames a new ..data link over the old one.
    const dir = await mkdtemp(join(tmpdir(), 'client-tls-k8s-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const version = async (name: string, pki: Pki): Promise<void> => {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, 'tls.crt'), pki.server.certPem);
      await writeFile(join(dir, name, 'tls.key'), pki.server.keyPem);
      await writeFile(join(dir, name, 'ca.crt'), pki.ca.certPem);
    };
    await version('..2024_01_01_00_00_00.1', first);
    await symlink('..2024_01_01_00_00_00.1', join(dir, '..data'));
    for (const f of ['tls.crt', 'tls.key', 'ca.crt']) await symlink(`..data/${f}`, join(dir, f));
    const log = recordingLog();
    const tls = await loadClientTls(
      {
        certFile: join(dir, 'tls.crt'),
        keyFile: join(dir, 'tls.key'),
        caFile: join(dir, 'ca.crt'),
      },
      { log, debounceMs: 200 },
    );
    cleanups.push(() => tls.close());
    const listener = await startClientListener(
      { host: '127.0.0.1', port: 0, tls: tls.config, log },
      (socket) => socket.on('data', (chunk: Buffer) => socket.write(chunk)),
    );
    cleanups.push(() => listener.close());
    expect(await servedFingerprint(listener.port, first)).toBe(fingerprint(first.server.certPem));

    await version('..2024_02_01_00_00_00.2', second);
    await symlink('..2024_02_01_00_00_00.2', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await waitFor(
      async () =>
        (await servedFingerprint(listener.port, second)) === fingerprint(second.server.certPem),
      'the certificate of the new Secret version served',
    );
    expect(log.find('client TLS certificates reloaded')).toHaveLength(1);
  });

  it('keeps the certificates in use when the new key does not match, with one warning', async () => {
    const s = await serve(first);
    const open = await attempt(s.port, clientOf(first), PING, true);
    cleanups.push(() => void open.socket.destroy());

    // A new certificate with the key of another one.
    await s.dir.write({ certPem: second.server.certPem, keyPem: first.server.keyPem });
    await waitFor(
      () => s.log.find('client TLS certificates not reloaded: keeping the ones in use').length > 0,
      'the warning',
    );
    const [warning] = s.log.find('client TLS certificates not reloaded: keeping the ones in use');
    expect(warning?.level).toBe('warn');
    expect(warning?.fields.err).toBe(
      `--proxy-key-file ${s.dir.keyFile} is not the key of --proxy-cert-file ${s.dir.certFile}`,
    );
    expect(s.tls.reloadFailures).toBe(1);
    expect(await servedFingerprint(s.port, first)).toBe(fingerprint(first.server.certPem));
    expect((await roundTrip(open.socket, Buffer.from('unharmed'))).toString()).toBe('unharmed');

    // Its key arrives: the pair is complete and goes in.
    await s.dir.write(second.server, first.ca);
    await waitFor(
      async () => (await servedFingerprint(s.port, first)) === fingerprint(second.server.certPem),
      'the completed pair served',
    );
    expect(s.log.find('client TLS certificates reloaded')).toHaveLength(1);
    expect(s.tls.reloads).toBe(1);
  });
});

describe('explicit reload (SIGHUP)', () => {
  it('installs rotated files when asked, without a watch', async () => {
    const s = await serve(first, { watch: false });
    const open = await attempt(s.port, clientOf(first), PING, true);
    cleanups.push(() => void open.socket.destroy());
    const renewed = serverCertificate(first.ca);
    await s.dir.write(renewed);

    expect(await s.tls.reload('test')).toBe(true);
    expect(await servedFingerprint(s.port, first)).toBe(fingerprint(renewed.certPem));
    expect((await roundTrip(open.socket, Buffer.from('kept'))).toString()).toBe('kept');
    expect(s.log.find('client TLS certificates reloaded')[0]?.fields).toMatchObject({
      trigger: 'test',
      fingerprint256: fingerprint(renewed.certPem),
    });
  });

  it('reloads on SIGHUP through handleReloadSignal', async () => {
    const s = await serve(first, { watch: false });
    const signals = new EventEmitter();
    const lines: string[] = [];
    const logger = {
      info: (_fields: object, msg: string) => void lines.push(msg),
      warn: (_fields: object, msg: string) => void lines.push(msg),
    } as unknown as Parameters<typeof handleReloadSignal>[1]['logger'];
    handleReloadSignal(() => s.tls.reload('SIGHUP'), { logger, source: signals });
    const renewed = serverCertificate(first.ca);
    await s.dir.write(renewed);

    signals.emit('SIGHUP');
    await waitFor(() => s.tls.reloads === 1, 'the reload');
    expect(lines).toEqual(['reloading the client TLS certificates']);
    expect(await servedFingerprint(s.port, first)).toBe(fingerprint(renewed.certPem));
  });

  it('keeps the old certificates when a file is unreadable or the key is wrong', async () => {
    const s = await serve(first, { watch: false });
    await rm(s.dir.keyFile);
    expect(await s.tls.reload()).toBe(false);
    await writeFile(s.dir.keyFile, 'not a key');
    expect(await s.tls.reload()).toBe(false);
    await writeFile(s.dir.caFile, 'no certificate here');
    await writeFile(s.dir.keyFile, first.server.keyPem);
    expect(await s.tls.reload()).toBe(false);

    const errors = s.log
      .find('client TLS certificates not reloaded: keeping the ones in use')
      .map((w) => w.fields.err as string);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/^cannot read --proxy-key-file .*key\.pem: ENOENT/);
    expect(errors[1]).toMatch(/^--proxy-cert-file .* or --proxy-key-file .*: /);
    expect(errors[2]).toBe(`--proxy-ca-file ${s.dir.caFile}: no PEM certificate in it`);
    expect(s.tls.reloadFailures).toBe(3);
    expect(await servedFingerprint(s.port, first)).toBe(fingerprint(first.server.certPem));
  });

  it('gives a listener attached after a reload the current certificates', async () => {
    const dir = await tlsDir(first.server, first.ca);
    cleanups.push(() => dir.remove());
    const tls = await loadClientTls(
      { certFile: dir.certFile, keyFile: dir.keyFile },
      { watch: false },
    );
    cleanups.push(() => tls.close());
    const started = tls.config;
    const renewed = serverCertificate(first.ca);
    await dir.write(renewed);
    expect(await tls.reload()).toBe(true);
    // A listener started from the config read before the reload.
    const listener = await startClientListener(
      { host: '127.0.0.1', port: 0, tls: started },
      (socket) => socket.on('data', (chunk: Buffer) => socket.write(chunk)),
    );
    cleanups.push(() => listener.close());
    const a = await attempt(listener.port, { ca: first.ca.certPem }, PING);
    expect(a.serverFingerprint).toBe(fingerprint(renewed.certPem));
  });
});

describe('loadClientTls at start', () => {
  async function startError(files: {
    certFile: string;
    keyFile: string;
    caFile?: string;
  }): Promise<ProxyError> {
    try {
      const tls = await loadClientTls(files, { watch: false });
      tls.close();
    } catch (err) {
      if (ProxyError.isProxyError(err)) return err;
      throw err;
    }
    throw new Error('expected a ProxyError');
  }

  it('fails with one line naming the file', async () => {
    const dir = await tlsDir(first.server, first.ca);
    cleanups.push(() => dir.remove());
    const missing = join(dir.dir, 'missing.pem');

    const unreadable = await startError({ certFile: missing, keyFile: dir.keyFile });
    expect(unreadable.code).toBe(ProxyErrorCode.CONFIG_INVALID);
    expect(unreadable.message).toMatch(
      new RegExp(`^client TLS: cannot read --proxy-cert-file ${missing}: ENOENT`),
    );

    const otherKey = join(dir.dir, 'other-key.pem');
    await writeFile(otherKey, second.server.keyPem);
    expect((await startError({ certFile: dir.certFile, keyFile: otherKey })).message).toBe(
      `client TLS: --proxy-key-file ${otherKey} is not the key of --proxy-cert-file ${dir.certFile}`,
    );

    const notCa = join(dir.dir, 'not-ca.pem');
    await writeFile(notCa, first.server.keyPem);
    expect(
      (await startError({ certFile: dir.certFile, keyFile: dir.keyFile, caFile: notCa })).message,
    ).toBe(`client TLS: --proxy-ca-file ${notCa}: no PEM certificate in it`);

    expect((await startError({ certFile: dir.keyFile, keyFile: dir.keyFile })).message).toMatch(
      /^client TLS: --proxy-cert-file .*key\.pem: no usable certificate/,
    );
  });
});
