// The forwarding path over real loopback sockets, reading the node's answers into a read arena:
// a "node" sends a stream of answers of every size (a few bytes to several hundred KB), the proxy
// side relays each to one of two clients (whole, or cut through as it arrives), and one client
// does not read for a while. The reused read memory must never show through: each client receives
// exactly its answers, byte for byte and in order, the slow client included, while the arena holds
// at most MAX_SLABS slabs.

import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fc, test as propertyTest } from '@fast-check/vitest';
import {
  createServer as createTlsServer,
  connect as tlsConnect,
  type ConnectionOptions,
} from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCertificateAuthority, makeServerCertificate } from '../../sim/tls/certs.js';
import { FramedSocket, flushAllQueued } from '../../src/transport/framed-socket.js';
import { MAX_SLABS, ReadArena } from '../../src/transport/read-arena.js';
import { v4ResultFrame } from '../helpers/frames.js';
import { until } from '../helpers/wait.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A RESULT frame (v4 response) whose body bytes depend on its stream id and position. */
function answer(streamId: number, bodyLength: number): Buffer {
  const f = v4ResultFrame(streamId, bodyLength, streamId);
  for (let i = 9; i + 4 <= f.length; i += 4096) f.writeUInt32BE(i ^ streamId, i);
  return f;
}

/** A self-signed server certificate for the TLS "node", made once. */
let serverCertificate: { key: string; cert: string } | undefined;
function tlsServerOptions(): { key: string; cert: string } {
  if (serverCertificate === undefined) {
    const ca = makeCertificateAuthority();
    const issued = makeServerCertificate(ca, {
      commonName: 'node.test',
      dnsNames: ['node.test'],
      ipAddresses: ['127.0.0.1'],
    });
    serverCertificate = { key: issued.keyPem, cert: issued.certPem };
  }
  return serverCertificate;
}

