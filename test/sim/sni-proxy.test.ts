import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { checkServerIdentity, connect } from 'node:tls';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSniProxy } from '../../sim/sni-proxy.js';
import type { NodeAddress, SniProxy } from '../../sim/sni-proxy.js';
import {
  makeCertificateAuthority,
  makeClientCertificate,
  makeServerCertificate,
} from '../../sim/tls/certs.js';

const HOST_A = '4ac06655-f861-49f9-881e-3fee22e69b94';
const HOST_B = '2af7c253-3394-4a0d-bfac-f1ad81b5154d';
const UNKNOWN_HOST = 'b17b6e2a-3f48-4d6a-81c1-20a0a1f3192a';
const MIB = 1024 * 1024;

const ca = makeCertificateAuthority();
const serverCert = makeServerCertificate(ca, {
  commonName: '127.0.0.1',
  dnsNames: ['127.0.0.1', 'localhost'],
  ipAddresses: ['127.0.0.1'],
});
const client = makeClientCertificate(ca, 'client');
const otherCa = makeCertificateAuthority('ca.other.test');
const stranger = makeClientCertificate(otherCa, 'client');

/** A "node": greets with its name and a newline, then echoes; half-close ends it after the echo. */
async function startEchoNode(name: string): Promise<{ server: Server; address: NodeAddress }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    socket.write(`${name}\n`);
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, address: { host: '127.0.0.1', port } };
}

interface Outcome {
  readonly data: Buffer;
  /** True when the peer ended the stream cleanly (FIN / close_notify). */
  readonly ended: boolean;
  readonly error: Error | undefined;
}

/** Collects everything the socket receives until it closes. */
function outcome(socket: TLSSocket): Promise<Outcome> {
  const chunks: Buffer[] = [];
  let ended = false;
  let error: Error | undefined;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('end', () => {
    ended = true;
  });
  socket.on('error', (err: Error) => {
    error = err;
  });
  return new Promise((resolve) => {
    socket.on('close', () => resolve({ data: Buffer.concat(chunks), ended, error }));
  });
}

