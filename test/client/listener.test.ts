import { once } from 'node:events';
import { type AddressInfo, type Socket, connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyError, ProxyErrorCode } from '../../src/errors.js';
import { Opcode } from '../../src/protocol/constants.js';
import { decodeSupported } from '../../src/protocol/messages/supported.js';
import { type ClientListener, startClientListener } from '../../src/client/listener.js';
import { makeCertificateAuthority, makeServerCertificate } from '../../sim/tls/certs.js';
import { FAKE_CQL_VERSION } from './fake-backend.js';
import { TestConnection, type TestProxy, requestFrame, startTestProxy } from './test-connection.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listenError(run: () => Promise<unknown>): Promise<ProxyError> {
  try {
    await run();
  } catch (err) {
    if (ProxyError.isProxyError(err)) return err;
    throw err;
  }
  throw new Error('expected a ProxyError');
}

describe('startClientListener', () => {
  it('fails clearly when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as AddressInfo).port;
    const err = await listenError(() =>
      startClientListener({ host: '127.0.0.1', port }, () => undefined),
    );
    expect(err.code).toBe(ProxyErrorCode.LISTEN_FAILED);
    expect(err.message).toBe(`cannot listen on 127.0.0.1:${port}: address already in use`);
  });

  it('fails clearly on an address the machine does not have', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to a host.
    const err = await listenError(() =>
      startClientListener({ host: '192.0.2.1', port: 0 }, () => undefined),
    );
    expect(err.message).toBe('cannot listen on 192.0.2.1:0: address not available on this machine');
  });

  it('closes connections beyond the limit at once, counts them, and serves the others', async () => {
    const sockets: Socket[] = [];
    const listener: ClientListener = await startClientListener(
      { host: '127.0.0.1', port: 0, maxClientConnections: 2 },
      (socket) => {
        sockets.push(socket);
        socket.on('data', (chunk: Buffer) => socket.write(chunk));
      },
    );
    cleanups.push(() => listener.close());
    const open = async (): Promise<Socket> => {
      const socket = connect(listener.port, '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      return socket;
    };
    const a = await open();
    const b = await open();
    await waitFor(() => listener.connections === 2);
    const c = await open();
    await once(c, 'close');
    expect(listener.refused).toBe(1);
    expect(listener.connections).toBe(2);
    a.write('ping');
    const [echo] = (await once(a, 'data')) as [Buffer];
    expect(echo.toString()).toBe('ping');

    await listener.close();
    await Promise.all([once(a, 'close'), once(b, 'close')]);
    expect(sockets.every((s) => s.destroyed)).toBe(true);
    const refused = connect(listener.port, '127.0.0.1');
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });
});

describe('client side over TLS', () => {
  it('serves CQL over TLS with the given certificate', async () => {
    const ca = makeCertificateAuthority('ca.proxy.test');
    const cert = makeServerCertificate(ca, {
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    const p: TestProxy = await startTestProxy(
      {},
      { tls: { cert: cert.certPem, key: cert.keyPem } },
    );
    cleanups.push(() => p.close());
    const c = await TestConnection.open(p.port, { ca: ca.certPem });
    cleanups.push(() => c.close());
    const supported = await c.request(requestFrame(4, 1, Opcode.OPTIONS));
    expect(decodeSupported(supported.subarray(9), 4).get('CQL_VERSION')).toEqual([
      FAKE_CQL_VERSION,
    ]);
    expect(p.side.connections).toBe(1);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
