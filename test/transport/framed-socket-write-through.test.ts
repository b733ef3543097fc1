// FramedSocket.writeThrough: a frame written as it arrives goes after what was queued before it,
// frames queued meanwhile wait for its end (frames never interleave), its bytes count in
// queuedBytes from the start, a socket that needs draining holds its pieces, and a frame cut short
// destroys the socket. (With v5 segments: test/transport/cut-through.test.ts.)

import { once } from 'node:events';
import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FramedSocket } from '../../src/transport/framed-socket.js';
import { v4ResultFrame } from '../helpers/frames.js';
import { loopbackPair } from '../helpers/sockets.js';
import { until } from '../helpers/wait.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

async function pair(): Promise<{ serverSocket: Socket; client: Socket }> {
  const connected = await loopbackPair((server) => servers.push(server));
  sockets.push(connected.client, connected.serverSocket);
  return connected;
}

/** The socket's 'close' (events.once would reject on the 'error' a destroy with an error emits). */
function closeOf(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

function frame(streamId: number, bodyLength: number): Buffer {
  return v4ResultFrame(streamId, bodyLength, streamId);
}

function framed(socket: Socket, counted: { bytes: number }): FramedSocket {
  return new FramedSocket(socket, {
    incoming: 'request',
    maxFrameLength: 1 << 20,
    onFrame: () => undefined,
    onError: () => undefined,
    onClose: () => undefined,
    onQueuedBytes: (delta) => (counted.bytes += delta),
  });
}

describe('FramedSocket.writeThrough', () => {
  it('keeps frames whole and in order, and counts the whole frame until the kernel took it', async () => {
    const { serverSocket, client } = await pair();
    const counted = { bytes: 0 };
    const f = framed(serverSocket, counted);
    const received: Buffer[] = [];
    client.on('data', (c: Buffer) => received.push(c));

    const before = frame(1, 10);
    const large = frame(2, 100_000);
    const during = frame(3, 20);
    const after = frame(4, 30);
    f.write(before);
    const sink = f.writeThrough(large.subarray(0, 5000), large.length)!;
    expect(sink).toBeDefined();
    expect(f.queuedBytes).toBeGreaterThanOrEqual(large.length);
    // One frame at a time: another large frame must be assembled.
    expect(f.writeThrough(frame(9, 50_000).subarray(0, 100), 50_009)).toBeUndefined();
    f.write(during);
    sink.piece(large.subarray(5000, 60_000), false);
    await new Promise((r) => setImmediate(r));
    sink.piece(large.subarray(60_000), true);
    f.write(after);
    const expected = Buffer.concat([before, large, during, after]);
    await until(() => Buffer.concat(received).length >= expected.length, 'every byte');
    expect(Buffer.concat(received).equals(expected)).toBe(true);
    await until(() => f.queuedBytes === 0, 'the kernel took everything');
    expect(counted.bytes).toBe(0);
    expect(f.flushedBytes).toBe(expected.length);
  });

  it('end() during a frame written through ends the socket after it and what was queued', async () => {
    const { serverSocket, client } = await pair();
    const f = framed(serverSocket, { bytes: 0 });
    const received: Buffer[] = [];
    client.on('data', (c: Buffer) => received.push(c));
    const ended = once(client, 'end');
    const large = frame(2, 100_000);
    const error = frame(3, 40);
    const sink = f.writeThrough(large.subarray(0, 5000), large.length)!;
    f.write(error);
    f.end();
    // The head reached the client: the turn in which end() could have ended the socket is over.
    await until(() => Buffer.concat(received).length >= 5000, 'the head at the client');
    sink.piece(large.subarray(5000), true);
    await ended;
    expect(Buffer.concat(received).equals(Buffer.concat([large, error]))).toBe(true);
  });

  it('takes a frame while the socket needs draining (the pieces wait), and is refused once closed', async () => {
    const { serverSocket, client } = await pair();
    const counted = { bytes: 0 };
    const f = framed(serverSocket, counted);
    client.pause();
    // Fill the socket until it asks for a drain.
    const filler = Buffer.alloc(1 << 20);
    let filled = 0;
    while (!serverSocket.writableNeedDrain) {
      serverSocket.write(filler);
      filled += filler.length;
    }
    const large = frame(1, 50_000);
    const sink = f.writeThrough(large.subarray(0, 100), large.length)!;
    expect(sink).toBeDefined();
    sink.piece(large.subarray(100), true);
    expect(f.queuedBytes).toBe(large.length);
    const received: Buffer[] = [];
    let total = 0;
    client.on('data', (c: Buffer) => {
      received.push(c);
      total += c.length;
    });
    client.resume();
    await until(() => total >= filled + large.length, 'every byte');
    expect(Buffer.concat(received).subarray(filled).equals(large)).toBe(true);
    await until(() => f.queuedBytes === 0, 'the kernel took the frame');
    expect(counted.bytes).toBe(0);
    f.destroy();
    await once(serverSocket, 'close');
    expect(f.writeThrough(frame(1, 50_000).subarray(0, 100), 50_009)).toBeUndefined();
  });

  it('a frame cut short closes the socket and gives its bytes back', async () => {
    const { serverSocket, client } = await pair();
    const counted = { bytes: 0 };
    const f = framed(serverSocket, counted);
    const closed = once(client, 'close');
    // Registered after FramedSocket's own listener: once it fires, FramedSocket has handled it.
    const serverClosed = closeOf(serverSocket);
    client.on('error', () => undefined);
    client.resume();
    const large = frame(2, 100_000);
    const sink = f.writeThrough(large.subarray(0, 5000), large.length)!;
    sink.piece(large.subarray(5000, 20_000), false);
    sink.abort();
    await closed;
    await serverClosed;
    expect(f.closed).toBe(true);
    // Pieces arriving after the close are dropped without touching the accounting.
    sink.piece(large.subarray(20_000), true);
    expect(f.queuedBytes).toBe(0);
    expect(counted.bytes).toBe(0);
  });

  it('a client that closes mid-frame: the rest is dropped and its bytes given back', async () => {
    const { serverSocket, client } = await pair();
    const counted = { bytes: 0 };
    const f = framed(serverSocket, counted);
    const large = frame(2, 100_000);
    const sink = f.writeThrough(large.subarray(0, 5000), large.length)!;
    // Registered after FramedSocket's own listener: once it fires, FramedSocket has handled it.
    const serverClosed = closeOf(serverSocket);
    client.destroy();
    await serverClosed;
    expect(f.closed).toBe(true);
    sink.piece(large.subarray(5000), true);
    expect(counted.bytes).toBe(0);
    expect(f.queuedBytes).toBe(0);
    // Frames queued after it are not written into the closed socket.
    f.write(frame(5, 10));
    expect(f.queuedBytes).toBe(0);
  });
});
