import { once } from 'node:events';
import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeSegments, SegmentDecoder } from '../../src/protocol/segment.js';
import { FramedSocket } from '../../src/transport/framed-socket.js';
import { hex } from '../helpers/chunking.js';
import { loopbackPair } from '../helpers/sockets.js';
import { until } from '../helpers/wait.js';

const OPTIONS = hex('05 00 0001 05 00000000');
const STARTUP = hex('05 00 0002 01 00000016 0001 000b 43514c5f56455253494f4e 0005 332e302e30');
const READY = hex('85 00 0002 02 00000000');
const QUERY = hex('05 00 0003 07 00000004 01020304');

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A connected pair: `server` side wrapped by the test, `client` a raw socket. */
function pair(): Promise<{ serverSocket: Socket; client: Socket }> {
  return loopbackPair((server) => servers.push(server));
}

function collect(socket: Socket): { bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return { bytes: () => Buffer.concat(chunks) };
}

describe('FramedSocket', () => {
  it('delivers frames and writes queued frames in one turn', async () => {
    const { serverSocket, client } = await pair();
    const got: Buffer[] = [];
    const framed = new FramedSocket(serverSocket, {
      incoming: 'request',
      maxFrameLength: 1 << 20,
      onFrame: (f) => got.push(Buffer.from(f)),
      onError: (e) => {
        throw e;
      },
      onClose: () => undefined,
    });
    const received = collect(client);
    client.write(Buffer.concat([OPTIONS, QUERY.subarray(0, 5)]));
    client.write(QUERY.subarray(5));
    await until(() => got.length === 2, 'two frames');
    expect(got).toEqual([OPTIONS, QUERY]);
    framed.write(READY);
    framed.write(READY);
    expect(received.bytes().length).toBe(0); // nothing before the end of the turn
    await until(() => received.bytes().length === 18, 'two responses');
    expect(received.bytes()).toEqual(Buffer.concat([READY, READY]));
    client.destroy();
  });

  it('switches to v5 segments after the handshake, even mid-chunk', async () => {
    const { serverSocket, client } = await pair();
    const got: Buffer[] = [];
    const framed: FramedSocket = new FramedSocket(serverSocket, {
      incoming: 'request',
      maxFrameLength: 1 << 20,
      onFrame: (f) => {
        got.push(Buffer.from(f));
        if (f.readUInt8(4) === 0x01) {
          framed.write(READY);
          framed.startSegments('none');
        }
      },
      onError: (e) => {
        throw e;
      },
      onClose: () => undefined,
    });
    const received = collect(client);
    // STARTUP and the first segment arrive in one chunk: the decoder must hand the rest over.
    client.write(Buffer.concat([STARTUP, encodeSegments([QUERY, OPTIONS], 'none')]));
    await until(() => got.length === 3, 'three frames');
    expect(got).toEqual([STARTUP, QUERY, OPTIONS]);

    framed.write(READY);
    await until(() => received.bytes().length > 9, 'a segment');
    const bytes = received.bytes();
    expect(bytes.subarray(0, 9)).toEqual(READY); // READY itself goes out unframed
    const payloads: Buffer[] = [];
    new SegmentDecoder({
      compression: 'none',
      onPayload: (p) => payloads.push(Buffer.from(p)),
    }).push(bytes.subarray(9));
    expect(payloads).toEqual([READY]);
    expect(framed.segmented).toBe(true);
    client.destroy();
  });

  it('reports a framing error once and reads nothing more', async () => {
    const { serverSocket, client } = await pair();
    const errors: Error[] = [];
    const got: Buffer[] = [];
    const framed = new FramedSocket(serverSocket, {
      incoming: 'request',
      maxFrameLength: 64,
      onFrame: (f) => got.push(f),
      onError: (e) => errors.push(e),
      onClose: () => undefined,
    });
    client.write(Buffer.concat([OPTIONS, hex('04 00 0001 07 00001000')]));
    await until(() => errors.length === 1, 'the error');
    expect(serverSocket.isPaused()).toBe(true);
    // Even if its owner resumes reading (a limit clearing), later bytes are dropped. Our own
    // 'data' listener runs after FramedSocket's, so once it has the bytes, FramedSocket had them.
    framed.resumeReading();
    const later = once(serverSocket, 'data');
    client.write(OPTIONS);
    await later;
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/exceeds the limit/);
    expect(got).toHaveLength(1);
    client.destroy();
  });

  it('counts queued bytes exactly with several flushes in the socket at once', async () => {
    const { serverSocket, client } = await pair();
    client.pause();
    const deltas: number[] = [];
    const framed = new FramedSocket(serverSocket, {
      incoming: 'request',
      maxFrameLength: 1024,
      onFrame: () => undefined,
      onError: () => undefined,
      onClose: () => undefined,
      onQueuedBytes: (d) => deltas.push(d),
    });
    // A peer that does not read: each turn's flush stays in the socket, three of them at once.
    const frameBytes = 8 * 1024 * 1024;
    const big = Buffer.alloc(frameBytes);
    for (let turn = 0; turn < 3; turn++) {
      framed.write(big);
      framed.flush();
      await new Promise((r) => setImmediate(r));
    }
    expect(framed.queuedBytes).toBe(3 * frameBytes - framed.flushedBytes);
    // More than the kernel buffers take: at least two flushes wait for their write callback.
    expect(framed.queuedBytes).toBeGreaterThanOrEqual(2 * frameBytes);
    let read = 0;
    client.on('data', (c: Buffer) => (read += c.length));
    client.resume();
    await until(() => framed.queuedBytes === 0, 'everything written');
    expect(framed.flushedBytes).toBe(3 * frameBytes);
    expect(deltas.reduce((a, b) => a + b, 0)).toBe(0);
    await until(() => read === 3 * frameBytes, 'everything read');
    client.destroy();
  });

  it('shares its socket listeners and one flush per turn between sockets', async () => {
    const a = await pair();
    const b = await pair();
    const options = {
      incoming: 'request' as const,
      maxFrameLength: 1024,
      onFrame: () => undefined,
      onError: () => undefined,
      onClose: () => undefined,
    };
    const framedA = new FramedSocket(a.serverSocket, options);
    const framedB = new FramedSocket(b.serverSocket, options);
    for (const event of ['data', 'error', 'close']) {
      const [listenerA] = a.serverSocket.listeners(event).slice(-1);
      const [listenerB] = b.serverSocket.listeners(event).slice(-1);
      expect(listenerA).toBe(listenerB);
    }
    const receivedA = collect(a.client);
    const receivedB = collect(b.client);
    framedA.write(READY);
    framedB.write(READY);
    expect(framedA.queuedBytes + framedB.queuedBytes).toBe(18);
    await new Promise((r) => setImmediate(r));
    await until(
      () => receivedA.bytes().length === 9 && receivedB.bytes().length === 9,
      'both answers',
    );
    expect(receivedA.bytes()).toEqual(READY);
    expect(receivedB.bytes()).toEqual(READY);
    a.client.destroy();
    b.client.destroy();
  });

  it('calls onClose once when the peer goes away', async () => {
    const { serverSocket, client } = await pair();
    let closes = 0;
    const framed = new FramedSocket(serverSocket, {
      incoming: 'request',
      maxFrameLength: 1024,
      onFrame: () => undefined,
      onError: () => undefined,
      onClose: () => closes++,
    });
    client.destroy();
    await until(() => closes === 1, 'close');
    framed.write(READY); // ignored after close
    expect(framed.closed).toBe(true);
  });
});
