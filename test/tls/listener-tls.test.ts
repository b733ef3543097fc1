// The client listener's TLS from the outside, with real sockets on 127.0.0.1: mutual TLS admits
// only certificates of the configured CA, the minimum TLS version holds, every refused handshake
// is counted and logged with the client's address and the reason, and a handshake stays bounded.

import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientTlsConfig } from '../../src/client/config.js';
import { type ClientListener, startClientListener } from '../../src/client/listener.js';
import {
  ATTEMPT_MS,
  attempt,
  fingerprint,
  makePki,
  recordingLog,
  roundTrip,
  waitFor,
} from './helpers.js';

const PING = Buffer.from('ping');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const pki = makePki('listener');
const stranger = makePki('stranger');

async function echoListener(
  tls: ClientTlsConfig,
  options: { handshakeTimeoutMs?: number } = {},
): Promise<{ listener: ClientListener; log: ReturnType<typeof recordingLog> }> {
  const log = recordingLog();
  const listener = await startClientListener(
    { host: '127.0.0.1', port: 0, tls, log, ...options },
    (socket) => socket.on('data', (chunk: Buffer) => socket.write(chunk)),
  );
  cleanups.push(() => listener.close());
  return { listener, log };
}

describe('mutual TLS (--proxy-ca-file)', () => {
  it('refuses a client without a certificate and one from another CA, and admits the right one', async () => {
    const { listener, log } = await echoListener({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      ca: pki.ca.certPem,
    });
    const ca = pki.ca.certPem;

    const none = await attempt(listener.port, { ca }, PING);
    expect(none.admitted).toBe(false);
    // TLS 1.3: the server's "certificate required" alert reaches the client.
    expect(none.error).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');

    const foreign = await attempt(
      listener.port,
      { ca, cert: stranger.client.certPem, key: stranger.client.keyPem },
      PING,
    );
    expect(foreign.admitted).toBe(false);

    const right = await attempt(
      listener.port,
      { ca, cert: pki.client.certPem, key: pki.client.keyPem },
      PING,
      true,
    );
    cleanups.push(() => void right.socket.destroy());
    expect(right.admitted).toBe(true);
    expect(right.serverFingerprint).toBe(fingerprint(pki.server.certPem));
    expect((await roundTrip(right.socket, Buffer.from('again'))).toString()).toBe('again');

    await waitFor(() => listener.tlsFailures === 2, 'two failed handshakes counted');
    await waitFor(() => log.find('client TLS handshake failed').length === 2, 'two log lines');
    const lines = log.find('client TLS handshake failed');
    expect(lines.map((l) => l.level)).toEqual(['info', 'info']);
    for (const line of lines) expect(line.fields.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(lines.map((l) => [l.fields.code, l.fields.reason])).toEqual([
      ['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', 'peer did not return a certificate'],
      [
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        'client certificate not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
      ],
    ]);
    expect(listener.connections).toBe(1);
  });

  it('refuses both over TLS 1.2 too', async () => {
    const { listener } = await echoListener({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      ca: pki.ca.certPem,
    });
    const base = { ca: pki.ca.certPem, maxVersion: 'TLSv1.2' } as const;
    expect((await attempt(listener.port, base, PING)).admitted).toBe(false);
    const foreign = { ...base, cert: stranger.client.certPem, key: stranger.client.keyPem };
    expect((await attempt(listener.port, foreign, PING)).admitted).toBe(false);
    const right = { ...base, cert: pki.client.certPem, key: pki.client.keyPem };
    const ok = await attempt(listener.port, right, PING);
    expect([ok.admitted, ok.protocol]).toEqual([true, 'TLSv1.2']);
    await waitFor(() => listener.tlsFailures === 2, 'two failed handshakes counted');
  });

  it('admits a client certificate signed by any CA of a bundle', async () => {
    const second = makePki('second');
    const { listener } = await echoListener({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      ca: pki.ca.certPem + second.ca.certPem,
    });
    for (const client of [pki.client, second.client]) {
      const a = await attempt(
        listener.port,
        { ca: pki.ca.certPem, cert: client.certPem, key: client.keyPem },
        PING,
      );
      expect(a.admitted).toBe(true);
    }
    expect(listener.tlsFailures).toBe(0);
  });

  it('asks for no client certificate without a CA (server TLS only)', async () => {
    const { listener } = await echoListener({ cert: pki.server.certPem, key: pki.server.keyPem });
    const a = await attempt(listener.port, { ca: pki.ca.certPem }, PING);
    expect(a.admitted).toBe(true);
    // A certificate the client offers anyway is not looked at.
    const b = await attempt(
      listener.port,
      { ca: pki.ca.certPem, cert: stranger.client.certPem, key: stranger.client.keyPem },
      PING,
    );
    expect(b.admitted).toBe(true);
    expect(listener.tlsFailures).toBe(0);
  });
});

describe('--proxy-tls-min-version', () => {
  it('refuses TLS 1.2 with TLSv1.3 and admits TLS 1.3', async () => {
    const { listener, log } = await echoListener({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      minVersion: 'TLSv1.3',
    });
    const old = await attempt(listener.port, { ca: pki.ca.certPem, maxVersion: 'TLSv1.2' }, PING);
    expect(old.admitted).toBe(false);
    expect(old.serverFingerprint).toBeUndefined();
    const current = await attempt(listener.port, { ca: pki.ca.certPem }, PING);
    expect([current.admitted, current.protocol]).toEqual([true, 'TLSv1.3']);
    await waitFor(() => listener.tlsFailures === 1, 'the refused handshake counted');
    const [line] = log.find('client TLS handshake failed');
    expect(line?.fields.reason).toBe('unsupported protocol');
    expect(line?.fields.remote).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('admits TLS 1.2 by default', async () => {
    const { listener } = await echoListener({ cert: pki.server.certPem, key: pki.server.keyPem });
    const a = await attempt(listener.port, { ca: pki.ca.certPem, maxVersion: 'TLSv1.2' }, PING);
    expect([a.admitted, a.protocol]).toEqual([true, 'TLSv1.2']);
  });
});

describe('the TLS handshake stays bounded', () => {
  it('closes a connection that never starts its handshake after the handshake timeout', async () => {
    const { listener, log } = await echoListener(
      { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem },
      { handshakeTimeoutMs: 200 },
    );
    const socket = tcpConnect(listener.port, '127.0.0.1');
    socket.on('error', () => undefined);
    cleanups.push(() => void socket.destroy());
    const started = Date.now();
    await Promise.race([
      once(socket, 'close'),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('not closed by the server')), ATTEMPT_MS),
      ),
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await waitFor(() => listener.tlsFailures === 1, 'the timed-out handshake counted');
    expect(log.find('client TLS handshake failed')[0]?.fields.code).toBe(
      'ERR_TLS_HANDSHAKE_TIMEOUT',
    );
    await waitFor(() => listener.connections === 0, 'the connection gone from the count');
  });
});

it('reports 0 TLS failures without TLS', async () => {
  const listener = await startClientListener({ host: '127.0.0.1', port: 0 }, () => undefined);
  cleanups.push(() => listener.close());
  expect(listener.tlsFailures).toBe(0);
});