async function listen(onConnection: (socket: Socket) => void, tls = false): Promise<number> {
  const handler = (socket: Socket): void => {
    sockets.push(socket);
    onConnection(socket);
  };
  const server = tls ? createTlsServer(tlsServerOptions(), handler) : createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** How long a relay may take (tens of MB through loopback sockets on a busy machine). */
const WAIT_MS = 20_000;

const noError = (err: Error): void => {
  throw err;
};

/**
 * Runs one relay: the node sends `answers` (as one write, or cut in `nodeWrite`-byte writes); even
 * stream ids go to the fast client, odd ones to the slow one, which reads only once the fast one
 * has everything. Returns what each client received and what was sent to it.
 */
async function relay(
  answers: Buffer[],
  nodeWrite: number,
  tls = false,
): Promise<{ fast: [Buffer, Buffer]; slow: [Buffer, Buffer]; arena: ReadArena }> {
  const stream = Buffer.concat(answers);
  const nodePort = await listen((socket) => {
    for (let i = 0; i < stream.length; i += nodeWrite) {
      socket.write(stream.subarray(i, i + nodeWrite));
    }
  }, tls);

  // The proxy's client side: two accepted connections, each wrapped for writing.
  const accepted: FramedSocket[] = [];
  const clientPort = await listen((socket) => {
    accepted.push(
      new FramedSocket(socket, {
        incoming: 'request',
        maxFrameLength: 1 << 20,
        onFrame: () => undefined,
        onError: noError,
        onClose: () => undefined,
      }),
    );
  });
  const fastClient = connect(clientPort, '127.0.0.1');
  await once(fastClient, 'connect');
  await until(() => accepted.length === 1, 'the fast client accepted', WAIT_MS);
  const slowClient = connect(clientPort, '127.0.0.1');
  await once(slowClient, 'connect');
  await until(() => accepted.length === 2, 'the slow client accepted', WAIT_MS);
  sockets.push(fastClient, slowClient);
  slowClient.pause();
  const fastChunks: Buffer[] = [];
  const slowChunks: Buffer[] = [];
  fastClient.on('data', (c: Buffer) => fastChunks.push(c));
  slowClient.on('data', (c: Buffer) => slowChunks.push(c));

  // The proxy's node side: reads into an arena, relays by stream id.
  const arena = new ReadArena(flushAllQueued);
  const upstream = tls
    ? tlsConnect({
        port: nodePort,
        host: '127.0.0.1',
        rejectUnauthorized: false,
        onread: arena.onread,
      } as ConnectionOptions)
    : connect({ port: nodePort, host: '127.0.0.1', onread: arena.onread });
  sockets.push(upstream);
  const target = (frame: Buffer): FramedSocket => accepted[frame.readInt16BE(2) & 1]!;
  let slabsSeen = 0;
  new FramedSocket(upstream, {
    incoming: 'response',
    maxFrameLength: 1 << 20,
    readArena: arena,
    onFrame: (frame) => {
      slabsSeen = Math.max(slabsSeen, arena.slabCount);
      target(frame).write(frame);
    },
    onFrameHead: (head, frameLength) => target(head).writeThrough(head, frameLength),
    onError: noError,
    onClose: () => undefined,
  });

  const expectedFast = Buffer.concat(answers.filter((a) => (a.readInt16BE(2) & 1) === 0));
  const expectedSlow = Buffer.concat(answers.filter((a) => (a.readInt16BE(2) & 1) === 1));
  const received = (chunks: Buffer[]): number => chunks.reduce((n, c) => n + c.length, 0);
  await until(() => received(fastChunks) >= expectedFast.length, 'the fast client', WAIT_MS);
  slowClient.resume();
  await until(() => received(slowChunks) >= expectedSlow.length, 'the slow client', WAIT_MS);
  expect(Math.max(slabsSeen, arena.slabCount)).toBeLessThanOrEqual(MAX_SLABS);
  return {
    fast: [Buffer.concat(fastChunks), expectedFast],
    slow: [Buffer.concat(slowChunks), expectedSlow],
    arena,
  };
}

/** Answers of every size class, stream ids 0..n-1 (so alternating between the clients). */
function mixedAnswers(sizes: number[]): Buffer[] {
  return sizes.map((size, i) => answer(i, size));
}

const SIZES = [
  0, 100, 16_000, 16_375, 16_376, 70_000, 300_000, 20, 200_000, 5000, 131_072, 64_000, 9, 262_144,
  1_000, 90_000,
];

describe('read arena on the forwarding path (real sockets)', () => {
  for (const nodeWrite of [1 << 22, 65_536, 7_001, 512]) {
    it(`each client gets exactly its answers, the slow one too (node writes of ${nodeWrite} bytes)`, async () => {
      // Enough answers that the slabs are read into many times over while the slow client waits.
      const sizes = Array.from({ length: 6 }, () => SIZES).flat();
      const { fast, slow } = await relay(mixedAnswers(sizes), nodeWrite);
      expect(fast[0].equals(fast[1])).toBe(true);
      expect(slow[0].equals(slow[1])).toBe(true);
    });
  }

  it("the slow client's socket fills up (writes wait for the kernel): its bytes stay intact", async () => {
    // Well beyond what loopback sockets buffer for a peer that does not read (a few MB).
    const sizes = Array.from({ length: 160 }, (_, i) => (i % 8 === 7 ? 40 : 200_000));
    const { fast, slow } = await relay(mixedAnswers(sizes), 1 << 22);
    expect(slow[1].length).toBeGreaterThan(10_000_000);
    expect(fast[0].equals(fast[1])).toBe(true);
    expect(slow[0].equals(slow[1])).toBe(true);
  });

  it('over TLS (decrypted bytes read into the arena): each client gets exactly its answers', async () => {
    const sizes = Array.from({ length: 3 }, () => SIZES).flat();
    const { fast, slow, arena } = await relay(mixedAnswers(sizes), 65_536, true);
    expect(fast[0].equals(fast[1])).toBe(true);
    expect(slow[0].equals(slow[1])).toBe(true);
    expect(arena.slabsAllocated).toBeGreaterThan(0); // the arena was read into, not 'data' events
  });

  it('reuses its slabs: a stream of several MB through a handful of slabs', async () => {
    const sizes = Array.from({ length: 40 }, () => [80_000, 150]).flat();
    const { fast, slow, arena } = await relay(mixedAnswers(sizes), 1 << 22);
    expect(fast[0].equals(fast[1])).toBe(true);
    expect(slow[0].equals(slow[1])).toBe(true);
    // 3.2 MB read; fresh memory per read would be dozens of 64 KiB buffers.
    expect(arena.slabsAllocated).toBeLessThanOrEqual(MAX_SLABS * 4);
  });

  propertyTest.prop(
    [
      fc.array(
        fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 16_000, max: 300_000 })),
        {
          minLength: 1,
          maxLength: 40,
        },
      ),
      fc.integer({ min: 1, max: 200_000 }),
    ],
    { numRuns: 8 },
  )('random answers and node writes: every byte arrives as sent', async (sizes, nodeWrite) => {
    const { fast, slow } = await relay(mixedAnswers(sizes), nodeWrite);
    expect(fast[0].equals(fast[1])).toBe(true);
    expect(slow[0].equals(slow[1])).toBe(true);
  });
});