/** Polls a condition every 10 ms, at most 100 times. */
async function eventually(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Reads until `length` bytes arrived (the caller sizes it from what the node sends). */
function readBytes(socket: TLSSocket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= length) {
        socket.off('data', onData);
        socket.pause();
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed after ${total} of ${length} bytes`)));
  });
}

describe('startSniProxy', () => {
  let nodeA: Awaited<ReturnType<typeof startEchoNode>>;
  let nodeB: Awaited<ReturnType<typeof startEchoNode>>;
  let proxy: SniProxy;
  const seenNames: (string | undefined)[] = [];
  const sockets: TLSSocket[] = [];

  /** The Node driver's way: SNI = host id, identity checked against the proxy's host. */
  function connectTo(options: ConnectionOptions): TLSSocket {
    const socket = connect({
      host: '127.0.0.1',
      port: proxy.port,
      ca: ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
      checkServerIdentity: (_name, cert) => checkServerIdentity('127.0.0.1', cert),
      ...options,
    });
    sockets.push(socket);
    return socket;
  }

  beforeAll(async () => {
    nodeA = await startEchoNode('node-a');
    nodeB = await startEchoNode('node-b');
    const routes = new Map<string, NodeAddress>([
      [HOST_A, nodeA.address],
      [HOST_B, nodeB.address],
    ]);
    proxy = await startSniProxy({
      host: '127.0.0.1',
      port: 0,
      tls: { ca: ca.certPem, cert: serverCert.certPem, key: serverCert.keyPem },
      route: (serverName) => {
        seenNames.push(serverName);
        // The profile's choice for "no SNI": any node (here always A, to be checkable).
        return serverName === undefined ? nodeA.address : routes.get(serverName);
      },
    });
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    // The proxy sees each close a little after the client does; start every test from zero.
    await eventually(() => proxy.connections === 0);
  });
  afterAll(async () => {
    await proxy.close();
    nodeA.server.close();
    nodeB.server.close();
  });

  it('reports its address as host:port', () => {
    expect(proxy.address).toBe(`127.0.0.1:${proxy.port}`);
  });

  it('routes by SNI: host id A reaches node A, host id B reaches node B', async () => {
    const a = connectTo({ servername: HOST_A });
    const b = connectTo({ servername: HOST_B });
    expect((await readBytes(a, 7)).toString()).toBe('node-a\n');
    expect((await readBytes(b, 7)).toString()).toBe('node-b\n');
    expect(seenNames).toContain(HOST_A);
    expect(seenNames).toContain(HOST_B);
  });

  it('passes undefined to the route when the client sends no SNI (IP-literal host)', async () => {
    seenNames.length = 0;
    const socket = connectTo({});
    expect((await readBytes(socket, 7)).toString()).toBe('node-a\n');
    expect(seenNames).toEqual([undefined]);
  });

  it('closes a connection whose host id is unknown, without data', async () => {
    const socket = connectTo({ servername: UNKNOWN_HOST });
    const result = await outcome(socket);
    expect(result.data.length).toBe(0);
    expect(result.error).toBeUndefined();
    expect(result.ended).toBe(true);
  });

  it('refuses a client without a certificate', async () => {
    const rejectedBefore = proxy.rejectedHandshakes;
    const totalBefore = proxy.totalConnections;
    const socket = connect({
      host: '127.0.0.1',
      port: proxy.port,
      ca: ca.certPem,
      servername: HOST_A,
      checkServerIdentity: (_name, cert) => checkServerIdentity('127.0.0.1', cert),
    });
    sockets.push(socket);
    const result = await outcome(socket);
    expect(result.data.length).toBe(0);
    // OpenSSL itself enforces "a certificate is required": a TLS 1.3 alert 116.
    expect(result.error?.message).toMatch(/certificate required/);
    expect(proxy.rejectedHandshakes).toBe(rejectedBefore + 1);
    expect(proxy.totalConnections).toBe(totalBefore);
  });

  it('refuses a client certificate signed by another CA', async () => {
    const rejectedBefore = proxy.rejectedHandshakes;
    const totalBefore = proxy.totalConnections;
    const socket = connectTo({ servername: HOST_A, cert: stranger.certPem, key: stranger.keyPem });
    const result = await outcome(socket);
    // Node's server checks the chain after OpenSSL's handshake and then destroys the socket
    // without an alert, so the client sees an EOF or a reset rather than "unknown ca".
    expect(result.data.length).toBe(0);
    expect(proxy.rejectedHandshakes).toBe(rejectedBefore + 1);
    expect(proxy.totalConnections).toBe(totalBefore);
  });

  it('carries 1 MiB each way, then passes the half-close through and back', async () => {
    const payload = randomBytes(MIB);
    const socket = connectTo({ servername: HOST_B });
    await once(socket, 'secureConnect');
    const done = outcome(socket);
    socket.end(payload);
    const result = await done;
    expect(result.error).toBeUndefined();
    expect(result.ended).toBe(true);
    expect(result.data.length).toBe(7 + MIB);
    expect(result.data.subarray(0, 7).toString()).toBe('node-b\n');
    expect(result.data.subarray(7).equals(payload)).toBe(true);
  });

  it('routes on the SNI of every connection, even one offering a session from another host id', async () => {
    const first = connectTo({ servername: HOST_A });
    const session = new Promise<Buffer | undefined>((resolve) => {
      first.once('session', resolve);
      first.once('close', () => resolve(undefined));
    });
    expect((await readBytes(first, 7)).toString()).toBe('node-a\n');
    first.end();
    // Without tickets OpenSSL still hands out a (stateful) session; no cache can resume it.
    const offered = await session;
    expect(offered).toBeDefined();
    const second = connectTo({
      servername: HOST_B,
      ...(offered === undefined ? {} : { session: offered }),
    });
    expect((await readBytes(second, 7)).toString()).toBe('node-b\n');
    expect(second.isSessionReused()).toBe(false);
  });

  it('counts live connections and forgets them when they close', async () => {
    const before = proxy.connections;
    expect(before).toBe(0);
    const a = connectTo({ servername: HOST_A });
    const b = connectTo({ servername: HOST_B });
    await readBytes(a, 7);
    await readBytes(b, 7);
    expect(proxy.connections).toBe(before + 2);
    const closed = Promise.all([outcome(a), outcome(b)]);
    a.resume();
    b.resume();
    a.end();
    b.end();
    await closed;
    await eventually(() => proxy.connections === 0);
    expect(proxy.connections).toBe(0);
  });

  it('closes the client when its node drops the connection, and the node when the client does', async () => {
    let nodeSide: Socket | undefined;
    const dropper = createServer((socket) => {
      nodeSide = socket;
      socket.on('error', () => socket.destroy());
      socket.write('hi\n');
      socket.once('data', () => socket.destroy());
    });
    dropper.listen(0, '127.0.0.1');
    await once(dropper, 'listening');
    const { port } = dropper.address() as AddressInfo;
    const local = await startSniProxy({
      host: '127.0.0.1',
      port: 0,
      tls: { ca: ca.certPem, cert: serverCert.certPem, key: serverCert.keyPem },
      route: () => ({ host: '127.0.0.1', port }),
    });
    const open = (): TLSSocket => {
      const socket = connect({
        host: '127.0.0.1',
        port: local.port,
        ca: ca.certPem,
        cert: client.certPem,
        key: client.keyPem,
        servername: HOST_A,
        checkServerIdentity: (_name, cert) => checkServerIdentity('127.0.0.1', cert),
      });
      sockets.push(socket);
      return socket;
    };
    try {
      // The node goes away: the client sees its greeting, then the end.
      const first = open();
      const firstDone = outcome(first);
      await once(first, 'secureConnect');
      first.write('request');
      expect((await firstDone).data.toString()).toBe('hi\n');

      // The client goes away abruptly: the node's socket is closed too.
      const second = open();
      expect((await readBytes(second, 3)).toString()).toBe('hi\n');
      const node = nodeSide;
      expect(node).toBeDefined();
      if (node === undefined) return;
      const nodeClosed = once(node, 'close');
      second.destroy();
      await nodeClosed;
      await eventually(() => local.connections === 0);
      expect(local.connections).toBe(0);
    } finally {
      await local.close();
      dropper.close();
    }
  });

  it('closes the client when its node is unreachable', async () => {
    const gone = await startEchoNode('gone');
    const goneAddress = gone.address;
    gone.server.close();
    await once(gone.server, 'close');
    const local = await startSniProxy({
      host: '127.0.0.1',
      port: 0,
      tls: { ca: ca.certPem, cert: serverCert.certPem, key: serverCert.keyPem },
      route: () => goneAddress,
    });
    try {
      const socket = connect({
        host: '127.0.0.1',
        port: local.port,
        ca: ca.certPem,
        cert: client.certPem,
        key: client.keyPem,
        servername: HOST_A,
        checkServerIdentity: (_name, cert) => checkServerIdentity('127.0.0.1', cert),
      });
      sockets.push(socket);
      const result = await outcome(socket);
      expect(result.data.length).toBe(0);
      expect(local.connections).toBe(0);
    } finally {
      await local.close();
    }
  });
});

describe('startSniProxy: close', () => {
  it('destroys live connections so close() resolves at once', async () => {
    const node = await startEchoNode('node');
    const proxy = await startSniProxy({
      host: '127.0.0.1',
      port: 0,
      tls: { ca: ca.certPem, cert: serverCert.certPem, key: serverCert.keyPem },
      route: () => node.address,
    });
    const socket = connect({
      host: '127.0.0.1',
      port: proxy.port,
      ca: ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
      servername: HOST_A,
      checkServerIdentity: (_name, cert) => checkServerIdentity('127.0.0.1', cert),
    });
    try {
      expect((await readBytes(socket, 5)).toString()).toBe('node\n');
      const closed = outcome(socket);
      socket.resume();
      const started = Date.now();
      await proxy.close();
      await closed;
      expect(Date.now() - started).toBeLessThan(4000);
      expect(proxy.connections).toBe(0);
    } finally {
      socket.destroy();
      node.server.close();
    }
  });
});
